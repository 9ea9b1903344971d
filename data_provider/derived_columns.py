"""Columns that only number the rows or repeat the date: not weather, and harmful as inputs.

Real tables carry them: R's row names (``rownames``, ``Unnamed: 0``), a running ``id``, or the date
split into ``year``, ``month``, ``day``, ``hour`` beside the date column itself. As inputs they
tell the model where a window sits in time: a row number or a year grows past anything the train
split held, so every test window is out of range in that column, and the calendar that matters is
already there as ``--embed timeF``'s sin/cos pairs. They are found by their values, not their
names: a column is a counter when it rises by the same step from row to row within every group,
and a date part when it equals that part of the row's own timestamp on every row.

Each check reads a few rows first and the whole column only when those agree, so an ordinary
column costs next to nothing on a table of millions of rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PROBE_ROWS = 64          # rows read first; a column they do not condemn is never read whole
MIN_ROWS = 10            # a table shorter than this in every group is left alone


def _date_parts(dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    return {"year": dates.year, "month": dates.month, "day of month": dates.day, "hour": dates.hour,
            "day of year": dates.day_of_year}


def _even_step(values: np.ndarray) -> float | None:
    """The step by which ``values`` rise from each one to the next, when it is one positive step."""
    if np.isnan(values).any():
        return None
    diffs = np.diff(values.astype(np.float64))
    return float(diffs[0]) if diffs[0] > 0 and np.all(diffs == diffs[0]) else None


def _is_counter(column: np.ndarray, starts: np.ndarray, stops: np.ndarray, observed: np.ndarray) -> bool:
    """Rises by one positive step between consecutive observed rows, the same in every group."""
    steps = set()
    for first, stop in zip(starts, stops):
        values = column[first:stop][observed[first:stop]]
        if len(values) < 2:
            continue
        step = _even_step(values)
        if step is None:
            return False
        steps.add(step)
    return len(steps) == 1


def _repeats(values: np.ndarray, part: np.ndarray) -> bool:
    return len(values) > 0 and not np.isnan(values).any() and np.array_equal(values, part)


def derived_columns(values: np.ndarray, names: list[str], starts: np.ndarray, stops: np.ndarray,
                    observed: np.ndarray, dates: np.ndarray | None) -> dict[str, str]:
    """{column: what it repeats} for the candidate features ``values`` [rows, len(names)] (rows
    sorted by group, then time), judged on the rows where ``observed`` is True: the train split's
    rows that the file held, so that no later value chooses an input."""
    if int(np.max(stops - starts, initial=0)) < MIN_ROWS:
        return {}
    first = int(np.argmax(observed)) if observed.any() else 0
    probe = np.zeros(len(observed), dtype=bool)
    probe[first:min(len(observed), first + PROBE_ROWS)] = True
    probe &= observed
    group_of_first = np.searchsorted(stops, first, side="right")
    probe[stops[min(group_of_first, len(stops) - 1)]:] = False    # the probe stays in one group
    probe_stamps = None if dates is None else pd.DatetimeIndex(dates[probe])
    # a table may carry its date parts in local time beside a UTC stamp (nycflights13: 5 hours
    # behind); a whole-hour shift is tried after none. Parts that cross a daylight-saving change in
    # train agree with no single shift and are kept.
    shifts = [0] + [h for h in range(-14, 15) if h != 0]
    probe_parts = {} if probe_stamps is None else {
        h: _date_parts(probe_stamps + pd.Timedelta(hours=h)) for h in shifts}
    observed_dates = None if dates is None else pd.DatetimeIndex(dates[observed])
    whole_parts: dict[int, dict[str, np.ndarray]] = {}   # per shift, made once a probe agrees
    found = {}
    for j, name in enumerate(names):
        column = values[:, j]
        few = column[probe]
        if len(few) >= 2 and _even_step(few) is not None and _is_counter(column, starts, stops, observed):
            found[name] = "a row counter (it rises by the same step on every row)"
            continue
        what = _date_part(column[observed], few, probe_parts, whole_parts, observed_dates)
        if what:
            found[name] = what
    return found


def _date_part(column: np.ndarray, few: np.ndarray, probe_parts: dict, whole_parts: dict,
               dates: pd.DatetimeIndex | None) -> str | None:
    """Which part of the (shifted) ``dates`` the ``column`` repeats on every row (both taken on the
    observed rows), if any. Several parts can agree on the probe (day of month and day of year in
    January): each is tried."""
    for shift, parts in probe_parts.items():
        for part, head in parts.items():
            if not np.array_equal(few, np.asarray(head, dtype=few.dtype)):
                continue
            if shift not in whole_parts:
                whole_parts[shift] = _date_parts(dates + pd.Timedelta(hours=shift))
            if _repeats(column, np.asarray(whole_parts[shift][part], dtype=column.dtype)):
                return f"the {part} of the date column" + (f" shifted by {shift:+d} h (a local time)" if shift else "")
    return None
