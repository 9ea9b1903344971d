"""Missing-value rules. Filling is causal: a missing step takes the last value observed at or
before it, never one from after it, so no window's inputs carry anything from the period its
label describes, and the same rule gives the same inputs in training, re-test and prediction."""
from __future__ import annotations

import numpy as np


def mark_missing(values: np.ndarray, sentinels: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn sentinel values and +-inf into NaN, in a copy: float32 stays float32 (features read as
    float32 are never widened), anything else becomes float64. A sentinel is compared in the values'
    own precision, so -999.9 read as float32 matches float32(-999.9). Returns (values, sentinel
    count, inf count) per column."""
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    values = values.astype(dtype, copy=True)
    is_sentinel = np.zeros(values.shape, dtype=bool)
    for sentinel in sentinels:
        is_sentinel |= values == dtype(sentinel)
    is_inf = np.isinf(values)
    values[is_sentinel | is_inf] = np.nan
    return values, is_sentinel.sum(axis=0), is_inf.sum(axis=0)


def forward_fill(values: np.ndarray, group_starts: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill, in place, each missing step of ``values`` [rows, columns] with the last observed value
    of its column and group, when that value is at most ``max_gap`` steps back. A gap's first
    ``max_gap`` steps are filled, the rest stay NaN. Returns how many cells were filled per column."""
    filled = np.zeros(values.shape[1], dtype=np.int64)
    fill = column_filler(group_starts, values.shape[0], max_gap)
    for j in range(values.shape[1]):
        filled[j] = fill(values[:, j])
    return filled


def column_filler(group_starts: np.ndarray, rows: int, max_gap: int):
    """``fill(column)``: forward_fill's rule for one column of ``rows`` rows, in place, returning how
    many cells it filled. Lets a caller fill column by column without a whole table in hand; the
    groups' first rows are worked out once, for the first column with a gap."""
    index: dict[str, np.ndarray] = {}

    def fill(column: np.ndarray) -> int:
        missing = np.isnan(column)
        if max_gap <= 0 or not missing.any():
            return 0
        if not index:
            index["positions"] = np.arange(rows)
            # the first row of each row's group: a fill never reaches across a group boundary
            group_id = np.zeros(rows, dtype=np.int64)
            group_id[group_starts[1:]] = 1
            index["group_first"] = np.asarray(group_starts)[np.cumsum(group_id)]
        positions = index["positions"]
        last_seen = np.maximum.accumulate(np.where(missing, -1, positions))
        source = last_seen >= index["group_first"]
        chosen = missing & source & (positions - last_seen <= max_gap)
        column[chosen] = column[last_seen[chosen]]
        return int(chosen.sum())

    return fill


def sparse_columns(missing: np.ndarray, train_rows: np.ndarray, group_ids: np.ndarray, names: list[str],
                   max_share: float) -> dict[str, dict[str, float]]:
    """Columns missing in more than ``max_share`` of some group's train rows, with each offending
    group's share: {column: {group: share}}. A sensor that one station never had would otherwise
    remove every window of that station."""
    groups, index = np.unique(group_ids[train_rows], return_inverse=True)
    counts = np.zeros((len(groups), len(names)), dtype=np.int64)
    np.add.at(counts, index, missing[train_rows])
    return too_sparse(counts, np.bincount(index, minlength=len(groups)), groups, names, max_share)


def too_sparse(missing_counts: np.ndarray, train_counts: np.ndarray, groups, names: list[str],
               max_share: float) -> dict[str, dict[str, float]]:
    """sparse_columns from counts: ``missing_counts`` [groups, columns] the train rows where each
    column is missing, ``train_counts`` [groups] the train rows, ``groups`` sorted by name (each
    with train rows), as the report lists them."""
    shares = missing_counts / np.asarray(train_counts)[:, None]
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(names):
        over = {str(group): float(share) for group, share in zip(groups, shares[:, j]) if share > max_share}
        if over:
            out[name] = over
    return out


def costly_columns(missing: np.ndarray, ends: np.ndarray, seq_len: int, max_share: float) -> list[tuple[int, int]]:
    """Columns whose missing steps alone cost more than ``max_share`` of the windows ending on
    ``ends`` (each window [t - seq_len + 1, t] inside one group), worst first, as (column, windows
    it alone removes). A few missing hours in one column (a barometer's) can put a gap in most
    week-long windows while every other column is complete; such a column costs more windows than
    it can be worth. Greedy: once the worst column is out, the next is judged without it, so a
    column that blocks windows only together with one already dropped is counted then.
    The last column is never chosen: a table left with no measurement has nothing to learn from.
    ``missing``: [rows, columns] bool, after filling."""
    if not len(ends) or not missing.any():
        return []
    starts = ends - seq_len + 1
    per_row = missing.sum(axis=1, dtype=np.int32)
    chosen: list[tuple[int, int]] = []
    left = [j for j in range(missing.shape[1]) if missing[:, j].any()]
    while left and len(chosen) < missing.shape[1] - 1:
        gains = []
        for j in left:
            column = missing[:, j]
            in_column = np.concatenate(([0], np.cumsum(column, dtype=np.int64)))
            elsewhere = np.concatenate(([0], np.cumsum((per_row - column) > 0, dtype=np.int64)))
            only_here = ((in_column[ends + 1] - in_column[starts]) > 0) & ((elsewhere[ends + 1] - elsewhere[starts]) == 0)
            gains.append(int(only_here.sum()))
        best = int(np.argmax(gains))
        if gains[best] <= max_share * len(ends):
            break
        j = left.pop(best)
        chosen.append((j, gains[best]))
        per_row -= missing[:, j]
    return chosen
