"""The run's pictures: learning curves, confusion matrix, ROC and precision-recall curves, and the
reliability diagram. Each names its run in the title and its classes by name, so a PNG that
travels without its folder still says what it shows."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from data_provider.base import DataReport  # noqa: E402
from utils.atomic_io import writes_enabled  # noqa: E402


def _save(fig, path: Path) -> None:
    if not writes_enabled():
        plt.close(fig)
        return
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def run_title(cfg, report: DataReport) -> str:
    """Data file, label and model size in one line."""
    data = Path(report.file).name or str(cfg.data)
    rule = report.label
    if rule is not None and rule.mode == "threshold":
        label = f"{rule.column} > {rule.threshold:g} over the next {rule.horizon} step(s)"
    else:
        label = (rule.column if rule is not None else None) or getattr(report, "problem", "")
    size = f"{cfg.e_layers} layers x d_model {cfg.d_model}"
    return " | ".join(part for part in (data, f"label: {label}" if label else "", size, cfg.model_id) if part)


def learning_curves(epochs: pd.DataFrame, best_epoch: int, path: Path, title: str = "") -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    fig.suptitle(title, fontsize=10)
    x = epochs["epoch"]
    axes[0].plot(x, epochs["train_loss"], "o-", label="train loss")
    if "val_loss" in epochs:  # absent when --val_ratio 0 left no validation split
        axes[0].plot(x, epochs["val_loss"], "o-", label="validation loss")
    axes[0].set_title("loss")
    for col, label in (("val_accuracy", "validation accuracy"), ("val_macro_f1", "validation macro-F1")):
        if col in epochs:
            axes[1].plot(x, epochs[col], "o-", label=label)
    axes[1].set_title("validation scores")
    axes[2].semilogy(x, epochs["lr"], "o-", color="tab:gray", label="learning rate")
    axes[2].set_title("learning rate")
    for ax, ylabel in zip(axes, ("cross-entropy per window", "score", "learning rate")):
        ax.set_ylabel(ylabel)
    for ax in axes:
        ax.axvline(best_epoch, color="tab:red", linestyle="--", linewidth=1, label=f"tested epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _save(fig, path)


def confusion(cm: list[list[int]], labels: list[int], path: Path, title: str = "",
              names: list[str] | None = None) -> None:
    cm = np.asarray(cm)
    names = names or [str(c) for c in labels]
    rows = cm.sum(axis=1, keepdims=True)
    normalised = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.3), constrained_layout=True)
    fig.suptitle(f"test confusion matrix | {title}" if title else "test confusion matrix", fontsize=10)
    for ax, values, panel, fmt in ((axes[0], cm, "counts", "{:d}"), (axes[1], normalised, "row-normalised", "{:.2f}")):
        ax.imshow(values, cmap="Blues", vmin=0)
        for i in range(len(labels)):
            for j in range(len(labels)):
                value = values[i, j]
                text = fmt.format(int(value) if fmt == "{:d}" else value)
                ax.text(j, i, text, ha="center", va="center",
                        color="white" if value > values.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), names)
        ax.set_yticks(range(len(labels)), names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(panel)
    _save(fig, path)


def roc_pr(y_true: np.ndarray, positive_score: np.ndarray, pos_label: int, path: Path, title: str = "",
           name: str | None = None) -> None:
    name = name or f"class {pos_label}"
    positive = (y_true == pos_label).astype(int)
    fpr, tpr, _ = roc_curve(positive, positive_score)
    precision, recall, _ = precision_recall_curve(positive, positive_score)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    fig.suptitle(f"test windows, event '{name}' | {title}" if title else f"test windows, event '{name}'", fontsize=10)
    axes[0].plot(fpr, tpr, label="model")
    axes[0].plot([0, 1], [0, 1], "--", color="tab:gray", label="chance")
    axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes[1].plot(recall, precision, label="model")
    axes[1].axhline(positive.mean(), linestyle="--", color="tab:gray", label=f"positive rate {positive.mean():.2f}")
    axes[1].set(xlabel="recall", ylabel="precision", title=f"precision-recall ({name})")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _save(fig, path)


def reliability(table: list[dict], base_rate: float | None, path: Path, title: str = "", name: str = "event") -> None:
    """Forecast probability against observed frequency per bin, with each bin's window count."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="tab:gray", label="perfectly calibrated")
    if base_rate is not None:
        ax.axhline(base_rate, linestyle=":", color="tab:green", label=f"train rate {base_rate:.2f} (the Brier skill reference)")
    x = [row["forecast_mean"] for row in table]
    y = [row["observed_frequency"] for row in table]
    ax.plot(x, y, "o-", color="tab:blue", label="model")
    for row in table:
        ax.annotate(str(row["count"]), (row["forecast_mean"], row["observed_frequency"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=7)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=f"forecast probability of '{name}'",
           ylabel=f"observed frequency of '{name}'")
    ax.set_title(f"reliability (test windows; numbers = windows per bin)\n{title}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    _save(fig, path)
