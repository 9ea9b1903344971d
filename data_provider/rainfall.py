"""``--data PeruRainfall``: any station/region weather CSV -> train/val/test windows + a data report.

Order of operations, each chosen so that no window sees anything from after its last step:
1. read; text cells become numbers (``--replace``, ``--na_values``) or are refused with their row;
   duplicate rows are resolved; every group goes on one regular time grid (missing steps = empty rows);
2. sentinels and +-inf become missing;
3. two cutoff times, shared by every group, split the timeline into train / val / test;
4. features missing in more than ``--max_missing_share`` of a group's train rows are dropped, as
   are columns constant on train; mean/std come from observed train values only;
5. missing inputs take the last observed value up to ``--max_gap`` steps back (never a later one);
6. labels come from observed values only: a label period with a missing step gives no label;
7. a window is kept when all its steps are present, its label is known and its label period ends
   inside its own split; every other window is counted under the rule that dropped it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from data_provider import cleaning, labels as label_rules
from data_provider.csv_table import OBSERVED, Table, group_column, load_table, parse_na_values, read_csv
from data_provider.timeline import (CAUSE_TEXT, CAUSES, group_bounds, positional_split, scan_windows, tally,
                                    time_split)
from data_provider.base import PreparedData
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


def _check_length(table: Table, seq_len: int, horizon: int) -> None:
    """Checked first: with too few rows every later message (constant columns, empty splits)
    would name a symptom instead of the cause."""
    longest = int(table.frame.groupby(group_column(table), sort=False).size().max())
    if longest < seq_len + horizon:
        raise UserError(f"{table.path}: too few rows: {longest} (in its longest group), but one window needs "
                        f"seq_len {seq_len} + horizon {horizon} = {seq_len + horizon}; lower --seq_len or give more data")


def _choose_features(table: Table, raw: np.ndarray, train_rows: np.ndarray, group_values: np.ndarray,
                     max_share: float, warnings: list[str]) -> tuple[list[int], dict, list[str]]:
    """Indices of the features kept; sparse columns {name: {group: share}}; constant columns."""
    names = table.features
    sparse = {} if table.features_chosen else cleaning.sparse_columns(
        np.isnan(raw), train_rows, group_values, names, max_share)
    for name, shares in sparse.items():
        worst = max(shares, key=shares.get)
        warnings.append(f"column '{name}' is missing in {shares[worst]:.0%} of group {worst}'s train rows "
                        f"(over --max_missing_share {max_share:g}) and was dropped for all groups"
                        + (f" ({len(shares)} groups affected)" if len(shares) > 1 else ""))
    keep, constant = [], []
    for j, name in enumerate(names):
        if name in sparse:
            continue
        if np.isnan(raw[:, j]).all():
            raise UserError(f"{table.path}: feature column '{name}' is entirely missing; "
                            f"drop it with --exclude {name} or fix the file")
        train_values = raw[train_rows, j]
        train_values = train_values[~np.isnan(train_values)]
        if train_values.size == 0:
            raise UserError(f"{table.path}: feature column '{name}' has no values in the train split; "
                            f"drop it with --exclude {name}")
        if np.ptp(train_values) == 0:
            constant.append(name)
            warnings.append(f"column '{name}' is constant ({train_values[0]:g}) on the train split and was dropped")
        else:
            keep.append(j)
    if not keep:
        why = "sparse (see --max_missing_share) or constant on the train split"
        raise UserError(f"{table.path}: every feature column is {why}; nothing to learn from")
    return keep, sparse, constant


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


def _single_class_groups(train: WindowSet, group_values: np.ndarray, label_column: str | None) -> list[str]:
    """A station whose every train window has one class often has a broken label column (a rain
    gauge that writes 0 for 'not recorded'): worth a look before trusting its scores."""
    labels = pd.Series(train.labels).groupby(group_values[train.ends], sort=False)
    single = labels.nunique() == 1
    first = labels.first()
    return [f"group {group}: every train window has class {first[group]}; check its '{label_column}' values"
            for group in single.index[single.to_numpy()]]


def prepare(args) -> PreparedData:
    """Windows for classification, or (``--task_name pretrain``) unlabeled windows whose span is
    ``seq_len + output_token_len``: the input plus the points the last token must forecast."""
    unlabeled = args.task_name == "pretrain"
    table = load_table(args)
    ratios = parse_ratios(args.split)
    sentinels, _ = parse_na_values(args.na_values)
    frame = table.frame
    seq_len, horizon = (args.seq_len + args.output_token_len, 0) if unlabeled else (args.seq_len, args.horizon)
    _check_length(table, seq_len, horizon)
    warnings: list[str] = []

    group_values = frame[group_column(table)].to_numpy().astype(str)
    group_starts, group_stops = group_bounds(group_values)
    groups = [str(group_values[a]) for a in group_starts]
    group_ids = np.repeat(np.arange(len(groups)), group_stops - group_starts)
    observed = frame[OBSERVED].to_numpy(dtype=bool)

    # --- one split for all groups: cutoff times on the shared timeline (positional without dates)
    if table.date_col:
        split = time_split(frame[table.date_col].to_numpy(), observed, ratios)
        if split is None:
            raise UserError(f"{table.path}: too few rows: {len(np.unique(frame[table.date_col]))} distinct "
                            f"timestamp(s) cannot be split {args.split} into train, val and test; give more data")
    else:
        split = positional_split(group_starts, group_stops, ratios)
        warnings.append("no date column: each group is split at its own row fractions (positional), so groups' "
                        "splits are not aligned in time; name the timestamp column with --date_col if there is one")
    row_split = split.row_split
    train_rows = (row_split == 0) & observed

    # --- missing values: sentinels, then columns too sparse or constant to use
    raw, sentinel_counts, inf_counts = cleaning.mark_missing(
        np.column_stack([_numeric_column(table, c) for c in table.features]), sentinels)
    keep, sparse, dropped_constant = _choose_features(table, raw, train_rows, group_values,
                                                      args.max_missing_share, warnings)
    features = [table.features[j] for j in keep]
    values = raw[:, keep]
    missing_share = {name: float(np.isnan(values[:, i]).mean()) for i, name in enumerate(features)}

    # --- scaling statistics from observed train values, then causal filling
    mean = np.nanmean(values[train_rows], axis=0)
    std = np.nanstd(values[train_rows], axis=0)
    filled = cleaning.forward_fill(values, group_starts, args.max_gap)
    scaled = (values - mean) / std

    # --- labels from observed values only, each group's whole series at once
    source = None
    if table.source_col:
        source, _, _ = cleaning.mark_missing(_numeric_column(table, table.source_col)[:, None], sentinels)
        source = source[:, 0]
    persistence_rows = None
    if unlabeled:
        row_labels, n_classes = np.zeros(len(frame), dtype=np.int64), 1
    elif table.label_col:
        row_labels, n_classes = _class_labels(table, args.n_classes, sentinels)
    else:
        if args.n_classes not in (None, 2):
            raise UserError(f"--n_classes {args.n_classes}: --target_from makes two classes (rain / no rain); drop the flag")
        n_classes = 2
        row_labels = _per_group(label_rules.future_rain_labels, source, group_starts, group_stops,
                                args.rain_threshold, horizon)
        persistence_rows = _per_group(label_rules.persistence_labels, source, group_starts, group_stops,
                                      args.rain_threshold, horizon)

    # --- which windows are kept, and why each other one is not
    scan = scan_windows(np.isnan(scaled), row_labels, row_split, group_starts, group_stops, seq_len, horizon,
                        same_split_inputs=unlabeled)
    by_group = tally(scan, group_ids, row_split, features, groups)
    kept = scan.kept
    kept_split = row_split[kept]
    label_column = table.label_col or table.source_col
    cell = group_ids * len(SPLITS) + row_split          # one (group, split) cell per row
    if table.date_col:
        stamps = pd.Series(frame[table.date_col].to_numpy()).groupby(cell).agg(["min", "max"])
    for g, group in enumerate(groups):
        for s, name in enumerate(SPLITS):
            entry, key = by_group[group][name], g * len(SPLITS) + s
            if table.date_col and key in stamps.index:
                entry["date_range"] = [_format_date(stamps.at[key, "min"]), _format_date(stamps.at[key, "max"])]
            if entry["windows"] == 0:
                rows = cell == key
                local_share = {c: float(np.isnan(values[rows, i]).mean()) if rows.any() else 0.0
                               for i, c in enumerate(features)}
                reason = _blame(entry, label_column, local_share, entry["rows"], seq_len, horizon)
                warnings.append(f"group {group} has 0 {name} windows: {reason}")

    data = torch.from_numpy(np.nan_to_num(scaled, nan=0.0).astype(np.float32))
    majority = None
    splits, split_report, persistence, fallbacks = {}, {}, {}, {}
    for s, name in enumerate(SPLITS):
        ends = kept[kept_split == s].astype(np.int64)
        split_labels = row_labels[ends]
        splits[name] = WindowSet(name, data, ends, split_labels, seq_len)
        counts = np.bincount(split_labels, minlength=n_classes)
        dropped = {c: sum(by_group[g][name]["dropped"].get(c, 0) for g in groups) for c in CAUSES}
        blocking: dict[str, int] = {}
        for g in groups:
            for column, n in by_group[g][name]["dropped_by_column"].items():
                blocking[column] = blocking.get(column, 0) + n
        split_report[name] = {
            "rows": int((row_split == s).sum()),
            "windows": int(len(ends)),
            "dropped": {c: n for c, n in dropped.items() if n},
            "input_missing_by_column": dict(sorted(blocking.items(), key=lambda kv: -kv[1])),
            "class_counts": {str(c): int(counts[c]) for c in range(n_classes)},
            "class_shares": {str(c): (float(counts[c] / counts.sum()) if counts.sum() else None) for c in range(n_classes)},
        }
        candidates = len(ends) + sum(dropped.values())
        for column, n in blocking.items():
            if candidates and n > 0.25 * candidates:
                warnings.append(f"column '{column}' has a missing step in {n} of the {candidates} {name} windows "
                                f"({n / candidates:.0%}) and removes them; --exclude {column} or a larger --max_gap "
                                "would keep them")
        if table.date_col and len(ends):
            split_report[name]["window_end_range"] = [_format_date(frame[table.date_col].iloc[ends.min()]),
                                                      _format_date(frame[table.date_col].iloc[ends.max()])]
        if persistence_rows is not None:
            if majority is None:  # the train split comes first: its majority class is the fallback
                majority = int(np.bincount(split_labels, minlength=n_classes).argmax())
            rule = persistence_rows[ends]
            undefined = rule < 0
            persistence[name] = np.where(undefined, majority, rule)
            fallbacks[name] = int(undefined.sum())
            split_report[name]["persistence_fallback"] = fallbacks[name]
    label_values = source if source is not None else (
        _numeric_column(table, table.label_col) if table.label_col else None)
    label_missing_share = {} if label_values is None else {
        name: float(np.isnan(label_values[row_split == s]).mean()) if (row_split == s).any() else 0.0
        for s, name in enumerate(SPLITS)}
    _check_windows(table, splits, split_report, missing_share, label_missing_share,
                   check_classes=not unlabeled)
    if not unlabeled and len(groups) > 1:
        warnings += _single_class_groups(splits["train"], group_values, label_column)
    train_shares = split_report["train"]["class_shares"]
    rare = [c for c, share in train_shares.items() if share is not None and share < 0.02 and not unlabeled]
    if rare:
        warnings.append(f"class(es) {', '.join(rare)} make up under 2% of train windows ({train_shares}); "
                        "check the label rule's threshold and units")

    if unlabeled:
        label_desc = {"mode": "none", "rule": f"unlabeled: each window spans seq_len {args.seq_len} + "
                                               f"output_token_len {args.output_token_len} steps"}
    elif table.source_col:
        label_desc = {
            "mode": "threshold", "column": table.source_col, "threshold": args.rain_threshold, "horizon": horizon,
            "rule": f"label 1 when the total of '{table.source_col}' over the {horizon} step(s) after the window "
                    f"is > {args.rain_threshold:g} (in the units of '{table.source_col}'), else 0; only where every "
                    "one of those steps is observed",
        }
    else:
        label_desc = {"mode": "column", "column": table.label_col, "horizon": horizon,
                      "rule": f"label = '{table.label_col}' on the window's last row",
                      "mapping": table.label_mapping}
    report = {
        "file": str(table.path),
        "rows_read": table.rows_read,
        "rows_inserted_for_missing_timestamps": table.rows_inserted,
        "time_step": table.step,
        "snapped_to_grid": table.snapped,
        "duplicates": {"exact_dropped": table.exact_duplicates, "conflicting_resolved": table.conflicting_duplicates,
                       "policy": args.duplicates},
        "date_col": table.date_col,
        "date_col_found_by": table.date_detected_from,
        "date_format": table.date_format,
        "group_col": table.group_col,
        "groups": groups,
        "label": label_desc,
        "n_classes": n_classes,
        "features": features,
        "n_features": len(features),
        "skipped_non_numeric": table.skipped_non_numeric,
        "excluded": table.excluded,
        "dropped_sparse": sparse,
        "dropped_constant": dropped_constant,
        "replaced": table.replaced,
        "cleaning": {
            name: {
                "sentinels_to_missing": int(sentinel_counts[table.features.index(name)]),
                "inf_to_missing": int(inf_counts[table.features.index(name)]),
                "forward_filled": int(filled[i]),
                "still_missing": int(np.isnan(values[:, i]).sum()),
            }
            for i, name in enumerate(features)
        },
        "na_values": args.na_values,
        "max_gap": args.max_gap,
        "max_missing_share": args.max_missing_share,
        "split_ratios": list(ratios),
        "split": {"kind": "time" if table.date_col else "positional",
                  "val_from": _format_date(split.val_from), "test_from": _format_date(split.test_from)},
        "splits": split_report,
        "by_group": by_group,
        "scaling_from_train": {"mean": dict(zip(features, mean.tolist())), "std": dict(zip(features, std.tolist()))},
        "warnings": warnings,
    }
    return PreparedData(
        splits=splits,
        n_classes=n_classes,
        features=features,
        persistence=persistence if persistence_rows is not None else None,
        row_dates=frame[table.date_col].to_numpy() if table.date_col else None,
        row_groups=group_values,
        report=report,
    )


def _check_windows(table: Table, splits: dict, split_report: dict, missing_share: dict,
                   label_missing_share: dict[str, float], check_classes: bool = True) -> None:
    for split in SPLITS:
        if len(splits[split]):
            continue
        info = split_report[split]
        columns = info["input_missing_by_column"]      # most windows blocked first
        worst = list(columns)[:3]
        blame = "; ".join(f"'{c}' (missing in {missing_share[c]:.0%} of rows) blocks {columns[c]} window(s)"
                          for c in worst)
        dropped = ", ".join(f"{n} {cause}" for cause, n in info["dropped"].items())
        main_cause = max(info["dropped"], key=info["dropped"].get) if info["dropped"] else None
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
            f"{table.path}: the {split} split has no complete window ({info['rows']} row(s); dropped: "
            f"{dropped or 'none'}){': ' + blame if blame else ''}; {advice}")
    counts = split_report["train"]["class_counts"]
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
    report: dict


def prepare_prediction(args, features: list[str], mean: dict[str, float], std: dict[str, float],
                       label_mapping: dict[str, int] | None = None) -> PredictionWindows:
    """A trained run's data rules applied to another file: the same reading, duplicate and grid
    rules and causal filling, but the run's own feature list and train-split scaling; no split,
    and no label needed (a label column the file lacks just leaves every label unknown)."""
    path = Path(args.root_path) / args.data_path
    header = read_csv(path).columns if path.is_file() else []
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
    frame = table.frame
    sentinels, _ = parse_na_values(args.na_values)
    group_values = frame[group_column(table)].to_numpy().astype(str)
    group_starts, group_stops = group_bounds(group_values)
    values, _, _ = cleaning.mark_missing(np.column_stack([_numeric_column(table, c) for c in features]), sentinels)
    cleaning.forward_fill(values, group_starts, args.max_gap)
    scaled = (values - np.array([mean[c] for c in features])) / np.array([std[c] for c in features])

    if table.source_col:
        source, _, _ = cleaning.mark_missing(_numeric_column(table, table.source_col)[:, None], sentinels)
        row_labels = _per_group(label_rules.future_rain_labels, source[:, 0], group_starts, group_stops,
                                args.rain_threshold, args.horizon)
    elif table.label_col:
        row_labels = label_rules.column_labels(_numeric_column(table, table.label_col))
    else:
        row_labels = np.full(len(frame), label_rules.MISSING, dtype=np.int64)
    # every row may end a window: the label may be unknown, the split does not exist here
    scan = scan_windows(np.isnan(scaled), np.zeros(len(frame), dtype=np.int64), np.zeros(len(frame), dtype=np.int8),
                        group_starts, group_stops, args.seq_len, 0, same_split_inputs=False)
    ends = scan.kept.astype(np.int64)
    data = torch.from_numpy(np.nan_to_num(scaled, nan=0.0).astype(np.float32))
    codes = np.bincount(scan.cause, minlength=1 + len(CAUSES))
    report = {"file": str(path), "rows": len(frame), "windows": int(len(ends)),
              "labels_known": int((row_labels[ends] >= 0).sum()),
              "dropped": {c: int(codes[1 + i]) for i, c in enumerate(CAUSES) if codes[1 + i]},
              "label_column_in_file": not unlabeled}
    return PredictionWindows(
        windows=WindowSet("predict", data, ends, row_labels[ends], args.seq_len),
        row_dates=frame[table.date_col].to_numpy() if table.date_col else None,
        row_groups=group_values, report=report)
