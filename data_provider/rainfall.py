"""``--data PeruRainfall``: any station/region weather CSV -> train/val/test windows + a data report.

Order of operations, each chosen so that no window sees anything from after its last step:
1. read; text cells become numbers (``--replace``, ``--na_values``) or are refused with their row;
   duplicate rows are resolved; every group goes on one regular time grid (missing steps = empty rows);
2. sentinels and +-inf become missing;
3. two cutoff times, shared by every group, split the timeline into train / val / test;
4. features missing in more than ``--max_missing_share`` of a group's train rows are dropped, as
   are columns constant on train; mean/std come from observed train values only;
5. missing inputs take the last observed value up to ``--max_gap`` steps back (never a later one);
   a feature whose remaining gaps alone would remove more than ``--max_window_loss`` of the train
   windows is then dropped;
6. labels come from observed values only: a label period with a missing step gives no label;
7. a window is kept when all its steps are present, its label is known and its label period ends
   inside its own split; every other window is counted under the rule that dropped it.

``prepare`` reads as that list, one step function each. Features are float32 from the start (the
model's precision; what the fast reader gives), held once, in the model's row-major layout, and
cleaned, filled and scaled in place a block of rows at a time; labels come from the rain or label
column in float64, so that no total flips at the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import mmap

import numpy as np
import pandas as pd
import torch

from data_provider import cleaning, labels as label_rules
from data_provider.calendar import calendar_features, infer_freq, is_calendar
from data_provider.derived_columns import derived_columns
from data_provider.csv_table import (OBSERVED, Table, group_column, hand_back_freed_memory, load_table,
                                     parse_na_values, parse_replacements, read_csv)
from data_provider.time_grid import DAY, described_step
from data_provider.timeline import (CAUSE_TEXT, CAUSES, Split, group_bounds, months_train_never_saw,
                                    positional_split, scan_windows, season_warning, tally, time_split)
from data_provider.base import LabelRule, PredictionReport, PreparedData, SplitSummary, TableReport
from data_provider.windows import SPLITS, WindowSet
from utils.errors import UserError


def parse_ratios(text: str) -> tuple[float, float, float]:
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--split {text!r}: give three numbers like 0.7,0.15,0.15")
    if len(ratios) != 3 or any(r <= 0 for r in ratios):
        raise UserError(f"--split {text!r}: give three positive fractions for train,val,test like 0.7,0.15,0.15")
    if abs(sum(ratios) - 1.0) > 1e-6:
        raise UserError(f"--split {text!r}: the fractions sum to {sum(ratios):g}, not 1; adjust them")
    return ratios  # type: ignore[return-value]


def _numeric_column(table: Table, name: str) -> np.ndarray:
    """A column the table reader already turned into numbers (or refused)."""
    return table.frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _class_labels(table: Table, n_classes_flag: int | None, sentinels: list[float]) -> tuple[np.ndarray, int]:
    values = cleaning.mark_missing(_numeric_column(table, table.label_col)[:, None], sentinels)[0][:, 0]
    known = values[~np.isnan(values)]
    if known.size and not np.all(known == np.round(known)):
        bad = known[known != np.round(known)][0]
        raise UserError(f"{table.path}: --target column '{table.label_col}' has non-integer value {bad:g}; "
                        "labels must be integer classes 0..n_classes-1 (use --target_from for a rain amount)")
    n_classes = n_classes_flag or (int(known.max()) + 1 if known.size else 0)
    outside = known[(known < 0) | (known >= n_classes)]
    if outside.size:
        raise UserError(f"{table.path}: --target column '{table.label_col}' has value {outside[0]:g} outside "
                        f"0..{n_classes - 1}; recode the labels or set --n_classes")
    return label_rules.column_labels(values), max(n_classes, 2)


def _format_date(value) -> str | None:
    return None if value is None or pd.isna(value) else str(pd.Timestamp(value))


def _per_group(rule, values: np.ndarray, starts: np.ndarray, stops: np.ndarray, *rule_args) -> np.ndarray:
    """A label rule applied to each group's whole series on its own (never across groups)."""
    out = np.full(len(values), label_rules.MISSING, dtype=np.int64)
    for a, b in zip(starts, stops):
        out[a:b] = rule(values[a:b], *rule_args)
    return out


def _blame(entry: dict, label_column: str | None, missing_share: dict[str, float], rows: int,
           seq_len: int, horizon: int) -> str:
    """Why a group's split has no window, naming the column responsible where there is one."""
    dropped = entry["dropped"]
    if rows == 0:
        return "it has no rows in that period"
    cause = max(dropped, key=dropped.get) if dropped else None
    if cause == "input_missing" and entry["dropped_by_column"]:
        column = next(iter(entry["dropped_by_column"]))
        return (f"column '{column}' has a missing step in its windows (missing in {missing_share[column]:.0%} of the "
                "group's rows there, after filling)")
    if cause == "label_missing" and label_column:
        return f"the label column '{label_column}' is missing where its labels fall"
    if cause in ("history", "label_past_split_end", "crosses_split"):
        return f"its {rows} row(s) there are fewer than one window needs (seq_len {seq_len} + horizon {horizon})"
    return CAUSE_TEXT.get(cause, "no window qualifies")


def _single_class_groups(train: WindowSet, group_ids: np.ndarray, groups: list[str],
                         label_column: str | None) -> list[str]:
    """A station whose every train window has one class often has a broken label column (a rain
    gauge that writes 0 for 'not recorded'): worth a look before trusting its scores."""
    ids = group_ids[train.ends]          # ends ascend, so each group's windows are contiguous
    starts, stops = group_bounds(ids)
    return [f"group {groups[ids[a]]}: every train window has class {train.labels[a]}; check its '{label_column}' values"
            for a, b in zip(starts, stops) if train.labels[a:b].min() == train.labels[a:b].max()]


@dataclass(frozen=True)
class _Rows:
    """Where each group's rows lie in the table, which is sorted by group, then time."""
    group_values: np.ndarray     # [rows] object: each row's group name (one shared str per group)
    starts: np.ndarray           # [groups] a group's first row
    stops: np.ndarray            # [groups] one past its last row
    groups: list[str]            # in table order
    group_ids: np.ndarray        # [rows] index into groups
    observed: np.ndarray         # [rows] bool: False on rows inserted for missing timestamps


def _row_layout(table: Table) -> _Rows:
    """The groups' row ranges. A row's group name is a reference to its group's one string, not a
    fixed-width copy of the longest name per row (4 bytes per character per row)."""
    codes, names = pd.factorize(table.frame[group_column(table)])
    group_values = np.asarray(names, dtype=object)[codes]
    starts, stops = group_bounds(codes)
    return _Rows(group_values=group_values, starts=starts, stops=stops,
                 groups=[str(group_values[a]) for a in starts],
                 group_ids=np.repeat(np.arange(len(starts)), stops - starts),
                 observed=table.frame[OBSERVED].to_numpy(dtype=bool))


def _check_length(table: Table, rows: _Rows, seq_len: int, horizon: int) -> None:
    """Checked first: with too few rows every later message (constant columns, empty splits)
    would name a symptom instead of the cause."""
    longest = int((rows.stops - rows.starts).max())
    if longest < seq_len + horizon:
        raise UserError(f"{table.path}: too few rows: {longest} (in its longest group), but one window needs "
                        f"seq_len {seq_len} + horizon {horizon} = {seq_len + horizon}; lower --seq_len or give more data")


def _split_rows(table: Table, rows: _Rows, ratios: tuple[float, float, float], split_flag: str,
                warnings: list[str]) -> Split:
    """One split for all groups: two cutoff times on the shared timeline, so that no group's test
    period overlaps another's training period; without dates, each group at its own row fractions."""
    if table.date_col:
        dates = table.frame[table.date_col].to_numpy()
        split = time_split(dates, rows.observed, ratios)
        if split is None:
            raise UserError(f"{table.path}: too few rows: {len(np.unique(dates))} distinct "
                            f"timestamp(s) cannot be split {split_flag} into train, val and test; give more data")
        return split
    split = positional_split(rows.starts, rows.stops, ratios)
    warnings.append("no date column: each group is split at its own row fractions (positional), so groups' "
                    "splits are not aligned in time; name the timestamp column with --date_col if there is one")
    return split


ROW_BLOCK_BYTES = 1 << 20       # elementwise passes go a block of whole rows at a time: contiguous, and small


def _row_blocks(values: np.ndarray):
    """(start, stop) of consecutive blocks of whole rows of ``values``, about a MiB each."""
    step = max(1, ROW_BLOCK_BYTES // max(1, values.shape[1] * values.itemsize))
    for start in range(0, len(values), step):
        yield start, min(len(values), start + step)


def _matrix_positions(table: Table, names: list[str]) -> list[int] | None:
    """Where ``names`` sit in the table's float32 array, when it holds each of them once and in
    order (as the file does); None otherwise."""
    if table.matrix is None or not set(names) <= set(table.matrix_columns):
        return None
    positions = [table.matrix_columns.index(name) for name in names]
    return positions if all(a < b for a, b in zip(positions, positions[1:])) else None


def _keep_columns(matrix: np.ndarray, positions: list[int]) -> np.ndarray:
    """``matrix[:, positions]`` (increasing) in the matrix's own memory, as its first
    rows x len(positions) values: block by block of rows, each block read before anything is
    written over it (row i moves to i * kept <= i * width), so no second array is ever made."""
    rows, width = matrix.shape
    kept = len(positions)
    if kept == width:
        return matrix
    if not matrix.flags.c_contiguous:
        return np.ascontiguousarray(matrix[:, positions])
    flat = matrix.reshape(-1)
    for start, stop in _row_blocks(matrix):
        part = matrix[start:stop, positions]            # a copy: read before the writes below
        flat[start * kept:stop * kept] = part.reshape(-1)
    return flat[:rows * kept].reshape(rows, kept)


def _feature_matrix(table: Table, names: list[str]) -> np.ndarray:
    """The candidate features [rows, len(names)] as float32, the model's precision, in the model's
    row-major layout: the table's own float array, squeezed to these columns in place, when it holds
    them all (the table gives it up); else a new array filled column by column, each table column
    dropped once copied. Either way the numbers are never held twice."""
    positions = _matrix_positions(table, names)
    if positions is not None:
        values, table.matrix = _keep_columns(table.matrix, positions), None
        return values
    values = np.empty((len(table.frame), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        values[:, j] = table.frame[name].to_numpy()
        if name not in (table.label_col, table.source_col, *names[j + 1:]):    # labels are read later
            table.drop_column(name)
    hand_back_freed_memory()
    return values


def _mark_missing(values: np.ndarray, sentinels: list[float]) -> dict[str, np.ndarray]:
    """Sentinels and +-inf become NaN, in place. Per column: how many of each, and how many values
    are then observed (not NaN)."""
    n = values.shape[1]
    counts = {"sentinels": np.zeros(n, np.int64), "infinities": np.zeros(n, np.int64), "observed": np.zeros(n, np.int64)}
    for start, stop in _row_blocks(values):
        values[start:stop], n_sentinels, n_infs = cleaning.mark_missing(values[start:stop], sentinels)
        counts["sentinels"] += n_sentinels
        counts["infinities"] += n_infs
        counts["observed"] += (~np.isnan(values[start:stop])).sum(axis=0)
    return counts


@dataclass
class _TrainStats:
    """Each column's observed values on the train split: how many, the first, whether all equal
    it, and their mean and std (float64, as np.mean and np.std)."""
    count: np.ndarray
    first: np.ndarray
    constant: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def _train_stats(values: np.ndarray, train_rows: np.ndarray) -> _TrainStats:
    """One pass over the train rows, a block at a time, in working arrays made once (blocks of
    changing size would leave the C heap full of holes). Sums are taken from an offset (the first
    observed value), so that the variance of a column far from 0 (pressure in hPa) loses nothing."""
    n = values.shape[1]
    count, total, squares = np.zeros(n, np.int64), np.zeros(n), np.zeros(n)
    first = np.full(n, np.nan, values.dtype)
    blocks = list(_row_blocks(values))
    longest = max((stop - start for start, stop in blocks), default=0)
    part_buffer, shifted_buffer = np.empty((longest, n), values.dtype), np.empty((longest, n))
    seen_buffer = np.empty((longest, n), dtype=bool)
    for start, stop in blocks:
        in_train = train_rows[start:stop]
        k = int(in_train.sum())
        if not k:
            continue
        part = np.compress(in_train, values[start:stop], axis=0, out=part_buffer[:k])
        seen = np.logical_not(np.isnan(part, out=seen_buffer[:k]), out=seen_buffer[:k])
        unset = np.isnan(first) & seen.any(axis=0)
        first[unset] = part[seen[:, unset].argmax(axis=0), np.flatnonzero(unset)]
        shifted = np.subtract(part, np.nan_to_num(first.astype(np.float64)), out=shifted_buffer[:k])
        np.copyto(shifted, 0.0, where=~seen)
        count += seen.sum(axis=0)
        total += shifted.sum(axis=0)
        squares += np.einsum("ij,ij->j", shifted, shifted)
    with np.errstate(invalid="ignore", divide="ignore"):       # a column with no train value is refused later
        offset = total / count
        std = np.sqrt(np.maximum(squares / count - offset * offset, 0.0))
    # every value equals the first exactly when no square of a difference from it is above 0
    return _TrainStats(count, first, squares == 0, first.astype(np.float64) + offset, std)


@dataclass
class _FeatureChoice:
    features: list[str]                       # kept, in table order
    keep: list[int]                           # their places among the candidates
    sparse: dict[str, dict[str, float]]       # dropped as too sparse: {column: {group: share}}
    constant: list[str]                       # dropped as constant on the train split
    derived: dict[str, str]                   # dropped as a row counter or a part of the date: {column: which}
    costly: dict[str, float] = field(default_factory=dict)   # dropped for the train windows they alone cost: {column: share}


def _sparse_columns(values: np.ndarray, train_rows: np.ndarray, rows: _Rows, names: list[str],
                    max_share: float) -> dict[str, dict[str, float]]:
    """cleaning.sparse_columns of the candidates, counted group by group (a group's rows are
    contiguous) and block by block, never as a rows x columns mask."""
    missing = np.zeros((len(rows.groups), len(names)), dtype=np.int64)
    train = np.zeros(len(rows.groups), dtype=np.int64)
    for g, (first, stop) in enumerate(zip(rows.starts, rows.stops)):
        for a, b in _row_blocks(values[first:stop]):
            in_train = train_rows[first + a:first + b]
            train[g] += int(in_train.sum())
            missing[g] += np.isnan(values[first + a:first + b][in_train]).sum(axis=0)
    order = sorted((g for g in range(len(rows.groups)) if train[g]), key=lambda g: rows.groups[g])
    return cleaning.too_sparse(missing[order], train[order], [rows.groups[g] for g in order], names, max_share)


def _choose_features(table: Table, values: np.ndarray, observed: np.ndarray, train: _TrainStats,
                     train_rows: np.ndarray, rows: _Rows, max_share: float, drop_derived: bool,
                     warnings: list[str]) -> _FeatureChoice:
    """Drops the candidates (``values``, one column per table.features) too sparse in some group's
    train rows or that only count the rows or repeat the date (unless --features named them), and
    those constant on the train split; refuses one that is entirely missing or has no train value."""
    names = table.features
    derived = {} if table.features_chosen or not drop_derived else derived_columns(
        values, names, rows.starts, rows.stops, train_rows,
        table.frame[table.date_col].to_numpy() if table.date_col else None)
    for name, what in derived.items():
        warnings.append(f"column '{name}' is {what}, not a measurement, and was dropped: as an input it tells "
                        f"the model where a window sits in time (--derived_columns keep, or naming it in "
                        f"--features, keeps it)")
    complete = bool(np.all(observed == len(values)))
    sparse = {} if table.features_chosen or (complete and max_share >= 0) else _sparse_columns(
        values, train_rows, rows, names, max_share)
    for name, shares in sparse.items():
        worst = max(shares, key=shares.get)
        warnings.append(f"column '{name}' is missing in {shares[worst]:.0%} of group {worst}'s train rows "
                        f"(over --max_missing_share {max_share:g}) and was dropped for all groups"
                        + (f" ({len(shares)} groups affected)" if len(shares) > 1 else ""))
    keep, constant = [], []
    for j, name in enumerate(names):
        if name in sparse or name in derived:
            continue
        if observed[j] == 0:
            raise UserError(f"{table.path}: feature column '{name}' is entirely missing; "
                            f"drop it with --exclude {name} or fix the file")
        if train.count[j] == 0:
            raise UserError(f"{table.path}: feature column '{name}' has no values in the train split; "
                            f"drop it with --exclude {name}")
        if train.constant[j]:
            constant.append(name)
            warnings.append(f"column '{name}' is constant ({train.first[j]:g}) on the train split and was dropped")
        else:
            keep.append(j)
    if not keep:
        why = "sparse (see --max_missing_share), a row counter or a part of the date, or constant on the train split"
        raise UserError(f"{table.path}: every feature column is {why}; nothing to learn from")
    return _FeatureChoice([names[j] for j in keep], keep, sparse, constant, derived)


@dataclass
class _Inputs:
    data: np.ndarray                  # [rows, features] float32: standardised, filled, 0 where still missing
    missing: np.ndarray               # [rows, features] bool: still missing after filling
    mean: np.ndarray                  # [features] float64, the scaling used
    std: np.ndarray
    missing_share: dict[str, float]   # share of rows missing before filling, per feature
    filled: np.ndarray                # [features] cells filled from an earlier step
    still_missing: np.ndarray         # [features] cells missing after filling


def _without_costly_columns(inputs: _Inputs, choice: _FeatureChoice, row_split: np.ndarray, rows: _Rows,
                            seq_len: int, max_share: float, warnings: list[str]) -> tuple[_Inputs, _FeatureChoice]:
    """Drops (for all groups) each column whose missing steps, after filling, alone remove more
    than ``max_share`` of the train windows (cleaning.costly_columns), judged on the train split's
    rows only; the inputs and the choice without them. Nothing to drop: both as they were."""
    if max_share >= 1:
        return inputs, choice
    in_train = np.flatnonzero(row_split == 0)
    ends = in_train[in_train - seq_len + 1 >= rows.starts[rows.group_ids[in_train]]]
    costly = cleaning.costly_columns(inputs.missing, ends, seq_len, max_share)
    if not costly:
        return inputs, choice
    for j, windows in costly:
        warnings.append(f"column '{choice.features[j]}' alone has a missing step in {windows:,} of the {len(ends):,} "
                        f"train windows ({windows / len(ends):.0%}, over --max_window_loss {max_share:g}) and was "
                        "dropped for all groups; --max_window_loss 1 keeps it (or list it in --features with the columns you want)")
    gone = {j for j, _ in costly}
    stay = [i for i in range(len(choice.features)) if i not in gone]
    names = [choice.features[i] for i in stay]
    inputs = _Inputs(np.ascontiguousarray(inputs.data[:, stay]), inputs.missing[:, stay], inputs.mean[stay],
                     inputs.std[stay], {name: inputs.missing_share[name] for name in names}, inputs.filled[stay],
                     inputs.still_missing[stay])
    choice = replace(choice, features=names, keep=[choice.keep[i] for i in stay],
                     costly={choice.features[j]: windows / len(ends) for j, windows in costly})
    return inputs, choice


def _scaled_inputs(values: np.ndarray, features: list[str], observed: np.ndarray, mean: np.ndarray,
                   std: np.ndarray, rows: _Rows, max_gap: int) -> _Inputs:
    """The array the windows index, made from ``values`` in place: filled forward up to ``max_gap``
    steps (never from a later step), standardised with ``mean`` and ``std`` (the train split's, or a
    trained run's), and 0 where still missing. ``observed``: each column's values before filling."""
    n_rows = len(values)
    fill = cleaning.column_filler(rows.starts, n_rows, max_gap)
    filled = np.array([fill(values[:, j]) if observed[j] < n_rows else 0 for j in range(len(features))], np.int64)
    missing = np.zeros(values.shape, dtype=bool)        # pages never written (nothing missing) cost nothing
    for start, stop in _row_blocks(values):
        block = values[start:stop]
        scaled = block.astype(np.float64)
        scaled -= mean
        scaled /= std
        gaps = np.isnan(block)
        if gaps.any():
            scaled[gaps] = 0.0
            missing[start:stop] = gaps
        block[...] = scaled
    hand_back_freed_memory()
    return _Inputs(values, missing, mean, std, dict(zip(features, (1 - observed / n_rows).tolist())), filled,
                   missing.sum(axis=0))


@dataclass
class _Labels:
    rows: np.ndarray                   # [rows] int64 label of the window ending on each row; -1 unknown
    n_classes: int
    persistence: np.ndarray | None     # [rows] the persistence baseline's label (rain labels only)
    values: np.ndarray | None          # [rows] float64 the column the labels come from, NaN where missing


def _row_labels(table: Table, unlabeled: bool, n_classes_flag: int | None, threshold: float, horizon: int,
                sentinels: list[float], rows: _Rows) -> _Labels:
    """Labels from observed values only, each group's whole series at once. A rain column is read
    in float64 (never through the float32 features), so that no total flips at the threshold."""
    if unlabeled:
        values = _rain(table, sentinels) if table.source_col else (
            _numeric_column(table, table.label_col) if table.label_col else None)
        return _Labels(np.zeros(len(table.frame), dtype=np.int64), 1, None, values)
    if table.label_col:
        row_labels, n_classes = _class_labels(table, n_classes_flag, sentinels)
        return _Labels(row_labels, n_classes, None, _numeric_column(table, table.label_col))
    if n_classes_flag not in (None, 2):
        raise UserError(f"--n_classes {n_classes_flag}: --target_from makes two classes (rain / no rain); drop the flag")
    source = _rain(table, sentinels)
    return _Labels(_per_group(label_rules.future_rain_labels, source, rows.starts, rows.stops, threshold, horizon),
                   2, _per_group(label_rules.persistence_labels, source, rows.starts, rows.stops, threshold, horizon),
                   source)


def _rain(table: Table, sentinels: list[float]) -> np.ndarray:
    """The --target_from column in float64, sentinels and +-inf as NaN."""
    return cleaning.mark_missing(_numeric_column(table, table.source_col), sentinels)[0]


def _note_empty_group_splits(table: Table, rows: _Rows, row_split: np.ndarray, by_group: dict, inputs: _Inputs,
                             features: list[str], label_column: str | None, seq_len: int, horizon: int,
                             warnings: list[str]) -> None:
    """Each group's split gets its date range; a group's split without a window gets a warning
    naming its cause (a column, the label, too few rows)."""
    cell = rows.group_ids * len(SPLITS) + row_split          # one (group, split) cell per row
    if table.date_col:
        stamps = pd.Series(table.frame[table.date_col].to_numpy()).groupby(cell).agg(["min", "max"])
    for g, group in enumerate(rows.groups):
        for s, name in enumerate(SPLITS):
            entry, key = by_group[group][name], g * len(SPLITS) + s
            if table.date_col and key in stamps.index:
                entry["date_range"] = [_format_date(stamps.at[key, "min"]), _format_date(stamps.at[key, "max"])]
            if entry["windows"] == 0:
                in_cell = cell == key
                local_share = {c: float(inputs.missing[in_cell, i].mean()) if in_cell.any() else 0.0
                               for i, c in enumerate(features)}
                reason = _blame(entry, label_column, local_share, entry["rows"], seq_len, horizon)
                warnings.append(f"group {group} has 0 {name} windows: {reason}")


def _blocking_columns(by_group: dict, groups: list[str], split: str) -> dict[str, int]:
    """{column: windows of this split it removes (a missing step)}, summed over groups, in the
    order the groups name them."""
    blocking: dict[str, int] = {}
    for g in groups:
        for column, n in by_group[g][split]["dropped_by_column"].items():
            blocking[column] = blocking.get(column, 0) + n
    return blocking


def _split_summary(windows: WindowSet, rows_in_split: int, n_classes: int, dropped: dict[str, int],
                   blocking: dict[str, int], end_range: list[str] | None,
                   persistence_fallback: int | None) -> SplitSummary:
    """A split's entry in the data report: rows, windows, why others were dropped, class balance."""
    counts = np.bincount(windows.labels, minlength=n_classes)
    return SplitSummary(
        rows=rows_in_split,
        windows=int(len(windows)),
        dropped={c: n for c, n in dropped.items() if n},
        input_missing_by_column=dict(sorted(blocking.items(), key=lambda kv: -kv[1])),
        class_counts={str(c): int(counts[c]) for c in range(n_classes)},
        class_shares={str(c): (float(counts[c] / counts.sum()) if counts.sum() else None) for c in range(n_classes)},
        window_end_range=end_range,
        persistence_fallback=persistence_fallback,
    )


def _warn_blocking(name: str, windows: int, dropped: dict[str, int], blocking: dict[str, int],
                   warnings: list[str]) -> None:
    """A column that removes over a quarter of a split's windows is named, with the way out."""
    candidates = windows + sum(dropped.values())
    for column, n in blocking.items():
        if candidates and n > 0.25 * candidates:
            warnings.append(f"column '{column}' has a missing step in {n} of the {candidates} {name} windows "
                            f"({n / candidates:.0%}) and removes them; --exclude {column} or a larger --max_gap "
                            "would keep them")


def _splits(table: Table, scan, row_split: np.ndarray, labels: _Labels, data: torch.Tensor, seq_len: int,
            by_group: dict, groups: list[str], warnings: list[str]) -> tuple[dict, dict, dict | None]:
    """The kept windows of each split, the split report, and the persistence baseline's label per
    window (the train split's majority class where the rule has no answer)."""
    kept = scan.kept
    kept_split = row_split[kept]
    splits, split_report, persistence = {}, {}, {}
    majority = None
    for s, name in enumerate(SPLITS):
        ends = kept[kept_split == s].astype(np.int64, copy=False)
        splits[name] = WindowSet(name, data, ends, labels.rows[ends], seq_len)
        dropped = {c: sum(by_group[g][name]["dropped"].get(c, 0) for g in groups) for c in CAUSES}
        blocking = _blocking_columns(by_group, groups, name)
        _warn_blocking(name, len(ends), dropped, blocking, warnings)
        end_range = None
        if table.date_col and len(ends):
            dates = table.frame[table.date_col]
            end_range = [_format_date(dates.iloc[ends.min()]), _format_date(dates.iloc[ends.max()])]
        fallback = None
        if labels.persistence is not None:
            if majority is None:  # the train split comes first: its majority class is the fallback
                majority = int(np.bincount(splits[name].labels, minlength=labels.n_classes).argmax())
            rule = labels.persistence[ends]
            undefined = rule < 0
            persistence[name] = np.where(undefined, majority, rule)
            fallback = int(undefined.sum())
        split_report[name] = _split_summary(splits[name], int((row_split == s).sum()), labels.n_classes, dropped,
                                            blocking, end_range, fallback)
    return splits, split_report, persistence if labels.persistence is not None else None


def _label_missing_share(labels: _Labels, row_split: np.ndarray) -> dict[str, float]:
    """Per split, the share of rows whose label column is missing (for the empty-split message)."""
    if labels.values is None:
        return {}
    return {name: float(np.isnan(labels.values[row_split == s]).mean()) if (row_split == s).any() else 0.0
            for s, name in enumerate(SPLITS)}


def _class_warnings(splits: dict, split_report: dict, rows: _Rows, label_column: str | None,
                    unlabeled: bool) -> list[str]:
    """Stations whose train windows all have one class, and classes under 2% of train windows."""
    warnings = []
    if not unlabeled and len(rows.groups) > 1:
        warnings += _single_class_groups(splits["train"], rows.group_ids, rows.groups, label_column)
    train_shares = split_report["train"].class_shares
    rare = [c for c, share in train_shares.items() if share is not None and share < 0.02 and not unlabeled]
    if rare:
        warnings.append(f"class(es) {', '.join(rare)} make up under 2% of train windows ({train_shares}); "
                        "check the label rule's threshold and units")
    return warnings


def _label_description(table: Table, args, unlabeled: bool, horizon: int) -> LabelRule:
    """The label rule as the data report states it."""
    if unlabeled:
        return LabelRule(mode="none", rule=f"unlabeled: each window spans seq_len {args.seq_len} + "
                                           f"output_token_len {args.output_token_len} steps")
    if table.source_col:
        return LabelRule(
            mode="threshold", column=table.source_col, threshold=args.rain_threshold, horizon=horizon,
            rule=f"label 1 when the total of '{table.source_col}' over the {horizon} step(s) after the window "
                 f"is > {args.rain_threshold:g} (in the units of '{table.source_col}'), else 0; only where every "
                 "one of those steps is observed",
        )
    return LabelRule(mode="column", column=table.label_col, horizon=horizon,
                     rule=f"label = '{table.label_col}' on the window's last row", mapping=table.label_mapping)


def _data_report(table: Table, args, rows: _Rows, label: LabelRule, n_classes: int, choice: _FeatureChoice,
                 marked: dict[str, np.ndarray], inputs: _Inputs, ratios, split: Split, split_report: dict,
                 by_group: dict, warnings: list[str], features: list[str],
                 calendar: dict | None, persistence_input: dict | None, unseen_months: dict) -> TableReport:
    """data_report.json: what was read, how it was cleaned, split and labelled, and why windows were
    dropped. ``features`` are the inputs in order, the calendar pairs (``calendar``) and the
    persistence input first: they are inputs too, at the identity scaling."""
    k = len(features) - len(choice.features)
    return TableReport(
        file=str(table.path),
        rows_read=table.rows_read,
        rows_inserted_for_missing_timestamps=table.rows_inserted,
        time_step=table.step,
        snapped_to_grid=table.snapped,
        duplicates={"exact_dropped": table.exact_duplicates, "conflicting_resolved": table.conflicting_duplicates,
                    "policy": args.duplicates},
        date_col=table.date_col,
        date_col_found_by=table.date_detected_from,
        date_format=table.date_format,
        group_col=table.group_col,
        groups=rows.groups,
        label=label,
        n_classes=n_classes,
        features=features,
        n_features=len(features),
        skipped_non_numeric=table.skipped_non_numeric,
        excluded=table.excluded,
        dropped_sparse=choice.sparse,
        dropped_constant=choice.constant,
        dropped_derived=choice.derived,
        dropped_costly=choice.costly,
        replaced=table.replaced,
        cleaning={
            name: {
                "sentinels_to_missing": int(marked["sentinels"][choice.keep[i]]),
                "inf_to_missing": int(marked["infinities"][choice.keep[i]]),
                "forward_filled": int(inputs.filled[i]),
                "still_missing": int(inputs.still_missing[i]),
            }
            for i, name in enumerate(choice.features)
        },
        na_values=args.na_values,
        max_gap=args.max_gap,
        max_missing_share=args.max_missing_share,
        max_window_loss=args.max_window_loss,
        split_ratios=list(ratios),
        split={"kind": "time" if table.date_col else "positional",
               "val_from": _format_date(split.val_from), "test_from": _format_date(split.test_from)},
        splits=split_report,
        by_group=by_group,
        scaling_from_train={"mean": {**dict.fromkeys(features[:k], 0.0), **dict(zip(choice.features, inputs.mean.tolist()))},
                            "std": {**dict.fromkeys(features[:k], 1.0), **dict(zip(choice.features, inputs.std.tolist()))}},
        calendar_features=calendar,
        persistence_input=persistence_input,
        months_unseen_in_train=unseen_months,
        warnings=warnings,
    )


def _page_releaser(array: np.ndarray):
    """For a C-contiguous array living at the start of an anonymous memory map (the table's float
    array, csv_table._mapped_empty): ``release(rows)`` hands the pages of its first ``rows`` rows back
    to the OS (their contents are gone). Anything else: a function that does nothing."""
    base = array
    while isinstance(getattr(base, "base", None), np.ndarray):
        base = base.base
    holder = getattr(base, "base", None)
    holder = holder.obj if isinstance(holder, memoryview) else holder
    if not isinstance(holder, mmap.mmap) or not array.flags.c_contiguous or not hasattr(holder, "madvise"):
        return lambda rows: None
    offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    row_bytes = array.strides[0]
    done = [offset - offset % mmap.PAGESIZE + (mmap.PAGESIZE if offset % mmap.PAGESIZE else 0)]

    def release(rows: int) -> None:
        end = offset + rows * row_bytes
        end -= end % mmap.PAGESIZE
        if end > done[0]:
            holder.madvise(mmap.MADV_DONTNEED, done[0], end - done[0])
            done[0] = end
    return release


def _calendar_columns(table: Table, rows: _Rows, embed: str, freq: str | None
                      ) -> tuple[list[str], np.ndarray | None, dict | None]:
    """--embed timeF: each row's own calendar sin/cos pairs (data_provider/calendar.py), their
    names, and the record for data_report.json. They are known for every row (an inserted empty
    row has its time too) and lie in [-1, 1], so they are never missing and need no scaling.
    Without a date column (or with --embed none): nothing."""
    if embed != "timeF" or not table.date_col:
        return [], None, None
    dates = table.frame[table.date_col].to_numpy()
    freq = freq or infer_freq(dates)
    names, values = calendar_features(dates, freq, rows.starts, rows.stops)
    return names, values, {"freq": freq, "columns": names,
                           "from": "each row's own timestamp (sin/cos of its hour of day and day of year)"}


def _persistence_wanted(table: Table, features: list[str], threshold: float | None, wanted: str) -> tuple[bool, str]:
    """--persistence_input auto|on|off for this table -> whether to add it, and why (one line).
    auto: on for a grid of a day or longer, off on sub-daily grids (chosen on validation:
    docs/results.md; it helped on all four daily tables and hurt on two of three hourly ones)."""
    if not table.source_col or threshold is None:
        return False, "no --target_from rain column"
    if table.source_col not in features:
        return False, f"'{table.source_col}' is not an input"
    if wanted != "auto":
        return wanted == "on", f"--persistence_input {wanted}"
    step = described_step(table.step)
    daily = table.step is not None and (step is None or step >= DAY)   # step None on a grid: calendar periods
    return daily, ("--persistence_input auto: on for grids of a day or longer" if daily else
                   f"--persistence_input auto: off on a grid of {table.step or 'rows'}, where it did not pay on validation")


def _persistence_column(table: Table, features: list[str], rows: _Rows, sentinels: list[float], threshold: float | None,
                        horizon: int, wanted: str) -> tuple[list[str], np.ndarray | None, dict | None]:
    """--persistence_input: the label's rule applied on every row to the ``horizon`` rows ending
    there (labels.observed_events: 1 where the event already happened, the persistence forecast),
    on the rain column as observed (not forward-filled: a filled rain amount would count the same
    rain twice); its name, values [rows, 1] and the record for data_report.json (also when it is
    not added: why not). Only where the rain column (--target_from) is itself an input: its gaps
    then decide which windows are complete, and a user who left it out of --features meant the
    model not to read it. A 0/1 variable, never missing, not scaled."""
    add, why = _persistence_wanted(table, features, threshold, wanted)
    if not add:
        return [], None, ({"column": None, "why": why} if table.source_col else None)
    name = f"{label_rules.PERSISTENCE_PREFIX}{table.source_col}"
    if name in features:
        raise UserError(f"{table.path}: column '{name}' is the name of the persistence input this run adds; "
                        "rename that column, or add --persistence_input off")
    source = _rain(table, sentinels)
    steps = max(horizon, 1)
    values = np.zeros((len(source), 1), dtype=np.float32)
    for a, b in zip(rows.starts, rows.stops):
        values[a:b, 0] = label_rules.observed_events(source[a:b], threshold, steps)
    return [name], values, {
        "column": name, "why": why, "from": table.source_col, "threshold": threshold, "horizon": steps,
        "rule": f"1 where the total of '{table.source_col}' over the {steps} step(s) ending at that step is > "
                f"{threshold:g} (observed steps only; a missing step counts as no rain), else 0: the persistence forecast "
                "as an input"}


def _with_front_columns(inputs: _Inputs, features: list[str], names: list[str],
                        parts: list[np.ndarray | None]) -> tuple[np.ndarray, list[str]]:
    """The array the windows index: the known columns (``parts``: calendar pairs, the persistence
    input; never missing, so the missing-value bookkeeping stays the file's own) in front of the
    file's features, and all their names in that order. ``inputs.data`` becomes a view of the new
    array, so the old one can be freed. Nothing to add: the file's array."""
    parts = [part for part in parts if part is not None]
    if not parts:
        return inputs.data, features
    k = len(names)
    data = np.empty((len(inputs.data), k + inputs.data.shape[1]), dtype=np.float32)
    release = _page_releaser(inputs.data)
    for start, stop in _row_blocks(inputs.data):   # block by block: a page of the new array is touched
        column = 0                                  # only once the old rows it replaces can be released
        for part in parts:
            data[start:stop, column:column + part.shape[1]] = part[start:stop]
            column += part.shape[1]
        data[start:stop, k:] = inputs.data[start:stop]
        release(stop)   # the old array's rows already copied go back to the OS: never both arrays whole
    inputs.data = data[:, k:]
    return data, names + features


def prepare(args) -> PreparedData:
    """Windows for classification, or (``--task_name pretrain``) unlabeled windows whose span is
    ``seq_len + output_token_len``: the input plus the points the last token must forecast."""
    unlabeled = args.task_name == "pretrain"
    table = load_table(args)
    ratios = parse_ratios(args.split)
    sentinels, _ = parse_na_values(args.na_values)
    seq_len, horizon = (args.seq_len + args.output_token_len, 0) if unlabeled else (args.seq_len, args.horizon)
    rows = _row_layout(table)
    _check_length(table, rows, seq_len, horizon)
    warnings: list[str] = []

    # --- one split for all groups, then the features: cleaned, chosen and scaled on train only
    split = _split_rows(table, rows, ratios, args.split, warnings)
    train_rows = (split.row_split == 0) & rows.observed
    candidates = _feature_matrix(table, table.features)
    marked = _mark_missing(candidates, sentinels)
    train = _train_stats(candidates, train_rows)
    choice = _choose_features(table, candidates, marked["observed"], train, train_rows, rows,
                              args.max_missing_share, args.derived_columns == "drop", warnings)
    keep = choice.keep
    inputs = _scaled_inputs(_keep_columns(candidates, keep), choice.features, marked["observed"][keep],
                            train.mean[keep], train.std[keep], rows, args.max_gap)
    if not table.features_chosen:
        inputs, choice = _without_costly_columns(inputs, choice, split.row_split, rows, seq_len,
                                                 args.max_window_loss, warnings)
    del candidates                  # the scaled features live on in inputs.data (or the calendar array below)
    calendar_names, calendar_values, calendar = _calendar_columns(table, rows, args.embed, args.freq)
    event_names, event_values, persistence_input = _persistence_column(
        table, choice.features, rows, sentinels, args.rain_threshold, args.horizon, args.persistence_input)
    data, features = _with_front_columns(inputs, choice.features, calendar_names + event_names,
                                         [calendar_values, event_values])
    labels = _row_labels(table, unlabeled, args.n_classes, args.rain_threshold, horizon, sentinels, rows)

    # --- which windows are kept, and why each other one is not
    scan = scan_windows(inputs.missing, labels.rows, split.row_split, rows.starts, rows.stops, seq_len, horizon,
                        same_split_inputs=unlabeled)
    hand_back_freed_memory()        # the row-long temporaries of labelling and scanning, before the splits' arrays
    by_group = tally(scan, rows.group_ids, split.row_split, choice.features, rows.groups)
    label_column = table.label_col or table.source_col
    _note_empty_group_splits(table, rows, split.row_split, by_group, inputs, choice.features, label_column,
                             seq_len, horizon, warnings)
    splits, split_report, persistence = _splits(table, scan, split.row_split, labels, torch.from_numpy(data),
                                                seq_len, by_group, rows.groups, warnings)
    _check_windows(table, splits, split_report, inputs.missing_share, _label_missing_share(labels, split.row_split),
                   check_classes=not unlabeled)
    warnings += _class_warnings(splits, split_report, rows, label_column, unlabeled)
    if table.source_col and not unlabeled and labels.values is not None:
        trace = label_rules.trace_code(labels.values[split.row_split == 0], args.rain_threshold, args.horizon,
                                       known=parse_replacements(args.replace).values())
        warnings += [f"column '{table.source_col}': {trace}"] if trace else []
    unseen_months = {}
    if table.date_col and not unlabeled:    # the classifier's run says it; its pretraining shares the split
        dates = table.frame[table.date_col].to_numpy()
        unseen_months = months_train_never_saw({name: dates[windows.ends] for name, windows in splits.items()})
        warnings += [season_warning(name, unseen) for name, unseen in unseen_months.items()]

    # --- what was done, for data_report.json
    report = _data_report(table, args, rows, _label_description(table, args, unlabeled, horizon), labels.n_classes,
                          choice, marked, inputs, ratios, split, split_report, by_group, warnings, features, calendar,
                          persistence_input, unseen_months)
    return PreparedData(
        splits=splits,
        n_classes=labels.n_classes,
        features=features,
        persistence=persistence,
        row_dates=table.frame[table.date_col].to_numpy() if table.date_col else None,
        row_groups=rows.group_values,
        report=report,
    )


def _check_windows(table: Table, splits: dict, split_report: dict, missing_share: dict,
                   label_missing_share: dict[str, float], check_classes: bool = True) -> None:
    for split in SPLITS:
        if len(splits[split]):
            continue
        info = split_report[split]
        columns = info.input_missing_by_column      # most windows blocked first
        worst = list(columns)[:3]
        blame = "; ".join(f"'{c}' (missing in {missing_share[c]:.0%} of rows) blocks {columns[c]} window(s)"
                          for c in worst)
        dropped = ", ".join(f"{n} {cause}" for cause, n in info.dropped.items())
        main_cause = max(info.dropped, key=info.dropped.get) if info.dropped else None
        if main_cause == "label_missing":
            label = table.label_col or table.source_col
            share = label_missing_share.get(split, 0.0)
            blame = f"the label column '{label}' is missing in {share:.0%} of this split's rows"
            advice = ("every label needs each step of its period observed: lower --horizon, or fill the "
                      "label column where it is known")
        else:
            advice = (f"leave those columns out with --exclude {','.join(worst)}, or raise --max_gap" if worst else
                      "lower --seq_len or --horizon, or give more data")
        raise UserError(
            f"{table.path}: the {split} split has no complete window ({info.rows} row(s); dropped: "
            f"{dropped or 'none'}){': ' + blame if blame else ''}; {advice}")
    counts = split_report["train"].class_counts
    if check_classes and sum(1 for c in counts.values() if c > 0) < 2:
        raise UserError(
            f"{table.path}: the train split has only one class (window counts {counts}); "
            "change --rain_threshold / --horizon or the split so both classes occur"
        )


@dataclass
class PredictionWindows:
    """Every window of a new file whose inputs are complete, the last step's included (tomorrow's
    forecast); ``windows.labels`` is -1 where the label is not known (yet)."""
    windows: WindowSet
    row_dates: np.ndarray | None
    row_groups: np.ndarray
    report: PredictionReport


def prepare_prediction(args, features: list[str], mean: dict[str, float], std: dict[str, float],
                       label_mapping: dict[str, int] | None = None, calendar: dict | None = None,
                       persistence_input: dict | None = None) -> PredictionWindows:
    """A trained run's data rules applied to another file: the same reading, duplicate and grid
    rules and causal filling, but the run's own feature list and train-split scaling (and its
    calendar covariates and persistence input, ``calendar`` and ``persistence_input``: data_report.json's
    records); no split, and no label needed (a label column the file lacks just leaves every label
    unknown)."""
    path = Path(args.root_path) / args.data_path
    header = read_csv(path).columns if path.is_file() else []
    calendar_names = [name for name in features if is_calendar(name)]
    event_name = (persistence_input or {}).get("column")
    features = [name for name in features if not is_calendar(name) and name != event_name]
    absent = [name for name in features if name not in header]
    if path.is_file() and absent:
        raise UserError(f"{path}: column '{absent[0]}' that the run was trained on is missing"
                        + (f" (and {len(absent) - 1} more)" if len(absent) > 1 else "")
                        + "; give a file with the run's feature columns")
    label_from = args.target or args.target_from
    unlabeled = bool(label_from) and label_from not in header
    # the run's text-label mapping, not one worked out again from this file's values
    args = args.derive(features=",".join(features), exclude=None,
                       **({"target": None, "target_from": None} if unlabeled else {}))
    table = load_table(args, label_mapping, unlabeled=unlabeled)
    sentinels, _ = parse_na_values(args.na_values)
    rows = _row_layout(table)
    values = _feature_matrix(table, features)
    observed = _mark_missing(values, sentinels)["observed"]
    run_mean, run_std = (np.array([stats[name] for name in features], dtype=np.float64) for stats in (mean, std))
    inputs = _scaled_inputs(values, features, observed, run_mean, run_std, rows, args.max_gap)
    calendar_values = None
    if calendar_names:
        if not table.date_col:
            raise UserError(f"{path}: the run was trained with calendar covariates ({', '.join(calendar_names)}), "
                            "which need a date column; give a file with one, or name it with --date_col")
        calendar_names, calendar_values, _ = _calendar_columns(table, rows, "timeF", calendar["freq"])
    event_names, event_values = [], None
    if event_name:   # its rain column is one of the run's features, so the file holds it
        event_names, event_values, _ = _persistence_column(
            table, features, rows, sentinels, persistence_input["threshold"], persistence_input["horizon"], "on")
    data, _ = _with_front_columns(inputs, features, calendar_names + event_names, [calendar_values, event_values])
    row_labels = _prediction_labels(table, sentinels, rows, args.rain_threshold, args.horizon)
    # every row may end a window: the label may be unknown, the split does not exist here
    n_rows = len(table.frame)
    scan = scan_windows(inputs.missing, np.zeros(n_rows, dtype=np.int64), np.zeros(n_rows, dtype=np.int8),
                        rows.starts, rows.stops, args.seq_len, 0, same_split_inputs=False)
    ends = scan.kept.astype(np.int64)
    codes = np.bincount(scan.cause, minlength=1 + len(CAUSES))
    report = PredictionReport(file=str(path), rows=n_rows, windows=int(len(ends)),
                              labels_known=int((row_labels[ends] >= 0).sum()),
                              dropped={c: int(codes[1 + i]) for i, c in enumerate(CAUSES) if codes[1 + i]},
                              label_column_in_file=not unlabeled)
    return PredictionWindows(
        windows=WindowSet("predict", torch.from_numpy(data), ends, row_labels[ends], args.seq_len),
        row_dates=table.frame[table.date_col].to_numpy() if table.date_col else None,
        row_groups=rows.group_values, report=report)


def _prediction_labels(table: Table, sentinels: list[float], rows: _Rows, threshold: float,
                       horizon: int) -> np.ndarray:
    """Each row's label where the file gives one (-1 elsewhere): a prediction needs none, and
    scores the windows that have one."""
    if table.source_col:
        return _per_group(label_rules.future_rain_labels, _rain(table, sentinels), rows.starts, rows.stops,
                          threshold, horizon)
    if table.label_col:
        return label_rules.column_labels(_numeric_column(table, table.label_col))
    return np.full(len(table.frame), label_rules.MISSING, dtype=np.int64)
