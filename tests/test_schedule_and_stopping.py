"""Learning-rate schedules and early stopping."""
import pytest

from utils.early_stopping import EarlyStopping
from utils.lr_schedule import learning_rate_at


def rates(schedule, epochs=10, tmax=None, **kw):
    return [learning_rate_at(e, schedule=schedule, learning_rate=1e-3, tmax=tmax or epochs, **kw)
            for e in range(epochs)]


def test_cosine_starts_at_the_peak_falls_monotonically_and_never_climbs_back():
    lr = rates("cosine", epochs=15, tmax=10)
    assert lr[0] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lr, lr[1:]))
    assert lr[5] == pytest.approx(0.5e-3, rel=1e-3)  # half way down at tmax / 2
    assert lr[10:] == [pytest.approx(1e-8)] * 5


def test_warmup_rises_linearly_to_the_peak():
    lr = rates("cosine", epochs=6, warmup_epochs=3)
    assert lr[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])


def test_openltm_type1_reaches_one_percent_by_the_third_epoch():
    assert rates("type1", epochs=3) == pytest.approx([1e-3, 1e-4, 1e-5])
    assert rates("constant", epochs=3) == [1e-3] * 3


def test_early_stopping_counts_epochs_without_improvement():
    stopper = EarlyStopping("val_loss", patience=2)
    assert stopper.step(1.0, 0) and stopper.step(0.9, 1)
    assert not stopper.step(0.95, 2) and not stopper.should_stop
    assert not stopper.step(0.91, 3) and stopper.should_stop
    assert stopper.best_epoch == 1


def test_early_stopping_on_a_score_prefers_larger_values():
    stopper = EarlyStopping("val_macro_f1", patience=1)
    stopper.step(0.5, 0)
    assert stopper.step(0.6, 1) and not stopper.step(0.55, 2)
    assert stopper.best == 0.6
