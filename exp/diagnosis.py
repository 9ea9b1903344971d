"""Why a run went the way it did: stop reason, stalled learning rate vs overfitting, collapse,
leakage suspicion and cost. Each check is a small pure function of what the run recorded."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

STALL_FRACTION = 0.01      # learning rate below 1% of its start counts as "could no longer move"
COLLAPSE_SHARE = 0.95      # one predicted class for this share of windows counts as collapse
LEAK_AUC = 0.99            # a single column separating train classes this well is suspicious
LEAK_ACCURACY = 0.995      # validation accuracy this high is suspicious for weather


def training_verdict(rows: list[dict], learning_rate: float, best_epoch: int, stop_reason: str, patience: int) -> dict:
    """Stop reason, learning rates as fractions of the start, and a verdict: stalled, overfitting or neither.

    ``rows`` are epochs.csv rows; ``best_epoch`` is 1-based.
    """
    lr = [r["lr"] for r in rows]
    after = rows[best_epoch:]  # the epochs after the best one
    out = {
        "stop_reason": stop_reason,
        "epochs_run": len(rows),
        "best_epoch": best_epoch,
        "lr_at_best_fraction": lr[best_epoch - 1] / learning_rate,
        "lr_at_stop_fraction": lr[-1] / learning_rate,
        "verdict": None,
    }
    if stop_reason.startswith("non-finite"):
        out["verdict"] = "training diverged: non-finite loss or gradient; the best epoch before it was tested"
        return out
    if not stop_reason.startswith("patience") or not after:
        return out
    stalled = [r["lr"] < STALL_FRACTION * learning_rate for r in after]
    if lr[-1] < STALL_FRACTION * learning_rate and sum(stalled) * 2 >= len(stalled):
        out["verdict"] = (f"learning stalled: learning rate had decayed to {lr[-1]:.3g} "
                          f"({lr[-1] / learning_rate:.2%} of its start) after the best epoch {best_epoch}; "
                          "patience ran out on a model that could no longer move, not necessarily overfitting; "
                          "use --cosine or --lradj constant")
        return out
    train = [rows[best_epoch - 1]["train_loss"]] + [r["train_loss"] for r in after]
    val_best = rows[best_epoch - 1]["val_loss"]
    val = [r["val_loss"] for r in after]
    if len(after) >= patience and all(b < a for a, b in zip(train, train[1:])) and all(v > val_best for v in val) \
            and val[-1] >= val[0]:
        out["verdict"] = (f"overfitting since epoch {best_epoch}: training loss kept falling "
                          f"({train[0]:.4f} -> {train[-1]:.4f}) while validation loss rose "
                          f"({val_best:.4f} -> {val[-1]:.4f})")
    return out


def collapse(metrics: dict) -> list[str]:
    """Loud lines when the model is no better than predicting one class."""
    lines = []
    shares = metrics["predicted_class_shares"]
    top = max(shares, key=shares.get)
    if shares[top] >= COLLAPSE_SHARE:
        true = {str(c): round(v["support"] / metrics["n"], 4) for c, v in metrics["per_class"].items()}
        lines.append(f"collapse: the model predicts class {top} for {shares[top]:.1%} of test windows "
                     f"(true class shares {true})")
    majority = metrics["baselines"]["majority"]["macro_f1"]
    if metrics["macro_f1"] <= majority:
        lines.append(f"macro-F1 {metrics['macro_f1']:.4f} is not above the majority baseline's {majority:.4f}: "
                     "the model has learned nothing the class balance does not give")
    return lines


def leaking_columns(train, features: list[str], n_classes: int) -> list[str]:
    """Columns that alone separate the train classes almost perfectly, looked at on each window's
    last row, where a same-time or future-derived column would show."""
    lines = []
    if n_classes == 2 and len(np.unique(train.labels)) == 2:
        last_rows = train.data[train.ends].numpy()
        for j, name in enumerate(features):
            auc = roc_auc_score(train.labels, last_rows[:, j])
            separation = max(auc, 1.0 - auc)
            if separation >= LEAK_AUC:
                lines.append(f"leakage suspected: column '{name}' alone separates the train classes "
                             f"(ROC-AUC {separation:.4f} on each window's last row); is it computed from the label "
                             f"period? drop it with --exclude {name}")
    return lines


def implausible_validation(best_val_accuracy: float) -> list[str]:
    if best_val_accuracy >= LEAK_ACCURACY:
        return [f"leakage suspected: validation accuracy {best_val_accuracy:.4f} is implausibly high; "
                "check that no feature is derived from the label"]
    return []
