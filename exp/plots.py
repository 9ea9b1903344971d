"""The run's pictures: learning curves, confusion matrix, ROC and precision-recall curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from utils.atomic_io import writes_enabled  # noqa: E402


def _save(fig, path: Path) -> None:
    if not writes_enabled():
        plt.close(fig)
        return
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def learning_curves(epochs: pd.DataFrame, best_epoch: int, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
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
    for ax in axes:
        ax.axvline(best_epoch, color="tab:red", linestyle="--", linewidth=1, label=f"tested epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _save(fig, path)


def confusion(cm: list[list[int]], labels: list[int], path: Path) -> None:
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    normalised = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, values, title, fmt in ((axes[0], cm, "counts", "{:d}"), (axes[1], normalised, "row-normalised", "{:.2f}")):
        ax.imshow(values, cmap="Blues", vmin=0)
        for i in range(len(labels)):
            for j in range(len(labels)):
                value = values[i, j]
                text = fmt.format(int(value) if fmt == "{:d}" else value)
                ax.text(j, i, text, ha="center", va="center",
                        color="white" if value > values.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
    _save(fig, path)


def roc_pr(y_true: np.ndarray, positive_score: np.ndarray, pos_label: int, path: Path) -> None:
    positive = (y_true == pos_label).astype(int)
    fpr, tpr, _ = roc_curve(positive, positive_score)
    precision, recall, _ = precision_recall_curve(positive, positive_score)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].plot(fpr, tpr, label="model")
    axes[0].plot([0, 1], [0, 1], "--", color="tab:gray", label="chance")
    axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes[1].plot(recall, precision, label="model")
    axes[1].axhline(positive.mean(), linestyle="--", color="tab:gray", label=f"positive rate {positive.mean():.2f}")
    axes[1].set(xlabel="recall", ylabel="precision", title=f"precision-recall (class {pos_label})")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _save(fig, path)
