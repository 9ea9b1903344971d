"""Classification losses for imbalanced classes.

Both return the *sum* over the batch (the training loop divides by the windows of each step):

* ``ce``: cross-entropy, each window weighted by its class's weight;
* ``focal``: ``w_y * (1 - p_y) ** gamma * -log p_y`` (Lin et al., 2017), with the per-class weights
  as focal alpha. A single scalar alpha would only rescale the loss, so none is offered.

Class weights: ``none``; ``balanced`` = n_windows / (n_classes * count_c), counted on the train
windows; or explicit ``w0,w1,...``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from utils.errors import UserError


def class_weights(spec: str, train_labels: np.ndarray, n_classes: int) -> torch.Tensor | None:
    if spec in (None, "", "none"):
        return None
    if spec == "balanced":
        counts = np.bincount(train_labels, minlength=n_classes).astype(np.float64)
        if (counts == 0).any():
            raise UserError(f"--class_weights balanced: class {int(np.argmin(counts))} has no train windows")
        return torch.tensor(len(train_labels) / (n_classes * counts), dtype=torch.float32)
    try:
        weights = [float(w) for w in spec.split(",")]
    except ValueError:
        raise UserError(f"--class_weights {spec!r}: give none, balanced, or one number per class like 1,3")
    if len(weights) != n_classes or any(w <= 0 for w in weights):
        raise UserError(f"--class_weights {spec!r}: give {n_classes} positive numbers, one per class")
    return torch.tensor(weights, dtype=torch.float32)


class Criterion:
    """``criterion(logits, y)`` -> summed loss over the batch."""

    def __init__(self, kind: str = "ce", weights: torch.Tensor | None = None, gamma: float = 2.0):
        if kind not in ("ce", "focal"):
            raise UserError(f"--loss {kind!r}: use ce or focal")
        self.kind, self.weights, self.gamma = kind, weights, gamma

    def __call__(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        log_p = F.log_softmax(logits, dim=-1).gather(1, y[:, None])[:, 0]
        loss = -log_p
        if self.kind == "focal":
            loss = (1.0 - log_p.exp()).clamp_min(0.0) ** self.gamma * loss
        if self.weights is not None:
            loss = loss * self.weights.to(logits.device)[y]
        return loss.sum()

    def describe(self) -> str:
        text = "cross-entropy" if self.kind == "ce" else f"focal (gamma {self.gamma:g})"
        if self.weights is not None:
            text += " with class weights " + ", ".join(f"{w:.3g}" for w in self.weights.tolist())
        return text
