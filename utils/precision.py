"""Mixed precision that fits the card: bf16 where the GPU has it, fp16 with a gradient scaler where
it does not, and no autocast unless asked for.

bf16 keeps fp32's exponent range, so its gradients do not overflow and need no scaler; fp16 does
overflow, so its loss is scaled up before backward and a step whose gradients came out inf/nan is
skipped (the scale then halves). NVIDIA cards have bf16 from compute capability 8.0 (Ampere) on;
a T4 (7.5) or a V100 (7.0) runs fp16.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from utils.errors import UserError

AMP_CHOICES = ("off", "auto", "bf16", "fp16")
BF16_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Precision:
    """How the forward pass runs. ``reason`` is the phrase the run header shows."""
    name: str  # "fp32", "bf16" or "fp16"
    dtype: torch.dtype | None  # the autocast dtype; None: no autocast
    use_scaler: bool  # only fp16 needs its loss scaled
    reason: str

    def autocast(self, device: str | torch.device):
        """The autocast context for ``device`` ("cuda", "cuda:1", "cpu" or a torch.device)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=self.dtype)


FP32 = Precision("fp32", None, False, "fp32: mixed precision is off")


def _bf16(reason: str) -> Precision:
    return Precision("bf16", torch.bfloat16, False, reason)


def _fp16(reason: str) -> Precision:
    return Precision("fp16", torch.float16, True, reason)


def _shown(capability: tuple[int, int]) -> str:
    return f"{capability[0]}.{capability[1]}"


def choose_precision(requested: str, device_type: str, capability: tuple[int, int] | None) -> Precision:
    """The precision for ``--amp requested`` on ``device_type`` ("cuda", "cpu", ...) whose compute
    capability is ``capability`` (None off CUDA). Pure: the caller asks the card (device_capability)."""
    if requested not in AMP_CHOICES:
        raise UserError(f"--amp must be one of {', '.join(AMP_CHOICES)}, got {requested!r}")
    if requested == "off":
        return FP32
    on_cuda = device_type == "cuda"
    if on_cuda and capability is None:
        raise ValueError("choose_precision on cuda needs the card's compute capability")
    has_bf16 = on_cuda and tuple(capability) >= BF16_CAPABILITY
    card = f"this GPU (compute capability {_shown(capability)})" if on_cuda else None
    where = card or device_type.upper()
    if requested == "auto":
        if not on_cuda:
            # on a CPU neither dtype is a safe default: which one pays off depends on the processor
            raise UserError("--amp auto needs a CUDA GPU (it picks bf16 or fp16 from the card's compute capability); "
                            f"on {where} give --amp bf16 or --amp fp16 explicitly, or drop --amp")
        if has_bf16:
            return _bf16(f"bf16 autocast: {card} has bfloat16")
        return _fp16(f"fp16 autocast with a gradient scaler: {card} has no bfloat16")
    if requested == "bf16":
        if on_cuda and not has_bf16:
            raise UserError(f"--amp bf16: {card} has no bfloat16 (it needs compute capability "
                            f"{_shown(BF16_CAPABILITY)} or newer); give --amp fp16 or --amp auto")
        return _bf16(f"bf16 autocast on {where} (--amp bf16)")
    return _fp16(f"fp16 autocast with a gradient scaler on {where} (--amp fp16)")


def device_capability(device: str | torch.device) -> tuple[int, int] | None:
    """The CUDA compute capability of ``device``, or None for any other device."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return tuple(torch.cuda.get_device_capability(device))


def precision_for(amp: str, device: str | torch.device) -> Precision:
    """--amp on this device (the card is asked for its compute capability)."""
    return choose_precision(amp, torch.device(device).type, device_capability(device))


class LossScaling:
    """torch.amp.GradScaler for fp16; for fp32 and bf16 the same calls do nothing but step.

    The loop calls, once per optimizer step::

        scaling.scale(loss).backward()        # for each micro-batch
        scaling.unscale_(optimizer)           # before clipping, so the norm is the true one
        clip_grad_norm_(...)                  # inf under fp16 overflow: expected, not a failure
        applied = scaling.step(optimizer)

    ``skipped_steps`` counts the steps skipped since ``start_epoch()`` (a column of epochs.csv);
    ``skipped_in_a_row`` lets the loop tell the scaler's occasional overflow from a run that
    diverged: each skip halves the scale, so a long run of skips means the gradients themselves
    are not finite.
    """

    def __init__(self, precision: Precision, device: str | torch.device):
        self.enabled = precision.use_scaler
        self._scaler = torch.amp.GradScaler(torch.device(device).type, enabled=self.enabled)
        self.skipped_steps = 0
        self.skipped_in_a_row = 0

    def start_epoch(self) -> None:
        self.skipped_steps = 0

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return self._scaler.scale(loss) if self.enabled else loss

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        if self.enabled:
            self._scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Apply the step; False when the gradients held inf/nan and the step was skipped."""
        if not self.enabled:
            optimizer.step()
            return True
        before = self._scaler.get_scale()
        self._scaler.step(optimizer)
        self._scaler.update()
        # update() backs the scale off only after a skipped step (it grows or stays otherwise)
        applied = self._scaler.get_scale() >= before
        self.skipped_in_a_row = 0 if applied else self.skipped_in_a_row + 1
        self.skipped_steps += not applied
        return applied

    @property
    def scale_factor(self) -> float:
        """The loss scale now (1.0 without a scaler)."""
        return self._scaler.get_scale() if self.enabled else 1.0

    def state_dict(self) -> dict:
        """Plain numbers (last.pth loads weights_only); empty without a scaler."""
        return self._scaler.state_dict() if self.enabled else {}

    def load_state_dict(self, state: dict) -> None:
        # a run resumed with a different --amp starts from a fresh scale (an empty state is what a
        # run without a scaler saved, and GradScaler refuses to load one)
        if self.enabled and state:
            self._scaler.load_state_dict(state)
