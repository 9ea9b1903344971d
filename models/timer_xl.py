"""Timer-XL backbone (Liu et al., 2024, arXiv:2410.04803), written for this project.

The module tree and parameter names mirror thuml/OpenLTM's ``models/timer_xl.py`` so that its
checkpoints load by name::

    embedding.{weight,bias}                                   Linear(input_token_len -> d_model)
    blocks.attn_layers.{i}.attention.{query,key,value,out}_projection.{weight,bias}
    blocks.attn_layers.{i}.attention.inner_attention.attn_bias.emb.weight   [2, n_heads]
    blocks.attn_layers.{i}.conv1.{weight,bias}                [d_ff, d_model, 1]
    blocks.attn_layers.{i}.conv2.{weight,bias}                [d_model, d_ff, 1]
    blocks.attn_layers.{i}.norm1 / norm2                      LayerNorm(d_model)
    blocks.norm.{weight,bias}                                 final LayerNorm(d_model)
    head.{weight,bias}                                        Linear(d_model -> output_token_len)

The math follows OpenLTM's default (eager) attention path:

* every variable's series is cut into non-overlapping tokens of ``input_token_len`` points and
  all variables' tokens form one sequence of length ``n_vars * n_tokens`` (variable-major);
* a token at time step n may attend to every variable's tokens at time steps <= n;
* each head adds a learned bias, one value for "same variable" and one for "other variable";
* rotary position embedding rotates the first half of every head's query/key dimensions, with
  the flattened sequence index (variable-major) as the position, as OpenLTM does;
* scores are ``softmax(scale * (q.k + bias))``; we hand ``scale * bias`` to
  ``scaled_dot_product_attention`` as an additive mask, which is the same number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class TimerXLConfig:
    """The fields of OpenLTM's argparse namespace that the backbone reads."""

    input_token_len: int = 96
    output_token_len: int = 96
    d_model: int = 1024
    n_heads: int = 8
    e_layers: int = 8
    d_ff: int = 2048
    dropout: float = 0.1
    activation: str = "relu"
    use_norm: bool = False
    covariate: bool = False

    @classmethod
    def from_namespace(cls, configs) -> "TimerXLConfig":
        fields = cls.__dataclass_fields__
        return cls(**{name: getattr(configs, name) for name in fields if hasattr(configs, name)})


class RotaryEmbedding(nn.Module):
    """Interleaved rotary embedding over ``width`` dims; pairs (2k, 2k+1) rotate by pos * theta_k."""

    def __init__(self, width: int, base: float = 10000.0):
        super().__init__()
        if width % 2:
            raise ValueError(f"rotary width must be even, got {width}")
        theta = 1.0 / base ** (torch.arange(0, width, 2, dtype=torch.float32) / width)
        self.register_buffer("theta", theta, persistent=False)

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # angles: [L, width/2] -> each angle used by one (even, odd) pair
        angles = positions.to(self.theta.dtype)[:, None] * self.theta[None, :]
        cos = angles.cos().repeat_interleave(2, dim=-1).to(x.dtype)
        sin = angles.sin().repeat_interleave(2, dim=-1).to(x.dtype)
        pairs = x.unflatten(-1, (-1, 2))
        rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return x * cos + rotated * sin


class VariableBias(nn.Module):
    """Per-head additive score bias: ``emb.weight[1]`` within a variable, ``emb.weight[0]`` across."""

    def __init__(self, n_heads: int):
        super().__init__()
        self.emb = nn.Embedding(2, n_heads)

    def forward(self, var_id: torch.Tensor) -> torch.Tensor:
        same = (var_id[:, None] == var_id[None, :]).long()  # [L, L]
        return self.emb(same).permute(2, 0, 1)  # [H, L, L]


class TimeAttention(nn.Module):
    """Causal attention over all variables' tokens, with rotary positions and the variable bias."""

    def __init__(self, d_model: int, n_heads: int, dropout: float, covariate: bool = False):
        super().__init__()
        head_dim = d_model // n_heads
        self.rotary_width = head_dim // 2  # OpenLTM's partial_factor (0.0, 0.5)
        self.rotary = RotaryEmbedding(self.rotary_width)
        self.attn_bias = VariableBias(n_heads)
        self.dropout = dropout
        self.covariate = covariate

    def score_mask(self, n_vars: int, n_tokens: int, scale: float, device, dtype) -> torch.Tensor:
        """Additive mask [1, H, L, L]: scale * bias where attention is allowed, -inf elsewhere.

        Four dimensions on purpose: PyTorch's CPU flash-attention kernel takes a 2-D or 4-D mask
        only and silently falls back to the slower math kernel for a 3-D one."""
        length = n_vars * n_tokens
        var_id = torch.arange(n_vars, device=device).repeat_interleave(n_tokens)
        time_id = torch.arange(n_tokens, device=device).repeat(n_vars)
        blocked = time_id[None, :] > time_id[:, None]  # a token never sees a later time step
        if self.covariate:
            # OpenLTM's covariate mask: every variable sees its own past; the last variable (the
            # target) also sees all tokens of the covariates, as OpenLTM's mask allows.
            own = var_id[:, None] == var_id[None, :]
            is_target_row = (var_id == n_vars - 1)[:, None].expand(length, length)
            blocked = torch.where(own, blocked, ~is_target_row)
        bias = self.attn_bias(var_id).to(dtype) * scale
        return bias.masked_fill(blocked, float("-inf"))[None]

    def forward(self, q, k, v, n_vars: int, n_tokens: int, key_pad: torch.Tensor | None = None) -> torch.Tensor:
        # q, k, v: [B, H, L, E]; key_pad: [B, L] True for padding tokens of variable-length series
        scale = 1.0 / math.sqrt(q.shape[-1])
        positions = torch.arange(q.shape[-2], device=q.device)
        w = self.rotary_width
        q = torch.cat((self.rotary(q[..., :w], positions), q[..., w:]), dim=-1)
        k = torch.cat((self.rotary(k[..., :w], positions), k[..., w:]), dim=-1)
        mask = self.score_mask(n_vars, n_tokens, scale, q.device, q.dtype)
        if key_pad is not None:
            # nobody attends to padding; a padding token still sees itself so that its row is not
            # all -inf (its output is never pooled)
            eye = torch.eye(mask.shape[-1], dtype=torch.bool, device=q.device)
            mask = mask.masked_fill(key_pad[:, None, None, :] & ~eye, float("-inf"))
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, scale=scale
        )


class AttentionLayer(nn.Module):
    def __init__(self, inner_attention: TimeAttention, d_model: int, n_heads: int):
        super().__init__()
        self.inner_attention = inner_attention
        self.query_projection = nn.Linear(d_model, d_model)
        self.key_projection = nn.Linear(d_model, d_model)
        self.value_projection = nn.Linear(d_model, d_model)
        self.out_projection = nn.Linear(d_model, d_model)
        self.n_heads = n_heads

    def forward(self, x: torch.Tensor, n_vars: int, n_tokens: int, key_pad=None) -> torch.Tensor:
        B, L, _ = x.shape

        def heads(t):
            return t.view(B, L, self.n_heads, -1).transpose(1, 2)

        out = self.inner_attention(
            heads(self.query_projection(x)),
            heads(self.key_projection(x)),
            heads(self.value_projection(x)),
            n_vars,
            n_tokens,
            key_pad,
        )
        return self.out_projection(out.transpose(1, 2).reshape(B, L, -1))


class TimerLayer(nn.Module):
    """Post-norm transformer layer; the feed-forward uses kernel-1 convolutions (OpenLTM's names)."""

    def __init__(self, attention: AttentionLayer, d_model: int, d_ff: int, dropout: float, activation: str):
        super().__init__()
        self.attention = attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x: torch.Tensor, n_vars: int, n_tokens: int, key_pad=None) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attention(x, n_vars, n_tokens, key_pad)))
        y = self.dropout(self.activation(self.conv1(x.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm2(x + y)


class TimerBlock(nn.Module):
    def __init__(self, layers: list[TimerLayer], d_model: int):
        super().__init__()
        self.attn_layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, n_vars: int, n_tokens: int, key_pad=None) -> torch.Tensor:
        for layer in self.attn_layers:
            x = layer(x, n_vars, n_tokens, key_pad)
        return self.norm(x)


def standardize_window(x: torch.Tensor, pad: torch.Tensor | None = None):
    """Per-window, per-variable standardisation (OpenLTM's use_norm); returns x, mean, std.

    ``pad`` [B, L], True at padding steps: they stay out of the statistics (else a short series'
    mean and scale would depend on how much padding it got) and come out as 0, the window mean.
    """
    if pad is None:
        means = x.mean(1, keepdim=True).detach()
        x = x - means
        stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)
        return x / stdev, means, stdev
    keep = (~pad)[:, :, None].to(x.dtype)
    count = keep.sum(1, keepdim=True).clamp_min(1.0)
    means = ((x * keep).sum(1, keepdim=True) / count).detach()
    x = (x - means) * keep
    stdev = torch.sqrt((x * x).sum(1, keepdim=True) / count + 1e-5)
    return x / stdev, means, stdev


class Model(nn.Module):
    """Timer-XL. ``forward(x, x_mark, y_mark)`` returns the next-token forecast [B, N * P_out, C].

    ``forecast_head=False`` builds the backbone alone (no ``head.*`` parameters), for models that
    put their own head on :meth:`encode`.
    """

    def __init__(self, configs, forecast_head: bool = True):
        super().__init__()
        cfg = TimerXLConfig.from_namespace(configs)
        if cfg.d_model % cfg.n_heads or (cfg.d_model // cfg.n_heads) % 4:
            raise ValueError(
                f"d_model ({cfg.d_model}) / n_heads ({cfg.n_heads}) must be a whole multiple of 4 "
                "(the rotary embedding rotates pairs in half of every head)"
            )
        self.input_token_len = cfg.input_token_len
        self.use_norm = cfg.use_norm
        self.embedding = nn.Linear(cfg.input_token_len, cfg.d_model)
        layers = [
            TimerLayer(
                AttentionLayer(TimeAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.covariate), cfg.d_model, cfg.n_heads),
                cfg.d_model,
                cfg.d_ff,
                cfg.dropout,
                cfg.activation,
            )
            for _ in range(cfg.e_layers)
        ]
        self.blocks = TimerBlock(layers, cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.output_token_len) if forecast_head else None

    def normalize(self, x: torch.Tensor, pad: torch.Tensor | None = None):
        """OpenLTM's use_norm (see standardize_window); returns x, mean, std."""
        return standardize_window(x, pad)

    def layers(self) -> list[nn.Module]:
        """The transformer blocks in order (the backbone interface, models/backbone.py)."""
        return list(self.blocks.attn_layers)

    def final_norm(self) -> nn.Module:
        return self.blocks.norm

    def encode(self, x: torch.Tensor, token_pad: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B, L, C] with L a multiple of input_token_len -> hidden states [B, C, N, d_model].

        ``token_pad`` [B, N]: True for time tokens that are padding (the same for every variable).
        """
        B, L, C = x.shape
        if L % self.input_token_len:
            raise ValueError(f"sequence length {L} is not a multiple of input_token_len {self.input_token_len}")
        tokens = x.transpose(1, 2).unfold(-1, self.input_token_len, self.input_token_len)  # [B, C, N, P]
        N = tokens.shape[2]
        h = self.embedding(tokens).reshape(B, C * N, -1)
        key_pad = None if token_pad is None else token_pad[:, None, :].expand(B, C, N).reshape(B, C * N)
        h = self.blocks(h, n_vars=C, n_tokens=N, key_pad=key_pad)
        return h.reshape(B, C, N, -1)

    def forecast(self, x: torch.Tensor, x_mark=None, y_mark=None) -> torch.Tensor:
        if self.head is None:
            raise RuntimeError("this Timer-XL was built without its forecast head")
        if self.use_norm:
            x, means, stdev = self.normalize(x)
        B, _, C = x.shape
        out = self.head(self.encode(x))  # [B, C, N, P_out]
        out = out.reshape(B, C, -1).transpose(1, 2)  # [B, N * P_out, C]
        if self.use_norm:
            out = out * stdev + means
        return out

    def forward(self, x, x_mark=None, y_mark=None):
        return self.forecast(x, x_mark, y_mark)
