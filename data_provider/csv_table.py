"""Reading a weather CSV into a tidy table: which column is the date, the group, the label and which
ones are features; text cells turned into numbers or refused with their row and column; duplicate
rows resolved; every group on one regular time grid. Every refusal is a UserError naming the file.

Real station tables are not written for us: the date column may be called ``time_hour``, the label
may read ``Yes``/``No``, rain may be ``T`` for trace, a row may appear twice. Each of those is either
handled in a way the report states, or refused with a line that says how to handle it.
"""
from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data_provider import time_grid
from utils.errors import UserError

DATE_NAMES = ("date", "time", "timestamp", "datetime", "valid_time", "time_hour")
SINGLE_GROUP = "all"
OBSERVED = "__observed__"           # False on rows added for missing timestamps
# text labels read as the negative class (0) when a label column has exactly two values
NEGATIVE_WORDS = {"no", "n", "false", "f", "0", "no rain", "norain", "dry", "none", "negative", "neg", "absent"}
MOSTLY_NUMERIC = 0.5
DATE_PATTERN = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|(?:19|20)\d\d"  # 2013-01-05, 5/1/13, 05.01.2013, Jan 5 2013                # a text column at least this numeric is a numeric column with bad cells


@dataclass
class Table:
    path: Path
    frame: pd.DataFrame          # sorted by group then date; every group on one regular grid if dated
    date_col: str | None
    group_col: str | None
    label_col: str | None        # --target
    source_col: str | None       # --target_from
    features: list[str]
    features_chosen: bool = False  # --features named them (sparse columns are then kept)
    skipped_non_numeric: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_inserted: int = 0       # missing timestamps added as empty rows
    step: str | None = None      # the grid step, e.g. "1 days 00:00:00"
    snapped: int = 0             # off-grid stamps moved to their own period's grid stamp
    exact_duplicates: int = 0    # identical rows dropped
    conflicting_duplicates: int = 0  # rows merged away by --duplicates first|last|mean
    date_detected_from: str | None = None   # "--date_col" or "values"
    date_format: str | None = None          # how the date text was read (inferred, ISO 8601, day first, ...)
    label_mapping: dict[str, int] | None = None
    replaced: dict[str, int] = field(default_factory=dict)   # --replace token -> cells replaced


def _split_names(text: str | None) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()] if text else []


def parse_na_values(text: str | None) -> tuple[list[float], list[str]]:
    """--na_values: numbers are sentinels compared as numbers (-9900 matches -9900.0); anything else
    is a text token that marks a cell missing when the file is read."""
    numbers, tokens = [], []
    for part in _split_names(text):
        try:
            numbers.append(float(part))
        except ValueError:
            tokens.append(part)
    return numbers, tokens


def parse_replacements(items: list[str] | None) -> dict[str, float]:
    """--replace TOKEN=NUMBER (repeatable)."""
    out: dict[str, float] = {}
    for item in items or []:
        token, sep, number = item.partition("=")
        try:
            if not sep or not token.strip():
                raise ValueError
            out[token.strip()] = float(number)
        except ValueError:
            raise UserError(f"--replace {item!r}: give TOKEN=NUMBER, e.g. --replace T=0.001")
    return out


def read_csv(path: Path, na_tokens: list[str] | None = None) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"{path}: file not found; check --root_path and --data_path")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a CSV file; point --data_path at the file")
    try:
        frame = pd.read_csv(path, low_memory=False, na_values=na_tokens or None)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file is empty; give a CSV with a header row and data rows")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0]
        raise UserError(f"{path}: cannot be read as CSV ({first}); give a comma-separated text file")
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
        near = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1, cutoff=0.6)
        near = near or [c for c in map(str, frame.columns) if c.lower() == name.lower()]
        raise UserError(
            f"{path}: column '{name}' (from {flag}) not found" + (f" (did you mean '{near[0]}'?)" if near else "")
            + f"; the file has: {', '.join(map(str, frame.columns))}"
        )


def _file_row(frame: pd.DataFrame, position: int) -> int:
    """The line number in the file of the row at ``position`` (line 1 is the header)."""
    return int(frame.index[position]) + 2


# ------------------------------------------------------------------------------------------ dates
def _is_yyyymmdd(raw: pd.Series) -> bool:
    values = raw.dropna()
    return (pd.api.types.is_integer_dtype(raw) and not values.empty
            and bool(values.between(10_000_101, 99_991_231).all())
            and bool(pd.to_datetime(values.astype("int64").astype(str), format="%Y%m%d", errors="coerce").notna().all()))


def _attempt(text: pd.Series, **how) -> tuple[pd.Series, bool]:
    """Parse with one rule for the whole column (never cell by cell: that is how 03/12 and 12/03
    end up in one table). Returns (parsed, converted_to_utc)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # pandas' notes on the format it inferred
        try:
            return pd.to_datetime(text, errors="coerce", **how), False
        except ValueError:       # several UTC offsets (local time across a daylight-saving change)
            return pd.to_datetime(text, errors="coerce", utc=True, **how), True


def _regularity(parsed: pd.Series) -> float:
    """Share of steps between consecutive distinct stamps equal to the most common one."""
    diffs = np.diff(np.unique(parsed.dropna().to_numpy()))
    if diffs.size == 0:
        return 0.0
    _, counts = np.unique(diffs, return_counts=True)
    return float(counts.max() / diffs.size)


def _parse_date_values(raw: pd.Series) -> tuple[pd.Series, str]:
    """(dates, how they were read). Text is tried as a whole column with the format pandas infers
    from it, as ISO 8601, and day first; where two readings both work and disagree (01/02/2013),
    the one whose steps are more regular wins and the report says which."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw, "datetime"
    if _is_yyyymmdd(raw):
        return pd.to_datetime(raw.astype("Int64").astype(str), format="%Y%m%d", errors="coerce"), "YYYYMMDD"
    if pd.api.types.is_numeric_dtype(raw):
        return pd.to_datetime(raw, errors="coerce"), "numbers"
    text = raw.astype("string").str.strip()
    need = int(text.notna().sum())
    iso = bool(text.dropna().head(50).str.match(r"^\d{4}-\d{2}").all())   # year first: never ambiguous
    readings = []
    for name, how in (("inferred format", {}), ("ISO 8601", {"format": "ISO8601"}),
                      ("day first", {"dayfirst": True})):
        parsed, utc = _attempt(text, **how)
        readings.append((int(parsed.notna().sum()), name + (", UTC offsets converted to UTC" if utc else ""), parsed))
        if iso and readings[-1][0] == need:
            return parsed, readings[-1][1]
    complete = [r for r in readings if r[0] == need]
    if not complete:
        best = max(readings, key=lambda r: r[0])
        return best[2], best[1]
    first = complete[0]
    others = [r for r in complete[1:] if not r[2].equals(first[2])]
    if others and _regularity(others[0][2]) > _regularity(first[2]):
        return others[0][2], others[0][1]
    return first[2], first[1]


def _looks_like_dates(raw: pd.Series) -> bool:
    """Values that parse as dates: not plain numbers (a year or an id is not a date), not times
    of day or month names alone (a sunrise column is not the timeline)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return True
    if _is_yyyymmdd(raw):
        return True
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        return False
    sample = raw.dropna().astype(str).str.strip().head(200)
    if sample.empty or pd.to_numeric(sample, errors="coerce").notna().mean() > 0.5:
        return False
    # a date has a day, month and year in it; "06:45" or "January" alone parse, but are not dates
    has_date = sample.str.contains(DATE_PATTERN, regex=True)
    if has_date.mean() < 0.9:
        return False
    with np.errstate(all="ignore"):
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().mean() >= 0.9)


def _find_date_column(frame: pd.DataFrame, requested: str | None, path: Path,
                      reserved: set[str]) -> tuple[str | None, str | None]:
    """(column, how it was found): --date_col, else the first column whose values are dates,
    a conventional name (date, time, ...) winning when several are."""
    if requested:
        _require_column(frame, path, requested, "--date_col")
        return requested, "--date_col"
    candidates = [c for c in frame.columns if c not in reserved and _looks_like_dates(frame[c])]
    if not candidates:
        return None, None
    named = [c for c in candidates if c.lower() in DATE_NAMES]
    return (named or candidates)[0], "values"


def _parse_dates(frame: pd.DataFrame, col: str, path: Path) -> tuple[pd.Series, str]:
    raw = frame[col]
    parsed, how = _parse_date_values(raw)
    bad = parsed.isna() & raw.notna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"{path}: column '{col}' has {int(bad.sum())} value(s) that are not dates in the format the others "
            f"use (first: {raw.iloc[position]!r} on line {_file_row(frame, position)}); write dates as "
            "YYYY-MM-DD [HH:MM], or name the right column with --date_col"
        )
    if parsed.isna().any():
        raise UserError(f"{path}: column '{col}' has {int(parsed.isna().sum())} empty date(s); fill or remove those rows")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)   # one offset: its local wall time; several: already UTC
    return parsed, how


# ------------------------------------------------------------------------------- text -> numbers
def _numbers(raw: pd.Series, replacements: dict[str, float], counts: dict[str, int]) -> tuple[pd.Series, pd.Series]:
    """(values as float, mask of cells that hold text that is not a number)."""
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float), pd.Series(False, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float), pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    for token, number in replacements.items():
        hits = text == token
        if hits.any():
            counts[token] = counts.get(token, 0) + int(hits.sum())
            text = text.mask(hits, repr(number))
    values = pd.to_numeric(text, errors="coerce").astype(float)
    return values, values.isna() & raw.notna()


def _refuse_text(frame: pd.DataFrame, path: Path, col: str, bad: pd.Series, flag: str) -> None:
    position = int(np.flatnonzero(bad.to_numpy())[0])
    found = str(frame[col].iloc[position]).strip()
    raise UserError(
        f"{path}: line {_file_row(frame, position)}, column '{col}'{flag}: {found!r} is not a number "
        f"({int(bad.sum())} such cell(s)); map it with --replace {found}=NUMBER, mark it missing with "
        f"--na_values {found}, or leave the column out with --exclude {col}")


def _text_labels(raw: pd.Series, known: dict[str, int] | None = None) -> tuple[pd.Series, dict[str, int]]:
    """Two text values: the one that reads as 'no' is 0. Otherwise classes in sorted order.
    ``known``: a trained run's mapping, reused as it is (a value it lacks is an unknown label)."""
    text = raw.astype("string").str.strip()
    if known:
        return text.map(known).astype(float), dict(known)
    values = sorted(text.dropna().unique())
    negatives = [v for v in values if v.lower() in NEGATIVE_WORDS]
    if len(values) == 2 and len(negatives) == 1:
        values = [negatives[0]] + [v for v in values if v != negatives[0]]
    mapping = {v: i for i, v in enumerate(values)}
    return text.map(mapping).astype(float), mapping


def _typed_columns(frame: pd.DataFrame, path: Path, *, date_col, group_col, label_col, source_col,
                   requested: list[str], excluded: list[str], replacements: dict[str, float],
                   replaced: dict[str, int], known_mapping: dict[str, int] | None = None
                   ) -> tuple[list[str], list[str], dict[str, int] | None]:
    """Turn every usable column into float in place. Returns (numeric columns in file order,
    skipped text columns, the label's text mapping if it had one)."""
    numeric, skipped, mapping = [], [], None
    for col in frame.columns:
        if col in (date_col, group_col) or (col in excluded and col not in (label_col, source_col)):
            continue
        raw = frame[col]
        counted: dict[str, int] = {}
        values, bad = _numbers(raw, replacements, counted)
        if col == label_col:
            if bad.any() and bad.sum() == raw.notna().sum():   # every label is text: Yes/No, rain/dry
                values, mapping = _text_labels(raw, known_mapping)
            elif bad.any():
                _refuse_text(frame, path, col, bad, " (--target)")
            frame[col] = values
            continue
        share = 1 - bad.sum() / max(raw.notna().sum(), 1)
        explicit = col == source_col or col in requested
        if bad.any() and (explicit or share >= MOSTLY_NUMERIC):
            flag = " (--target_from)" if col == source_col else (" (--features)" if col in requested else "")
            _refuse_text(frame, path, col, bad, flag)
        if share < MOSTLY_NUMERIC:
            skipped.append(col)          # station names, weather descriptions, wind directions...
            continue
        frame[col] = values
        numeric.append(col)
        for token, n in counted.items():
            replaced[token] = replaced.get(token, 0) + n
    return numeric, skipped, mapping


# ------------------------------------------------------------------------------------- duplicates
def _resolve_duplicates(frame: pd.DataFrame, path: Path, date_col: str, group_col: str, user_group: str | None,
                        policy: str, label_col: str | None = None) -> tuple[pd.DataFrame, int, int]:
    """Identical rows are dropped (a file concatenated twice); rows that share group and time but
    disagree are refused unless --duplicates says which to keep. Returns (frame, exact, merged)."""
    exact = frame.duplicated()
    frame = frame[~exact]
    keys = [group_col, date_col]
    clash = frame.duplicated(keys, keep=False)
    merged = 0
    if clash.any():
        if policy == "error":
            first = frame[clash].iloc[0]
            where = f" in group {first[group_col]!r}" if user_group else ""
            raise UserError(
                f"{path}: {int(frame.duplicated(keys).sum())} row(s) repeat a timestamp of '{date_col}' with different values "
                f"(first: {pd.Timestamp(first[date_col])}{where}, line {_file_row(frame, int(np.flatnonzero(clash.to_numpy())[0]))}); "
                "remove them, choose with --duplicates first|last|mean"
                + ("" if user_group else ", or name the station column with --group_col"))
        before = len(frame)
        if policy == "mean":
            # a class label is not averaged (Yes and No make no 0.5): the first row's stands
            numeric = [c for c in frame.columns if c not in keys and c != label_col
                       and pd.api.types.is_numeric_dtype(frame[c])]
            agg = {c: ("mean" if c in numeric else "first") for c in frame.columns if c not in keys}
            frame = frame.groupby(keys, sort=False, as_index=False).agg(agg)[list(frame.columns)]
        else:
            frame = frame.drop_duplicates(keys, keep=policy)
        merged = before - len(frame)
    return frame, int(exact.sum()), merged


# ------------------------------------------------------------------------------------------ groups
def _group_names(path: Path, group_col: str, frame: pd.DataFrame) -> pd.Series:
    """Station names as written: read again as plain text, so that a station called NA (Namibia)
    or 1 is not turned into a missing value or 1.0. An empty cell is refused, never dropped."""
    names = pd.read_csv(path, usecols=[group_col], dtype=str, keep_default_na=False)[group_col].str.strip()
    names.index = frame.index
    empty = names == ""
    if empty.any():
        position = int(np.flatnonzero(empty.to_numpy())[0])
        raise UserError(f"{path}: line {_file_row(frame, position)}: the --group_col column '{group_col}' is empty "
                        f"({int(empty.sum())} such row(s)); fill in the station or remove those rows")
    return names


# ------------------------------------------------------------------------------------------ table
def load_table(args, label_mapping: dict[str, int] | None = None, unlabeled: bool | None = None) -> Table:
    """The table the flags in ``args`` describe; ``label_mapping``: a trained run's text-label mapping
    to apply instead of working one out from this file's values; ``unlabeled``: read no label
    (default: when pretraining)."""
    path = Path(args.root_path) / args.data_path
    if not path.exists() and Path(args.data_path).is_file():
        raise UserError(f"{path}: file not found, but {args.data_path} exists from the current folder: give "
                        f"--root_path {Path(args.data_path).parent or '.'}/ --data_path {Path(args.data_path).name}")
    _, na_tokens = parse_na_values(args.na_values)
    replacements = parse_replacements(args.replace)
    frame = read_csv(path, na_tokens)
    rows_read = len(frame)

    group_col = args.group_col or None
    if group_col:
        _require_column(frame, path, group_col, "--group_col")
    unlabeled = args.task_name == "pretrain" if unlabeled is None else unlabeled
    if args.target and args.target_from:
        raise UserError("give only one of --target and --target_from")
    if not unlabeled and not (args.target or args.target_from):
        raise UserError("give exactly one of --target COLUMN (classes) or --target_from COLUMN "
                        "(label derived from a precipitation column)")
    label_col = args.target or None
    source_col = args.target_from or None
    if label_col:
        _require_column(frame, path, label_col, "--target")
    if source_col:
        _require_column(frame, path, source_col, "--target_from")
    excluded = _split_names(args.exclude)
    for name in excluded:
        _require_column(frame, path, name, "--exclude")
    requested = _split_names(args.features)
    for name in requested:
        _require_column(frame, path, name, "--features")
    date_col, date_how = _find_date_column(frame, args.date_col, path,
                                           {c for c in (group_col, label_col, source_col) if c} | set(requested))
    for name in requested:
        if name in (date_col, group_col, label_col):
            raise UserError(f"--features: '{name}' is the date, group or label column and cannot be a feature")

    replaced: dict[str, int] = {}
    numeric, skipped, mapping = _typed_columns(
        frame, path, date_col=date_col, group_col=group_col, label_col=label_col, source_col=source_col,
        requested=requested, excluded=excluded, replacements=replacements, replaced=replaced,
        known_mapping=label_mapping)

    internal_group = group_col or "__group__"
    if group_col:
        frame[internal_group] = _group_names(path, group_col, frame)
    else:
        frame[internal_group] = SINGLE_GROUP
    order = {g: i for i, g in enumerate(pd.unique(frame[internal_group]))}
    step, inserted, snapped, exact, merged, date_format = None, 0, 0, 0, 0, None
    if date_col:
        frame[date_col], date_format = _parse_dates(frame, date_col, path)
        frame, exact, merged = _resolve_duplicates(frame, path, date_col, internal_group, group_col,
                                                   args.duplicates, label_col)
        frame = frame.assign(__order__=frame[internal_group].map(order))
        frame = frame.sort_values(["__order__", date_col], kind="stable").drop(columns="__order__")
        frame[OBSERVED] = True
        regular = time_grid.regularise(frame, date_col, internal_group, path)
        frame, inserted, snapped = regular.frame, regular.inserted, regular.snapped
        frame[OBSERVED] = frame[OBSERVED].eq(True)
        step = regular.grid.describe() if regular.grid else None
    else:
        frame = frame.iloc[np.argsort(frame[internal_group].map(order).to_numpy(), kind="stable")]
        frame[OBSERVED] = True
    frame = frame.reset_index(drop=True)

    reserved = {c for c in (date_col, group_col, internal_group, label_col) if c}
    if requested:
        features = [n for n in requested if n not in excluded]
    else:
        features = [c for c in numeric if c not in reserved and c not in excluded]
    if not features:
        raise UserError(f"{path}: no numeric feature columns left; check --features and --exclude")
    return Table(
        path=path, frame=frame, date_col=date_col, group_col=internal_group if group_col else None,
        label_col=label_col, source_col=source_col, features=features, features_chosen=bool(requested),
        skipped_non_numeric=skipped, excluded=excluded, rows_read=rows_read, rows_inserted=inserted, step=step,
        snapped=snapped, exact_duplicates=exact, conflicting_duplicates=merged, date_detected_from=date_how,
        date_format=date_format,
        label_mapping=mapping, replaced=replaced,
    )


def group_column(table: Table) -> str:
    return table.group_col or "__group__"
