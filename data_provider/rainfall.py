"""``--data PeruRainfall``: any station/region rainfall CSV -> train/val/test windows + a data report.

Order of operations, each chosen so that nothing from a later split or another group leaks in:
1. read, sort by group and time, put every group on a regular time grid;
2. sentinels (``--na_values``) and +-inf become NaN;
3. each group is cut chronologically into train / val / test segments;
4. short gaps are interpolated inside each segment only; longer gaps stay NaN;
5. columns constant on train are dropped; mean/std come from the train segments only;
6. labels are computed inside each segment, so a label's look-ahead never enters the next split;
7. a window is kept when all its rows are clean and its label is known.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from data_provider import cleaning, labels as label_rules
from data_provider.csv_table import Table, group_column, load_table
from data_provider.windows import SPLITS, WindowSet, split_bounds, valid_window_ends
from utils.errors import UserError


@dataclass
class PreparedData:
    splits: dict[str, WindowSet]
    n_classes: int
    features: list[str]
    persistence: dict[str, np.ndarray] | None   # persistence-baseline label per window, per split
    row_dates: np.ndarray | None                # per global row
    row_groups: np.ndarray                      # per global row
    report: dict


def parse_ratios(text: str) -> tuple[float, float, float]:
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--split {text!r}: give three numbers like 0.7,0.15,0.15") from None
    if len(ratios) != 3 or any(r <= 0 for r in ratios):
        raise UserError(f"--split {text!r}: give three positive fractions for train,val,test like 0.7,0.15,0.15")
    if abs(sum(ratios) - 1.0) > 1e-6:
        raise UserError(f"--split {text!r}: the fractions sum to {sum(ratios):g}, not 1; adjust them")
    return ratios  # type: ignore[return-value]


def parse_sentinels(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--na_values {text!r}: give numbers separated by commas, like -9900,-999") from None


def _numeric_column(table: Table, name: str, flag: str) -> np.ndarray:
    column = table.frame[name]
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(float)
    if not pd.api.types.is_numeric_dtype(column):
        example = column.dropna().iloc[0] if column.notna().any() else None
        raise UserError(f"{table.path}: column '{name}' ({flag}) is not numeric (e.g. {example!r}); give numbers")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _class_labels(table: Table, n_classes_flag: int | None) -> tuple[np.ndarray, int]:
    values = _numeric_column(table, table.label_col, "--target")
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


def prepare(args) -> PreparedData:
    """Windows for classification, or (``--task_name pretrain``) unlabeled windows whose span is
    ``seq_len + output_token_len``: the input plus the points the last token must forecast."""
    unlabeled = getattr(args, "task_name", "classification") == "pretrain"
    table = load_table(args)
    ratios = parse_ratios(args.split)
    sentinels = parse_sentinels(args.na_values)
    frame = table.frame
    gcol = group_column(table)

    raw, sentinel_counts, inf_counts = cleaning.mark_missing(
        np.column_stack([_numeric_column(table, c, "feature") for c in table.features]), sentinels)
    source = None
    if table.source_col:
        source_raw = _numeric_column(table, table.source_col, "--target_from")
        source, _, _ = cleaning.mark_missing(source_raw[:, None], sentinels)
        source = source[:, 0]
    if unlabeled:
        row_labels, n_classes = np.zeros(len(frame), dtype=np.int64), 1
    elif table.label_col:
        row_labels, n_classes = _class_labels(table, args.n_classes)
    else:
        row_labels, n_classes = None, 2
        if args.n_classes not in (None, 2):
            raise UserError(f"--n_classes {args.n_classes}: --target_from makes two classes (rain / no rain); drop the flag")

    # --- segments: (group, split, start, stop) over global rows, groups contiguous after sorting
    group_values = frame[gcol].to_numpy()
    group_starts = np.flatnonzero(np.r_[True, group_values[1:] != group_values[:-1]])
    group_stops = np.r_[group_starts[1:], len(frame)]
    segments = []
    for g0, g1 in zip(group_starts, group_stops):
        for split, (a, b) in zip(SPLITS, split_bounds(g1 - g0, ratios)):
            segments.append((group_values[g0], split, g0 + a, g0 + b))

    # --- gap interpolation, one segment at a time
    interpolated = np.zeros(len(table.features), dtype=np.int64)
    for _, _, a, b in segments:
        for j in range(raw.shape[1]):
            interpolated[j] += cleaning.interpolate_short_gaps(raw[a:b, j], args.max_gap)
        if source is not None:
            if table.source_col in table.features:
                source[a:b] = raw[a:b, table.features.index(table.source_col)]
            else:
                cleaning.interpolate_short_gaps(source[a:b], args.max_gap)

    # --- columns: entirely missing is an error, constant on train is dropped with a warning
    train_rows = np.zeros(len(frame), dtype=bool)
    for _, split, a, b in segments:
        if split == "train":
            train_rows[a:b] = True
    warnings: list[str] = []
    keep, dropped_constant = [], []
    for j, name in enumerate(table.features):
        if np.isnan(raw[:, j]).all():
            raise UserError(f"{table.path}: feature column '{name}' is entirely missing; "
                            f"drop it with --exclude {name} or fix the file")
        train_values = raw[train_rows, j]
        train_values = train_values[~np.isnan(train_values)]
        if train_values.size == 0:
            raise UserError(f"{table.path}: feature column '{name}' has no values in the train split; "
                            f"drop it with --exclude {name}")
        if np.ptp(train_values) == 0:
            dropped_constant.append(name)
            warnings.append(f"column '{name}' is constant ({train_values[0]:g}) on the train split and was dropped")
        else:
            keep.append(j)
    features = [table.features[j] for j in keep]
    if not features:
        raise UserError(f"{table.path}: every feature column is constant on the train split; nothing to learn from")
    values = raw[:, keep]

    # --- scaling statistics from train rows only
    mean = np.nanmean(values[train_rows], axis=0)
    std = np.nanstd(values[train_rows], axis=0)
    scaled = (values - mean) / std
    row_ok = ~np.isnan(scaled).any(axis=1)

    # --- labels and windows, segment by segment
    seq_len, horizon = (args.seq_len + args.output_token_len, 0) if unlabeled else (args.seq_len, args.horizon)
    ends: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    window_labels: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    persist: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    by_group: dict[str, dict] = {}
    for group, split, a, b in segments:
        if source is not None and not unlabeled:
            seg_labels = label_rules.future_rain_labels(source[a:b], args.rain_threshold, horizon)
            seg_persist = label_rules.persistence_labels(source[a:b], args.rain_threshold, horizon)
        else:
            seg_labels = row_labels[a:b]
            seg_persist = None
        local = valid_window_ends(row_ok[a:b], seg_labels, seq_len, horizon)
        ends[split].append(local + a)
        window_labels[split].append(seg_labels[local])
        if seg_persist is not None:
            persist[split].append(seg_persist[local])
        entry = by_group.setdefault(str(group), {})
        entry[split] = {"rows": int(b - a), "windows": int(len(local))}
        if table.date_col and b > a:
            entry[split]["date_range"] = [_format_date(frame[table.date_col].iloc[a]),
                                          _format_date(frame[table.date_col].iloc[b - 1])]

    data = torch.from_numpy(np.nan_to_num(scaled, nan=0.0).astype(np.float32))
    splits, split_report = {}, {}
    for split in SPLITS:
        split_ends = np.concatenate(ends[split]).astype(np.int64)
        split_labels = np.concatenate(window_labels[split]).astype(np.int64)
        splits[split] = WindowSet(split, data, split_ends, split_labels, seq_len)
        counts = np.bincount(split_labels, minlength=n_classes)
        rows = sum(b - a for _, s, a, b in segments if s == split)
        split_report[split] = {
            "rows": int(rows),
            "windows": int(len(split_ends)),
            "class_counts": {str(c): int(counts[c]) for c in range(n_classes)},
            "class_shares": {str(c): (float(counts[c] / counts.sum()) if counts.sum() else None) for c in range(n_classes)},
        }
        if table.date_col and len(split_ends):
            split_report[split]["window_end_range"] = [_format_date(frame[table.date_col].iloc[split_ends.min()]),
                                                       _format_date(frame[table.date_col].iloc[split_ends.max()])]
    _check_windows(table, splits, split_report, seq_len, horizon, check_classes=not unlabeled)
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
                    f"is > {args.rain_threshold:g} (in the units of '{table.source_col}'), else 0",
        }
    else:
        label_desc = {"mode": "column", "column": table.label_col, "horizon": horizon,
                      "rule": f"label = '{table.label_col}' on the window's last row"}
    report = {
        "file": str(table.path),
        "rows_read": table.rows_read,
        "rows_inserted_for_missing_timestamps": table.rows_inserted,
        "time_step": table.step,
        "date_col": table.date_col,
        "group_col": table.group_col,
        "groups": [str(g) for g in pd.unique(group_values)],
        "label": label_desc,
        "n_classes": n_classes,
        "features": features,
        "n_features": len(features),
        "skipped_non_numeric": table.skipped_non_numeric,
        "excluded": table.excluded,
        "dropped_constant": dropped_constant,
        "cleaning": {
            name: {
                "sentinels_to_missing": int(sentinel_counts[j]),
                "inf_to_missing": int(inf_counts[j]),
                "interpolated": int(interpolated[j]),
                "still_missing": int(np.isnan(raw[:, j]).sum()),
            }
            for j, name in enumerate(table.features)
        },
        "na_values": sentinels,
        "max_gap": args.max_gap,
        "split_ratios": list(ratios),
        "splits": split_report,
        "by_group": by_group,
        "scaling_from_train": {"mean": dict(zip(features, mean.tolist())), "std": dict(zip(features, std.tolist()))},
        "warnings": warnings,
    }
    return PreparedData(
        splits=splits,
        n_classes=n_classes,
        features=features,
        persistence={s: np.concatenate(persist[s]).astype(np.int64) for s in SPLITS}
        if source is not None and not unlabeled else None,
        row_dates=frame[table.date_col].to_numpy() if table.date_col else None,
        row_groups=group_values.astype(str),
        report=report,
    )


def _check_windows(table: Table, splits: dict, split_report: dict, seq_len: int, horizon: int,
                   check_classes: bool = True) -> None:
    longest = int(table.frame.groupby(group_column(table), sort=False).size().max())
    if longest < seq_len + horizon:
        raise UserError(f"{table.path}: {longest} rows (in its longest group) are fewer than one window needs: "
                        f"seq_len {seq_len} + horizon {horizon} = {seq_len + horizon}; lower --seq_len or give more data")
    for split in SPLITS:
        if len(splits[split]) == 0:
            rows = split_report[split]["rows"]
            raise UserError(
                f"{table.path}: the {split} split has no complete window: it has {rows} row(s) in all groups "
                f"but one window needs seq_len {seq_len} + horizon {horizon} clean rows in one group; "
                "lower --seq_len, raise --max_gap or give more data"
            )
    counts = split_report["train"]["class_counts"]
    if check_classes and sum(1 for c in counts.values() if c > 0) < 2:
        raise UserError(
            f"{table.path}: the train split has only one class (window counts {counts}); "
            "change --rain_threshold / --horizon or the split so both classes occur"
        )
