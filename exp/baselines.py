"""The baselines a meteorologist tries before believing a model, each fitted on train windows,
its threshold chosen on validation windows, and scored on exactly the model's test windows.

* climatology: the train rate of each class for the calendar month (and hour of day, on a
  sub-daily grid) of the first step of the window's label period;
* learned: logistic regression on simple window features (last step, window mean and, when the
  label comes from a rain column, that column's recent total).

Persistence and majority live in exp.evaluation with the model's metrics; these two need more
than the test windows' own data, so they have their own module.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_provider.base import TableReport
from data_provider.windows import WindowSet
from exp.threshold import predict_at, tune_threshold


@dataclass(frozen=True)
class BaselineForecast:
    probability: np.ndarray      # [n, n_classes] on the scored split's windows
    prediction: np.ndarray       # [n] the class it forecasts there
    rule: str
    details: dict


def _decide(val_prob: np.ndarray, val_labels: np.ndarray, prob: np.ndarray, pos_label: int,
            metric: str) -> tuple[np.ndarray, str, float | None]:
    """Classes from probabilities: binary with a threshold chosen on validation, else argmax."""
    if prob.shape[1] != 2:
        return prob.argmax(axis=1), "argmax", None
    if len(val_labels) == 0:
        return predict_at(prob[:, pos_label], 0.5, pos_label), "threshold 0.5 (untuned: no validation split)", None
    threshold, _ = tune_threshold(val_labels, val_prob[:, pos_label], pos_label, metric)
    return predict_at(prob[:, pos_label], threshold, pos_label), f"threshold {threshold:.3f} chosen on validation {metric}", threshold


# ----------------------------------------------------------------------------------- climatology
def _period_keys(data, windows: WindowSet, sub_daily: bool) -> np.ndarray:
    # a rain label describes the steps after the window; a --target column's label is its value on
    # the window's last row, so that row's calendar is the label's
    label = data.report.label
    ahead = label.mode == "threshold" and int(label.horizon or 0) >= 1
    first_label_step = windows.ends + (1 if ahead else 0)
    dates = pd.DatetimeIndex(data.row_dates[first_label_step])
    return (dates.month * 100 + dates.hour).to_numpy() if sub_daily else dates.month.to_numpy() * 100


def climatology(data, split: str, pos_label: int, metric: str) -> BaselineForecast | None:
    """None where there are no dates to take a calendar from (archive sets, undated tables)."""
    label = data.report.label
    if data.row_dates is None or not isinstance(data.report, TableReport) or label.mode not in ("threshold", "column"):
        return None
    sub_daily = data.report.sub_daily
    train, n_classes = data.splits["train"], data.n_classes
    overall = np.bincount(train.labels, minlength=n_classes) / max(len(train), 1)
    keys = _period_keys(data, train, sub_daily)
    rates = {}
    for key in np.unique(keys):
        rates[key] = np.bincount(train.labels[keys == key], minlength=n_classes) / (keys == key).sum()

    def forecast(windows: WindowSet) -> tuple[np.ndarray, int]:
        window_keys = _period_keys(data, windows, sub_daily) if len(windows) else np.zeros(0, int)
        known = np.isin(window_keys, list(rates))
        prob = np.tile(overall, (len(windows), 1))
        for key in np.unique(window_keys[known]):
            prob[window_keys == key] = rates[key]
        return prob, int((~known).sum())

    val_prob, _ = forecast(data.splits["val"])
    prob, fallback = forecast(data.splits[split])
    prediction, decision, threshold = _decide(val_prob, data.splits["val"].labels, prob, pos_label, metric)
    period = "calendar month and hour of day" if sub_daily else "calendar month"
    rule = (f"climatology: the train windows' rate per {period} of the label period's first step; {decision}"
            + (f"; {fallback} window(s) whose {period} has no train window use the overall train rate" if fallback else ""))
    return BaselineForecast(prob, prediction, rule, {"fallback_windows": fallback, "threshold": threshold,
                                                     "periods_in_train": len(rates)})


# --------------------------------------------------------------------------------------- learned
def window_features(windows: WindowSet, total_column: int | None, total_steps: int) -> np.ndarray:
    """[n, 2V (+1)]: each variable's last step and its window mean, and the recent total of
    ``total_column`` over the last ``total_steps`` steps. Sums come from running totals over the
    shared array, so no window is ever copied."""
    data = windows.data.numpy().astype(np.float64)
    observed = np.ones(len(data)) if windows.pad is None else (~windows.pad.numpy()).astype(np.float64)
    running = np.vstack([np.zeros((1, data.shape[1])), np.cumsum(data * observed[:, None], axis=0)])
    counts = np.concatenate([[0.0], np.cumsum(observed)])
    ends = windows.ends
    starts = ends - windows.seq_len + 1
    mean = (running[ends + 1] - running[starts]) / np.maximum(counts[ends + 1] - counts[starts], 1)[:, None]
    parts = [data[ends], mean]
    if total_column is not None:
        recent = ends - min(total_steps, windows.seq_len) + 1
        parts.append((running[ends + 1, total_column] - running[recent, total_column])[:, None])
    return np.hstack(parts)


def learned(data, split: str, pos_label: int, metric: str, seed: int = 0) -> BaselineForecast | None:
    train = data.splits["train"]
    if len(np.unique(train.labels)) < 2:
        return None
    label = data.report.label
    rain = label is not None and label.mode == "threshold"
    column = label.column if rain else None
    total_column = data.features.index(column) if column in data.features else None
    total_steps = int(label.horizon or 1) if rain else 1
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(window_features(train, total_column, total_steps), train.labels)

    def forecast(windows: WindowSet) -> np.ndarray:
        prob = np.zeros((len(windows), data.n_classes))
        if len(windows):
            prob[:, model.classes_] = model.predict_proba(window_features(windows, total_column, total_steps))
        return prob

    prob = forecast(data.splits[split])
    prediction, decision, threshold = _decide(forecast(data.splits["val"]), data.splits["val"].labels, prob,
                                              pos_label, metric)
    inputs = "each variable's last step and window mean" + (
        f", and the total of '{column}' over the last {min(total_steps, train.seq_len)} step(s)" if total_column is not None else "")
    return BaselineForecast(prob, prediction, f"logistic regression on {inputs}, fitted on train; {decision}",
                            {"threshold": threshold, "n_inputs": int(model[-1].coef_.shape[1])})

