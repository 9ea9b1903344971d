"""The epoch loop shared by classification and pretraining: schedule, gradient accumulation and
clipping, early stopping, checkpoints, resume. The task supplies the batch loss and validation.

Files it keeps in the run folder, each written atomically:
    checkpoint.pth  best weights so far (plain state_dict)
    last.pth        everything needed to continue after the last finished epoch
    epochs.csv      one row per finished epoch
    finished.json   written once the run is tested: why it stopped, the tested epoch, when
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from tqdm import tqdm

from torch.nn.parallel import DistributedDataParallel

from data_provider.windows import to_device
from utils.atomic_io import read_json, save_torch, write_csv, write_json
from utils.cli import epochs_for_steps
from utils.distributed import STATE, shard, sum_all
from utils.early_stopping import EarlyStopping
from utils.errors import TrainingFailure, UserError
from utils.lr_schedule import learning_rate_at
from utils.precision import FP32, LossScaling, Precision, precision_for
from utils.run_log import RunLog
from utils.seeding import capture_rng_state, restore_rng_state

LAST = "last.pth"
# fp16 overflow halves the loss scale each time: this many skips in a row (a scale 2^40 smaller)
# is no longer overflow but gradients that are not finite at any scale
MAX_SKIPPED_IN_A_ROW = 40
BEST = "checkpoint.pth"
FINISHED = "finished.json"


class NonFiniteLoss(TrainingFailure):
    """Training produced NaN/inf; the message is the diagnosis."""


def build_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    """AdamW over trainable parameters; pretrained backbone layers may run at a scaled rate."""
    scale = cfg.backbone_lr_scale if cfg.adaptation else 1.0
    backbone = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone.")]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.")]
    groups = [{"params": ps, "lr_scale": s} for ps, s in ((backbone, scale), (rest, 1.0)) if ps]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def schedule_lr(cfg, epoch: int) -> float:
    return learning_rate_at(epoch, schedule=cfg.lradj, learning_rate=cfg.learning_rate, tmax=cfg.tmax,
                            warmup_epochs=cfg.warmup_epochs)


def _diagnose(kind: str, epoch: int, step: int, x: torch.Tensor, lr: float) -> NonFiniteLoss:
    return NonFiniteLoss(
        f"non-finite {kind} at epoch {epoch + 1}, step {step + 1}: inputs finite: {bool(torch.isfinite(x).all())}, "
        f"largest |input| {x.abs().max().item():.3g}, learning rate {lr:.3g}; the best checkpoint so far is "
        "intact; lower --learning_rate or check the data report for extreme values")


# where no progress bar can be drawn (a log file, a notebook's `!python`), a line this often instead
PROGRESS_EVERY_S = 60.0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def progress_line(epoch: int, done: int, total: int, elapsed: float) -> str:
    rate = done / max(elapsed, 1e-9)
    return (f"epoch {epoch + 1}: step {done:,} of {total:,} ({rate:.2f} steps/s), "
            f"about {_minutes((total - done) / rate)} left in this epoch")


def run_epoch(model, optimizer, windows, batch_loss: Callable, cfg, device, generator, epoch: int, lr: float,
              precision: Precision = FP32, scaling: LossScaling | None = None,
              progress: Callable[[str], None] | None = None) -> float:
    """One pass over ``windows``. ``batch_loss(model, inputs, y)`` returns the *sum* of per-window
    losses (``inputs``: the tuple ``windows.inputs`` gives), and each
    optimizer step divides by the number of windows it covers: ``batch_size`` x ``accum_steps``
    accumulated equals one batch of that size, and a short last step weighs what it should.
    Under fp16 (``scaling`` with a gradient scaler) a step whose gradients overflowed is skipped
    and counted in ``scaling.skipped_steps``; many in a row mean the run diverged. ``progress``
    receives a line every PROGRESS_EVERY_S seconds where the bar is off (output not a terminal)."""
    scaling = scaling or LossScaling(precision, device)
    model.train()
    accum = cfg.accum_steps
    micro = cfg.batch_size
    # every rank draws the same permutation, then keeps its own shard of it
    order = shard(torch.randperm(len(windows), generator=generator), pad=True)
    labels = torch.as_tensor(windows.labels)
    params = [p for p in model.parameters() if p.requires_grad]
    max_norm = cfg.clip_grad if cfg.clip_grad > 0 else float("inf")
    total, seen = 0.0, 0
    steps = range(0, len(order), micro * accum)
    bar = tqdm(steps, total=len(steps), desc=f"epoch {epoch + 1}", leave=False,
               disable=None if STATE.is_main else True)
    started = last_line = time.time()
    for step, start in enumerate(bar):
        group = order[start:start + micro * accum]
        optimizer.zero_grad(set_to_none=True)
        for m in range(0, len(group), micro):
            positions = group[m:m + micro]
            inputs = tuple(to_device(t, device) for t in windows.inputs(positions))
            y = to_device(labels[positions], device)
            with precision.autocast(device):
                loss_sum = batch_loss(model, inputs, y)
            if not torch.isfinite(loss_sum):
                raise _diagnose("training loss", epoch, step, inputs[0], lr)
            scaling.scale(loss_sum.float() / len(group)).backward()
            total += loss_sum.item()
        scaling.unscale_(optimizer)  # the norm clipped is the true one
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        # an fp16 overflow is the scaler's to handle (the step is skipped, the scale halves)
        if not torch.isfinite(norm) and not scaling.enabled:
            raise _diagnose("gradient", epoch, step, inputs[0], lr)
        scaling.step(optimizer)
        if scaling.skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
            raise _diagnose(f"gradient ({MAX_SKIPPED_IN_A_ROW} fp16 steps in a row overflowed)", epoch, step,
                            inputs[0], lr)
        seen += len(group)
        bar.set_postfix(loss=f"{total / seen:.4f}")
        if progress is not None and bar.disable and time.time() - last_line >= PROGRESS_EVERY_S:
            last_line = time.time()
            progress(progress_line(epoch, step + 1, len(steps), last_line - started))
    total, seen = sum_all(total, seen)
    return total / max(seen, 1)


def with_epochs_from_steps(cfg, n_train_windows: int, log):
    """--train_steps: the Config whose ``train_epochs`` (and cosine length, unless --tmax was given)
    give that step budget over this many train windows; known only once the data is read, before
    any run folder is opened. Without --train_steps, ``cfg`` itself."""
    if cfg.train_steps is None:
        return cfg
    epochs = epochs_for_steps(cfg, n_train_windows, STATE.world)
    cfg = cfg.derive(train_epochs=epochs, **({} if "tmax" in cfg.explicit else {"tmax": epochs}))
    log(f"--train_steps {cfg.train_steps}: {cfg.train_epochs} epochs over {n_train_windows} train windows "
        f"(batch {cfg.batch_size} x {cfg.accum_steps} accumulation x {STATE.world} process(es))")
    return cfg


def read_last(run_dir: Path) -> dict | None:
    path = run_dir / LAST
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        # every command that opens this folder reads last.pth, so the way out is a fresh folder
        raise UserError(f"{path}: cannot be read ({type(err).__name__}); it is written atomically, so this file was "
                        f"damaged after the run wrote it; move {run_dir} away to start the run afresh, or give "
                        "another --des")


def mark_finished(run_dir: Path, history: dict, keep_last: bool = False) -> None:
    """A small marker beside the checkpoints: marking a run finished rewrites nothing large and
    works whether or not last.pth is there. Then last.pth (weights and optimizer state, what only
    --resume needs) is removed unless ``keep_last``: nothing continues a finished run, and it is
    most of the folder's size."""
    write_json(run_dir / FINISHED, {
        "stop_reason": history["stop_reason"], "tested_epoch": history["best_epoch"],
        "epochs_run": history["epochs_run"], "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    if not keep_last and STATE.is_main:
        (run_dir / LAST).unlink(missing_ok=True)


def read_finished(run_dir: Path, last: dict | None = None) -> dict | None:
    """The finished marker, or None for a run not (yet) finished. Folders written before the marker
    existed kept a ``finished`` flag inside last.pth: pass that file's state as ``last`` to read it."""
    if (run_dir / FINISHED).exists():
        return read_json(run_dir / FINISHED)
    if last is not None and last.get("finished"):
        return {"stop_reason": last["stop_reason"], "tested_epoch": None, "epochs_run": len(last["rows"]),
                "finished_at": None}
    return None


def tested_validation_value(run_dir: Path, monitor: str) -> float:
    """The validation ``monitor`` value of a finished run's tested epoch: finished.json names the
    epoch and epochs.csv holds its validation scores (neither file holds a test figure)."""
    tested = read_json(run_dir / FINISHED)["tested_epoch"]
    epochs = pd.read_csv(run_dir / "epochs.csv")
    return float(epochs.loc[epochs["epoch"] == tested, monitor].iloc[0])


def _cpu_state(model) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _shown(val: dict) -> str:
    """Validation scores for the epoch line: 'loss 0.4746 accuracy 0.7642 macro-f1 0.5860'."""
    return " ".join(f"{k.removeprefix('val_').replace('_', '-')} {v:.4f}" for k, v in val.items())


def fit(model, train_windows, batch_loss: Callable, validate: Callable[[torch.nn.Module], dict] | None, cfg,
        run_dir: Path, device, log: RunLog, resume: dict | None = None, tracker=None,
        validate_start: bool = False) -> dict:
    """Train until ``cfg.train_epochs`` or patience runs out; the best epoch's weights are in
    ``run_dir/checkpoint.pth``. ``validate`` None (no validation split) needs --select_epoch last:
    the epochs then log no validation scores and the last epoch is tested. With ``resume`` (a
    last.pth), continue after its epoch with every state as it was: the result equals an
    uninterrupted run's. ``validate_start``: the model as it starts (a fitted regression, not a
    random draw) is scored on validation as epoch 0 and competes for the tested epoch like any
    other, so training is kept only where it beat its own start. A non-finite loss or gradient ends
    training at once; the caller tests the best epoch before it and then reports the failure (with
    no best epoch yet, the error is raised here)."""
    optimizer = build_optimizer(model, cfg)
    precision = precision_for(cfg.amp, device)
    scaling = LossScaling(precision, device)
    # what trains: the model itself, or a compiled / DistributedDataParallel wrapper of it; the
    # state_dicts saved are always the plain model's (no "module." or "_orig_mod." prefixes)
    trained = torch.compile(model) if cfg.compile else model
    if STATE.enabled:
        device_ids = [torch.device(device).index] if torch.device(device).type == "cuda" else None
        trained = DistributedDataParallel(trained, device_ids=device_ids)
    # --select_epoch last: a fixed budget; the stopper still tracks the best validation epoch for the
    # log, but never stops, and checkpoint.pth follows the latest epoch
    keep_last = cfg.select_epoch == "last"
    stopper = EarlyStopping(cfg.monitor, cfg.train_epochs + 1 if keep_last else cfg.patience,
                            cfg.min_delta)
    generator = torch.Generator().manual_seed(cfg.seed_used)
    rows, first_epoch, stop_reason, non_finite = [], 0, "max epochs", None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        stopper.load_state_dict(resume["stopper"])
        scaling.load_state_dict(resume.get("scaler", {}))  # last.pth files from before fp16 have none
        rows, first_epoch, stop_reason = list(resume["rows"]), resume["epoch"] + 1, resume["stop_reason"]
        restore_rng_state(resume["rng"], generator)
        log(f"resumed after epoch {first_epoch} from {run_dir / LAST} (best epoch so far {stopper.best_epoch + 1})")

    def record(row: dict) -> None:
        """One epochs.csv row, written at once (and to the tracker): a killed run keeps it."""
        rows.append(row)
        write_csv(run_dir / "epochs.csv", pd.DataFrame(rows))
        if tracker is not None:
            tracker.log_epoch(row["epoch"], row)

    if validate_start and resume is None and validate is not None and not keep_last:
        t0 = time.time()
        val = {k: float(v) for k, v in validate(model).items()}
        improved = stopper.step(val[cfg.monitor], -1)
        if improved:
            save_torch(run_dir / BEST, _cpu_state(model))
        record({"epoch": 0, "train_loss": float("nan"), **val, "lr": schedule_lr(cfg, 0),
                "seconds": time.time() - t0, "train_seconds": 0.0, "train_windows": 0, "best": improved,
                "skipped_steps": 0})
        log(f"epoch   0 | the start, before any step | val {_shown(val)}")
    for epoch in range(first_epoch, cfg.train_epochs):
        if stopper.should_stop:
            break
        lr = schedule_lr(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        t0 = time.time()
        scaling.start_epoch()
        try:
            train_loss = run_epoch(trained, optimizer, train_windows, batch_loss, cfg, device, generator, epoch, lr,
                                   precision, scaling, progress=log if STATE.is_main else None)
        except NonFiniteLoss as err:
            if stopper.best_epoch is None:
                raise  # no good epoch to fall back on
            stop_reason, non_finite = "non-finite loss or gradient", str(err)
            log(f"stopped: {err}")
            break
        train_seconds = time.time() - t0
        # plain floats: last.pth loads weights_only
        val = {k: float(v) for k, v in validate(model).items()} if validate is not None else {}
        improved = stopper.step(val[cfg.monitor], epoch) if val else False
        if improved or keep_last:
            save_torch(run_dir / BEST, _cpu_state(model))
        seconds = time.time() - t0
        record({"epoch": epoch + 1, "train_loss": train_loss, **val, "lr": lr, "seconds": seconds,
                "train_seconds": train_seconds, "train_windows": len(train_windows), "best": improved,
                "skipped_steps": scaling.skipped_steps})
        if stopper.should_stop:
            stop_reason = f"patience exhausted ({cfg.patience} epochs without a better {cfg.monitor})"
        save_torch(run_dir / LAST, {
            "model": _cpu_state(model),
            "optimizer": optimizer.state_dict(), "stopper": stopper.state_dict(), "epoch": epoch,
            "rows": rows, "rng": capture_rng_state(generator), "stop_reason": stop_reason,
            "scaler": scaling.state_dict(),
            "config": {k: v for k, v in cfg.flat().items() if isinstance(v, (str, int, float, bool, type(None)))},
        })
        log(f"epoch {epoch + 1:3d} | train loss {train_loss:.4f} | val {_shown(val) or '-'} | lr {lr:.3g} | "
            f"{seconds:.1f}s{'  *best' if improved else ''}")
    if stopper.best_epoch is None and validate is not None:
        raise TrainingFailure(f"{cfg.monitor} was never finite on the validation split, so there is no best checkpoint; "
                        "check the data report and lower --learning_rate")
    if keep_last:  # the tested epoch is the last one that finished
        tested, tested_value = len(rows), rows[-1].get(cfg.monitor)
        stop_reason = stop_reason if non_finite else "fixed budget (--select_epoch last)"
    else:
        tested, tested_value = stopper.best_epoch + 1, stopper.best
    return {
        "best_epoch": tested,
        f"best_{cfg.monitor}": tested_value,
        "epochs_run": sum(1 for row in rows if row["epoch"] >= 1),
        "stop_reason": stop_reason,
        "non_finite": non_finite,
        "rows": rows,
    }
