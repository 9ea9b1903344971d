"""Decision threshold for binary tasks, chosen on validation windows only (``--threshold_tuning``)."""
from __future__ import annotations

import numpy as np

from utils.metrics import classification_metrics


def predict_at(positive_prob: np.ndarray, threshold: float, pos_label: int) -> np.ndarray:
    return np.where(positive_prob >= threshold, pos_label, 1 - pos_label)


def tune_threshold(labels: np.ndarray, positive_prob: np.ndarray, pos_label: int, metric: str) -> tuple[float, float]:
    """The threshold that maximises ``metric`` (accuracy or macro_f1) on these windows; among ties,
    the one nearest 0.5. Candidates: 0.5 and every midpoint between consecutive distinct scores."""
    scores = np.unique(positive_prob)
    candidates = np.unique(np.concatenate(([0.5], (scores[1:] + scores[:-1]) / 2)))
    best = (-1.0, 0.0, 0.5)
    for t in candidates:
        value = classification_metrics(labels, predict_at(positive_prob, t, pos_label), None, 2, pos_label)[metric]
        key = (value, -abs(t - 0.5), t)
        if key[:2] > best[:2]:
            best = key
    return float(best[2]), float(best[0])
