"""One row per time step: the grid is inferred from the data, off-grid stamps are placed or refused,
and missing steps become empty rows, so a window of L rows always spans L steps of time.

Gap detection must never switch itself off: one stray timestamp used to make the whole table
"irregular", after which windows silently spanned months-long outages.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from utils.errors import UserError

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Grid:
    step: pd.Timedelta | None     # None: calendar months (their length varies)
    anchor_ns: int                # a grid stamp is anchor + k * step (in nanoseconds since the epoch)

    def describe(self) -> str:
        return "1 calendar month" if self.step is None else str(self.step)


@dataclass(frozen=True)
class Regularised:
    frame: pd.DataFrame
    grid: Grid | None
    snapped: int                  # rows stamped off the grid moved to their own period's grid stamp
    inserted: int                 # empty rows added for missing steps


def _stamps_ns(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _is_month_starts(dates: pd.Series) -> bool:
    return bool((dates.dt.day == 1).all() and (dates.dt.normalize() == dates).all())


def infer_grid(dates: pd.Series, groups: np.ndarray) -> Grid | None:
    """The most common positive step between consecutive stamps of one group, and the phase most
    stamps share; None when no group has two distinct stamps."""
    stamps = _stamps_ns(dates)
    same_group = groups[1:] == groups[:-1]
    diffs = np.diff(stamps)[same_group]
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    step_ns = int(values[counts.argmax()])
    if 28 * DAY.value <= step_ns <= 31 * DAY.value and _is_month_starts(dates):
        return Grid(step=None, anchor_ns=0)
    phases, phase_counts = np.unique(stamps % step_ns, return_counts=True)
    return Grid(step=pd.Timedelta(step_ns, unit="ns"), anchor_ns=int(phases[phase_counts.argmax()]))


def _snap_off_grid(frame: pd.DataFrame, date_col: str, group_col: str, grid: Grid, path: Path) -> tuple[pd.DataFrame, int]:
    """On a daily or coarser grid a reading stamped 12:00 instead of 00:00 belongs to its day: move
    it there when that day holds no other row of its group. Anything else off the grid is refused."""
    step_ns = grid.step.value
    stamps = _stamps_ns(frame[date_col])
    phase = (stamps - grid.anchor_ns) % step_ns
    off = phase != 0
    if not off.any():
        return frame, 0
    period = stamps - phase
    movable = np.zeros(len(frame), dtype=bool)
    if grid.step >= DAY:
        keys = pd.DataFrame({"g": frame[group_col].to_numpy(), "p": period})
        taken = keys.duplicated(keep=False).to_numpy()    # another row of the group sits in that period
        movable = off & ~taken
    refused = off & ~movable
    if refused.any():
        first = frame.loc[refused, date_col].iloc[0]
        where = "" if frame[group_col].nunique() == 1 else f" (group {frame.loc[refused, group_col].iloc[0]})"
        example = pd.Timestamp(frame.loc[~off, date_col].iloc[0]) if (~off).any() else None
        raise UserError(
            f"{path}: {int(refused.sum())} timestamp(s) off the {grid.describe()} grid that most rows follow"
            f"{f' (e.g. {example})' if example is not None else ''}; first: {pd.Timestamp(first)}{where}; "
            "fix or remove those rows, or resample the table to one row per step")
    frame = frame.copy()
    frame.loc[movable, date_col] = pd.to_datetime(period[movable])
    return frame, int(movable.sum())


def _full_range(first: pd.Timestamp, last: pd.Timestamp, grid: Grid) -> pd.DatetimeIndex:
    if grid.step is None:
        return pd.date_range(first, last, freq="MS")
    return pd.date_range(first, last, freq=grid.step)


def regularise(frame: pd.DataFrame, date_col: str, group_col: str, path: Path) -> Regularised:
    """``frame`` sorted by group then time, duplicates already resolved -> one row per grid step."""
    groups = frame[group_col].to_numpy()
    grid = infer_grid(frame[date_col], groups)
    if grid is None:
        return Regularised(frame, None, 0, 0)
    snapped = 0
    if grid.step is not None:
        frame, snapped = _snap_off_grid(frame, date_col, group_col, grid, path)
    parts = []
    for name, part in frame.groupby(group_col, sort=False):
        full = part.set_index(date_col).reindex(_full_range(part[date_col].iloc[0], part[date_col].iloc[-1], grid))
        full.index.name = date_col
        full[group_col] = name
        parts.append(full.reset_index())
    out = pd.concat(parts, ignore_index=True)[frame.columns]
    return Regularised(out, grid, snapped, len(out) - len(frame))
