"""``--task_name pretrain``: Timer-XL's generative objective on unlabeled series.

Every token predicts the ``output_token_len`` points that follow it (MSE), as in the Timer-XL paper.
The result is ``checkpoint.pth`` in OpenLTM's layout (``embedding.``, ``blocks.``, ``head.``) with
``config.json`` beside it: a checkpoint OpenLTM's ``timer_xl`` loads by name, and that
``--adaptation --pretrain_model_path`` adapts here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from data_provider.windows import to_device
from exp.exp_classification import load_weights
from exp.session import prepare_session, run_repeats
from exp.training_loop import fit, mark_finished
from models import FORECASTERS
from models.timer_xl_classifier import count_parameters
from utils.atomic_io import write_json
from utils.distributed import barrier
from utils.errors import UserError
from utils.out_of_memory import memory_context, translate_out_of_memory
from utils.run_log import RunLog


def split_span(span: torch.Tensor, seq_len: int, token_len: int, out_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, seq_len + out_len, C] -> input [B, seq_len, C] and targets [B, N * out_len, C], where
    target block n holds the out_len points after token n (the layout of the model's output)."""
    n_tokens = seq_len // token_len
    rows = (torch.arange(1, n_tokens + 1) * token_len)[:, None] + torch.arange(out_len)[None, :]
    return span[:, :seq_len], span[:, rows.flatten()]


@torch.no_grad()
def forecast_errors(model, windows, cfg, device) -> dict:
    """MSE/MAE of the model and of the naive forecast (each token's last value held), on one split."""
    model.eval()
    totals = np.zeros(3)
    count = 0
    for (span, *_), _, _ in windows.batches(cfg.batch_size):
        x, target = split_span(to_device(span, device), cfg.seq_len, cfg.input_token_len, cfg.output_token_len)
        pred = model(x).float()
        last = x[:, cfg.input_token_len - 1::cfg.input_token_len]  # [B, N, C]: each token's last point
        naive = last.repeat_interleave(cfg.output_token_len, dim=1)
        totals += [F.mse_loss(pred, target, reduction="sum").item(), (pred - target).abs().sum().item(),
                   F.mse_loss(naive, target, reduction="sum").item()]
        count += target.numel()
    mse, mae, naive_mse = totals / max(count, 1)
    return {"mse": mse, "mae": mae, "naive_last_value_mse": naive_mse}


def pretrain_task(cfg, log: RunLog) -> None:
    """--task_name pretrain."""
    if not cfg.is_training:
        raise UserError("--is_training 0 re-tests classification runs; a pretrain run's test MSE is in its "
                        "metrics.json")
    pretrain_runs(cfg, log)


def pretrain_runs(cfg, log: RunLog, data=None) -> list[Path]:
    """``data``: the unlabeled windows, when the caller has read them with these options already."""
    cfg, data, device = prepare_session(cfg, log, data=data)
    return run_repeats(cfg, data, log, lambda run_cfg, run_dir, resume: pretrain_one(
        run_cfg, run_dir, resume, data, device, log))


def pretrain_one(cfg, run_dir: Path, resume: dict | None, data, device, log: RunLog) -> None:
    model = FORECASTERS[cfg.model](cfg).to(device)
    total, _ = count_parameters(model)
    log(f"model timer_xl: {cfg.e_layers} layers, d_model {cfg.d_model}, d_ff {cfg.d_ff}, {cfg.n_heads} heads, "
        f"token {cfg.input_token_len} -> {cfg.output_token_len}; parameters {total:,}; device {device}")

    def mse_loss(m, inputs, _labels):
        """Per-window MSE, summed over the batch (the loop divides by the windows per step)."""
        x, target = split_span(inputs[0], cfg.seq_len, cfg.input_token_len, cfg.output_token_len)
        return F.mse_loss(m(x), target, reduction="none").mean(dim=(1, 2)).sum()

    val = data.splits["val"]
    with translate_out_of_memory("training", **memory_context(cfg)):
        history = fit(model, data.splits["train"], mse_loss,
                      lambda m: {"val_loss": forecast_errors(m, val, cfg, device)["mse"]}, cfg, run_dir, device, log,
                      resume=resume)
    barrier()  # under torchrun, rank 0 has finished writing checkpoint.pth
    load_weights(model, run_dir)
    model.to(device)
    # --skip_test: the table's test period stays unscored for the classification run that follows
    with translate_out_of_memory("evaluation", **memory_context(cfg)):
        test = None if cfg.skip_test else forecast_errors(model, data.splits["test"], cfg, device)
    training = {k: v for k, v in history.items() if k != "rows"}
    write_json(run_dir / "metrics.json", {"test": test, "training": {**training, "parameters_total": total,
                                                                      "device": str(device)}})
    mark_finished(run_dir, history, cfg.keep_last)
    log(f"stopped: {history['stop_reason']}; best epoch {history['best_epoch']}")
    if test is None:
        log("test: not scored (--skip_test)")
    else:
        log(f"test (standardised units): MSE {test['mse']:.4f}, MAE {test['mae']:.4f}; "
            f"naive last-value forecast MSE {test['naive_last_value_mse']:.4f}")
    log(f"run folder: {run_dir}")
