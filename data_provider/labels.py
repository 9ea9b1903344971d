"""Labels for the window that ends on row t.

* From a column (``--target``): the integer value on row t.
* From precipitation (``--target_from COL --rain_threshold X --horizon H``): 1 when the total of
  COL over rows t+1 .. t+H (the H steps after the window) is greater than X, else 0.
  The persistence baseline uses the same rule on the window's own last H rows, t-H+1 .. t.
Rows where the label cannot be computed get -1 and produce no window.

The persistence input (``--persistence_input on``) is that rule as an input variable: on every
row, whether the event happened in the H rows ending there (observed rows only).
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MISSING = -1
PERSISTENCE_PREFIX = "persistence_"   # the persistence input's name: this prefix and the rain column's


def _window_totals(values: np.ndarray, horizon: int) -> np.ndarray:
    """Total of each run of ``horizon`` consecutive rows, summed directly (not by differences of
    a cumulative sum, whose rounding would make a dry day's total 1e-17 instead of 0)."""
    return sliding_window_view(values, horizon).sum(axis=1)


def future_rain_labels(source: np.ndarray, threshold: float, horizon: int) -> np.ndarray:
    """Label of row t from rows t+1..t+H of one segment; MISSING where those rows run out or are NaN."""
    n = len(source)
    labels = np.full(n, MISSING, dtype=np.int64)
    if n <= horizon:
        return labels
    totals = _window_totals(source[1:], horizon)  # totals[t] covers rows t+1 .. t+H
    known = ~np.isnan(totals)
    labels[: len(totals)][known] = (totals[known] > threshold).astype(np.int64)
    return labels


def persistence_labels(source: np.ndarray, threshold: float, horizon: int) -> np.ndarray:
    """"Tomorrow like today": the same rule applied to rows t-H+1..t, the window's own last period."""
    n = len(source)
    labels = np.full(n, MISSING, dtype=np.int64)
    if n < horizon:
        return labels
    totals = _window_totals(source, horizon)  # totals[i] covers rows i .. i+H-1, so t = i+H-1
    known = ~np.isnan(totals)
    tail = labels[horizon - 1:]
    tail[known] = (totals[known] > threshold).astype(np.int64)
    return labels


def observed_events(source: np.ndarray, threshold: float, horizon: int) -> np.ndarray:
    """[n] float32, 1.0 where the total of the observed rows among t-H+1 .. t is > ``threshold``,
    else 0.0: the persistence rule on every row of one segment, read from row t and before only.
    A missing row counts as no rain, and the first H-1 rows look back only as far as the segment
    goes, so the variable is never missing (the rain column's own gaps still drop windows)."""
    if len(source) == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.concatenate([np.zeros(max(horizon - 1, 0)), np.nan_to_num(source, nan=0.0)])
    return (_window_totals(padded, horizon) > threshold).astype(np.float32)


def column_labels(values: np.ndarray) -> np.ndarray:
    """Integer labels from a numeric column; NaN becomes MISSING. Values are checked by the caller."""
    labels = np.full(len(values), MISSING, dtype=np.int64)
    known = ~np.isnan(values)
    labels[known] = values[known].astype(np.int64)
    return labels


def _exact(value: float) -> str:
    """A number as short as reads back to itself, to 12 digits: 0.0001 stays 0.0001, a sum of 24 of
    them prints 0.0024 (not 0.0024000000000000002), and nothing is rounded to a value it is not."""
    return next((text for text in (f"{value:.{d}g}" for d in range(1, 13)) if float(text) == value),
                f"{value:.12g}")


def _between(low: float, high: float) -> float:
    """The roundest number strictly between ``low`` and ``high`` (a threshold a user can type)."""
    middle = math.sqrt(low * high)
    for digits in range(1, 18):
        rounded = float(f"{middle:.{digits}g}")
        if low < rounded < high:
            return rounded
    return middle


def trace_code(values: np.ndarray, threshold: float, horizon: int = 1, gap: float = 10.0,
               min_share: float = 0.01, known: Iterable[float] = ()) -> str | None:
    """A line when a rain column's smallest positive value looks like a trace code stored as a
    number (NOAA writes trace, "rain seen, too little to measure", as 0.0001 inch beside a gauge
    resolution of 0.01): it sits ``gap`` times or more below the next value, holds at least
    ``min_share`` of the positive rows, and the threshold counts a period of trace rows alone as
    rain (over ``horizon`` rows they add up: 24 x 0.0001 exceeds 0.0001). Which it should be is
    the user's choice; the line says what each threshold does. ``values``: the train rows;
    ``known``: numbers the user mapped a text code to (--replace T=0.001), their choice already."""
    positive = values[np.isfinite(values) & (values > 0)]
    distinct = np.unique(positive)
    if len(distinct) < 2 or distinct[1] < gap * distinct[0] * (1 - 1e-9):
        return None
    smallest, following = float(distinct[0]), float(distinct[1])
    # a period of --horizon rows that are all trace, summed as the labels sum it
    all_trace = float(_window_totals(np.full(horizon, smallest), horizon)[0])
    if threshold >= all_trace or any(math.isclose(smallest, value) for value in known):
        return None
    n = int(np.sum(positive == smallest))
    if n < 5 or n < min_share * len(positive):
        return None
    counts = "these rows" if horizon == 1 else f"a period of {horizon} such rows alone"
    line = (f"{n:,} train rows ({n / len(positive):.0%} of the rain rows) hold {_exact(smallest)}, "
            f"{following / smallest:.0f}x below the next value {_exact(following)}: a trace code stored as a number "
            f"(rain seen, too little to measure)? --rain_threshold {_exact(threshold)} counts {counts} as rain; ")
    if all_trace < following:
        return line + f"--rain_threshold {_exact(_between(all_trace, following))} does not" + (
            f" (a period of {horizon} trace rows totals {_exact(all_trace)})" if horizon > 1 else "")
    return line + (f"over --horizon {horizon} no threshold both excludes a period of trace rows (up to "
                   f"{_exact(all_trace)}) and keeps one reading of {_exact(following)}")
