"""Reading a weather CSV into a tidy table: which column is the date, the group, the label and which
ones are features; text cells turned into numbers or refused with their row and column; duplicate
rows resolved; every group on one regular time grid. Every refusal is a UserError naming the file.

Real station tables are not written for us: the date column may be called ``time_hour``, the label
may read ``Yes``/``No``, rain may be ``T`` for trace, a row may appear twice. Each of those is either
handled in a way the report states, or refused with a line that says how to handle it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import mmap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data_provider import time_grid
from utils.errors import UserError

try:        # the format pandas infers from a date column's first value, to parse a long column in blocks
    from pandas._libs.tslib import first_non_null
    from pandas.core.tools.datetimes import _guess_datetime_format_for_array
except ImportError:  # pragma: no cover - another pandas: such columns are parsed whole
    first_non_null = None

try:        # the fast reader; without pyarrow every file goes through pandas' own reader
    import pyarrow as pa
    import pyarrow.compute as pa_compute
    import pyarrow.csv as pa_csv
except ImportError:  # pragma: no cover
    pa = None

DATE_NAMES = ("date", "time", "timestamp", "datetime", "valid_time", "time_hour")
SINGLE_GROUP = "all"
OBSERVED = "__observed__"           # False on rows added for missing timestamps
# text labels read as the negative class (0) when a label column has exactly two values
NEGATIVE_WORDS = {"no", "n", "false", "f", "0", "no rain", "norain", "dry", "none", "negative", "neg", "absent"}
MOSTLY_NUMERIC = 0.5
DATE_PATTERN = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|(?:19|20)\d\d"  # 2013-01-05, 5/1/13, 05.01.2013, Jan 5 2013                # a text column at least this numeric is a numeric column with bad cells
# pandas' default missing-value tokens (read_csv's na_values): the fast reader must see as missing
# exactly the cells pandas sees as missing
PANDAS_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
             "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
# a table without a date column may spell its date out in these (lower-cased) columns
DATE_PART_NAMES = {"year": ("year", "yr", "yyyy"), "month": ("month", "mon", "mo", "mm"),
                   "day": ("day", "dd", "dom", "day_of_month"), "hour": ("hour", "hr", "hh")}
SAMPLE_ROWS = 10_000                # rows pandas types first, so the fast reader gives every column pandas' type
DATE_BLOCK = 65_536                 # rows of date text parsed at once (pandas makes a Python string of each)
THREADED_READ_BYTES = 512 * 2**20     # files at least this large are read on every core (see _read_fast)
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if ctypes.util.find_library("c") else None
if _LIBC is not None and not hasattr(_LIBC, "malloc_trim"):     # not glibc (macOS, musl)
    _LIBC = None


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
    # the float columns as float32 in one row-major array [rows, columns], the layout of the model's
    # input, when the fast reader read the file and no row moved since: prepare then scales the
    # features in place instead of copying them (the frame's float32 columns are views of it)
    matrix: np.ndarray | None = None
    matrix_columns: list[str] = field(default_factory=list)

    def drop_column(self, name: str) -> None:
        """Drops a column whose values the caller has copied (a feature, once in the model's
        array), so that the numbers are not held twice."""
        del self.frame[name]


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


def read_csv(path: Path, na_tokens: list[str] | None = None, group_col: str | None = None,
             wide: tuple[str, ...] = ()) -> pd.DataFrame:
    """The file with the column types pandas' reader gives it, except that numbers are float32
    outside ``wide`` (the label, the rain, a named date) when the fast reader could read the file:
    features take half the memory, and the model sees them as float32 anyway. ``group_col`` is
    kept as written, so that a station called NA or 1 is not read as a missing value or 1.0."""
    return _read(path, na_tokens, group_col, wide)[0]


def _read(path: Path, na_tokens: list[str] | None, group_col: str | None,
          wide: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray | None, list[str]]:
    """read_csv's frame, and from the fast reader its float columns as one float32 array (see
    ``Table.matrix``) with their names."""
    if not path.exists():
        raise UserError(f"{path}: file not found; check --root_path and --data_path")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a CSV file; point --data_path at the file")
    fast = _read_fast(path, na_tokens, group_col, wide)
    return fast if fast is not None else (_read_exact(path, na_tokens, group_col), None, [])


def _read_sample(path: Path, na_tokens: list[str] | None) -> pd.DataFrame | None:
    """The first rows, read as pandas reads the whole file; None if even they are not a table
    (pandas' reader then words why)."""
    try:
        sample = pd.read_csv(path, low_memory=False, na_values=na_tokens or None, nrows=SAMPLE_ROWS)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    return None if len(sample.columns) < 2 or sample.empty else sample


def _arrow_types(sample: pd.DataFrame, group_col: str | None, wide: tuple[str, ...]) -> dict | None:
    """Each column's type for the fast reader: pandas' type on the sample (a column with text in
    it is text, whatever else it holds), float32 for numbers outside ``wide``. None where pandas
    could type the whole file differently in a way a conversion error would not reveal (bool)."""
    types = {}
    for name in sample.columns:
        kind = sample[name].dtype.kind
        if str(name).strip() == group_col or kind in "OTU":
            types[name] = pa.string()
        elif kind == "i":
            types[name] = pa.int64()
        elif kind == "f":
            types[name] = pa.float64() if str(name).strip() in wide else pa.float32()
        else:       # bool, unsigned, anything else: rare enough to leave to pandas
            return None
    return types


def _numbers_read_as_pandas_would(block) -> bool:
    """pyarrow reads 'NAN', 'nAn' (text to pandas) as NaN, and a float32 overflows to inf where
    pandas keeps a finite float64: a file with any NaN or inf number goes to pandas' reader."""
    for column in block.columns:
        if pa.types.is_floating(column.type) and not pa_compute.all(pa_compute.is_finite(column), min_count=0).as_py():
            return False
    return True


def _read_fast(path: Path, na_tokens: list[str] | None, group_col: str | None,
               wide: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray, list[str]] | None:
    """The file read by pyarrow (float32 numbers, text kept as arrow strings), typed as pandas
    would type it, with its float columns as one float32 array; None for a file it would read
    differently or cannot read (a text cell after the sample in a number column, a ragged row, bad
    UTF-8): pandas' reader then reads it exactly as before, and words every refusal with its line."""
    if pa is None:
        return None
    sample = _read_sample(path, na_tokens)
    types = None if sample is None else _arrow_types(sample, group_col, wide)
    del sample
    hand_back_freed_memory()            # the sample reader's buffers
    if types is None:
        return None
    missing = list(PANDAS_NA) + list(na_tokens or [])
    try:
        # the C allocator: memory freed while reading goes back at once (arrow's own keeps it).
        # Threads on large files only: they cost a fixed ~50-75 MiB of buffers, 1.4x the whole
        # growth at 10 years x 5 regions (130 MiB) but nothing visible at 10 x 50 (1.3 GiB), where
        # they read 20% faster on 2 cores (docs/results.md, "Data path at scale")
        threads = path.stat().st_size >= THREADED_READ_BYTES
        table = pa_csv.read_csv(
            path, read_options=pa_csv.ReadOptions(column_names=list(types), skip_rows=1, use_threads=threads),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            # text stays as written: pandas' missing tokens are applied below, and never to station names
            convert_options=pa_csv.ConvertOptions(column_types=types, null_values=missing, strings_can_be_null=False),
            memory_pool=pa.system_memory_pool())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not _numbers_read_as_pandas_would(table):
        return None
    batches = table.to_batches()
    del table                   # from here each block of rows lives only in ``batches``, until copied
    frame, matrix, matrix_columns = _frame_of(batches)
    for name, arrow_type in types.items():
        if arrow_type == pa.string() and str(name).strip() != group_col:
            frame[name] = frame[name].mask(frame[name].isin(missing))
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, matrix, [str(c).strip() for c in matrix_columns]


def hand_back_freed_memory() -> None:
    """Return freed memory to the OS: arrow's allocator keeps what pandas' text operations freed,
    and glibc keeps freed pages in the middle of its heap (malloc_trim; nothing where the C library
    is not glibc). Otherwise a table's columns freed while the model's array is built, or arrow's
    many small chunks freed while they are converted, would stay counted in the process's memory."""
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _frame_of(batches: list) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """A frame of the arrow record ``batches``, which it empties, and its float columns as one
    float32 array [rows, columns] in the model's row-major layout: a float32 column of the frame is
    a view of that array; a float64 one (a label, the rain) is kept whole beside its float32 copy
    there. Ints become int64 (float64 with gaps, as pandas reads them), text stays arrow text. Each
    block of rows is freed once copied, so the numbers are never held twice, and the frame keeps
    one block per column (pandas would copy same-typed columns into one)."""
    names, kinds = batches[0].schema.names, batches[0].schema.types
    n_rows = sum(batch.num_rows for batch in batches)
    floats = [name for name, kind in zip(names, kinds) if pa.types.is_floating(kind)]
    matrix = _mapped_empty((n_rows, len(floats)), np.float32)
    text = {name: [] for name, kind in zip(names, kinds) if pa.types.is_string(kind)}
    whole = {name: _mapped_empty(n_rows, _numpy_type(kind, batches, name)) for name, kind in zip(names, kinds)
             if name not in text and kind != pa.float32()}
    start = 0
    while batches:
        batch = batches.pop(0)
        stop = start + batch.num_rows
        for name, column in zip(names, batch.columns):
            if name in text:
                text[name].append(column)
                continue
            values = column.to_numpy(zero_copy_only=False)
            if name in floats:
                matrix[start:stop, floats.index(name)] = values
            if name in whole:
                whole[name][start:stop] = values
        start = stop
        del batch, column, values
        if len(batches) % 16 == 0:
            hand_back_freed_memory()        # the blocks copied so far
    converted = {}
    for name in names:
        if name in text:
            converted[name] = pa.chunked_array(text.pop(name), type=pa.string()).to_pandas()
        else:
            converted[name] = whole[name] if name in whole else matrix[:, floats.index(name)]
    return pd.DataFrame(converted, copy=False), matrix, floats


def _numpy_type(kind, batches: list, name: str) -> np.dtype:
    """The dtype pandas reads an arrow number column as: an int column with an empty cell is float64."""
    if pa.types.is_integer(kind) and any(batch.column(name).null_count for batch in batches):
        return np.dtype(np.float64)
    return np.dtype(kind.to_pandas_dtype())


def _mapped_empty(shape, dtype) -> np.ndarray:
    """An uninitialised array with a memory mapping of its own, which goes back to the OS the
    moment the array is freed, wherever the C heap stands (malloc may place an array of a column's
    size inside its heap, where freed memory stays counted in the process)."""
    dtype = np.dtype(dtype)
    n_values = int(np.prod(shape))
    buffer = mmap.mmap(-1, max(n_values * dtype.itemsize, 1))
    return np.frombuffer(buffer, dtype=dtype, count=n_values).reshape(shape)


def _read_exact(path: Path, na_tokens: list[str] | None, group_col: str | None) -> pd.DataFrame:
    """pandas' reader, the one that words every refusal; station names are read a second time,
    as plain text."""
    try:
        frame = pd.read_csv(path, low_memory=False, na_values=na_tokens or None)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file is empty; give a CSV with a header row and data rows")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0]
        raise UserError(f"{path}: cannot be read as CSV ({first}); give a comma-separated text file")
    header = list(frame.columns)
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1:
        only = frame.columns[0]
        hint = next((f" it looks separated by {name};" for sep, name in
                     ((";", "';'"), ("\t", "tabs"), ("|", "'|'"), (" ", "spaces")) if sep in str(only).strip()), "")
        raise UserError(f"{path}: reads as a single column ({only[:60]!r}), not a CSV table;{hint}"
                        " save it comma-separated with a header row")
    if frame.empty:
        raise UserError(f"{path}: has a header but no data rows")
    if group_col in frame.columns:
        written = header[list(frame.columns).index(group_col)]
        names = pd.read_csv(path, usecols=[written], dtype=str, keep_default_na=False)[written]
        frame[group_col] = names.to_numpy()
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
    if not pd.api.types.is_integer_dtype(raw):
        return False                    # checked first: a copy of every float column costs more than the rest
    values = raw.dropna()
    return (not values.empty
            and bool(values.between(10_000_101, 99_991_231).all())
            and bool(pd.to_datetime(values.astype("int64").astype(str), format="%Y%m%d", errors="coerce").notna().all()))


def _is_year(raw: pd.Series) -> bool:
    """Whole numbers that read as years (a yearly record's `Year` named with --date_col)."""
    if not pd.api.types.is_integer_dtype(raw):
        return False
    values = raw.dropna()
    return not values.empty and bool(values.between(1000, 2999).all())


def _attempt(text: pd.Series, **how) -> tuple[pd.Series, bool]:
    """Parse with one rule for the whole column (never cell by cell: that is how 03/12 and 12/03
    end up in one table). Returns (parsed, converted_to_utc)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # pandas' notes on the format it inferred
        try:
            return _to_datetime(text, **how), False
        except ValueError:       # several UTC offsets (local time across a daylight-saving change)
            return _to_datetime(text, utc=True, **how), True


def _to_datetime(text: pd.Series, **how) -> pd.Series:
    """pd.to_datetime(text, errors="coerce", **how), a block of rows at a time: pandas parses text
    through a Python string per row, which for a long column weighs more than the model's whole
    input array. The rule stays the column's: the format pandas infers from the column's first
    value is inferred once and given to every block (no format: each value read on its own, as
    pandas then does); blocks that disagree on time zone or resolution are parsed again whole, so
    that pandas decides (and raises for several offsets) exactly as before."""
    if len(text) <= DATE_BLOCK or first_non_null is None:
        return pd.to_datetime(text, errors="coerce", **how)
    block_how = dict(how)
    if "format" not in how:
        block_how["format"] = _inferred_format(text, how.get("dayfirst", False)) or "mixed"
    parts = [pd.to_datetime(text.iloc[start:start + DATE_BLOCK], errors="coerce", **block_how)
             for start in range(0, len(text), DATE_BLOCK)]
    if len({part.dtype for part in parts}) > 1:
        return pd.to_datetime(text, errors="coerce", **how)
    return pd.concat(parts)


def _inferred_format(text: pd.Series, dayfirst: bool) -> str | None:
    """The format pandas would infer for the whole column: from its first value that is not empty
    (pandas' own rule), looked for a block at a time."""
    for start in range(0, len(text), DATE_BLOCK):
        values = text.iloc[start:start + DATE_BLOCK].to_numpy(dtype=object)
        if first_non_null(values) != -1:
            return _guess_datetime_format_for_array(values, dayfirst=dayfirst)
    return None


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
    if _is_year(raw):
        return pd.to_datetime(raw.astype("Int64").astype(str), format="%Y", errors="coerce"), "years (YYYY)"
    if pd.api.types.is_numeric_dtype(raw):
        # pandas would read them as nanoseconds since 1970: every such "date" is wrong, so none is made
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]"), "numbers"
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
    sample = raw.dropna().head(200).astype(str).str.strip()
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


def _date_from_parts(frame: pd.DataFrame, reserved: set[str]) -> tuple[str, list[str]] | None:
    """A table with no date column but year, month and day (and hour) columns, as station exports
    and crop-model weather files often are: those columns' names, and the name of a new date column
    built from them. None unless every row makes a valid date (a table whose 'day' is something
    else stays undated)."""
    names = {str(c).strip().lower(): c for c in frame.columns if c not in reserved}
    parts = {part: next(names[s] for s in spellings if s in names)
             for part, spellings in DATE_PART_NAMES.items() if any(s in names for s in spellings)}
    if not {"year", "month", "day"} <= set(parts):
        return None
    values = {}
    for part, column in parts.items():
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.isna().any() or not (numbers == numbers.round()).all():
            return None
        values[part] = numbers.astype(np.int64)
    stamps = pd.to_datetime(pd.DataFrame(values), errors="coerce")
    if stamps.isna().any():
        return None
    name = next(n for n in ("date", "date_from_parts", "__date__") if n not in frame.columns)
    frame[name] = stamps
    return name, list(parts.values())


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
        ) if how != "numbers" else UserError(
            f"{path}: column '{col}' holds plain numbers (first: {raw.iloc[position]} on line "
            f"{_file_row(frame, position)}), not dates; write dates as YYYY-MM-DD [HH:MM], YYYYMMDD or years "
            "(YYYY), or name the right column with --date_col")
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
        if pd.api.types.is_float_dtype(raw):        # already numbers, nothing to check or convert
            if col != label_col:
                numeric.append(col)
            continue
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
    keys = [group_col, date_col]
    if not frame.duplicated(keys).any():
        return frame, 0, 0      # identical rows share group and time too: none here (and no whole-row hashing)
    exact = frame.duplicated()
    frame = frame[~exact]
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
    """Station names as written (read_csv keeps them as text, so that a station called NA (Namibia)
    or 1 is not turned into a missing value or 1.0), stripped. An empty cell is refused, never dropped."""
    names = frame[group_col].str.strip()
    empty = names == ""
    if empty.any():
        position = int(np.flatnonzero(empty.to_numpy())[0])
        raise UserError(f"{path}: line {_file_row(frame, position)}: the --group_col column '{group_col}' is empty "
                        f"({int(empty.sum())} such row(s)); fill in the station or remove those rows")
    return names


# ------------------------------------------------------------------------------------------ order
def _group_codes(frame: pd.DataFrame, group_col: str, order: dict[str, int]) -> np.ndarray:
    """Each row's group as its place in ``order`` (every group is in it)."""
    codes, names = pd.factorize(frame[group_col])
    return np.array([order[name] for name in names], dtype=np.int64)[codes]


def _one_row_per_step_in_order(frame: pd.DataFrame, group_col: str, date_col: str, order: dict[str, int]) -> bool:
    """Groups in ``order``, each strictly later row by row: no two rows share group and time (so
    none is a duplicate) and nothing needs sorting. Most files are so, and skip both."""
    next_group = np.diff(_group_codes(frame, group_col, order))
    later = np.diff(frame[date_col].to_numpy()) > np.timedelta64(0)
    return bool(np.all((next_group > 0) | ((next_group == 0) & later)))


def _sort_rows(frame: pd.DataFrame, group_col: str, date_col: str | None, order: dict[str, int]) -> pd.DataFrame:
    """Groups in ``order`` (their first appearance in the file), each in time order; equal keys keep
    their file order. A frame already in that order is returned without a copy."""
    codes = _group_codes(frame, group_col, order)
    next_group = np.diff(codes)
    if date_col is None:
        return frame if bool(np.all(next_group >= 0)) else frame.iloc[np.argsort(codes, kind="stable")]
    later = np.diff(frame[date_col].to_numpy()) >= np.timedelta64(0)
    if bool(np.all((next_group > 0) | ((next_group == 0) & later))):
        return frame
    return frame.assign(__order__=codes).sort_values(["__order__", date_col], kind="stable").drop(columns="__order__")


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
    # the label, the rain and a named date keep float64; the other numbers may be float32
    wide = tuple(name for name in (args.target, args.target_from, args.date_col) if name)
    frame, matrix, matrix_columns = _read(path, na_tokens, args.group_col or None, wide)
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
    roles = {c for c in (group_col, label_col, source_col) if c}
    date_col, date_how = _find_date_column(frame, args.date_col, path, roles | set(requested))
    if date_col is None:
        built = _date_from_parts(frame, roles)
        if built is not None:
            date_col, date_how = built[0], f"built from the columns {', '.join(map(str, built[1]))}"
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
        hand_back_freed_memory()        # so that parsing, which makes a Python string per row, starts low
        frame[date_col], date_format = _parse_dates(frame, date_col, path)
        hand_back_freed_memory()
        if not _one_row_per_step_in_order(frame, internal_group, date_col, order):
            frame, exact, merged = _resolve_duplicates(frame, path, date_col, internal_group, group_col,
                                                       args.duplicates, label_col)
            frame = _sort_rows(frame, internal_group, date_col, order)
        frame[OBSERVED] = True
        regular = time_grid.regularise(frame, date_col, internal_group, path,
                                       matrix if _views_of(frame, matrix, matrix_columns) else None, matrix_columns)
        frame, inserted, snapped, matrix = regular.frame, regular.inserted, regular.snapped, regular.matrix
        frame[OBSERVED] = frame[OBSERVED].eq(True)
        step = regular.grid.describe() if regular.grid else None
    else:
        frame = _sort_rows(frame, internal_group, None, order)
        frame[OBSERVED] = True
    frame = frame.reset_index(drop=True)

    reserved = {c for c in (date_col, group_col, internal_group, label_col) if c}
    if requested:
        features = [n for n in requested if n not in excluded]
    else:
        features = [c for c in numeric if c not in reserved and c not in excluded]
    if not features:
        raise UserError(f"{path}: no numeric feature columns left; check --features and --exclude")
    matrix = matrix if _views_of(frame, matrix, matrix_columns) else None
    hand_back_freed_memory()            # what reading, dating and ordering the rows left behind
    return Table(
        path=path, frame=frame, date_col=date_col, group_col=internal_group if group_col else None,
        label_col=label_col, source_col=source_col, features=features, features_chosen=bool(requested),
        skipped_non_numeric=skipped, excluded=excluded, rows_read=rows_read, rows_inserted=inserted, step=step,
        snapped=snapped, exact_duplicates=exact, conflicting_duplicates=merged, date_detected_from=date_how,
        date_format=date_format,
        label_mapping=mapping, replaced=replaced, matrix=matrix, matrix_columns=matrix_columns if matrix is not None else [],
    )


def _views_of(frame: pd.DataFrame, matrix: np.ndarray | None, names: list[str]) -> bool:
    """Whether the frame's float32 columns are still views of ``matrix`` (no row was dropped,
    moved or inserted since reading, each of which copies the columns), so that its float64
    columns' copies there are still row for row too."""
    if matrix is None:
        return False
    views = 0
    for k, name in enumerate(names):
        if name not in frame.columns or isinstance(frame[name], pd.DataFrame):
            return False
        values = frame[name].to_numpy()
        if values.dtype != np.float32:
            continue
        expected = matrix[:, k]
        if (values.__array_interface__["data"][0] != expected.__array_interface__["data"][0]
                or values.strides != expected.strides or len(values) != len(expected)):
            return False
        views += 1
    return views > 0


def group_column(table: Table) -> str:
    return table.group_col or "__group__"
