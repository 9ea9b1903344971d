"""Reading a rainfall CSV into a tidy table: which column is the date, the group, the label and
which ones are features. Every refusal is a UserError naming the file and the column."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from utils.errors import UserError

DATE_NAMES = ("date", "time", "timestamp", "datetime", "valid_time")
SINGLE_GROUP = "all"


@dataclass
class Table:
    path: Path
    frame: pd.DataFrame          # sorted by group then date; every group on a regular grid if dated
    date_col: str | None
    group_col: str | None
    label_col: str | None        # --target
    source_col: str | None       # --target_from
    features: list[str]
    skipped_non_numeric: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_inserted: int = 0       # missing timestamps added as empty rows
    step: str | None = None      # the grid step, e.g. "1 days 00:00:00"


def _split_names(text: str | None) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()] if text else []


def read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"{path}: file not found; check --root_path and --data_path")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a CSV file; point --data_path at the file")
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file is empty; give a CSV with a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0]
        raise UserError(f"{path}: cannot be read as CSV ({first}); give a comma-separated text file") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1:
        only = frame.columns[0]
        hint = next((f" it looks separated by {name}" for sep, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'"))
                     if sep in only), "")
        raise UserError(f"{path}: reads as a single column ({only[:60]!r}), not a CSV table;{hint or ' '}"
                        " save it comma-separated with a header row")
    if frame.empty:
        raise UserError(f"{path}: has a header but no data rows")
    return frame


def _require_column(frame: pd.DataFrame, path: Path, name: str, flag: str) -> None:
    if name not in frame.columns:
        raise UserError(
            f"{path}: column '{name}' (from {flag}) not found; the file has: {', '.join(map(str, frame.columns))}"
        )


def _find_date_column(frame: pd.DataFrame, requested: str | None, path: Path) -> str | None:
    if requested:
        _require_column(frame, path, requested, "--date_col")
        return requested
    for col in frame.columns:
        if col.lower() in DATE_NAMES:
            return col
    return None


def _parse_dates(frame: pd.DataFrame, col: str, path: Path) -> pd.Series:
    raw = frame[col]
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed") if raw.dtype == object or pd.api.types.is_string_dtype(raw) \
        else pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna() & raw.notna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise UserError(
            f"{path}: column '{col}' has {int(bad.sum())} value(s) that are not dates (first: {example!r}); "
            "fix them or name the right column with --date_col"
        )
    if parsed.isna().any():
        raise UserError(f"{path}: column '{col}' has {int(parsed.isna().sum())} empty date(s); fill or remove those rows")
    return parsed


def _regular_grid(frame: pd.DataFrame, date_col: str, group_col: str) -> tuple[pd.DataFrame, int, str | None]:
    """Insert empty rows for missing timestamps so that one row is always one time step.

    Without this a window of seq_len rows could silently span a month-long outage. The step is
    the median spacing; if the timestamps are not whole multiples of it, rows are left as they are.
    """
    diffs = frame.groupby(group_col, sort=False)[date_col].diff().dropna()
    if diffs.empty:
        return frame, 0, None
    step = diffs.median()
    if step <= pd.Timedelta(0) or ((diffs % step) != pd.Timedelta(0)).any() or (diffs == step).all():
        return frame, 0, str(step)
    parts = []
    for _, part in frame.groupby(group_col, sort=False):
        grid = pd.date_range(part[date_col].iloc[0], part[date_col].iloc[-1], freq=step)
        full = part.set_index(date_col).reindex(grid)
        full.index.name = date_col
        full[group_col] = part[group_col].iloc[0]
        parts.append(full.reset_index())
    out = pd.concat(parts, ignore_index=True)[frame.columns]
    return out, len(out) - len(frame), str(step)


def load_table(args) -> Table:
    path = Path(args.root_path) / args.data_path
    frame = read_csv(path)
    rows_read = len(frame)

    date_col = _find_date_column(frame, args.date_col, path)
    group_col = args.group_col or None
    if group_col:
        _require_column(frame, path, group_col, "--group_col")
    unlabeled = getattr(args, "task_name", "classification") == "pretrain"
    if args.target and args.target_from:
        raise UserError("give only one of --target and --target_from")
    if not unlabeled and not (args.target or args.target_from):
        raise UserError("give exactly one of --target COLUMN (integer classes) or --target_from COLUMN "
                        "(label derived from a precipitation column)")
    label_col = args.target or None
    source_col = args.target_from or None
    if label_col:
        _require_column(frame, path, label_col, "--target")
    if source_col:
        _require_column(frame, path, source_col, "--target_from")

    # Sort by group (in order of first appearance) and time; a table that is not in time order
    # would otherwise produce windows that jump back and forth in time.
    internal_group = group_col or "__group__"
    if not group_col:
        frame[internal_group] = SINGLE_GROUP
    frame[internal_group] = frame[internal_group].astype(str)
    step = None
    inserted = 0
    if date_col:
        frame[date_col] = _parse_dates(frame, date_col, path)
        order = {g: i for i, g in enumerate(pd.unique(frame[internal_group]))}
        frame["__order__"] = frame[internal_group].map(order)
        frame = frame.sort_values(["__order__", date_col], kind="stable").drop(columns="__order__")
        dup = frame.duplicated([internal_group, date_col])
        if dup.any():
            where = f" within a '{group_col}' group" if group_col else ""
            raise UserError(
                f"{path}: {int(dup.sum())} duplicated timestamp(s) in '{date_col}'{where} "
                f"(first: {frame.loc[dup, date_col].iloc[0]}); remove duplicates"
                + ("" if group_col else " or name the region/station column with --group_col")
            )
        frame, inserted, step = _regular_grid(frame.reset_index(drop=True), date_col, internal_group)
    else:
        order = {g: i for i, g in enumerate(pd.unique(frame[internal_group]))}
        frame = frame.iloc[np.argsort(frame[internal_group].map(order).to_numpy(), kind="stable")]
    frame = frame.reset_index(drop=True)

    reserved = {c for c in (date_col, group_col, internal_group, label_col) if c}
    excluded = _split_names(args.exclude)
    for name in excluded:
        _require_column(frame, path, name, "--exclude")
    requested = _split_names(args.features)
    skipped: list[str] = []
    if requested:
        for name in requested:
            _require_column(frame, path, name, "--features")
            if name in reserved:
                raise UserError(f"--features: '{name}' is the date, group or label column and cannot be a feature")
            if not pd.api.types.is_numeric_dtype(frame[name]):
                raise UserError(f"{path}: feature column '{name}' is not numeric; remove it from --features")
        features = [n for n in requested if n not in excluded]
    else:
        features = []
        for col in frame.columns:
            if col in reserved or col in excluded:
                continue
            if pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
                features.append(col)
            else:
                skipped.append(col)
    if not features:
        raise UserError(f"{path}: no numeric feature columns left; check --features and --exclude")
    return Table(
        path=path, frame=frame, date_col=date_col, group_col=internal_group if group_col else None,
        label_col=label_col, source_col=source_col, features=features, skipped_non_numeric=skipped,
        excluded=excluded, rows_read=rows_read, rows_inserted=inserted, step=step,
    )


def group_column(table: Table) -> str:
    return table.group_col or "__group__"
