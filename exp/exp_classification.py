"""Train, early-stop, test and re-test a classifier; every run leaves a folder that explains itself.

Run folder ``<checkpoints>/<setting>/``:
    config.json        every resolved option (+ features, n_vars, n_classes, data file hash)
    data_report.json   what the data step did
    checkpoint.pth     best-epoch weights, a plain state_dict (torch.load(weights_only=True))
    epochs.csv         one row per epoch
    metrics.json       test metrics of the best checkpoint beside the trivial baselines
    predictions.csv    one row per test window
    train.log          everything printed
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from data_provider.data_factory import data_provider
from exp import console
from exp.adaptation import adapt, adopt_checkpoint_architecture, apply_finetune
from exp.evaluation import majority_class, predict, predictions_frame, score_split
from exp.run_folder import file_sha256, open_run, pick_device
from exp.training_loop import fit, mark_finished
from models import CLASSIFIERS
from models.pretrained import read_checkpoint
from models.timer_xl_classifier import count_parameters, left_pad_length
from utils.atomic_io import read_json, write_csv, write_json
from utils.cli import RUNTIME_FLAGS, contradicting_flags, parse_finetune
from utils.errors import UserError
from utils.metrics import classification_metrics, softmax
from utils.run_log import RunLog
from utils.seeding import seed_everything, use_deterministic_algorithms


def build_model(cfg) -> torch.nn.Module:
    return CLASSIFIERS[cfg.model](cfg)


# ----------------------------------------------------------------------------------------- train
def cross_entropy_loss(model, x, y):
    """Sum over the batch: the training loop divides by the windows of each optimizer step."""
    return F.cross_entropy(model(x), y, reduction="sum")


def validation_scores(model, windows, cfg, device, n_classes: int) -> dict:
    loss, logits = predict(model, windows, cfg.batch_size, device)
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


# ------------------------------------------------------------------------------------------ test
def load_weights(model, run_dir: Path) -> None:
    path = run_dir / "checkpoint.pth"
    if not path.exists():
        raise UserError(f"{path}: no checkpoint; train the run first (--is_training 1)")
    model.load_state_dict(read_checkpoint(path))


def evaluate_test(model, data, cfg, run_dir: Path, device) -> tuple[dict, pd.DataFrame]:
    """Test metrics of the weights in ``checkpoint.pth``: the same code path for training and re-test."""
    load_weights(model, run_dir)
    model.to(device)
    test = data.splits["test"]
    _, logits = predict(model, test, cfg.batch_size, device)
    persistence = data.persistence["test"] if data.persistence is not None else None
    metrics = score_split(logits, test, data.n_classes, cfg.pos_label,
                          majority_class(data.splits["train"], data.n_classes), persistence)
    return metrics, predictions_frame(logits, test, data.row_dates, data.row_groups)


# --------------------------------------------------------------------------------- entry points
def train_runs(args, log: RunLog) -> list[Path]:
    if args.adaptation:
        adopt_checkpoint_architecture(args, log)
    data = data_provider(args)
    for line in console.data_summary(data.report):
        log(line)
    pad = left_pad_length(args.seq_len, args.input_token_len)
    if pad:
        log(f"seq_len {args.seq_len} is not a multiple of input_token_len {args.input_token_len}: each window is "
            f"left-padded with {pad} zero step(s) (the train mean); the most recent steps are all kept")
    device = pick_device(args)
    if args.deterministic:
        use_deterministic_algorithms()
    run_dirs = []
    for ii in range(args.itr):
        cfg, run_dir, resume = open_run(args, data, ii, log)
        if resume is not None and resume["finished"]:
            log(f"{run_dir} is already finished; its results are in metrics.json")
            run_dirs.append(run_dir)
            continue
        seed_everything(cfg.seed_used)
        model = build_model(cfg)
        log(f">>> run {ii + 1}/{args.itr}: {cfg.setting}")
        train = few_shot_subset(data.splits["train"], cfg.subset_rand_ratio, cfg.seed_used)
        if len(train) < len(data.splits["train"]):
            log(f"few-shot: training on {len(train)} of {len(data.splits['train'])} train windows "
                f"(--subset_rand_ratio {cfg.subset_rand_ratio:g}); val and test unchanged")
        if cfg.adaptation and resume is None:
            adapt(model, cfg, run_dir, train.gather(np.arange(1)), log)
        elif cfg.adaptation:
            apply_finetune(model, *parse_finetune(cfg.finetune))  # weights come from last.pth
        model.to(device)
        total, trainable = count_parameters(model)
        log(f"model {cfg.model}: {cfg.e_layers} layers, d_model {cfg.d_model}, d_ff {cfg.d_ff}, {cfg.n_heads} heads; "
            f"parameters {total:,} total, {trainable:,} trainable; device {device}; "
            f"schedule {cfg.lradj}, lr {cfg.learning_rate:g}")
        val = data.splits["val"]
        history = fit(model, train, cross_entropy_loss,
                      lambda m: validation_scores(m, val, cfg, device, data.n_classes), cfg, run_dir, device, log,
                      resume=resume)
        log(f"stopped: {history['stop_reason']}; best epoch {history['best_epoch']} "
            f"({cfg.monitor} {history[f'best_{cfg.monitor}']:.4f})")

        metrics, predictions = evaluate_test(model, data, cfg, run_dir, device)
        metrics["training"] = {**history, "parameters_total": total, "parameters_trainable": trainable,
                               "device": str(device)}
        write_json(run_dir / "metrics.json", metrics)
        write_csv(run_dir / "predictions.csv", predictions)
        mark_finished(run_dir)
        for line in console.metrics_table(metrics, "test"):
            log(line)
        log(f"run folder: {run_dir}")
        run_dirs.append(run_dir)
    return run_dirs


def find_runs(args) -> list[Path]:
    """Run folders whose config.json matches every flag the user typed (runtime flags aside)."""
    if args.run_dir:
        if not (Path(args.run_dir) / "config.json").exists():
            raise UserError(f"--run_dir {args.run_dir}: no config.json there; give a folder written by a training run")
        return [Path(args.run_dir)]
    root = Path(args.checkpoints)
    candidates = []
    for config_path in sorted(root.glob("*/config.json")):
        saved = read_json(config_path)
        if saved.get("model_id") == args.model_id and saved.get("task_name") == args.task_name:
            candidates.append((config_path.parent, saved))
    if not candidates:
        raise UserError(f"--is_training 0: no trained run with --model_id {args.model_id} under {root}; "
                        "train it first or give --run_dir")
    matches = []
    conflicts = []
    for run_dir, saved in candidates:
        differing = contradicting_flags(saved, args)
        if differing:
            conflicts.append((run_dir, differing, saved))
        else:
            matches.append(run_dir)
    if not matches:
        run_dir, differing, saved = conflicts[0]
        flag = differing[0]
        raise UserError(f"--{flag} {getattr(args, flag)} contradicts the saved run {run_dir} ({flag}={saved[flag]}); "
                        "drop the flag to re-test with the saved settings")
    return matches


def retest_runs(args, log: RunLog) -> list[Path]:
    run_dirs = find_runs(args)
    for run_dir in run_dirs:
        log.attach(run_dir / "train.log")
        saved = read_json(run_dir / "config.json")
        cfg = argparse.Namespace(**saved)
        for flag in RUNTIME_FLAGS:
            setattr(cfg, flag, getattr(args, flag))
        log(f">>> re-test {run_dir}")
        data = data_provider(cfg)
        if data.features != saved["feature_names"]:
            raise UserError(f"{data.report['file']}: the features now are {data.features}, the run was trained on "
                            f"{saved['feature_names']}; restore the data file the run was trained on")
        if file_sha256(data.report["file"]) != saved.get("data_sha256"):
            log(f"WARNING: {data.report['file']} changed since training; the metrics will differ")
        device = pick_device(cfg)
        model = build_model(cfg)
        metrics, predictions = evaluate_test(model, data, cfg, run_dir, device)
        write_json(run_dir / "metrics_retest.json", metrics)
        write_csv(run_dir / "predictions_retest.csv", predictions)
        for line in console.metrics_table(metrics, "re-test"):
            log(line)
        saved_metrics_path = run_dir / "metrics.json"
        if saved_metrics_path.exists():
            trained = read_json(saved_metrics_path)
            trained.pop("training", None)
            same = trained == read_json(run_dir / "metrics_retest.json")
            log("re-test metrics are identical to metrics.json from training" if same else
                "WARNING: re-test metrics differ from metrics.json from training (see metrics_retest.json)")
        log(f"run folder: {run_dir}")
    return run_dirs
