"""Training-time input noise (--input_noise): Gaussian noise on the standardised train inputs.

A year of hourly windows overlaps so much that a few thousand windows hold a few hundred
independent days; noise of a fraction of a standard deviation keeps the network from learning
those days' exact values. Only training batches get it: validation, test and prediction read
the data as it is. Padding steps (variable-length series) stay zero, as the model expects.
"""
from __future__ import annotations

import torch


def with_input_noise(inputs: tuple[torch.Tensor, ...], sigma: float) -> tuple[torch.Tensor, ...]:
    """``inputs`` as the model takes them, (x,) or (x, pad_mask), with N(0, sigma^2) added to x.
    Drawn from torch's global generator, whose state --resume restores."""
    x, *rest = inputs
    noise = torch.randn_like(x) * sigma
    if rest:
        noise = noise.masked_fill(rest[0][..., None], 0.0)
    return (x + noise, *rest)
