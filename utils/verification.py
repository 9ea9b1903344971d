"""Forecast verification scores for a binary event, as meteorologists compute them.

From the 2x2 contingency table of forecasts against observations (a hits, b false alarms, c misses,
d correct negatives) and from the forecast probability of the event. Formulas, ranges and the
perfect and no-skill values of each are in docs/verification.md. A score whose denominator is zero
is None, never a silent 0.
"""
from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def contingency(observed: np.ndarray, forecast: np.ndarray) -> tuple[int, int, int, int]:
    """(hits, false alarms, misses, correct negatives) from boolean event arrays."""
    observed, forecast = np.asarray(observed, bool), np.asarray(forecast, bool)
    return (int((forecast & observed).sum()), int((forecast & ~observed).sum()),
            int((~forecast & observed).sum()), int((~forecast & ~observed).sum()))


def categorical_scores(a: int, b: int, c: int, d: int) -> dict:
    n = a + b + c + d
    hits_random = (a + b) * (a + c) / n if n else 0.0
    return {
        "hits": a, "false_alarms": b, "misses": c, "correct_negatives": d,
        "pod": _ratio(a, a + c),
        "far": _ratio(b, a + b),
        "csi": _ratio(a, a + b + c),
        "ets": _ratio(a - hits_random, a + b + c - hits_random),
        "hss": _ratio(2 * (a * d - b * c), (a + c) * (c + d) + (a + b) * (b + d)),
        "pss": (a / (a + c) - b / (b + d)) if (a + c) and (b + d) else None,
        "frequency_bias": _ratio(a + b, a + c),
    }


def brier(probability: np.ndarray, observed: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, float) - np.asarray(observed, float)) ** 2))


def reliability_bins(probability: np.ndarray, observed: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width probability bins: forecast mean, observed frequency and count of each non-empty bin."""
    probability, observed = np.asarray(probability, float), np.asarray(observed, float)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    out = []
    for k in range(bins):
        inside = index == k
        if inside.any():
            out.append({"bin": [k / bins, (k + 1) / bins], "count": int(inside.sum()),
                        "forecast_mean": float(probability[inside].mean()),
                        "observed_frequency": float(observed[inside].mean())})
    return out


def expected_calibration_error(probability: np.ndarray, observed: np.ndarray, bins: int = CALIBRATION_BINS) -> float | None:
    table = reliability_bins(probability, observed, bins)
    n = sum(row["count"] for row in table)
    if not n:
        return None
    return float(sum(row["count"] * abs(row["forecast_mean"] - row["observed_frequency"]) for row in table) / n)


def verification(y_true: np.ndarray, y_pred: np.ndarray, probability: np.ndarray, pos_label: int,
                 base_rate: float | None) -> dict:
    """Every score for the event "class ``pos_label``": categorical ones from ``y_pred`` (the
    decision rule in force), probabilistic ones from ``probability`` (of the event)."""
    observed = np.asarray(y_true) == pos_label
    scores = categorical_scores(*contingency(observed, np.asarray(y_pred) == pos_label))
    score = brier(probability, observed) if len(observed) else None
    reference = brier(np.full(len(observed), base_rate), observed) if base_rate is not None and len(observed) else None
    scores.update({
        "brier": score,
        "brier_reference_rate": base_rate,
        "brier_skill": (1.0 - score / reference) if score is not None and reference else None,
        "ece": expected_calibration_error(probability, observed),
        "reliability": reliability_bins(probability, observed),
    })
    return scores
