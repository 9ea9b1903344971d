"""Decision threshold for binary tasks, chosen on validation windows only (``--threshold_tuning``
for the model; always for the climatology and learned baselines)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.atomic_io import read_json


def tuning_metric(monitor: str) -> str:
    """Thresholds (the model's and the baselines') are chosen on validation accuracy when the run
    monitors it, else on validation macro-F1."""
    return "accuracy" if monitor == "val_accuracy" else "macro_f1"


def predict_at(positive_prob: np.ndarray, threshold: float, pos_label: int) -> np.ndarray:
    return np.where(positive_prob >= threshold, pos_label, 1 - pos_label)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros(len(tp)), where=den > 0)   # sklearn's zero_division=0


def tune_threshold(labels: np.ndarray, positive_prob: np.ndarray, pos_label: int, metric: str) -> tuple[float, float]:
    """The threshold that maximises ``metric`` (accuracy or macro_f1) on these windows; among ties,
    the one nearest 0.5, then the lower. Candidates: 0.5 and every midpoint between consecutive
    distinct scores. Counted for all candidates at once from the sorted scores."""
    positive_prob = np.asarray(positive_prob, dtype=np.float64)
    is_pos = np.asarray(labels) == pos_label
    scores = np.unique(positive_prob)
    candidates = np.unique(np.concatenate(([0.5], (scores[1:] + scores[:-1]) / 2)))
    pos_sorted, neg_sorted = np.sort(positive_prob[is_pos]), np.sort(positive_prob[~is_pos])
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, candidates, side="left")   # positives with p >= t
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, candidates, side="left")
    fn, tn = len(pos_sorted) - tp, len(neg_sorted) - fp
    if metric == "accuracy":
        value = (tp + tn) / max(len(positive_prob), 1)
    else:
        # macro over the classes that occur in truth or prediction (utils.metrics' convention)
        pos_seen, neg_seen = ((tp + fn + fp) > 0).astype(int), ((tn + fp + fn) > 0).astype(int)
        value = (_f1(tp, fp, fn) * pos_seen + _f1(tn, fn, fp) * neg_seen) / np.maximum(pos_seen + neg_seen, 1)
    order = np.lexsort((candidates, np.abs(candidates - 0.5), -np.round(value, 12)))
    best = order[0]
    return float(candidates[best]), float(value[best])


def recorded_threshold(rule_dir: Path) -> float | None:
    """The binary decision threshold the run tuned on validation, if it did; None means argmax.
    Read defensively: metrics.json's ``decision_rule`` where it has one, else ``threshold_tuned``
    (the older record), and anything malformed is argmax."""
    path = rule_dir / "metrics.json"
    metrics = read_json(path) if path.exists() else {}
    rule = metrics.get("decision_rule")
    if isinstance(rule, dict) and "kind" in rule:
        value = rule.get("threshold") if rule["kind"] == "threshold" else None
    else:
        tuned = metrics.get("threshold_tuned")
        value = tuned.get("threshold") if isinstance(tuned, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
