"""Predictions on one split and everything derived from them: metrics, baselines, predictions.csv."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from data_provider.timeline import rate_shift_warning, season_warning
from data_provider.windows import WindowSet, to_device
from utils.distributed import gather_rows, shard, sum_all
from exp import baselines
from exp.threshold import predict_at
from utils.metrics import baseline_metrics, classification_metrics
from utils.verification import verification
from utils.precision import FP32, Precision


@torch.no_grad()
def predict(model: torch.nn.Module, windows: WindowSet, batch_size: int, device: torch.device,
            criterion=None, precision: Precision = FP32) -> tuple[float, np.ndarray]:
    """Mean loss (``criterion``, default cross-entropy) and the logits [n, n_classes] of every window,
    the forward pass under the run's precision (autocast for --amp)."""
    model.eval()
    n = len(windows)
    mine = shard(torch.arange(n), pad=False)  # under torchrun each rank scores a share, then all gather
    labels = torch.as_tensor(windows.labels)
    total, chunks = 0.0, []
    for start in range(0, len(mine), batch_size):
        positions = mine[start:start + batch_size]
        with precision.autocast(device):
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


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[np.asarray(labels, dtype=int)]


def _scored(y_true, y_pred, probability, n_classes: int, pos_label: int, base_rate, rule: str) -> dict:
    """A baseline's headline numbers and, for a binary task, its verification scores."""
    out = baseline_metrics(y_true, y_pred, n_classes, pos_label, rule)
    if n_classes == 2:
        out["verification"] = verification(y_true, y_pred, probability[:, pos_label], pos_label, base_rate)
    return out


def baselines_for(data, split: str, pos_label: int, metric: str) -> dict:
    """Every baseline on exactly the windows of ``split``: majority, persistence (rain labels),
    climatology (dated tables) and the learned baseline."""
    windows, n_classes = data.splits[split], data.n_classes
    y, base_rate = windows.labels, data.report.train_share(pos_label)
    majority = majority_class(data.splits["train"], n_classes)
    constant = np.full(len(windows), majority)
    out = {"majority": _scored(y, constant, _one_hot(constant, n_classes), n_classes, pos_label, base_rate,
                               f"always class {majority} (the most frequent class in train windows)")}
    if data.persistence is not None:
        fallback = data.report.splits[split].persistence_fallback or 0
        rule = ("tomorrow like today: the label rule applied to the window's own last period"
                + (f"; {fallback} window(s) whose last period holds a missing value get the majority class of "
                   "train windows" if fallback else ""))
        guess = data.persistence[split]
        out["persistence"] = _scored(y, guess, _one_hot(guess, n_classes), n_classes, pos_label, base_rate, rule)
        out["persistence"]["fallback_windows"] = fallback
    for name, fit in (("climatology", baselines.climatology), ("learned", baselines.learned)):
        forecast = fit(data, split, pos_label, metric)
        if forecast is not None:
            out[name] = _scored(y, forecast.prediction, forecast.probability, n_classes, pos_label, base_rate,
                                forecast.rule)
            out[name].update(forecast.details)
    return out


def beaten_by(metrics: dict) -> list[str]:
    """One loud line per score (macro-F1, HSS) on which a baseline beats the model."""
    lines = []
    for key, label in (("macro_f1", "macro-F1"), ("hss", "HSS")):
        model = metrics.get(key) if key == "macro_f1" else (metrics.get("verification") or {}).get(key)
        scores = {name: (b.get(key) if key == "macro_f1" else (b.get("verification") or {}).get(key))
                  for name, b in metrics["baselines"].items()}
        scores = {name: v for name, v in scores.items() if v is not None}
        if model is None or not scores:
            continue
        best = max(scores, key=scores.get)
        if model < scores[best]:
            lines.append(f"the model's {label} {model:.4f} is below the {best} baseline's {scores[best]:.4f}: "
                         "this run is not a result yet")
    return lines


def _season_warnings(report, split: str) -> list[str]:
    """The data report's line on a split that lies in months train never saw, beside the scores
    it qualifies (data_provider/timeline.py months_train_never_saw)."""
    unseen = (getattr(report, "months_unseen_in_train", None) or {}).get(split)
    return [season_warning(split, unseen)] if unseen else []


def _rate_shift_warnings(report, split: str, pos_label: int) -> list[str]:
    """Beside binary test scores: a line where the event is twice as common (or half) in test as
    in validation (data_provider/timeline.py rate_shift_warning)."""
    if split != "test":
        return []
    shares = {name: (summary.class_shares or {}).get(str(pos_label)) for name, summary in report.splits.items()}
    line = rate_shift_warning(shares, f"class '{report.class_names(2)[pos_label]}'")
    return [line] if line else []


def probability_warnings(metrics: dict) -> list[str]:
    """A line when the model's probabilities are worse than always forecasting the train rate
    (negative Brier skill). Kept apart from ``warnings``, which say whether a baseline wins: the
    decisions may beat every baseline while the probabilities behind them do not."""
    skill = (metrics.get("verification") or {}).get("brier_skill")
    if skill is None or skill >= 0:
        return []
    return [f"the model's probabilities score worse than always forecasting the train rate (Brier skill "
            f"{skill:.4f}): read its decisions, not p(rain); class weights (--class_weights) shift the "
            "probabilities toward the rare class"]


def score_split(probs: np.ndarray, data, split: str, pos_label: int, metric: str = "macro_f1",
                threshold: dict | None = None) -> dict:
    """The model's metrics under its decision rule (argmax, or ``threshold`` = {"threshold",
    "chosen_on", ...} chosen on validation), its verification scores, and every baseline, all on
    the same windows."""
    windows, n_classes = data.splits[split], data.n_classes
    argmax = probs.argmax(axis=1)
    y_pred = predict_at(probs[:, pos_label], threshold["threshold"], pos_label) if threshold else argmax
    metrics = classification_metrics(windows.labels, y_pred, probs, n_classes, pos_label)
    metrics["decision_rule"] = {"kind": "threshold", **threshold} if threshold else {"kind": "argmax"}
    if threshold:
        metrics["threshold_tuned"] = threshold
        if not np.array_equal(y_pred, argmax):
            metrics["argmax"] = baseline_metrics(windows.labels, argmax, n_classes, pos_label,
                                                 rule="the class of highest probability")
    shares = np.bincount(y_pred, minlength=n_classes) / max(len(y_pred), 1)
    metrics["predicted_class_shares"] = {str(c): float(shares[c]) for c in range(n_classes)}
    if n_classes == 2:
        metrics["verification"] = verification(windows.labels, y_pred, probs[:, pos_label], pos_label,
                                               data.report.train_share(pos_label))
    metrics["baselines"] = baselines_for(data, split, pos_label, metric)
    metrics["warnings"] = beaten_by(metrics)     # empty = the model beats every baseline (summary.csv reads it)
    metrics["data_warnings"] = _season_warnings(data.report, split) + (
        _rate_shift_warnings(data.report, split, pos_label) if n_classes == 2 else [])
    metrics["probability_warnings"] = probability_warnings(metrics)
    return metrics


def predictions_frame(probs: np.ndarray, predicted: np.ndarray, windows: WindowSet, row_dates, row_groups) -> pd.DataFrame:
    frame = pd.DataFrame({
        "date": row_dates[windows.ends] if row_dates is not None else np.full(len(windows), ""),
        "group": row_groups[windows.ends],
        "true_label": windows.labels,
        "predicted_label": predicted,
    })
    for c in range(probs.shape[1]):
        frame[f"prob_{c}"] = probs[:, c]
    return frame


def score_test(probs: np.ndarray, data, pos_label: int, metric: str = "macro_f1",
               threshold: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """Metrics and predictions.csv rows for the test split of ``data`` (a prepared data set), with
    the baselines every test result is shown beside: a single run and an ensemble get the same.
    ``predicted_label`` is the decision rule in force; ``predicted_label_argmax`` sits beside it
    when a tuned threshold is that rule."""
    metrics = score_split(probs, data, "test", pos_label, metric, threshold)
    test = data.splits["test"]
    argmax = probs.argmax(axis=1)
    predicted = predict_at(probs[:, pos_label], threshold["threshold"], pos_label) if threshold else argmax
    frame = predictions_frame(probs, predicted, test, data.row_dates, data.row_groups)
    if threshold:
        frame["predicted_label_argmax"] = argmax
    return metrics, frame
