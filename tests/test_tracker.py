"""--tracker: nothing is written unless asked; TensorBoard gets every number of epochs.csv and the test metrics."""
import sys

import numpy as np
import pytest

from utils.errors import UserError
from utils.tracker import NullTracker, TensorBoardTracker, make_tracker, numeric_scalars

ROWS = [
    {"epoch": 1, "train_loss": 0.69, "val_loss": 0.66, "val_accuracy": 0.60, "val_macro_f1": 0.55, "lr": 1e-3,
     "seconds": 2.5, "train_windows": 400, "best": True},
    {"epoch": 2, "train_loss": 0.61, "val_loss": 0.64, "val_accuracy": 0.65, "val_macro_f1": np.float32(0.6),
     "lr": 5e-4, "seconds": 2.4, "train_windows": 400, "best": False},
]
METRICS = {
    "accuracy": 0.7, "macro_f1": 0.68, "verification": {"hss": 0.41, "pod": 0.8},
    "decision_rule": {"kind": "argmax"}, "confusion_matrix": [[5, 1], [2, 4]], "warnings": [],
    "baselines": {"majority": {"macro_f1": 0.4, "rule": "always class 0"}}, "brier": None,
}


def test_none_records_nothing_and_writes_nothing(tmp_path):
    tracker = make_tracker("none", tmp_path)
    assert isinstance(tracker, NullTracker)
    tracker.log_epoch(1, ROWS[0])
    tracker.log_final(METRICS)
    tracker.close()
    assert list(tmp_path.iterdir()) == []


def test_only_the_process_that_writes_opens_event_files(tmp_path):
    assert isinstance(make_tracker("tensorboard", tmp_path, enabled=False), NullTracker)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_tracker_is_refused(tmp_path):
    with pytest.raises(UserError, match="--tracker must be one of none, tensorboard"):
        make_tracker("wandb", tmp_path)


def test_without_the_tensorboard_package_the_error_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if it were not installed
    with pytest.raises(UserError) as refused:
        make_tracker("tensorboard", tmp_path)
    assert str(refused.value) == "--tracker tensorboard needs the tensorboard package: pip install tensorboard"
    with pytest.raises(UserError):  # on every rank alike, so none waits for another that stopped
        make_tracker("tensorboard", tmp_path, enabled=False)


def test_numbers_are_flattened_into_tags_and_everything_else_left_out():
    assert numeric_scalars(METRICS, "test") == {
        "test/accuracy": 0.7, "test/macro_f1": 0.68, "test/verification/hss": 0.41, "test/verification/pod": 0.8,
        "test/baselines/majority/macro_f1": 0.4,
    }


def test_tensorboard_event_files_hold_each_epoch_and_the_test_metrics(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tracker = make_tracker("tensorboard", tmp_path)
    assert isinstance(tracker, TensorBoardTracker)
    for row in ROWS:
        tracker.log_epoch(row["epoch"], row)
    tracker.log_final(METRICS)
    tracker.close()

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    val_loss = events.Scalars("epochs/val_loss")
    assert [e.step for e in val_loss] == [1, 2]
    assert [e.value for e in val_loss] == pytest.approx([0.66, 0.64])
    assert events.Scalars("epochs/val_macro_f1")[1].value == pytest.approx(0.6)  # a numpy number counts
    assert events.Scalars("test/verification/hss")[0].value == pytest.approx(0.41)
    tags = set(events.Tags()["scalars"])
    assert {"epochs/train_loss", "epochs/lr", "epochs/seconds", "test/accuracy", "test/macro_f1"} <= tags
    assert not tags & {"epochs/epoch", "epochs/best", "test/confusion_matrix", "test/decision_rule/kind",
                       "test/brier"}
