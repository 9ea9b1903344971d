"""Learning-rate schedules and early stopping."""
import pytest

from utils.cli import parse
from utils.early_stopping import EarlyStopping
from utils.errors import UserError
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


def test_min_delta_is_a_fraction_of_the_best_in_the_monitors_direction():
    loss = EarlyStopping("val_loss", patience=5, min_delta=0.01)
    loss.step(0.80, 0)
    assert not loss.step(0.793, 1)  # 0.007 below the best: under 1% of 0.80 (0.008)
    assert loss.step(0.791, 2) and loss.best_epoch == 2
    score = EarlyStopping("val_macro_f1", patience=5, min_delta=0.1)
    score.step(0.50, 0)
    assert not score.step(0.549, 1) and score.step(0.551, 2)
    zero = EarlyStopping("val_accuracy", patience=5, min_delta=0.1)
    zero.step(0.0, 0)
    assert zero.step(1e-6, 1)  # from a best of 0 any gain counts
    assert not zero.step(float("nan"), 2) and zero.bad_epochs == 1


def test_a_restored_stopper_decides_as_the_uninterrupted_one():
    values = [0.70, 0.69, 0.6899, 0.6895, 0.6894]  # gains on 0.69 under 1e-3 of it (0.00069)
    whole = EarlyStopping("val_loss", patience=3, min_delta=1e-3)
    decisions = [whole.step(v, e) for e, v in enumerate(values)]
    first = EarlyStopping("val_loss", patience=3, min_delta=1e-3)
    resumed = [first.step(v, e) for e, v in enumerate(values[:3])]
    second = EarlyStopping("val_loss", patience=3, min_delta=1e-3)  # --resume: state from last.pth
    second.load_state_dict(first.state_dict())
    resumed += [second.step(v, e) for e, v in enumerate(values[3:], start=3)]
    assert resumed == decisions == [True, True, False, False, False]
    assert second.should_stop and whole.should_stop and second.best_epoch == whole.best_epoch == 1


def test_a_negative_min_delta_is_refused():
    with pytest.raises(UserError, match="--min_delta must be 0 or more"):
        parse(["--root_path", ".", "--data_path", "x.csv", "--target", "y", "--min_delta", "-0.01"])
    with pytest.raises(ValueError):
        EarlyStopping("val_loss", patience=1, min_delta=-1.0)
