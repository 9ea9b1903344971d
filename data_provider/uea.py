"""``--data UEA``: the UEA/UCR archive's ``.ts`` files, read the way Time-Series-Library users call
them (``--root_path DIR --model_id NAME`` reads ``NAME_TRAIN.ts`` and ``NAME_TEST.ts``), with
what that library gets wrong put right:

* validation is a stratified share of TRAIN (``--val_ratio``), never the test set; ``--val_ratio 0``
  trains on all of TRAIN and leaves validation empty;
* scaling statistics (per channel) come from the training part only;
* class labels are mapped once, from TRAIN, for every split; a test label TRAIN lacks is an error;
* variable-length series are left-padded and carry a padding mask that attention and pooling
  respect; ``seq_len`` (and the automatic token length) come from the longest TRAIN series, rounded
  up to whole tokens, so the test set shapes nothing; a longer TEST series is cut to its last
  ``seq_len`` steps, and the data report counts those.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from data_provider.base import ArchiveReport, PreparedData, SplitSummary
from data_provider.windows import WindowSet
from utils.errors import UserError


def _parse_value(text: str, path: Path, line_no: int) -> float:
    text = text.strip()
    if text in ("?", "NaN", "nan", ""):
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{path}:{line_no}: {text[:30]!r} is not a number; is this a .ts file?")


def read_ts(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """Series ([channels, length] float arrays, lengths may differ) and their class labels."""
    if not path.is_file():
        raise UserError(f"{path}: file not found; UEA data is read as ROOT/NAME_TRAIN.ts and ROOT/NAME_TEST.ts "
                        "(--root_path ROOT --model_id NAME)")
    header: dict[str, str] = {}
    series, labels = [], []
    in_data = False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise UserError(f"{path}:{line_no}: expected an @ header line before @data; is this a .ts file?")
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    in_data = True
                else:
                    header[key] = value.strip().lower()
                continue
            if header.get("timestamps") == "true":
                raise UserError(f"{path}: @timeStamps true is not supported; give the series as plain values")
            parts = line.split(":")
            if header.get("classlabel", "false").startswith("false"):
                raise UserError(f"{path}: @classLabel false: a classification file needs class labels")
            *dims, label = parts
            values = [[_parse_value(v, path, line_no) for v in d.split(",")] for d in dims]
            width = max(len(v) for v in values)
            block = np.full((len(values), width), np.nan)
            for c, v in enumerate(values):
                block[c, : len(v)] = v
            series.append(block)
            labels.append(label.strip())
    if not in_data or not series:
        raise UserError(f"{path}: no @data section with series; is this a .ts file?")
    channels = {s.shape[0] for s in series}
    if len(channels) > 1:
        raise UserError(f"{path}: series have different numbers of dimensions {sorted(channels)}")
    return series, labels


def clean_series(block: np.ndarray) -> np.ndarray:
    """Crop leading/trailing steps where every channel is missing (how the archive pads unequal
    lengths) and interpolate interior gaps per channel; a channel missing throughout stays NaN."""
    present = ~np.isnan(block).all(axis=0)
    if not present.any():
        return block[:, :0]
    first, last = np.flatnonzero(present)[[0, -1]]
    block = block[:, first:last + 1].copy()
    steps = np.arange(block.shape[1])
    for channel in block:
        missing = np.isnan(channel)
        if missing.any() and not missing.all():
            channel[missing] = np.interp(steps[missing], steps[~missing], channel[~missing])
    return block


def _sort_labels(labels: set[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def find_ts(root: Path, name: str, split: str) -> Path:
    direct, nested = root / f"{name}_{split}.ts", root / name / f"{name}_{split}.ts"
    return nested if not direct.exists() and nested.exists() else direct


def _stratified_split(indices: np.ndarray, labels: np.ndarray, args, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return train_test_split(indices, test_size=args.val_ratio, random_state=args.seed, stratify=labels)
    except ValueError as err:
        raise UserError(f"{name}: cannot hold out a stratified --val_ratio {args.val_ratio} of TRAIN ({err}); "
                        "lower or raise --val_ratio, or give --val_ratio 0 --select_epoch last")


def window_sizes(cfg, longest: int) -> dict[str, int]:
    """``input_token_len`` (about --tokens_per_series tokens; with --adaptation the checkpoint's,
    adopted before the data is read) and ``seq_len`` (the longest series in whole tokens), each
    unless the user gave it."""
    token = cfg.input_token_len
    if "input_token_len" not in cfg.explicit and not cfg.adaptation:
        token = max(1, math.ceil(longest / cfg.tokens_per_series))
    wanted = cfg.seq_len if "seq_len" in cfg.explicit else longest
    return {"input_token_len": token, "seq_len": math.ceil(wanted / token) * token}


def longest_series(root: Path, name: str) -> int:
    """The longest series of NAME's TRAIN file: what sizes the classifier's window and token."""
    return max(clean_series(s).shape[1] for s in read_ts(find_ts(root, name, "TRAIN"))[0])


def prepare_uea(args) -> PreparedData:
    root, name = Path(args.root_path), args.model_id
    train_series, train_labels = read_ts(find_ts(root, name, "TRAIN"))
    test_series, test_labels = read_ts(find_ts(root, name, "TEST"))
    if train_series[0].shape[0] != test_series[0].shape[0]:
        raise UserError(f"{name}: TRAIN has {train_series[0].shape[0]} dimensions but TEST has {test_series[0].shape[0]}")
    classes = _sort_labels(set(train_labels))
    unseen = sorted(set(test_labels) - set(classes))
    if unseen:
        raise UserError(f"{name}_TEST.ts: class label(s) {unseen} never occur in TRAIN; the archive files do not match")
    code = {label: i for i, label in enumerate(classes)}
    y_train_all = np.array([code[v] for v in train_labels])
    y_test = np.array([code[v] for v in test_labels])
    if len(classes) < 2:
        raise UserError(f"{name}_TRAIN.ts: only one class ({classes[0]!r}); nothing to classify")

    cleaned_train = [clean_series(s) for s in train_series]
    cleaned_test = [clean_series(s) for s in test_series]
    empty = sum(s.shape[1] == 0 for s in cleaned_train + cleaned_test)
    if empty:
        raise UserError(f"{name}: {empty} series have no values at all")
    # TRAIN alone sizes the window: the test set must not shape the model it is scored on
    lengths = np.array([s.shape[1] for s in cleaned_train])
    longest = int(lengths.max())
    sizes = window_sizes(args, longest)
    args = args.derive(**sizes)
    token = args.input_token_len

    # stratified validation share of TRAIN; the test set is never looked at for choices. With
    # --val_ratio 0 every TRAIN series trains and the validation split is empty.
    indices = np.arange(len(cleaned_train))
    if args.val_ratio == 0:
        fit_idx, val_idx = indices, indices[:0]
    else:
        fit_idx, val_idx = _stratified_split(indices, y_train_all, args, name)
    fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)

    fit_values = np.concatenate([cleaned_train[i] for i in fit_idx], axis=1)
    mean = np.nanmean(fit_values, axis=1)
    std = np.nanstd(fit_values, axis=1)
    constant = np.flatnonzero(~(std > 0))
    std[constant] = 1.0
    mean = np.nan_to_num(mean)

    groups = [("train", [cleaned_train[i] for i in fit_idx], y_train_all[fit_idx], [f"train:{i}" for i in fit_idx]),
              ("val", [cleaned_train[i] for i in val_idx], y_train_all[val_idx], [f"train:{i}" for i in val_idx]),
              ("test", cleaned_test, y_test, [f"test:{i}" for i in range(len(cleaned_test))])]
    n_total = sum(len(g[1]) for g in groups)
    L, C = args.seq_len, train_series[0].shape[0]
    data = np.zeros((n_total * L, C), dtype=np.float32)
    pad = np.ones(n_total * L, dtype=bool)
    case_ids = np.empty(n_total * L, dtype=object)
    splits, report_splits, block = {}, {}, 0
    cut = {"train": 0, "val": 0, "test": 0}
    for split, blocks, labels, ids in groups:
        ends = []
        for values, case in zip(blocks, ids):
            if values.shape[1] > L:  # TRAIN only under a typed --seq_len; TEST whenever longer than TRAIN
                values = values[:, -L:]  # keep the most recent steps
                cut[split] += 1
            end = (block + 1) * L - 1
            start = end - values.shape[1] + 1
            scaled = (values.T - mean) / std
            data[start:end + 1] = np.nan_to_num(scaled, nan=0.0)
            pad[start:end + 1] = False
            case_ids[end] = case
            ends.append(end)
            block += 1
        splits[split] = WindowSet(split, None, np.array(ends, dtype=np.int64), labels.astype(np.int64), L)
        counts = np.bincount(labels, minlength=len(classes))
        report_splits[split] = SplitSummary(
            cases=len(blocks), windows=len(blocks),
            class_counts={str(c): int(counts[c]) for c in range(len(classes))},
            class_shares={str(c): (float(counts[c] / counts.sum()) if counts.sum() else None)
                          for c in range(len(classes))})
    shared, shared_pad = torch.from_numpy(data), torch.from_numpy(pad)
    for ws in splits.values():
        ws.data, ws.pad = shared, shared_pad
    warnings = []
    if cut["train"] + cut["val"]:
        warnings.append(f"{cut['train'] + cut['val']} TRAIN series longer than --seq_len {L} were cut to their "
                        f"last {L} steps")
    if len(constant):
        warnings.append(f"dimension(s) {constant.tolist()} are constant on the training part")
    report = ArchiveReport(
        file=str(find_ts(root, name, "TRAIN")),
        problem=name,
        dimensions=C,
        classes={str(i): label for i, label in enumerate(classes)},
        # lengths of TRAIN, which size the window
        length_min=int(lengths.min()), length_max=longest, equal_length=bool((lengths == longest).all()),
        test_series_cut={"count": cut["test"], "seq_len": L},
        missing_values=int(sum(np.isnan(s).sum() for s in train_series + test_series)),
        seq_len=L, input_token_len=token,
        val_ratio=args.val_ratio,
        splits=report_splits,
        scaling_from_train={"mean": mean.tolist(), "std": std.tolist()},
        warnings=warnings,
    )
    return PreparedData(splits=splits, n_classes=len(classes), features=[f"dim_{c}" for c in range(C)],
                        persistence=None, row_dates=None, row_groups=case_ids, report=report,
                        window_sizes=sizes)
