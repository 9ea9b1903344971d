"""``<checkpoints>/summary.csv`` (one row per finished run), ``--task_name compare``, and the
mean ± std of repeats (``--itr``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utils.atomic_io import read_json, write_csv
from utils.errors import UserError

SUMMARY = "summary.csv"
REPEAT_METRICS = ("accuracy", "balanced_accuracy", "f1", "macro_f1", "roc_auc")


def summary_row(cfg, metrics: dict, run_dir: Path) -> dict:
    base = metrics["baselines"]
    diagnosis = metrics["diagnosis"]
    return {
        "setting": cfg.setting, "model_id": cfg.model_id, "seed": cfg.seed_used,
        "strategy": f"adaptation ({cfg.finetune})" if cfg.adaptation else "scratch", "preset": cfg.preset,
        "parameters": diagnosis["cost"]["parameters_total"], "epochs": diagnosis["epochs_run"],
        "best_epoch": diagnosis["best_epoch"], "stop_reason": diagnosis["stop_reason"],
        "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "f1": metrics["f1"],
        "roc_auc": metrics["roc_auc"],
        "majority_accuracy": base["majority"]["accuracy"], "majority_macro_f1": base["majority"]["macro_f1"],
        "persistence_accuracy": base.get("persistence", {}).get("accuracy"),
        "persistence_macro_f1": base.get("persistence", {}).get("macro_f1"),
        "seconds": diagnosis["cost"]["wall_seconds"], "peak_memory_mib": diagnosis["cost"]["peak_memory_mib"],
        "run_dir": str(run_dir),
    }


def append_summary(checkpoints: Path, row: dict) -> None:
    """Add or replace this run's row; the file is rewritten atomically."""
    path = Path(checkpoints) / SUMMARY
    frame = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=list(row))
    frame = frame[frame["setting"] != row["setting"]]
    frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True) if len(frame) else pd.DataFrame([row])
    write_csv(path, frame)


def compare(checkpoints: str, sort_by: str) -> list[str]:
    path = Path(checkpoints) / SUMMARY
    if not path.exists():
        raise UserError(f"{path}: no summary yet; it is written when a classification run finishes")
    frame = pd.read_csv(path)
    if sort_by not in frame.columns:
        raise UserError(f"--sort_by {sort_by}: not a summary column; choose one of {', '.join(frame.columns)}")
    ascending = sort_by in ("seconds", "peak_memory_mib", "parameters")
    frame = frame.sort_values(sort_by, ascending=ascending, na_position="last")
    shown = ["model_id", "seed", "strategy", "preset", "parameters", "epochs", "best_epoch", "accuracy", "macro_f1",
             "f1", "roc_auc", "majority_macro_f1", "persistence_macro_f1", "seconds", "peak_memory_mib"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4f}".format):
        table = frame[shown].to_string(index=False)
    return [f"{len(frame)} finished run(s) in {path}, best {sort_by} first:", *table.splitlines(),
            "stop reasons:", *(f"  {m} (seed {s}): {r}" for m, s, r in
                               zip(frame["model_id"], frame["seed"], frame["stop_reason"]))]


def repeats(run_dirs: list[Path]) -> list[str]:
    """Mean ± std over the repeats of one command (--itr)."""
    runs = [read_json(d / "metrics.json") for d in run_dirs if (d / "metrics.json").exists()]
    lines = [f"over {len(runs)} repeats (mean ± std):"]
    for key in REPEAT_METRICS:
        values = np.array([m[key] for m in runs if m[key] is not None], dtype=float)
        if len(values):
            lines.append(f"  {key:18s} {values.mean():.4f} ± {values.std():.4f}")
    for name in runs[0]["baselines"] if runs else []:
        lines.append(f"  baseline {name}: accuracy {runs[0]['baselines'][name]['accuracy']:.4f}, "
                     f"macro_f1 {runs[0]['baselines'][name]['macro_f1']:.4f}")
    return lines
