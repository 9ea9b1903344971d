"""What a classifier needs from an encoder, and a second encoder that provides it.

A backbone turns a window into one hidden vector per (variable, token):

    encode(x [B, L, C], token_pad [B, N] | None) -> h [B, C, N, d_model]   (L = N * input_token_len)
    normalize(x [B, L, C], pad [B, L] | None) -> (x, mean, std)            (OpenLTM's use_norm)
    layers() -> the blocks in order, and final_norm() -> the module after them (partial fine-tuning
    unfreezes the last K blocks and that norm)

The classifier (models/timer_xl_classifier.py) pads the window to whole tokens, calls encode,
pools (last token of each variable, or the mean) and applies its head; the training code sees
only the classifier. A new encoder is a class with these methods plus a line in the classifier
registry (models/__init__.py): exp/ is not touched.
"""
from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from models.timer_xl import standardize_window


class Backbone(Protocol):
    input_token_len: int

    def encode(self, x: torch.Tensor, token_pad: torch.Tensor | None = None) -> torch.Tensor: ...

    def normalize(self, x: torch.Tensor, pad: torch.Tensor | None = None): ...

    def layers(self) -> list[nn.Module]: ...

    def final_norm(self) -> nn.Module | None: ...


class PatchTransformer(nn.Module):
    """A plain patch transformer (PatchTST-like): each variable's tokens attend to each other
    without a causal mask and without Timer-XL's cross-variable attention; learned positions."""

    def __init__(self, configs, max_tokens: int = 4096):
        super().__init__()
        self.input_token_len = configs.input_token_len
        self.embedding = nn.Linear(configs.input_token_len, configs.d_model)
        self.position = nn.Parameter(torch.zeros(max_tokens, configs.d_model))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(configs.d_model, configs.n_heads, configs.d_ff, configs.dropout,
                                       activation=configs.activation, batch_first=True, norm_first=True)
            for _ in range(configs.e_layers))
        self.norm = nn.LayerNorm(configs.d_model)

    def encode(self, x: torch.Tensor, token_pad: torch.Tensor | None = None) -> torch.Tensor:
        B, L, C = x.shape
        tokens = x.transpose(1, 2).unfold(-1, self.input_token_len, self.input_token_len)  # [B, C, N, P]
        N = tokens.shape[2]
        h = (self.embedding(tokens) + self.position[:N]).reshape(B * C, N, -1)
        key_pad = None if token_pad is None else token_pad.repeat_interleave(C, dim=0)  # [B*C, N]
        for block in self.blocks:
            h = block(h, src_key_padding_mask=key_pad)
        return self.norm(h).reshape(B, C, N, -1)

    def normalize(self, x: torch.Tensor, pad: torch.Tensor | None = None):
        return standardize_window(x, pad)

    def layers(self) -> list[nn.Module]:
        return list(self.blocks)

    def final_norm(self) -> nn.Module:
        return self.norm
