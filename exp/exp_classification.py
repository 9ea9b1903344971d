"""Train, early-stop and test a classifier; every run leaves a folder that explains itself.

Run folder ``<checkpoints>/<setting>/``:
    config.json        every resolved option (+ features, n_vars, n_classes, data file hash)
    data_report.json   what the data step did
    checkpoint.pth     best-epoch weights, a plain state_dict (torch.load(weights_only=True))
    last.pth           what --resume needs
    finished.json      written last: the run is tested and complete (--resume then does nothing)
    epochs.csv         one row per epoch
    metrics.json       test metrics of the best checkpoint beside the trivial baselines, and a diagnosis
    predictions.csv    one row per test window
    curves.png, confusion_matrix.png, roc_pr.png (binary)
    train.log          everything printed
"""
from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from data_provider.data_factory import data_provider
from exp import console, diagnosis, plots
from exp.defaults import highway_default, imbalance_defaults
from exp.adaptation import adapt, adopt_checkpoint_architecture, apply_finetune
from exp.augment import mixed, with_input_noise
from exp.ensemble import ENSEMBLE, ensemble_repeats
from exp.evaluation import predict, score_test
from exp.highway import start_highway
from exp.pretrain_stage import stage_beside_adaptation, with_pretrain_stage
from exp.session import prepare_session, run_repeats
from exp.summary import append_summary, repeats, summary_row
from exp.threshold import predict_at, tune_threshold, tuning_metric
from exp.training_loop import NonFiniteLoss, fit, mark_finished
from models import CLASSIFIERS
from models.pretrained import read_checkpoint
from models.timer_xl_classifier import count_parameters, left_pad_length
from utils.atomic_io import write_csv, write_json
from utils.cli import setting_name
from utils.config import parse_finetune
from utils.distributed import STATE, all_objects, barrier
from utils.errors import UserError
from utils.losses import Criterion, class_weights
from utils.metrics import classification_metrics, softmax
from utils.out_of_memory import memory_context, translate_out_of_memory
from utils.precision import precision_for
from utils.tracker import make_tracker
from utils.run_log import RunLog


def check_pos_label(pos_label: int, n_classes: int) -> None:
    if not 0 <= pos_label < n_classes:
        raise UserError(f"--pos_label {pos_label}: the classes are 0..{n_classes - 1}; name one of them")


def build_model(cfg) -> torch.nn.Module:
    return CLASSIFIERS[cfg.model](cfg)


# ----------------------------------------------------------------------------------------- train
def make_criterion(cfg, train_labels: np.ndarray, n_classes: int) -> Criterion:
    return Criterion(cfg.loss, class_weights(cfg.class_weights, train_labels, n_classes), cfg.focal_gamma)


def training_loss(criterion: Criterion, input_noise: float = 0.0, mixup: float = 0.0):
    """The batch loss ``fit`` minimises: the criterion on the model's logits, the inputs first
    blended (--mixup) and noised (--input_noise) when asked (training batches only)."""
    def loss(m, inputs, y):
        if mixup:
            inputs, partner, share = mixed(inputs, mixup)
        if input_noise:
            inputs = with_input_noise(inputs, input_noise)
        logits = m(*inputs)
        if not mixup:
            return criterion(logits, y)
        return share * criterion(logits, y) + (1 - share) * criterion(logits, y[partner])
    return loss


def validation_scores(model, windows, cfg, device, n_classes: int, criterion: Criterion) -> dict:
    loss, logits = predict(model, windows, cfg.batch_size, device, criterion, precision_for(cfg.amp, device))
    y_pred = softmax(logits).argmax(axis=1)
    m = classification_metrics(windows.labels, y_pred, None, n_classes, cfg.pos_label)
    return {"val_loss": loss, "val_accuracy": m["accuracy"], "val_macro_f1": m["macro_f1"]}


def few_shot_subset(windows, ratio: float, seed: int):
    """OpenLTM's --subset_rand_ratio: a seeded random share of the train windows (val/test untouched)."""
    if ratio >= 1.0:
        return windows
    keep = max(1, int(round(len(windows) * ratio)))
    chosen = np.sort(np.random.default_rng(seed).choice(len(windows), size=keep, replace=False))
    return windows.subset(chosen)


def n_train_windows(cfg, data) -> int:
    """The train windows a classifier trains on (a few-shot subset's where --subset_rand_ratio gives
    one): what --preset auto sizes it by, and so part of its run folder's name."""
    return len(few_shot_subset(data.splits["train"], cfg.subset_rand_ratio, cfg.seed))


# ------------------------------------------------------------------------------------------ test
def load_weights(model, run_dir: Path) -> None:
    path = run_dir / "checkpoint.pth"
    if not path.exists():
        raise UserError(f"{path}: no checkpoint; train the run first (--is_training 1)")
    model.load_state_dict(read_checkpoint(path))


def evaluate_test(model, data, cfg, run_dir: Path, device) -> tuple[dict, pd.DataFrame, float]:
    """Test metrics of the weights in ``checkpoint.pth``: the same code path for training and
    re-test. Returns the metrics, the predictions and the seconds the test predictions took."""
    barrier()  # under torchrun, rank 0 has finished writing checkpoint.pth
    load_weights(model, run_dir)
    model.to(device)
    test = data.splits["test"]
    precision = precision_for(cfg.amp, device)
    t0 = time.time()
    _, logits = predict(model, test, cfg.batch_size, device, precision=precision)
    seconds = time.time() - t0
    probs = softmax(logits.astype(np.float64))
    metric = tuning_metric(cfg.monitor)
    threshold = None
    if cfg.threshold_tuning == "on" and data.n_classes == 2:
        # chosen on validation; then it is the decision rule every test figure uses
        _, val_logits = predict(model, data.splits["val"], cfg.batch_size, device, precision=precision)
        # float32 as the tuning has always read them: a re-test of an older run picks the same threshold
        val_probs, val_labels = softmax(val_logits), data.splits["val"].labels
        value, val_value = tune_threshold(val_labels, val_probs[:, cfg.pos_label], cfg.pos_label, metric)
        threshold = {"threshold": value, "chosen_on": f"validation {metric}", f"validation_{metric}": val_value}
        if metric != "macro_f1":  # the figure every comparison of runs reads (scripts/benchmark_quality.py)
            at_threshold = predict_at(val_probs[:, cfg.pos_label], value, cfg.pos_label)
            threshold["validation_macro_f1"] = classification_metrics(
                val_labels, at_threshold, val_probs, data.n_classes, cfg.pos_label)["macro_f1"]
    metrics, predictions = score_test(probs, data, cfg.pos_label, metric, threshold)
    return metrics, predictions, seconds


def peak_memory(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20, "peak_memory_kind": "cuda allocated",
                "cuda_max_memory_reserved_mib": torch.cuda.max_memory_reserved(device) / 2**20}
    return {"peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_memory_kind": "process RSS"}


def run_cost(history: dict, started: float, test_windows: int, test_seconds: float, params: tuple[int, int],
             device: torch.device) -> dict:
    rows = history["rows"]
    trained = [r for r in rows if r["epoch"] >= 1]
    train_seconds = sum(r.get("train_seconds", 0.0) for r in rows)
    return {
        "wall_seconds": time.time() - started,
        # epoch 0 (the highway's start) only validated: it is no epoch of training
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in trained])) if trained else None,
        "train_samples_per_second": sum(r.get("train_windows", 0) for r in rows) / train_seconds if train_seconds else None,
        "inference_samples_per_second": test_windows / test_seconds if test_seconds else None,
        **peak_memory(device),
        "parameters_total": params[0], "parameters_trainable": params[1],
        "device": str(device), "dtype": str(torch.get_default_dtype()).replace("torch.", ""),
    }


# --------------------------------------------------------------------------------- entry points
def classification_task(cfg, log: RunLog) -> None:
    """--task_name classification: train (--is_training 1) or re-test a trained run (0)."""
    if cfg.is_training:
        train_runs(cfg, log)
    else:
        from exp.retest import retest_runs
        retest_runs(cfg, log)


def train_runs(cfg, log: RunLog, data=None) -> list[Path]:
    """``data``: the windows, when the caller has read them with these data options already."""
    if cfg.adaptation:
        cfg = stage_beside_adaptation(cfg)     # before any data is read: the checkpoint sizes the windows
    elif cfg.pretrain_stage != "off":
        data = data if data is not None else data_provider(cfg)
        cfg = with_pretrain_stage(cfg, data, log)
    if cfg.adaptation:
        cfg = adopt_checkpoint_architecture(cfg, log)
    cfg, data, device = prepare_session(
        cfg, log, count_train=n_train_windows, data=data)
    check_pos_label(cfg.pos_label, data.n_classes)
    train_windows = few_shot_subset(data.splits["train"], cfg.subset_rand_ratio, cfg.seed)
    cfg, why = imbalance_defaults(cfg, train_windows.labels, data.n_classes, len(data.splits["val"]) > 0)
    if why:
        log(why)
    cfg, why = highway_default(cfg, data.is_weather, len(data.splits["val"]) > 0)
    if why:
        log(why)
    pad = left_pad_length(cfg.seq_len, cfg.input_token_len)
    if pad:
        log(f"seq_len {cfg.seq_len} is not a multiple of input_token_len {cfg.input_token_len}: each window is "
            f"left-padded with {pad} zero step(s) (the train mean); the most recent steps are all kept")
    # the single-column check reads each window's last row, which means something for weather
    # windows; for archive series a channel's last value is a legitimate feature, not a leak
    leaks = diagnosis.leaking_columns(data.splits["train"], data.features, data.n_classes) if data.is_weather else []
    for line in leaks:
        log(f"WARNING: {line}")
    run_dirs = run_repeats(cfg, data, log, lambda run_cfg, run_dir, resume: train_and_test(
        run_cfg, run_dir, resume, data, device, leaks, log))
    if len(run_dirs) > 1:
        for line in repeats(run_dirs):
            log(line)
        if STATE.is_main:
            ensemble_dir = Path(cfg.checkpoints) / setting_name(cfg, ENSEMBLE)
            m = ensemble_repeats(run_dirs, data, cfg, ensemble_dir)
            rule = m["decision_rule"]
            decided = f", at the members' mean threshold {rule['threshold']:.3f}" if rule["kind"] == "threshold" else ""
            log(f"ensemble of the {len(run_dirs)} repeats (mean probability{decided}): accuracy {m['accuracy']:.4f}, "
                f"macro_f1 {m['macro_f1']:.4f} -> {ensemble_dir}")
        log(f"run folders: {', '.join(map(str, run_dirs))}")  # the last line names them all
    return run_dirs


def train_and_test(cfg, run_dir: Path, resume: dict | None, data, device, leaks: list[str], log: RunLog) -> None:
    """One repeat in its opened folder: build (and adapt) the model, fit, test the tested epoch,
    write metrics, predictions, plots and the summary row, then mark the run finished."""
    started = time.time()
    model = build_model(cfg)
    train = few_shot_subset(data.splits["train"], cfg.subset_rand_ratio, cfg.seed_used)
    if len(train) < len(data.splits["train"]):
        log(f"few-shot: training on {len(train)} of {len(data.splits['train'])} train windows "
            f"(--subset_rand_ratio {cfg.subset_rand_ratio:g}); val and test unchanged")
    if cfg.adaptation and resume is None:
        adapt(model, cfg, run_dir, train.inputs(np.arange(1)), log)
    elif cfg.adaptation:
        apply_finetune(model, *parse_finetune(cfg.finetune))  # weights come from last.pth
    criterion = make_criterion(cfg, train.labels, data.n_classes)
    if cfg.highway == "on" and resume is None:
        log(start_highway(model, train, criterion.weights, cfg.seed_used))
    model.to(device)
    params = count_parameters(model)
    log(f"model {cfg.model}: {cfg.e_layers} layers, d_model {cfg.d_model}, d_ff {cfg.d_ff}, {cfg.n_heads} heads; "
        f"parameters {params[0]:,} total, {params[1]:,} trainable; device {device}; "
        f"schedule {cfg.lradj}, lr {cfg.learning_rate:g}; loss {criterion.describe()}; "
        + (f"early stopping on {cfg.monitor}: patience {cfg.patience}, min_delta {cfg.min_delta:g} of the best"
           if cfg.select_epoch == "best" else "no early stopping (--select_epoch last)"))
    val = data.splits["val"]
    validate = (lambda m: validation_scores(m, val, cfg, device, data.n_classes, criterion)) if len(val) else None
    tracker = make_tracker(cfg.tracker, run_dir, enabled=STATE.is_main)
    with translate_out_of_memory("training", **memory_context(cfg)):
        history = fit(model, train, training_loss(criterion, cfg.input_noise, cfg.mixup), validate,
                      cfg, run_dir, device, log, resume=resume, tracker=tracker, validate_start=cfg.highway == "on")
    tested_value = history[f"best_{cfg.monitor}"]
    log(f"stopped: {history['stop_reason']}; tested epoch {history['best_epoch']}"
        + (" (the start: no epoch of training beat the highway's regression on validation)"
           if history["best_epoch"] == 0 else "")
        + (f" ({cfg.monitor} {tested_value:.4f})" if tested_value is not None else " (no validation split)"))

    with translate_out_of_memory("evaluation", **memory_context(cfg)):
        metrics, predictions, test_seconds = evaluate_test(model, data, cfg, run_dir, device)
    best_row = next(row for row in history["rows"] if row["epoch"] == history["best_epoch"])
    metrics["diagnosis"] = {
        **diagnosis.training_verdict(history["rows"], cfg.learning_rate, history["best_epoch"],
                                     history["stop_reason"], cfg.patience, monitor=cfg.monitor,
                                     min_delta=cfg.min_delta, schedule=cfg.lradj, tmax=cfg.tmax),
        "collapse": diagnosis.collapse(metrics),
        "leakage": leaks + (diagnosis.implausible_validation(best_row["val_accuracy"]) if data.is_weather else []),
        "cost": run_cost(history, started, len(data.splits["test"]), test_seconds, params, device),
    }
    if STATE.enabled:
        views = all_objects({k: v for k, v in metrics.items() if k != "diagnosis"})
        metrics["distributed"] = {"world_size": STATE.world, "ranks_agree": all(v == views[0] for v in views),
                                  "batch_size_per_process": cfg.batch_size,
                                  "global_batch": cfg.batch_size * STATE.world * cfg.accum_steps}
    write_json(run_dir / "metrics.json", metrics)
    write_csv(run_dir / "predictions.csv", predictions)
    draw(run_dir, history, metrics, predictions, cfg, data.report)
    append_summary(Path(cfg.checkpoints), summary_row(cfg, metrics, run_dir, tested_value))
    mark_finished(run_dir, history, cfg.keep_last)
    tracker.log_final(metrics)
    tracker.close()
    for line in console.metrics_table(metrics, "test") + console.diagnosis_lines(metrics["diagnosis"]):
        log(line)
    log(f"run folder: {run_dir}")
    if history["non_finite"]:
        raise NonFiniteLoss(history["non_finite"])


def draw(run_dir: Path, history: dict, metrics: dict, predictions: pd.DataFrame, cfg, report: dict) -> None:
    title = plots.run_title(cfg, report)
    names = report.class_names(len(metrics["labels"]))
    plots.learning_curves(pd.DataFrame(history["rows"]), history["best_epoch"], run_dir / "curves.png", title)
    plots.confusion(metrics["confusion_matrix"], metrics["labels"], run_dir / "confusion_matrix.png", title, names)
    if len(metrics["labels"]) == 2 and metrics["roc_auc"] is not None:
        plots.roc_pr(predictions["true_label"].to_numpy(), predictions[f"prob_{cfg.pos_label}"].to_numpy(),
                     cfg.pos_label, run_dir / "roc_pr.png", title, names[cfg.pos_label])
    if metrics.get("verification"):
        v = metrics["verification"]
        plots.reliability(v["reliability"], v["brier_reference_rate"], run_dir / "reliability.png", title,
                          names[cfg.pos_label])
