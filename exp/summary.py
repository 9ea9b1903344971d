"""``<checkpoints>/summary.csv`` (one row per finished run), ``--task_name compare``, and the
mean ± std of repeats (``--itr``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utils.atomic_io import read_json, write_csv
from utils.early_stopping import MONITORS
from utils.errors import UserError

SUMMARY = "summary.csv"
REPEAT_METRICS = ("accuracy", "balanced_accuracy", "f1", "macro_f1", "roc_auc")
# columns measured on the test split: fine to read, never to choose a run by
BASELINES = ("majority", "persistence", "climatology", "learned")
TEST_COLUMNS = ("accuracy", "macro_f1", "f1", "roc_auc", "hss", "brier_skill", "beats_baselines",
                *(f"{b}_{k}" for b in BASELINES for k in ("accuracy", "macro_f1", "hss")))
ASCENDING = ("seconds", "peak_memory_mib", "parameters")  # smaller is better
SHOWN = ["model_id", "seed", "strategy", "preset", "parameters", "epochs", "best_epoch", "monitor", "val_monitor",
         "accuracy", "macro_f1", "f1", "roc_auc", "hss", "majority_macro_f1", "persistence_macro_f1",
         "climatology_macro_f1", "learned_macro_f1", "beats_baselines", "leak", "seconds", "peak_memory_mib"]


def data_and_label(cfg) -> tuple[str, str]:
    """What a run learned from: runs on another file or another label are not comparable."""
    if cfg.data == "UEA":  # --model_id names the archive set; its labels are the file's class labels
        return str(Path(cfg.root_path) / cfg.model_id), "classLabel"
    label = (f"{cfg.target_from}>{cfg.rain_threshold:g}@{cfg.horizon}" if cfg.target_from else cfg.target)
    return str(Path(cfg.root_path) / cfg.data_path), label or "no label"


def preset_label(cfg) -> str:
    """'small' only when the small sizes were used: a typed --d_model makes it 'custom'."""
    sizes = ("e_layers", "d_model", "d_ff", "n_heads")
    overridden = set(cfg.explicit) & set(sizes)
    if cfg.preset == "none" or overridden or cfg.adaptation:
        return "custom (" + ", ".join(f"{k} {getattr(cfg, k)}" for k in sizes) + ")"
    return cfg.preset


def summary_row(cfg, metrics: dict, run_dir: Path, val_monitor: float | None) -> dict:
    """One run's line; ``val_monitor`` is the validation --monitor value of the tested epoch (None
    without a validation split), the only figure runs may be chosen by."""
    base = metrics["baselines"]
    diagnosis = metrics["diagnosis"]
    data_file, label = data_and_label(cfg)
    return {
        "setting": cfg.setting, "model_id": cfg.model_id, "seed": cfg.seed_used,
        "data_file": data_file, "data_stem": Path(data_file).stem, "label": label,
        "monitor": cfg.monitor, "val_monitor": val_monitor, "leakage_warning": bool(diagnosis["leakage"]),
        "strategy": f"adaptation ({cfg.finetune})" if cfg.adaptation else "scratch", "preset": preset_label(cfg),
        "parameters": diagnosis["cost"]["parameters_total"], "epochs": diagnosis["epochs_run"],
        "best_epoch": diagnosis["best_epoch"], "stop_reason": diagnosis["stop_reason"],
        "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "f1": metrics["f1"],
        "roc_auc": metrics["roc_auc"],
        "hss": (metrics.get("verification") or {}).get("hss"),
        "brier_skill": (metrics.get("verification") or {}).get("brier_skill"),
        "beats_baselines": not metrics.get("warnings"),
        **{f"{b}_{k}": base.get(b, {}).get(k) for b in BASELINES for k in ("accuracy", "macro_f1")},
        **{f"{b}_hss": (base.get(b, {}).get("verification") or {}).get("hss") for b in BASELINES},
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


def compare(checkpoints: str, sort_by: str | None) -> list[str]:
    """One table per (data file, label); by default each ranked by the validation monitor value of
    the tested epoch, within each monitor (a loss and an F1 do not rank against each other)."""
    path = Path(checkpoints) / SUMMARY
    if not path.exists():
        raise UserError(f"{path}: no summary yet; it is written when a classification run finishes")
    frame = pd.read_csv(path)
    if sort_by is not None and sort_by not in frame.columns:
        raise UserError(f"--sort_by {sort_by}: not a summary column; choose one of {', '.join(frame.columns)}")
    lines = [f"{len(frame)} finished run(s) in {path}"]
    # summary.csv files written before these columns existed
    for column in ("data_file", "label", "monitor"):
        frame[column] = frame[column].fillna("not recorded") if column in frame else "not recorded"
    for column in ("val_monitor", *(c for c in SHOWN if c != "leak")):
        if column not in frame:
            frame[column] = np.nan
    leak = frame["leakage_warning"].astype(str) if "leakage_warning" in frame else pd.Series("?", frame.index)
    frame["leak"] = leak.map({"True": "YES", "False": ""}).fillna("?")
    per_data = frame.groupby(["data_file", "label"])
    if per_data.ngroups > 1:
        lines.append("runs on different data files or labels are in separate tables: their scores do not compare")
    if sort_by is None and (per_data["monitor"].nunique() > 1).any():
        lines.append("runs chose their tested epoch by different --monitor values: each monitor has its own table")
    missing = int(frame["val_monitor"].isna().sum())
    if missing:
        lines.append(f"validation values are missing for {missing} run(s) (no validation split, or summary.csv "
                     "written before it recorded them); those runs are not ranked")
    if sort_by in TEST_COLUMNS:
        lines.append(f"note: sorted by the test figure {sort_by}; choosing a run by test figures is not a model "
                     "selection (the default order ranks by validation)")
    if sort_by is None or sort_by == "val_monitor":
        keys, sort_by = ["data_file", "label", "monitor"], None
    else:
        keys = ["data_file", "label"]
    for key, table in frame.groupby(keys, sort=False):
        data_file, label = key[:2]
        if sort_by is None and key[2] not in MONITORS:
            order = "the order they finished in (no validation monitor recorded)"
        elif sort_by is None:
            higher = MONITORS[key[2]]
            order = f"validation {key[2]} of the tested epoch, {'higher' if higher else 'lower'} is better"
            table = table.sort_values("val_monitor", ascending=not higher, na_position="last")
        else:
            order = f"{sort_by}, best first"
            table = table.sort_values(sort_by, ascending=sort_by in ASCENDING, na_position="last")
        lines += ["", f"== data {data_file}, label {label}: {len(table)} run(s), by {order}"]
        with pd.option_context("display.width", 250, "display.max_columns", 30,
                               "display.float_format", "{:.4f}".format):
            lines += table[SHOWN].to_string(index=False).splitlines()
    return [*lines, "stop reasons:", *(f"  {m} (seed {s}): {r}" for m, s, r in
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


def compare_task(cfg, log) -> None:
    """--task_name compare."""
    for line in compare(cfg.checkpoints, cfg.sort_by):
        print(line)
