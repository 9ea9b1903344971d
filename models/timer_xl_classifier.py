"""Timer-XL backbone + pooling + linear classification head (+ an optional linear highway).

Parameter names: the backbone's live under ``backbone.`` with OpenLTM's names (so a pretrained
checkpoint maps onto it by adding that prefix), the new head under ``classifier.``, the highway
under ``highway.``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models import timer_xl

# The sizes users ask for by name. ``full`` is the published pretrained Timer-XL; ``tiny`` is what
# --preset auto gives a few thousand windows (exp/defaults.py), which overfit anything larger.
PRESETS = {
    "tiny": dict(e_layers=2, d_model=64, d_ff=128, n_heads=4),
    "small": dict(e_layers=4, d_model=512, d_ff=1024, n_heads=8),
    "full": dict(e_layers=8, d_model=1024, d_ff=2048, n_heads=8),
}

POOLINGS = ("last", "mean")
# what the highway reads per variable: the last step, the mean of the last token, the window mean
HIGHWAY_SUMMARIES = 3


def left_pad_length(seq_len: int, token_len: int) -> int:
    """Steps added in front of a window so that it splits into whole tokens."""
    return (-seq_len) % token_len


class Model(nn.Module):
    """Classifies a window [B, seq_len, n_vars] into ``n_classes`` logits, with any backbone that
    has the interface of models/backbone.py (default: Timer-XL's).

    Pooling ``last`` concatenates every variable's last token (under causal attention the only
    tokens that have seen the whole window); ``mean`` averages all tokens of all variables.

    With ``highway`` on, a linear map of each variable's window summaries (``summaries``) is added
    to the logits, as LSTNet adds a linear autoregressive part to its network: small weather sets
    are often decided by a few levels (humidity now, rain in the last day) that a logistic
    regression reads at once and a transformer trained on a few hundred days learns slowly.
    exp/highway.py starts it from exactly that regression.
    """

    def __init__(self, configs, backbone: nn.Module | None = None):
        super().__init__()
        if configs.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {configs.pooling!r}")
        self.seq_len = configs.seq_len
        self.n_vars = configs.n_vars
        self.pooling = configs.pooling
        self.use_norm = configs.use_norm
        self.pad = left_pad_length(configs.seq_len, configs.input_token_len)
        self.token_len = configs.input_token_len
        self.backbone = backbone if backbone is not None else timer_xl.Model(configs, forecast_head=False)
        width = configs.d_model * (configs.n_vars if self.pooling == "last" else 1)
        self.head_dropout = nn.Dropout(configs.dropout)
        self.classifier = nn.Linear(width, configs.n_classes)
        self.highway = (nn.Linear(HIGHWAY_SUMMARIES * configs.n_vars, configs.n_classes)
                        if getattr(configs, "highway", "off") == "on" else None)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``pad_mask`` [B, seq_len], True where a step is padding (variable-length series, padded on
        the left): padding tokens are masked out of attention and of mean pooling."""
        if x.shape[1:] != (self.seq_len, self.n_vars):
            raise ValueError(
                f"expected windows of shape [batch, {self.seq_len}, {self.n_vars}], got {list(x.shape)}"
            )
        highway = self.highway(self.summaries(x, pad_mask)) if self.highway is not None else 0.0
        if self.use_norm:  # before the left pad below, which therefore never enters the statistics
            x, _, _ = self.backbone.normalize(x, pad_mask)
        if self.pad:
            # Zeros in front: after train-split standardisation zero is the training mean. The
            # most recent steps, which matter most, are never the ones cut.
            x = F.pad(x, (0, 0, self.pad, 0))
            if pad_mask is not None:
                pad_mask = F.pad(pad_mask, (self.pad, 0), value=True)
        token_pad = None
        if pad_mask is not None:
            B, L = pad_mask.shape
            token_pad = pad_mask.reshape(B, L // self.token_len, self.token_len).all(dim=-1)
        h = self.backbone.encode(x, token_pad)  # [B, C, N, D]
        if self.pooling == "last":
            pooled = h[:, :, -1, :].flatten(1)
        elif token_pad is None:
            pooled = h.mean(dim=(1, 2))
        else:
            keep = (~token_pad).to(h.dtype)[:, None, :, None]  # [B, 1, N, 1]
            pooled = (h * keep).sum(dim=(1, 2)) / (keep.sum(dim=(1, 2)) * h.shape[1]).clamp_min(1.0)
        return self.classifier(self.head_dropout(pooled)) + highway

    def summaries(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """[B, 3 * n_vars]: per variable, the window's last step, the mean of its last token's
        steps and the mean of the whole window, padding steps left out (the highway's inputs)."""
        observed = torch.ones_like(x[..., :1]) if pad_mask is None else (~pad_mask).to(x.dtype)[..., None]
        recent = min(self.token_len, self.seq_len)

        def mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
            return (values * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

        # padding sits on the left, so the last step is always observed
        return torch.cat([x[:, -1, :], mean(x[:, -recent:], observed[:, -recent:]), mean(x, observed)], dim=1)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
