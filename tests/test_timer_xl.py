"""The backbone: OpenLTM's names and shapes, the eager attention math, and causality."""
import math
import types

import pytest
import torch

from models import timer_xl, timer_xl_classifier


def config(**overrides):
    base = dict(input_token_len=4, output_token_len=4, d_model=32, n_heads=4, e_layers=2, d_ff=48,
                dropout=0.0, activation="relu", use_norm=False, covariate=False)
    base.update(overrides)
    return types.SimpleNamespace(**base)


def test_state_dict_uses_openltm_names_and_shapes():
    model = timer_xl.Model(config())
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {"embedding.weight": (32, 4), "embedding.bias": (32,), "blocks.norm.weight": (32,),
                "blocks.norm.bias": (32,), "head.weight": (4, 32), "head.bias": (4,)}
    for i in range(2):
        p = f"blocks.attn_layers.{i}."
        expected[p + "attention.inner_attention.attn_bias.emb.weight"] = (2, 4)
        for proj in ("query", "key", "value", "out"):
            expected[p + f"attention.{proj}_projection.weight"] = (32, 32)
            expected[p + f"attention.{proj}_projection.bias"] = (32,)
        expected.update({p + "conv1.weight": (48, 32, 1), p + "conv1.bias": (48,),
                         p + "conv2.weight": (32, 48, 1), p + "conv2.bias": (32,)})
        for norm in ("norm1", "norm2"):
            expected[p + f"{norm}.weight"] = (32,)
            expected[p + f"{norm}.bias"] = (32,)
    assert shapes == expected


def reference_time_attention(attn, q, k, v, n_vars, n_tokens, bias_weight=None):
    """The eager formulation written out independently: rotary as complex multiplication on the
    first half of each head, softmax(scale * (q.k + bias)) with future time steps at -inf."""
    B, H, L, E = q.shape
    half = E // 2
    theta = 1.0 / 10000 ** (torch.arange(0, half, 2, dtype=torch.float64) / half)
    rot = torch.polar(torch.ones(L, half // 2, dtype=torch.float64),
                      torch.arange(L, dtype=torch.float64)[:, None] * theta[None, :])

    def rotate(t):
        t = t.double()
        c = torch.view_as_complex(t[..., :half].reshape(B, H, L, half // 2, 2).contiguous())
        return torch.cat((torch.view_as_real(c * rot).reshape(B, H, L, half), t[..., half:]), dim=-1)

    qr, kr = rotate(q), rotate(k)
    var = torch.arange(L) // n_tokens
    time = torch.arange(L) % n_tokens
    weight = (attn.attn_bias.emb.weight if bias_weight is None else bias_weight).double()  # [2, H]
    bias = torch.where((var[:, None] == var[None, :])[None], weight[1][:, None, None], weight[0][:, None, None])
    scores = qr @ kr.transpose(-1, -2) + bias
    scores = scores.masked_fill(time[None, :] > time[:, None], float("-inf"))
    probs = torch.softmax(scores / math.sqrt(E), dim=-1)
    return (probs @ v.double()).float()


def test_sdpa_attention_equals_eager_formulation():
    torch.manual_seed(0)
    attn = timer_xl.TimeAttention(d_model=64, n_heads=4, dropout=0.0).eval()
    torch.nn.init.normal_(attn.attn_bias.emb.weight, std=1.0)
    n_vars, n_tokens = 3, 5
    q, k, v = (torch.randn(2, 4, n_vars * n_tokens, 16) for _ in range(3))
    ours = attn(q, k, v, n_vars, n_tokens)
    assert torch.allclose(ours, reference_time_attention(attn, q, k, v, n_vars, n_tokens), atol=1e-5)


def test_no_token_sees_a_later_time_step():
    torch.manual_seed(0)
    model = timer_xl.Model(config()).eval()
    x = torch.randn(2, 16, 3)  # 4 tokens per variable
    changed = x.clone()
    changed[:, -1, 0] += 10.0  # last time step of variable 0 only
    with torch.no_grad():
        before, after = model.encode(x), model.encode(changed)
    assert torch.equal(before[:, :, :-1], after[:, :, :-1]), "an earlier token changed"
    # the last token of *every* variable sees variable 0's last step (cross-variable attention)
    assert all(not torch.allclose(before[:, c, -1], after[:, c, -1]) for c in range(3))


def test_forecast_has_openltm_output_shape():
    model = timer_xl.Model(config(use_norm=True)).eval()
    out = model(torch.randn(2, 12, 5), None, None)
    assert out.shape == (2, 12, 5)  # [B, n_tokens * output_token_len, C]


def test_rejects_head_width_that_rotary_cannot_split():
    with pytest.raises(ValueError, match="multiple of 4"):
        timer_xl.Model(config(d_model=30, n_heads=5))


def classifier_config(**overrides):
    cfg = config(seq_len=10, n_vars=3, n_classes=2, pooling="last")
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_classifier_left_pads_and_keeps_every_step(pooling):
    torch.manual_seed(0)
    model = timer_xl_classifier.Model(classifier_config(pooling=pooling)).eval()
    assert model.pad == 2  # 10 steps -> 3 tokens of 4
    x = torch.randn(4, 10, 3)
    with torch.no_grad():
        base = model(x)
        for step in (0, -1):  # the oldest and the most recent step both reach the logits
            changed = x.clone()
            changed[:, step, 1] += 5.0
            assert not torch.allclose(base, model(changed))
    assert base.shape == (4, 2)


def test_classifier_has_no_unused_forecast_head():
    model = timer_xl_classifier.Model(classifier_config())
    names = [n for n, _ in model.named_parameters()]
    assert not any(n.startswith("backbone.head") for n in names)
    assert {n.split(".")[0] for n in names} == {"backbone", "classifier"}


def test_classifier_refuses_windows_of_the_wrong_shape():
    model = timer_xl_classifier.Model(classifier_config())
    with pytest.raises(ValueError, match=r"\[batch, 10, 3\]"):
        model(torch.randn(2, 12, 3))


def reference_forecast(state, x, cfg):
    """Timer-XL's forward written with plain tensor ops from a state_dict (OpenLTM's layer order:
    post-norm attention and feed-forward, a final LayerNorm, the next-token head)."""
    B, L, C = x.shape
    P, D, H = cfg.input_token_len, cfg.d_model, cfg.n_heads
    N = L // P
    norm = torch.nn.functional.layer_norm

    def linear(t, name):
        w = state[name + ".weight"]
        return t @ w.reshape(w.shape[0], -1).T + state[name + ".bias"]

    h = linear(x.permute(0, 2, 1).reshape(B, C, N, P), "embedding").reshape(B, C * N, D)
    for i in range(cfg.e_layers):
        p = f"blocks.attn_layers.{i}."
        q, k, v = (linear(h, p + f"attention.{n}_projection").view(B, C * N, H, -1).transpose(1, 2)
                   for n in ("query", "key", "value"))
        att = reference_time_attention(None, q, k, v, C, N,
                                       bias_weight=state[p + "attention.inner_attention.attn_bias.emb.weight"])
        h = h + linear(att.transpose(1, 2).reshape(B, C * N, D), p + "attention.out_projection")
        h = norm(h, (D,), state[p + "norm1.weight"], state[p + "norm1.bias"])
        y = linear(torch.relu(linear(h, p + "conv1")), p + "conv2")
        h = norm(h + y, (D,), state[p + "norm2.weight"], state[p + "norm2.bias"])
    h = norm(h, (D,), state["blocks.norm.weight"], state["blocks.norm.bias"])
    return linear(h, "head").reshape(B, C, -1).transpose(1, 2)


def test_whole_forecaster_equals_the_reference_formulation():
    torch.manual_seed(0)
    cfg = config(e_layers=3)
    model = timer_xl.Model(cfg).eval()
    for layer in model.blocks.attn_layers:
        torch.nn.init.normal_(layer.attention.inner_attention.attn_bias.emb.weight)
    x = torch.randn(2, 20, 4)
    with torch.no_grad():
        ours = model(x, None, None)
        reference = reference_forecast(model.state_dict(), x, cfg)
    assert ours.shape == reference.shape == (2, 20, 4)
    assert torch.allclose(ours, reference, atol=1e-5)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_padding_is_invisible_to_the_classifier(pooling):
    torch.manual_seed(0)
    model = timer_xl_classifier.Model(classifier_config(seq_len=12, pooling=pooling)).eval()
    x = torch.randn(3, 12, 3)
    pad = torch.zeros(3, 12, dtype=torch.bool)
    pad[0, :4] = True   # series 0 is 8 steps long: its first token is padding
    pad[1, :8] = True   # series 1 is 4 steps long
    changed = x.clone()
    changed[0, :4] = 100.0
    changed[1, :8] = -100.0
    with torch.no_grad():
        a, b = model(x, pad), model(changed, pad)
    assert torch.isfinite(a).all()
    assert torch.allclose(a, b, atol=1e-5), "values under the padding mask reached the logits"
    assert torch.allclose(a[2], b[2])  # the unpadded series is untouched either way


def test_use_norm_statistics_leave_padding_out():
    model = timer_xl.Model(config(use_norm=True))
    series = torch.randn(2, 6, 3) * 4 + 10  # far from 0, so zeros in the statistics would show
    padded = torch.cat([torch.zeros(2, 5, 3), series], dim=1)
    pad = torch.arange(11)[None, :].expand(2, 11) < 5
    alone, mean, std = model.normalize(series)
    out, mean_padded, std_padded = model.normalize(padded, pad)
    torch.testing.assert_close((mean_padded, std_padded), (mean, std))
    torch.testing.assert_close(out[:, 5:], alone)
    assert (out[:, :5] == 0).all()  # padding sits at the window mean


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_use_norm_gives_the_same_logits_however_much_padding(pooling):
    # A 6-step series in a window of 8 (2 steps padded) and of 12 (6 padded: the extra is one whole
    # token); 8 steps in windows of 8 and of 10, where the model adds its own 2-step left pad. Tokens
    # line up in each pair, so only the statistics could differ. One variable: rotary positions run
    # over the flattened variables x tokens, so with several the token count itself matters.
    torch.manual_seed(0)
    models = {n: timer_xl_classifier.Model(classifier_config(seq_len=n, n_vars=1, pooling=pooling, use_norm=True))
              for n in (8, 10, 12)}
    for model in models.values():
        model.load_state_dict(models[8].state_dict())
        model.eval()
    series = torch.randn(2, 8, 1) * 4 + 10

    def logits(values, seq_len):
        x = torch.zeros(2, seq_len, 1)
        x[:, seq_len - values.shape[1]:] = values
        pad = torch.ones(2, seq_len, dtype=torch.bool)
        pad[:, seq_len - values.shape[1]:] = False
        with torch.no_grad():
            return models[seq_len](x, pad)

    torch.testing.assert_close(logits(series[:, 2:], 12), logits(series[:, 2:], 8), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits(series, 10), logits(series, 8), atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # no padding at all: the mask changes nothing
        torch.testing.assert_close(models[8](series), logits(series, 8))


@pytest.mark.parametrize("covariate, padded", [(False, False), (True, False), (False, True)])
def test_attention_runs_on_the_fused_kernel_not_the_math_fallback(covariate, padded):
    # PyTorch's fused (flash) kernel takes 2-D or 4-D masks only; with a 3-D mask it falls back to
    # the math kernel without a word, which on CPU made training slower than the eager formulation.
    # Allowing only the fused kernel makes any such fallback an error here.
    from torch.nn.attention import SDPBackend, sdpa_kernel

    torch.manual_seed(0)
    model = timer_xl_classifier.Model(classifier_config(seq_len=12, covariate=covariate)).eval()
    x = torch.randn(2, 12, 3)
    pad = torch.zeros(2, 12, dtype=torch.bool)
    pad[0, :4] = True
    inputs = (x, pad) if padded else (x,)
    with torch.no_grad():
        expected = model(*inputs)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            fused = model(*inputs)
    torch.testing.assert_close(fused, expected, atol=1e-5, rtol=1e-5)
