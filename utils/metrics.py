"""Classification metrics, every one derived from a single set of predictions.

The confusion matrix is computed first with a fixed label order (0..n_classes-1, even when a
class never occurs); accuracy is read off it, so the two can never disagree.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)


def _safe_float(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _ranking_scores(y_true: np.ndarray, probs: np.ndarray, labels: list[int], pos_label: int):
    """ROC-AUC and PR-AUC; None where they are undefined (a class absent from y_true)."""
    present = np.unique(y_true)
    if probs is None or len(present) < 2:
        return None, None
    if len(labels) == 2:
        positive = (y_true == pos_label).astype(int)
        score = probs[:, pos_label]
        return _safe_float(roc_auc_score(positive, score)), _safe_float(average_precision_score(positive, score))
    if len(present) < len(labels):
        return None, None
    onehot = np.eye(len(labels), dtype=int)[y_true]
    roc = roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=labels)
    pr = average_precision_score(onehot, probs, average="macro")
    return _safe_float(roc), _safe_float(pr)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray | None, n_classes: int, pos_label: int = 1
) -> dict:
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    labels = list(range(n_classes))
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    n = int(cm.sum())
    accuracy = float(np.trace(cm) / n) if n else None
    prec, rec, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    # balanced accuracy = mean recall over the classes that occur in y_true
    occurring = support > 0
    balanced = float(rec[occurring].mean()) if occurring.any() else None
    # macro figures average the classes that occur (in truth or prediction), as sklearn does without
    # a label list: a class absent from the test windows would otherwise add a 0 (recall would then
    # disagree with balanced accuracy, which is the same quantity)
    seen = occurring | (np.bincount(y_pred[(y_pred >= 0) & (y_pred < n_classes)], minlength=n_classes) > 0)
    if n_classes == 2:
        precision, recall, f1_main = prec[pos_label], rec[pos_label], f1[pos_label]
    else:
        precision, recall, f1_main = prec[seen].mean(), rec[occurring].mean(), f1[seen].mean()
    weighted_f1 = float((f1 * support).sum() / support.sum()) if support.sum() else None
    roc_auc, pr_auc = _ranking_scores(y_true, probs, labels, pos_label)
    return {
        "n": n,
        "accuracy": accuracy,
        "balanced_accuracy": balanced,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1_main),
        "macro_f1": float(f1[seen].mean()) if seen.any() else 0.0,
        "weighted_f1": weighted_f1,
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "labels": labels,
        "pos_label": pos_label if n_classes == 2 else None,
        "confusion_matrix": cm.tolist(),
        "per_class": {
            str(c): {
                "precision": float(prec[c]),
                "recall": float(rec[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c in labels
        },
    }


BASELINE_KEYS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_f1")


def baseline_metrics(y_true, y_pred, n_classes: int, pos_label: int, rule: str) -> dict:
    """The headline numbers of a trivial predictor, on the same windows as the model."""
    y_pred = np.asarray(y_pred)
    if len(y_pred) != len(y_true) or ((y_pred < 0) | (y_pred >= n_classes)).any():
        # a baseline scored on a subset of the windows would be compared with the model on others
        raise ValueError(f"baseline '{rule}' must predict a class 0..{n_classes - 1} for every one of the "
                         f"{len(y_true)} windows")
    full = classification_metrics(y_true, y_pred, None, n_classes, pos_label)
    out = {key: full[key] for key in BASELINE_KEYS}
    out["rule"] = rule
    out["confusion_matrix"] = full["confusion_matrix"]
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
