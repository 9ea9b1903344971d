"""The epoch loop shared by classification and pretraining: schedule, clipping, early stopping,
best-checkpoint saving and the per-epoch log. The task supplies the batch loss and validation."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from tqdm import tqdm

from utils.atomic_io import save_torch, write_csv
from utils.early_stopping import EarlyStopping
from utils.errors import UserError
from utils.lr_schedule import learning_rate_at
from utils.run_log import RunLog


class NonFiniteLoss(UserError):
    """Training produced NaN/inf; the message is the diagnosis."""


def build_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    """AdamW over trainable parameters; pretrained backbone layers may run at a scaled rate."""
    scale = getattr(cfg, "backbone_lr_scale", 1.0) if getattr(cfg, "adaptation", False) else 1.0
    backbone = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone.")]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.")]
    groups = [{"params": ps, "lr_scale": s} for ps, s in ((backbone, scale), (rest, 1.0)) if ps]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def schedule_lr(cfg, epoch: int) -> float:
    return learning_rate_at(epoch, schedule=cfg.lradj, learning_rate=cfg.learning_rate, tmax=cfg.tmax,
                            warmup_epochs=cfg.warmup_epochs)


def run_epoch(model, optimizer, windows, batch_loss: Callable, cfg, device, generator, epoch: int, lr: float) -> float:
    model.train()
    total, seen = 0.0, 0
    bar = tqdm(windows.batches(cfg.batch_size, shuffle=True, generator=generator),
               total=math.ceil(len(windows) / cfg.batch_size), desc=f"epoch {epoch + 1}", leave=False, disable=None)
    for batch, (x, y, _) in enumerate(bar):
        x, y = x.to(device), y.to(device)
        loss = batch_loss(model, x, y)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(
                f"non-finite training loss at epoch {epoch + 1}, batch {batch + 1}: inputs finite: "
                f"{bool(torch.isfinite(x).all())}, largest |input| {x.abs().max().item():.3g}, learning rate {lr:.3g}; "
                "lower --learning_rate or check the data report for extreme values")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.clip_grad)
        optimizer.step()
        total += loss.item() * len(y)
        seen += len(y)
        bar.set_postfix(loss=f"{total / seen:.4f}")
    return total / max(seen, 1)


def fit(model, train_windows, batch_loss: Callable, validate: Callable[[torch.nn.Module], dict], cfg,
        run_dir: Path, device, log: RunLog) -> dict:
    """Train until ``cfg.train_epochs`` or patience runs out; the best epoch's weights are in
    ``run_dir/checkpoint.pth``. Returns what happened."""
    optimizer = build_optimizer(model, cfg)
    stopper = EarlyStopping(cfg.monitor, cfg.patience)
    generator = torch.Generator().manual_seed(cfg.seed_used)
    rows, stop_reason, started = [], "max epochs", time.time()
    for epoch in range(cfg.train_epochs):
        lr = schedule_lr(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        t0 = time.time()
        train_loss = run_epoch(model, optimizer, train_windows, batch_loss, cfg, device, generator, epoch, lr)
        val = validate(model)
        improved = stopper.step(val[cfg.monitor], epoch)
        if improved:
            save_torch(run_dir / "checkpoint.pth", {k: v.detach().cpu() for k, v in model.state_dict().items()})
        seconds = time.time() - t0
        rows.append({"epoch": epoch + 1, "train_loss": train_loss, **val, "lr": lr, "seconds": seconds,
                     "best": improved})
        write_csv(run_dir / "epochs.csv", pd.DataFrame(rows))
        shown = " ".join(f"{k.removeprefix('val_').replace('_', '-')} {v:.4f}" for k, v in val.items())
        log(f"epoch {epoch + 1:3d} | train loss {train_loss:.4f} | val {shown} | lr {lr:.3g} | "
            f"{seconds:.1f}s{'  *best' if improved else ''}")
        if stopper.should_stop:
            stop_reason = f"patience exhausted ({cfg.patience} epochs without a better {cfg.monitor})"
            break
    if stopper.best_epoch is None:
        raise UserError(f"{cfg.monitor} was never finite on the validation split, so there is no best checkpoint; "
                        "check the data report and lower --learning_rate")
    return {
        "best_epoch": stopper.best_epoch + 1,
        f"best_{cfg.monitor}": stopper.best,
        "epochs_run": len(rows),
        "stop_reason": stop_reason,
        "train_seconds": time.time() - started,
    }
