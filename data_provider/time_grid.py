"""One row per time step: the grid is inferred from the data, off-grid stamps are placed or refused,
and missing steps become empty rows, so a window of L rows always spans L steps of time.

Gap detection must never switch itself off: one stray timestamp used to make the whole table
"irregular", after which windows silently spanned months-long outages.

Two kinds of grid:
* a fixed step (hourly, 12-hourly, daily, weekly): stamps are anchor + k * step; on a daily grid
  the anchor is midnight, so a row's period is its calendar day;
* calendar periods (months, quarters, years), whose length varies: stamps are the periods' first
  or last days, whichever most rows use.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data_provider.timeline import group_bounds
from utils.errors import UserError

DAY = pd.Timedelta(days=1)
# (shortest, longest) step in days -> pandas period code of a calendar grid
CALENDAR = {(28, 31): "M", (89, 92): "Q", (365, 366): "Y"}


@dataclass(frozen=True)
class Grid:
    step: pd.Timedelta | None     # None: calendar periods
    anchor_ns: int = 0            # a fixed-step stamp is anchor + k * step (ns since the epoch)
    period: str | None = None     # "M", "Q" or "Y" for calendar periods
    at_end: bool = False          # calendar stamps on the period's last day instead of its first

    def describe(self) -> str:
        if self.step is not None:
            return str(self.step)
        name = {"M": "month", "Q": "quarter", "Y": "year"}[self.period]
        return f"1 calendar {name} ({'last' if self.at_end else 'first'} day)"


def described_step(described: str | None) -> pd.Timedelta | None:
    """The fixed step a ``Grid.describe()`` text names (as data reports keep it), back as a
    Timedelta; None for calendar periods and for no grid at all."""
    try:
        step = pd.Timedelta(described)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(step) else step      # pd.Timedelta(None) is NaT


@dataclass(frozen=True)
class Regularised:
    frame: pd.DataFrame
    grid: Grid | None
    snapped: int                  # rows stamped off the grid moved to their own period's grid stamp
    inserted: int                 # empty rows added for missing steps
    matrix: np.ndarray | None = None   # the given float32 array moved onto the grid, when rows were inserted


def _stamps_ns(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def infer_grid(dates: pd.Series, groups: np.ndarray) -> Grid | None:
    """The most common positive step between consecutive stamps of one group; None when no group
    has two distinct stamps."""
    stamps = _stamps_ns(dates)
    diffs = np.diff(stamps)[groups[1:] == groups[:-1]]
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    step_ns = _most_common(diffs)
    days = step_ns / DAY.value
    for (low, high), code in CALENDAR.items():
        if low <= days <= high:
            starts = (dates.dt.to_period(code).dt.start_time == dates).mean()
            ends = (dates.dt.to_period(code).dt.end_time.dt.normalize() == dates).mean()
            return Grid(step=None, period=code, at_end=bool(ends > starts))
    if step_ns % DAY.value == 0 and step_ns == DAY.value:
        return Grid(step=DAY, anchor_ns=0)   # a day's stamp is its midnight: rows snap to their own day
    return Grid(step=pd.Timedelta(step_ns, unit="ns"), anchor_ns=_most_common(stamps % step_ns))


def _most_common(values: np.ndarray) -> int:
    """The most frequent value, the smallest of equally frequent ones (as np.unique then argmax
    gives it), counted by hashing instead of sorting: these arrays are as long as the table."""
    counts = pd.Series(values).value_counts(sort=False)
    return int(counts.index[counts.to_numpy() == counts.max()].min())


def _period_stamp(dates: pd.Series, grid: Grid) -> np.ndarray:
    """Each row's own period's grid stamp, in ns."""
    if grid.step is None:
        periods = dates.dt.to_period(grid.period)
        stamp = periods.dt.end_time.dt.normalize() if grid.at_end else periods.dt.start_time
        return _stamps_ns(stamp)
    stamps = _stamps_ns(dates)
    return stamps - (stamps - grid.anchor_ns) % grid.step.value


def _snap_off_grid(frame: pd.DataFrame, date_col: str, group_col: str, grid: Grid, path: Path) -> tuple[pd.DataFrame, int]:
    """On a daily or coarser grid a reading stamped 12:00 instead of 00:00 belongs to its day: move
    it there when that day holds no other row of its group. Anything else off the grid is refused."""
    stamps = _stamps_ns(frame[date_col])
    period = _period_stamp(frame[date_col], grid)
    off = stamps != period
    if not off.any():
        return frame, 0
    movable = np.zeros(len(frame), dtype=bool)
    if grid.step is None or grid.step >= DAY:
        keys = pd.DataFrame({"g": frame[group_col].to_numpy(), "p": period})
        taken = keys.duplicated(keep=False).to_numpy()    # another row of the group sits in that period
        movable = off & ~taken
    refused = off & ~movable
    if refused.any():
        position = int(np.flatnonzero(refused)[0])
        where = "" if frame[group_col].nunique() == 1 else f" (group {frame[group_col].iloc[position]})"
        example = pd.Timestamp(frame[date_col].iloc[int(np.flatnonzero(~off)[0])]) if (~off).any() else None
        raise UserError(
            f"{path}: {int(refused.sum())} timestamp(s) of '{date_col}' off the {grid.describe()} grid that most rows "
            f"follow{f' (e.g. {example})' if example is not None else ''}; first: {pd.Timestamp(frame[date_col].iloc[position])}"
            f"{where}; fix or remove those rows, resample the table to one row per step, or name another column "
            "with --date_col")
    frame = frame.copy()
    frame.loc[movable, date_col] = pd.to_datetime(period[movable])
    return frame, int(movable.sum())


def _reindex_fixed(frame: pd.DataFrame, date_col: str, group_col: str, step_ns: int,
                   matrix: np.ndarray | None = None, matrix_columns: list[str] = ()) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Every group from its first to its last stamp, one row per step, with index arithmetic:
    a row's new position is its group's offset plus its steps since the group's first stamp.
    ``matrix``: the frame's float columns as one row-major float32 array (its float32 columns are
    views of it); its rows move as whole rows into a new one, of which the new frame's float32
    columns are views, and which comes back beside the frame."""
    starts, stops = group_bounds(pd.factorize(frame[group_col])[0])
    stamps = _stamps_ns(frame[date_col])
    first, last = stamps[starts], stamps[stops - 1]
    lengths = (last - first) // step_ns + 1
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    group_of_row = np.repeat(np.arange(len(starts)), stops - starts)
    position = offsets[group_of_row] + (stamps - first[group_of_row]) // step_ns
    total = int(lengths.sum())
    if total == len(frame) and np.array_equal(position, np.arange(total)):
        # no step missing: the table is its own grid, and a copy of every column would only cost memory
        return frame.assign(**{date_col: stamps.view("datetime64[ns]")}), matrix
    group_index = np.repeat(np.arange(len(starts)), lengths)
    grid_matrix = None
    if matrix is not None:
        grid_matrix = np.full((total, matrix.shape[1]), np.nan, dtype=np.float32)
        grid_matrix[position] = matrix
    columns = {}
    for col in frame.columns:
        if col in (date_col, group_col):
            columns[col] = None             # made from the grid below (placed here to keep the order)
            continue
        values = frame[col].to_numpy()
        if grid_matrix is not None and col in matrix_columns and values.dtype == np.float32:
            columns[col] = grid_matrix[:, list(matrix_columns).index(col)]
            continue
        if values.dtype.kind == "f":
            filled = np.full(total, np.nan, dtype=values.dtype)
        elif values.dtype.kind in "iub":
            filled = np.full(total, np.nan)       # an empty row has no number, so it becomes float
        else:
            filled = np.full(total, None, dtype=object)
        filled[position] = values
        columns[col] = filled
    steps = np.arange(total) - offsets[group_index]
    columns[date_col] = pd.to_datetime(first[group_index] + steps * step_ns)
    columns[group_col] = frame[group_col].iloc[starts].to_numpy()[group_index]
    # in the frame's column order already; copy=False keeps one block per column (no copy into one)
    return pd.DataFrame(columns, copy=False), grid_matrix


def regularise(frame: pd.DataFrame, date_col: str, group_col: str, path: Path, matrix: np.ndarray | None = None,
               matrix_columns: list[str] = ()) -> Regularised:
    """``frame`` sorted by group then time, duplicates already resolved -> one row per grid step.
    ``matrix``: the frame's float columns as one float32 array (see _reindex_fixed)."""
    grid = infer_grid(frame[date_col], pd.factorize(frame[group_col])[0])   # codes: no Python string per row
    if grid is None:
        return Regularised(frame, None, 0, 0, matrix)
    frame, snapped = _snap_off_grid(frame, date_col, group_col, grid, path)
    if snapped:
        matrix = None           # the frame was copied to move them: its columns are no views any more
    if grid.step is not None:
        out, matrix = _reindex_fixed(frame.reset_index(drop=True), date_col, group_col, grid.step.value,
                                     matrix, matrix_columns)
    else:
        parts = []
        for name, part in frame.groupby(group_col, sort=False):
            periods = pd.period_range(part[date_col].iloc[0], part[date_col].iloc[-1], freq=grid.period)
            full_range = periods.end_time.normalize() if grid.at_end else periods.start_time
            full = part.set_index(date_col).reindex(full_range)
            full.index.name = date_col
            full[group_col] = name
            parts.append(full.reset_index())
        out, matrix = pd.concat(parts, ignore_index=True)[frame.columns], None
    return Regularised(out, grid, snapped, len(out) - len(frame), matrix)
