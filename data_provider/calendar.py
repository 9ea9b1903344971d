"""Known calendar covariates (Time-Series-Library's ``--embed timeF``): each row's own hour of day
and day of year as sin/cos pairs, computed from its timestamp alone, so a window's covariates
carry nothing from after its last step and are never missing (an inserted empty row still has
its time).

Which pairs a table gets follows ``--freq`` (Time-Series-Library's letters), inferred from the
time grid when not given: sub-daily grids (h, t, s) get hour of day and day of year; daily to
weekly grids (d, b, w) day of year; monthly and coarser (m, q, y) month of year. They are
prepended to the features, so the last variable stays the file's (``--covariate`` treats the last
variable as the target, which a calendar column never is).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from utils.errors import UserError

FREQS = {"s": "sub-daily", "t": "sub-daily", "h": "sub-daily", "d": "daily", "b": "daily", "w": "daily",
         "m": "monthly", "q": "monthly", "y": "monthly"}
PAIRS = {"sub-daily": ("hour", "doy"), "daily": ("doy",), "monthly": ("month",)}
PREFIX = "calendar_"


def infer_freq(dates: np.ndarray, sample: int = 100_000) -> str:
    """The Time-Series-Library letter of a table's grid: its most common step between stamps,
    read from the first ``sample`` rows (a table is sorted by group, then time; the grid step is
    the same throughout, as the reader checked)."""
    head = dates[:sample]
    stamps = np.unique(pd.to_datetime(head).dropna().to_numpy()) if len(head) else np.array([])
    if len(stamps) < 2:
        return "d"
    step = pd.Timedelta(pd.Series(np.diff(stamps)).mode().iloc[0])
    if step < pd.Timedelta(days=1):
        return "h"
    return "d" if step < pd.Timedelta(days=28) else "m"


def calendar_names(freq: str) -> list[str]:
    if freq not in FREQS:
        raise UserError(f"--freq {freq!r}: give one of {', '.join(FREQS)} (Time-Series-Library's letters), or leave it "
                        "out to infer it from the time column")
    return [f"{PREFIX}{part}_{fn}" for part in PAIRS[FREQS[freq]] for fn in ("sin", "cos")]


def _utc_stamps(dates: np.ndarray) -> np.ndarray:
    """datetime64[ns] in UTC (a table with UTC offsets holds aware stamps)."""
    t = pd.DatetimeIndex(pd.to_datetime(dates))
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_numpy().astype("datetime64[ns]")


def _pairs(t: np.ndarray, freq: str, n_columns: int) -> np.ndarray:
    day = t.astype("datetime64[D]")
    year = t.astype("datetime64[Y]")
    hours = (t - day) / np.timedelta64(1, "h")
    year_days = ((year + np.timedelta64(1, "Y")).astype("datetime64[D]") - year.astype("datetime64[D]")).astype(np.float64)
    phases = {
        "hour": lambda: hours / 24,
        "doy": lambda: ((day - year.astype("datetime64[D]")).astype(np.float64) + hours / 24) / year_days,
        "month": lambda: (t.astype("datetime64[M]") - year.astype("datetime64[M]")).astype(np.float64) / 12,
    }
    out = np.empty((len(t), n_columns), dtype=np.float32)
    for i, part in enumerate(PAIRS[FREQS[freq]]):
        angle = 2 * np.pi * phases[part]()
        out[:, 2 * i], out[:, 2 * i + 1] = np.sin(angle), np.cos(angle)
    return out


def calendar_features(dates: np.ndarray, freq: str, starts: np.ndarray | None = None,
                      stops: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
    """[rows, 2 x pairs] float32 sin/cos of each row's own timestamp, and their names. Plain
    datetime64 arithmetic (no per-row Python, no pandas field accessors). With the groups' row
    ranges (``starts``/``stops``), a timeline several groups share (regions of one reanalysis
    grid) is computed once and copied: 50 regions x 10 years hourly in a fraction of a second."""
    names = calendar_names(freq)
    t = _utc_stamps(dates)
    if starts is None or int(np.sum(stops - starts)) != len(t):
        return names, _pairs(t, freq, len(names))
    out = np.empty((len(t), len(names)), dtype=np.float32)
    seen: dict[tuple, list[tuple[int, int]]] = {}   # (length, first, last stamp) -> row ranges computed
    for a, b in zip(starts, stops):
        part = t[a:b]
        key = (len(part), part[0], part[-1]) if len(part) else (0,)
        same = next(((c, d) for c, d in seen.get(key, []) if np.array_equal(t[c:d], part)), None)
        out[a:b] = out[same[0]:same[1]] if same else _pairs(part, freq, len(names))
        if same is None:
            seen.setdefault(key, []).append((a, b))
    return names, out


def is_calendar(name: str) -> bool:
    return name.startswith(PREFIX)
