"""Missing-value rules, applied to one (group, split) segment at a time so that nothing is ever
filled across a region boundary or with values from a later split."""
from __future__ import annotations

import numpy as np


def mark_missing(values: np.ndarray, sentinels: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn sentinel values and +-inf into NaN. Returns (values, sentinel count, inf count) per column."""
    values = values.astype(np.float64, copy=True)
    is_sentinel = np.zeros(values.shape, dtype=bool)
    for sentinel in sentinels:
        is_sentinel |= values == sentinel
    is_inf = np.isinf(values)
    values[is_sentinel | is_inf] = np.nan
    return values, is_sentinel.sum(axis=0), is_inf.sum(axis=0)


def interpolate_short_gaps(column: np.ndarray, max_gap: int) -> int:
    """Fill, in place, runs of at most ``max_gap`` NaNs that have a value on both sides.

    Longer runs, and runs at the start or end of the segment, stay NaN: windows touching them are
    dropped later. Returns how many values were filled.
    """
    missing = np.isnan(column)
    if max_gap <= 0 or not missing.any() or missing.all():
        return 0
    positions = np.arange(len(column))
    valid = ~missing
    filled = np.interp(positions, positions[valid], column[valid])
    # label each NaN run, measure it, and keep only interior runs that are short enough
    starts = missing & ~np.concatenate(([False], missing[:-1]))
    run_id = np.cumsum(starts) * missing
    run_len = np.bincount(run_id)[run_id]
    first_valid, last_valid = positions[valid][0], positions[valid][-1]
    interior = (positions > first_valid) & (positions < last_valid)
    fill = missing & interior & (run_len <= max_gap)
    column[fill] = filled[fill]
    return int(fill.sum())
