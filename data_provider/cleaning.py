"""Missing-value rules. Filling is causal: a missing step takes the last value observed at or
before it, never one from after it, so no window's inputs carry anything from the period its
label describes, and the same rule gives the same inputs in training, re-test and prediction."""
from __future__ import annotations

import numpy as np
import pandas as pd


def mark_missing(values: np.ndarray, sentinels: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn sentinel values and +-inf into NaN. Returns (values, sentinel count, inf count) per column."""
    values = values.astype(np.float64, copy=True)
    is_sentinel = np.zeros(values.shape, dtype=bool)
    for sentinel in sentinels:
        is_sentinel |= values == sentinel
    is_inf = np.isinf(values)
    values[is_sentinel | is_inf] = np.nan
    return values, is_sentinel.sum(axis=0), is_inf.sum(axis=0)


def forward_fill(values: np.ndarray, group_starts: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill, in place, each missing step of ``values`` [rows, columns] with the last observed value
    of its column and group, when that value is at most ``max_gap`` steps back. A gap's first
    ``max_gap`` steps are filled, the rest stay NaN. Returns how many cells were filled per column."""
    rows = values.shape[0]
    filled = np.zeros(values.shape[1], dtype=np.int64)
    if max_gap <= 0 or rows == 0:
        return filled
    positions = np.arange(rows)
    # the first row of each row's group: a fill never reaches across a group boundary
    group_id = np.zeros(rows, dtype=np.int64)
    group_id[group_starts[1:]] = 1
    group_first = np.asarray(group_starts)[np.cumsum(group_id)]
    for j in range(values.shape[1]):
        column = values[:, j]
        missing = np.isnan(column)
        if not missing.any():
            continue
        last_seen = np.maximum.accumulate(np.where(missing, -1, positions))
        source = last_seen >= group_first
        fill = missing & source & (positions - last_seen <= max_gap)
        column[fill] = column[last_seen[fill]]
        filled[j] = int(fill.sum())
    return filled


def sparse_columns(missing: np.ndarray, train_rows: np.ndarray, group_ids: np.ndarray, names: list[str],
                   max_share: float) -> dict[str, dict[str, float]]:
    """Columns missing in more than ``max_share`` of some group's train rows, with each offending
    group's share: {column: {group: share}}. A sensor that one station never had would otherwise
    remove every window of that station."""
    shares = pd.DataFrame(missing[train_rows], columns=range(len(names))).groupby(group_ids[train_rows]).mean()
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(names):
        over = shares[j][shares[j] > max_share]
        if len(over):
            out[name] = {str(group): float(share) for group, share in over.items()}
    return out
