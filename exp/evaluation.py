"""Predictions on one split and everything derived from them: metrics, baselines, predictions.csv."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from data_provider.windows import WindowSet, to_device
from utils.distributed import gather_rows, shard, sum_all
from utils.metrics import baseline_metrics, classification_metrics


@torch.no_grad()
def predict(model: torch.nn.Module, windows: WindowSet, batch_size: int, device: torch.device,
            criterion=None, amp_enabled: bool = False) -> tuple[float, np.ndarray]:
    """Mean loss (``criterion``, default cross-entropy) and the logits [n, n_classes] of every window."""
    model.eval()
    n = len(windows)
    mine = shard(torch.arange(n), pad=False)  # under torchrun each rank scores a share, then all gather
    labels = torch.as_tensor(windows.labels)
    total, chunks = 0.0, []
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp_enabled and torch.device(device).type == "cuda")
    for start in range(0, len(mine), batch_size):
        positions = mine[start:start + batch_size]
        with amp:
            logits = model(*(to_device(t, device) for t in windows.inputs(positions))).float()
        y = to_device(labels[positions], device)
        total += (criterion(logits, y) if criterion else F.cross_entropy(logits, y, reduction="sum")).item()
        chunks.append(logits.cpu())
    local = torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), np.float32)
    (total,) = sum_all(total)
    return total / max(n, 1), gather_rows(mine.numpy(), local, n)


def majority_class(train: WindowSet, n_classes: int) -> int:
    """Chosen on train windows: nothing about the test set may pick a baseline."""
    return int(np.bincount(train.labels, minlength=n_classes).argmax())


def score_split(probs: np.ndarray, windows: WindowSet, n_classes: int, pos_label: int,
                majority: int, persistence: np.ndarray | None, persistence_fallback: int = 0) -> dict:
    """The model's metrics (from class probabilities [n, n_classes]) and the trivial baselines',
    all on the same windows: every baseline predicts every window (``persistence`` already holds
    the fallback class where its rule is undefined, ``persistence_fallback`` of them)."""
    y_pred = probs.argmax(axis=1)
    metrics = classification_metrics(windows.labels, y_pred, probs, n_classes, pos_label)
    shares = np.bincount(y_pred, minlength=n_classes) / max(len(y_pred), 1)
    metrics["predicted_class_shares"] = {str(c): float(shares[c]) for c in range(n_classes)}
    baselines = {
        "majority": baseline_metrics(windows.labels, np.full(len(windows), majority), n_classes, pos_label,
                                     rule=f"always class {majority} (the most frequent class in train windows)")
    }
    if persistence is not None:
        baselines["persistence"] = baseline_metrics(
            windows.labels, persistence, n_classes, pos_label,
            rule="tomorrow like today: the label rule applied to the window's own last period"
                 + (f"; {persistence_fallback} window(s) whose last period holds a missing value get the "
                    "majority class of train windows" if persistence_fallback else ""))
        baselines["persistence"]["fallback_windows"] = persistence_fallback
    metrics["baselines"] = baselines
    return metrics


def predictions_frame(probs: np.ndarray, windows: WindowSet, row_dates, row_groups) -> pd.DataFrame:
    frame = pd.DataFrame({
        "date": row_dates[windows.ends] if row_dates is not None else np.full(len(windows), ""),
        "group": row_groups[windows.ends],
        "true_label": windows.labels,
        "predicted_label": probs.argmax(axis=1),
    })
    for c in range(probs.shape[1]):
        frame[f"prob_{c}"] = probs[:, c]
    return frame


def score_test(probs: np.ndarray, data, pos_label: int) -> tuple[dict, pd.DataFrame]:
    """Metrics and predictions.csv rows for the test split of ``data`` (a prepared data set), with
    the baselines every test result is shown beside: a single run and an ensemble get the same."""
    test = data.splits["test"]
    persistence = data.persistence["test"] if data.persistence is not None else None
    fallback = data.report["splits"]["test"].get("persistence_fallback", 0)
    metrics = score_split(probs, test, data.n_classes, pos_label,
                          majority_class(data.splits["train"], data.n_classes), persistence, fallback)
    return metrics, predictions_frame(probs, test, data.row_dates, data.row_groups)
