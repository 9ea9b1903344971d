"""--amp: which precision each card gets, and fp16's gradient scaler skipping an overflowing step."""
import pytest
import torch
import torch.nn.functional as F

from utils.errors import UserError
from utils.precision import LossScaling, choose_precision, device_capability

CPU = ("cpu", None)
T4 = ("cuda", (7, 5))
A100 = ("cuda", (8, 0))
H100 = ("cuda", (9, 0))

# requested, (device type, compute capability), the precision chosen or the refusal's words
CHOICES = [
    ("off", CPU, "fp32"), ("off", T4, "fp32"), ("off", A100, "fp32"), ("off", H100, "fp32"),
    ("auto", CPU, "--amp auto needs a CUDA GPU"), ("auto", T4, "fp16"), ("auto", A100, "bf16"), ("auto", H100, "bf16"),
    ("bf16", CPU, "bf16"), ("bf16", T4, "has no bfloat16"), ("bf16", A100, "bf16"), ("bf16", H100, "bf16"),
    ("fp16", CPU, "fp16"), ("fp16", T4, "fp16"), ("fp16", A100, "fp16"), ("fp16", H100, "fp16"),
]
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@pytest.mark.parametrize("requested, device, expected", CHOICES,
                         ids=[f"{r}-{d[0]}" + (f"-{d[1][0]}.{d[1][1]}" if d[1] else "") for r, d, _ in CHOICES])
def test_each_card_gets_the_precision_it_can_run(requested, device, expected):
    if expected not in DTYPES:
        with pytest.raises(UserError, match=expected):
            choose_precision(requested, *device)
        return
    precision = choose_precision(requested, *device)
    assert precision.name == expected
    assert precision.dtype is DTYPES[expected]
    assert precision.use_scaler == (expected == "fp16")  # only fp16 overflows


def test_auto_on_a_cpu_says_what_to_give_instead():
    with pytest.raises(UserError) as refused:
        choose_precision("auto", "cpu", None)
    assert "on CPU give --amp bf16 or --amp fp16 explicitly, or drop --amp" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_bf16_on_a_t4_names_the_card_and_the_way_out():
    with pytest.raises(UserError) as refused:
        choose_precision("bf16", "cuda", (7, 5))
    message = str(refused.value)
    assert "compute capability 7.5" in message and "--amp fp16 or --amp auto" in message


def test_the_reason_says_why_auto_chose_fp16_on_an_older_card():
    assert choose_precision("auto", "cuda", (7, 5)).reason == (
        "fp16 autocast with a gradient scaler: this GPU (compute capability 7.5) has no bfloat16")
    assert "compute capability 9.0" in choose_precision("auto", "cuda", (9, 0)).reason


def test_an_unknown_choice_is_refused():
    with pytest.raises(UserError, match="--amp must be one of off, auto, bf16, fp16"):
        choose_precision("fp8", "cuda", (9, 0))


def test_a_cpu_has_no_compute_capability():
    assert device_capability(torch.device("cpu")) is None
    assert device_capability("cpu") is None


def test_bf16_autocast_on_a_cpu_runs_matmuls_in_bf16_and_off_leaves_fp32():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with choose_precision("bf16", "cpu", None).autocast("cpu"):
        assert (a @ b).dtype == torch.bfloat16
    with choose_precision("off", "cpu", None).autocast("cpu"):
        assert (a @ b).dtype == torch.float32


def fp16_trainer():
    """A tiny model trained by the loop's calls under fp16 autocast with a scaler, on the CPU."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    precision = choose_precision("fp16", "cpu", None)
    scaling = LossScaling(precision, "cpu")
    x, y = torch.randn(8, 4), torch.randn(8, 2)

    def train_step(loss_factor: float = 1.0) -> bool:
        optimizer.zero_grad(set_to_none=True)
        with precision.autocast("cpu"):
            out = model(x)
        assert out.dtype == torch.float16
        # x 1e30 and the scale overflow fp16 on the way back: the gradients come out inf/nan
        scaling.scale(F.mse_loss(out.float(), y) * loss_factor).backward()
        scaling.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        return scaling.step(optimizer)

    return model, scaling, train_step


def test_fp16_skips_an_overflowing_step_counts_it_and_backs_off_the_scale():
    model, scaling, train_step = fp16_trainer()
    scaling.start_epoch()
    weights = model.weight.detach().clone()
    assert train_step() and not torch.equal(model.weight, weights)  # a normal step learns
    weights, scale = model.weight.detach().clone(), scaling.scale_factor

    assert not train_step(loss_factor=1e30)
    assert torch.equal(model.weight, weights)  # the skipped step left the weights alone
    assert scaling.scale_factor == scale / 2
    assert scaling.skipped_steps == 1 and scaling.skipped_in_a_row == 1

    assert train_step() and not torch.equal(model.weight, weights)
    assert scaling.skipped_steps == 1 and scaling.skipped_in_a_row == 0
    scaling.start_epoch()  # the count is per epoch, for epochs.csv
    assert scaling.skipped_steps == 0


def test_a_resumed_scaler_continues_at_the_scale_it_had():
    _, scaling, train_step = fp16_trainer()
    train_step(loss_factor=1e30)
    state = scaling.state_dict()
    assert all(isinstance(v, (int, float)) for v in state.values())  # last.pth loads weights_only
    resumed = LossScaling(choose_precision("fp16", "cpu", None), "cpu")
    resumed.load_state_dict(state)
    assert resumed.scale_factor == scaling.scale_factor == 65536.0 / 2


def test_without_fp16_the_scaling_calls_change_nothing_and_every_step_applies():
    for requested in ("off", "bf16"):
        scaling = LossScaling(choose_precision(requested, "cpu", None), "cpu")
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = model(torch.ones(1, 2)).sum()
        assert scaling.scale(loss) is loss
        loss.backward()
        scaling.unscale_(optimizer)
        assert scaling.step(optimizer) and scaling.skipped_steps == 0
        assert scaling.state_dict() == {} and scaling.scale_factor == 1.0
        scaling.load_state_dict({"scale": 8.0})  # an fp16 run resumed without a scaler: ignored
