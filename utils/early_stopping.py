"""Early stopping on a validation metric; its state is a plain dict so a resume can restore it."""
from __future__ import annotations

import math

# metric -> whether larger is better
MONITORS = {"val_loss": False, "val_macro_f1": True, "val_accuracy": True}


def improves(value: float, best: float | None, monitor: str, min_delta: float) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta * |best|`` in the monitor's direction.

    A relative margin, so one default suits a loss near 0.6 and a score near 0.9 alike; with
    ``best`` 0 any strict improvement counts. A non-finite value never improves."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    gain = value - best if MONITORS[monitor] else best - value
    return gain > min_delta * abs(best)


class EarlyStopping:
    def __init__(self, monitor: str, patience: int, min_delta: float = 0.0):
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {sorted(MONITORS)}, got {monitor!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be 0 or more, got {min_delta}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def step(self, value: float, epoch: int) -> bool:
        """Record one epoch's value; True when it is a new best (save the weights then)."""
        if improves(value, self.best, self.monitor, self.min_delta):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]
