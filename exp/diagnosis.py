"""Why a run went the way it did: stop reason, stalled learning rate vs overfitting, collapse,
leakage suspicion and cost. Each check is a small pure function of what the run recorded."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from data_provider.calendar import is_calendar
from data_provider.labels import PERSISTENCE_PREFIX
from utils.early_stopping import improves

STALL_FRACTION = 0.01      # learning rate below 1% of its value at the best epoch counts as "could no longer move"
COLLAPSE_SHARE = 0.95      # one predicted class for this share of windows counts as collapse
LEAK_AUC = 0.99            # a single column separating train classes this well is suspicious
LEAK_ACCURACY = 0.995      # validation accuracy this high is suspicious for weather
STEP_DECAYS = ("type1", "type2", "type3")


def _stall_advice(schedule: str | None, tmax: int | None, epochs_run: int) -> str:
    if schedule in STEP_DECAYS:
        return f"the step decay --lradj {schedule} shrank it; use --cosine or --lradj constant"
    if schedule == "cosine":
        if tmax is not None and epochs_run > tmax:
            return f"the cosine reached its floor after epoch {tmax} of {epochs_run}; give a longer --tmax"
        return f"the cosine was nearly at its floor (reached after epoch {tmax}); give a longer --tmax"
    return "use a schedule that keeps the rate up longer"


def training_verdict(rows: list[dict], learning_rate: float, best_epoch: int, stop_reason: str, patience: int, *,
                     monitor: str = "val_loss", min_delta: float = 0.0, schedule: str | None = None,
                     tmax: int | None = None) -> dict:
    """Stop reason, learning rates, and a verdict: stalled, overfitting or neither.

    ``rows`` are epochs.csv rows; ``best_epoch`` is the tested epoch's number (0: the highway's
    start, scored before any step); ``monitor`` and ``min_delta`` are the early-stopping rule the
    run used, ``schedule`` (--lradj) and ``tmax`` choose the advice.
    Stalled: the run stopped by patience or by its epoch budget with the rate under 1% of its value
    at the best epoch (or every epoch after the best under 1% of ``learning_rate``), and no epoch
    after the best beat it by more than ``min_delta``: the epochs that ended the run could not move
    the model, so the stop says nothing about overfitting.
    """
    lr = [r["lr"] for r in rows]
    best_at = [int(r["epoch"]) for r in rows].index(best_epoch)   # epoch 0, where there is one, is the start
    best_row, after = rows[best_at], rows[best_at + 1:]  # the epochs after the best one
    at_best, at_stop = lr[best_at], lr[-1]
    out = {
        "stop_reason": stop_reason,
        "epochs_run": int(rows[-1]["epoch"]),
        "best_epoch": best_epoch,
        "lr_at_best": at_best,
        "lr_at_stop": at_stop,
        "lr_at_best_fraction": at_best / learning_rate,
        "lr_at_stop_fraction": at_stop / learning_rate,
        "verdict_kind": None,
        "verdict": None,
    }
    if stop_reason.startswith("non-finite"):
        out["verdict_kind"] = "diverged"
        out["verdict"] = "training diverged: non-finite loss or gradient; the best epoch before it was tested"
        return out
    if not (stop_reason.startswith("patience") or stop_reason == "max epochs") or not after:
        return out
    best_value = best_row.get(monitor)
    improved_after = best_value is not None and any(
        improves(r.get(monitor, float("nan")), best_value, monitor, min_delta) for r in after)
    # the rate that ended the run is under 1% of the one that found the best; or every epoch after the best
    # ran under 1% of the peak (the best itself came at a rate too small to move the model further)
    dead = at_stop < STALL_FRACTION * at_best or all(r["lr"] < STALL_FRACTION * learning_rate for r in after)
    if dead and not improved_after:
        out["verdict_kind"] = "stalled"
        out["verdict"] = (f"learning stalled: learning rate had decayed to {at_stop:.3g} by epoch {out['epochs_run']} "
                          f"({100 * at_stop / at_best:.2g}% of its {at_best:.3g} at the best epoch {best_epoch}, "
                          f"{100 * at_stop / learning_rate:.2g}% of --learning_rate), and no epoch after the best "
                          f"improved {monitor} by more than {min_delta:g} of its best (--min_delta); the run ended "
                          "on a model that could no longer move, not necessarily overfitting; "
                          + _stall_advice(schedule, tmax, out['epochs_run']))
        return out
    if not stop_reason.startswith("patience"):
        return out
    train = [best_row["train_loss"]] + [r["train_loss"] for r in after]
    val_best = best_row["val_loss"]
    val = [r["val_loss"] for r in after]
    if len(after) >= patience and all(b < a for a, b in zip(train, train[1:])) and all(v > val_best for v in val) \
            and val[-1] >= val[0]:
        out["verdict_kind"] = "overfitting"
        out["verdict"] = (f"overfitting since epoch {best_epoch}: training loss kept falling "
                          f"({train[0]:.4f} -> {train[-1]:.4f}) while validation loss rose "
                          f"({val_best:.4f} -> {val[-1]:.4f})")
    return out


def collapse(metrics: dict) -> list[str]:
    """Loud lines when the model is no better than predicting one class."""
    lines = []
    shares = metrics["predicted_class_shares"]
    top = max(shares, key=shares.get)
    true = {str(c): round(v["support"] / metrics["n"], 4) for c, v in metrics["per_class"].items()} if metrics["n"] else {}
    # a rare event (rain in 5% of hours) makes a good model predict "dry" 95% of the time too:
    # collapse is predicting one class far more often than it occurs
    if shares[top] >= COLLAPSE_SHARE and shares[top] - true.get(top, 0.0) >= 1 - COLLAPSE_SHARE:
        lines.append(f"collapse: the model predicts class {top} for {shares[top]:.1%} of test windows "
                     f"(true class shares {true})")
    majority = metrics["baselines"]["majority"]["macro_f1"]
    if metrics["macro_f1"] <= majority:
        lines.append(f"macro-F1 {metrics['macro_f1']:.4f} is not above the majority baseline's {majority:.4f}: "
                     "the model has learned nothing the class balance does not give")
    return lines


def _dropped_by(name: str) -> str:
    """The flag that leaves a column out: the file's own columns by name, the added ones by their flag."""
    if is_calendar(name):
        return "--embed none"
    if name.startswith(PERSISTENCE_PREFIX):
        return "--persistence_input off"
    return f"--exclude {name}"


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
                             f"period? drop it with {_dropped_by(name)}")
    return lines


def implausible_validation(best_val_accuracy: float) -> list[str]:
    if best_val_accuracy >= LEAK_ACCURACY:
        return [f"leakage suspected: validation accuracy {best_val_accuracy:.4f} is implausibly high; "
                "check that no feature is derived from the label"]
    return []
