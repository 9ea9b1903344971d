"""Per-epoch learning rates.

A pure function of the epoch number, so a resumed run continues the same curve and a test can
print the whole schedule before training starts.

* ``cosine``: optional linear warmup, then half a cosine from ``learning_rate`` down to
  ``min_lr`` over ``tmax`` epochs (default: ``train_epochs``); it stays at ``min_lr`` after that
  rather than climbing back up as a periodic cosine would.
* ``constant``: ``learning_rate`` every epoch (after warmup).
* ``type1``/``type2``/``type3``: OpenLTM's step decays, ``lr * {0.1, 0.5, 0.9} ** epoch``.
  type1 divides the rate by 10 every epoch: by the third epoch it is 1% of the start, which
  has ended many runs early for reasons that had nothing to do with overfitting.
"""
from __future__ import annotations

import math

SCHEDULES = ("cosine", "constant", "type1", "type2", "type3")
_STEP_FACTORS = {"type1": 0.1, "type2": 0.5, "type3": 0.9}


def learning_rate_at(epoch: int, *, schedule: str, learning_rate: float, tmax: int, warmup_epochs: int = 0,
                     min_lr: float = 1e-8) -> float:
    """Learning rate for 0-based ``epoch``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")
    if epoch < warmup_epochs:
        return learning_rate * (epoch + 1) / (warmup_epochs + 1)
    after = epoch - warmup_epochs
    if schedule == "constant":
        return learning_rate
    if schedule in _STEP_FACTORS:
        return learning_rate * _STEP_FACTORS[schedule] ** after
    span = max(1, tmax - warmup_epochs)
    progress = min(after / span, 1.0)
    return min_lr + 0.5 * (learning_rate - min_lr) * (1.0 + math.cos(math.pi * progress))
