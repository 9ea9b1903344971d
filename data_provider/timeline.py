"""One time split for every group, and the scan that decides, for each row, whether a window
ending there is kept or why it is dropped.

Splitting each station at its own dates let one station's test period overlap another's training
period; neighbouring stations share weather, so such a test is not out of time. Here two cutoff
times are computed once, on the union of all groups' timestamps, and a window belongs to the split
that holds its last input step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_provider.windows import SPLITS, split_bounds

# why a window ending on a row is dropped, in the order the rules are checked (0 = kept)
CAUSES = ("history", "crosses_split", "label_past_split_end", "label_missing", "input_missing")
CAUSE_TEXT = {
    "history": "fewer than seq_len steps of the group before it",
    "crosses_split": "the window starts in an earlier split (pretraining windows stay inside one split)",
    "label_past_split_end": "its label period reaches past the end of its split",
    "label_missing": "its label period holds a missing value",
    "input_missing": "it holds a missing input step after filling",
}


def group_bounds(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, stop) rows of each group of a table sorted by group (groups are contiguous)."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if len(groups) else np.zeros(0, dtype=np.int64)
    return starts, np.r_[starts[1:], len(groups)].astype(np.int64)


@dataclass(frozen=True)
class Split:
    row_split: np.ndarray            # [rows] 0 train, 1 val, 2 test
    val_from: pd.Timestamp | None    # first timestamp of validation (None: positional split)
    test_from: pd.Timestamp | None


def time_split(dates: np.ndarray, observed: np.ndarray, ratios: tuple[float, float, float]) -> Split | None:
    """Cutoffs at the ``ratios`` of the sorted distinct timestamps that hold data; None when there
    are too few distinct timestamps for three non-empty parts."""
    stamps = np.sort(pd.unique(dates[observed]))     # distinct first (stations share stamps), then sorted
    n = len(stamps)
    first = int(round(n * ratios[0]))
    second = int(round(n * (ratios[0] + ratios[1])))
    if not 0 < first < second < n:
        return None
    val_from, test_from = stamps[first], stamps[second]
    row_split = (dates >= val_from).astype(np.int8) + (dates >= test_from).astype(np.int8)
    return Split(row_split, pd.Timestamp(val_from), pd.Timestamp(test_from))


def positional_split(group_starts: np.ndarray, group_stops: np.ndarray, ratios) -> Split:
    """Without dates, each group is cut at its own row fractions (the only order there is)."""
    row_split = np.zeros(int(group_stops[-1]) if len(group_stops) else 0, dtype=np.int8)
    for g0, g1 in zip(group_starts, group_stops):
        for index, (a, b) in enumerate(split_bounds(int(g1 - g0), ratios)):
            row_split[g0 + a:g0 + b] = index
    return Split(row_split, None, None)


@dataclass(frozen=True)
class Scan:
    cause: np.ndarray                # [rows] int8: 0 kept, else 1 + index into CAUSES
    column_blocks: np.ndarray        # [rows, features] bool: this column has a missing step in the window

    @property
    def kept(self) -> np.ndarray:
        return np.flatnonzero(self.cause == 0)


def scan_windows(missing: np.ndarray, labels: np.ndarray, row_split: np.ndarray, group_starts: np.ndarray,
                 group_stops: np.ndarray, seq_len: int, horizon: int, same_split_inputs: bool) -> Scan:
    """For every row t of every group: is the window [t-L+1, t] with its label period t+1..t+H
    usable? ``labels`` holds -1 where the label is not observed; ``missing`` [rows, features]
    marks input steps still missing after filling."""
    rows = len(row_split)
    t = np.arange(rows)
    cause = np.zeros(rows, dtype=np.int8)

    def mark(rule: str, hit: np.ndarray) -> None:
        cause[(cause == 0) & hit] = 1 + CAUSES.index(rule)

    # a few int64 arrays of the table's length at a time, reused in place (a table can be millions of rows)
    bound = np.repeat(group_starts, group_stops - group_starts)         # each row's group's first row
    safe_start = t - seq_len + 1
    mark("history", safe_start < bound)
    np.maximum(safe_start, bound, out=safe_start)
    if same_split_inputs:
        mark("crosses_split", row_split[safe_start] != row_split)
    bound[:] = np.repeat(group_stops - 1, group_stops - group_starts)   # now each row's group's last row
    label_end = t + horizon
    past_group = label_end > bound
    np.minimum(label_end, bound, out=label_end)
    del bound
    mark("label_past_split_end", past_group | (row_split[label_end] != row_split))
    del label_end, past_group
    mark("label_missing", labels < 0)
    blocks, any_blocked = _blocked_windows(missing, safe_start)
    mark("input_missing", any_blocked)
    return Scan(cause, blocks)


def _blocked_windows(missing: np.ndarray, window_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[rows, features] bool: the window from ``window_start`` to the row holds a missing step of
    the column, i.e. the column's last missing row so far is inside it; and [rows] whether any
    column does. Column by column, so no rows x features array wider than bool is ever made; a
    column with no gap costs nothing (not even a look at its all-False column)."""
    blocks = np.zeros(missing.shape, dtype=bool)
    any_blocked = np.zeros(missing.shape[0], dtype=bool)
    positions = np.arange(missing.shape[0])
    for j in range(missing.shape[1]):
        if missing[:, j].any():
            last_missing = np.maximum.accumulate(np.where(missing[:, j], positions, -1))
            blocks[:, j] = last_missing >= window_start
            any_blocked |= blocks[:, j]
    return blocks, any_blocked


def tally(scan: Scan, group_ids: np.ndarray, row_split: np.ndarray, names: list[str],
          groups: list[str]) -> dict[str, dict[str, dict]]:
    """{group: {split: {"rows": n, "windows": n, "dropped": {cause: n}, "dropped_by_column": {column: n}}}}.
    A window is counted under the first rule it fails; ``dropped_by_column`` counts, among windows
    dropped for missing inputs, those in which each column has a missing step. Counted with one
    pass over the rows, however many groups there are."""
    n_cells, n_codes = len(groups) * len(SPLITS), 1 + len(CAUSES)
    cell = group_ids * len(SPLITS) + row_split
    codes = np.bincount(cell * n_codes + scan.cause, minlength=n_cells * n_codes).reshape(n_cells, n_codes)
    input_rows = scan.cause == 1 + CAUSES.index("input_missing")
    by_column = np.zeros((n_cells, len(names)), dtype=np.int64)
    if input_rows.any():
        for j in range(len(names)):
            by_column[:, j] = np.bincount(cell[input_rows], weights=scan.column_blocks[input_rows, j],
                                          minlength=n_cells).astype(np.int64)
    out: dict[str, dict[str, dict]] = {}
    for g, group in enumerate(groups):
        out[group] = {}
        for s, split in enumerate(SPLITS):
            row = codes[g * len(SPLITS) + s]
            columns = by_column[g * len(SPLITS) + s]
            out[group][split] = {
                "rows": int(row.sum()),
                "windows": int(row[0]),
                "dropped": {c: int(row[1 + i]) for i, c in enumerate(CAUSES) if row[1 + i]},
                "dropped_by_column": {names[j]: int(columns[j]) for j in np.argsort(-columns, kind="stable")
                                      if columns[j]},
            }
    return out


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def months_train_never_saw(window_end_dates: dict[str, np.ndarray], share: float = 0.25) -> dict[str, dict]:
    """{split: {"share", "months"}} for each later split (val, test) whose windows end, more than
    ``share`` of them, in calendar months where no train window ends. A year of hourly data cut
    70/15/15 trains on January to August and tests on November and December: the test then
    measures a season the model never saw, and a validation score taken in September does not
    foresee it. Only dates are read, never labels, so the check is the same whatever the model does."""
    train = window_end_dates.get("train")
    if train is None or len(train) == 0:
        return {}
    seen = list(set(_months(train)))
    out = {}
    for name in SPLITS[1:]:
        ends = window_end_dates.get(name)
        if ends is None or len(ends) == 0:
            continue
        months = _months(ends)
        unseen = ~np.isin(months, seen)
        if unseen.mean() > share:
            out[name] = {"share": float(unseen.mean()),
                         "months": [MONTH_NAMES[m - 1] for m in sorted(set(months[unseen].tolist()))]}
    return out


def season_warning(split: str, unseen: dict) -> str:
    """One line for an entry of ``months_train_never_saw``."""
    return (f"{unseen['share']:.0%} of the {split} windows end in months no train window ends in "
            f"({', '.join(unseen['months'])}): the {split} score measures a season the model was not trained "
            "on; a record with a whole year in the train period (or more) makes it a fair test")


def rate_shift_warning(shares: dict[str, float | None], event: str, factor: float = 2.0) -> str | None:
    """A line when the test windows' share of ``event`` differs from validation's by ``factor`` or
    more (``shares``: {split: share}). The tested epoch and any tuned threshold were chosen on
    validation's base rate; a wet autumn validating a dry winter (rain in 25% against 7%) can pick
    a threshold above every winter window. It reports; it chooses nothing."""
    val, test = shares.get("val"), shares.get("test")
    if not val or not test or max(val, test) < factor * min(val, test):
        return None
    train = shares.get("train")
    return (f"{event} in {test:.1%} of the test windows against {val:.1%} of the validation windows"
            + (f" (train {train:.1%})" if train is not None else "")
            + ": the epoch and any threshold chosen on validation were chosen at another base rate, "
              "and the test scores are not comparable with validation's")


def _months(dates: np.ndarray) -> np.ndarray:
    """Calendar month of each stamp. The table's dates are tz-naive by now: one UTC offset was read
    as its local wall time, several (across a daylight-saving change) were converted to UTC."""
    return pd.DatetimeIndex(dates).month.to_numpy()
