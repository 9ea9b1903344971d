"""Training-time augmentation of the standardised train inputs: Gaussian noise (--input_noise)
and mixup (--mixup, Zhang et al., 2018: two windows blended, and their losses by the same share).

A year of hourly windows overlaps so much that a few thousand windows hold a few hundred
independent days; both keep the network from learning those days' exact values. Only training
batches get them: validation, test and prediction read the data as it is. Padding steps
(variable-length series) stay zero under noise, as the model expects.
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


def mixed(inputs: tuple[torch.Tensor, ...], alpha: float) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, float]:
    """Each window blended with another of the batch: ``share * x + (1 - share) * x[partner]``, one
    share per batch from Beta(alpha, alpha). Returns the blended inputs, the partners' positions
    and the share; the loss is ``share * loss(y) + (1 - share) * loss(y[partner])``. A blended step
    is padding only where both windows are padding."""
    x, *rest = inputs
    share = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(len(x), device=x.device)
    blended = share * x + (1 - share) * x[partner]
    return ((blended, rest[0] & rest[0][partner]) if rest else (blended,)), partner, share
