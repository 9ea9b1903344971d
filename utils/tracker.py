"""Experiment tracking, off by default: epochs.csv and metrics.json stay the record, a tracker is a
live view of the same numbers.

Tags follow the files they come from: an epochs.csv column ``val_loss`` is ``epochs/val_loss``
(step = the epoch, as numbered in that file), and a metrics.json entry
``verification: {hss: ...}`` is ``test/verification/hss``.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path

from utils.errors import UserError

TRACKERS = ("none", "tensorboard")


def numeric_scalars(values: dict, prefix: str) -> dict[str, float]:
    """Every number in ``values``, nested dicts flattened into ``prefix/key/subkey`` tags. Strings,
    lists, None, flags (bools) and non-finite values (the start's train loss) are no curve and are left out."""
    out = {}
    for key, value in values.items():
        tag = f"{prefix}/{key}"
        if isinstance(value, dict):
            out.update(numeric_scalars(value, tag))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
            out[tag] = float(value)  # numpy scalars count: numpy registers them as numbers.Real
    return out


class NullTracker:
    """--tracker none, and every process but rank 0: the calls are made and record nothing."""

    def log_epoch(self, epoch: int, row: dict) -> None:
        pass

    def log_final(self, metrics: dict) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoardTracker:
    """Event files under ``log_dir``, for ``tensorboard --logdir <run folder>``."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self._writer = _summary_writer()(log_dir=str(self.log_dir))

    def log_epoch(self, epoch: int, row: dict) -> None:
        """One epochs.csv row; ``epoch`` is the step (the row's own epoch column is not a curve)."""
        for tag, value in numeric_scalars({k: v for k, v in row.items() if k != "epoch"}, "epochs").items():
            self._writer.add_scalar(tag, value, global_step=epoch)
        self._writer.flush()  # one flush an epoch: a watcher sees each epoch as it ends

    def log_final(self, metrics: dict) -> None:
        """The test metrics (metrics.json), logged once at step 0."""
        for tag, value in numeric_scalars(metrics, "test").items():
            self._writer.add_scalar(tag, value, global_step=0)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's own module raises this too when the tensorboard package is missing
        raise UserError("--tracker tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter


def make_tracker(kind: str, run_dir: Path, enabled: bool = True):
    """The tracker for ``--tracker kind``, writing under ``run_dir``; a NullTracker where ``enabled``
    is False (the caller passes False on every rank but 0)."""
    if kind not in TRACKERS:
        raise UserError(f"--tracker must be one of {', '.join(TRACKERS)}, got {kind!r}")
    if kind == "none":
        return NullTracker()
    # checked on every rank, so that a missing package stops all of them alike
    _summary_writer()
    if not enabled:
        return NullTracker()
    return TensorBoardTracker(Path(run_dir) / "tensorboard")
