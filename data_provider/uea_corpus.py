"""``--task_name pretrain --data UEA``: Timer-XL's generative pretraining on the archive's series.

The corpus is every ``*_TRAIN.ts`` under ``--root_path`` (``ROOT/NAME_TRAIN.ts`` or
``ROOT/NAME/NAME_TRAIN.ts``). TEST files are never opened, so a classifier adapted from the
checkpoint is still tested on series no stage has seen. Labels are ignored.

* Every channel of every series is its own univariate series (Timer-XL's backbone treats
  variables alike), z-normalised on its own: the archive's data sets differ in scale by orders
  of magnitude, and the classifier standardises its inputs as well.
* Whole series go to train, val or test (``--split`` fractions, seeded), so no forecast is
  scored on a series that was trained on.
* A window spans ``seq_len + output_token_len`` steps and starts every ``input_token_len`` steps;
  series shorter than one window are left out (the data report counts them).
* ``--model_id NAME`` of an archive data set under --root_path sizes the windows for NAME's
  classifier, unless the flags are given: its token length (from NAME's TRAIN series, as the
  classifier does), one output token, and the longest span in whole tokens that fits NAME's
  longest TRAIN series. The classifier's ``seq_len`` rounds up, this span rounds down: a window
  longer than every series would leave nothing to train on. Where not even one token and one
  output token fit, pretraining is skipped (``PretrainingSkipped``), not failed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data_provider.base import CorpusReport, LabelRule, PreparedData, SplitSummary
from data_provider.rainfall import parse_ratios
from data_provider.uea import clean_series, find_ts, longest_series, read_ts, window_sizes
from data_provider.windows import SPLITS, WindowSet, split_bounds
from utils.errors import PretrainingSkipped, UserError


def corpus_files(root: Path) -> list[Path]:
    return sorted(set(root.glob("*_TRAIN.ts")) | set(root.glob("*/*_TRAIN.ts")))


def _univariate(files: list[Path]) -> tuple[list[np.ndarray], list[str], dict, list[str]]:
    """(z-normalised univariate series, their ids, series read per file, files skipped with why)."""
    series, ids, per_file, skipped = [], [], {}, []
    for path in files:
        try:
            blocks, _ = read_ts(path)
        except UserError as err:  # e.g. a regression or unlabelled file: not this reader's format
            skipped.append(str(err))
            continue
        name = path.name.removesuffix("_TRAIN.ts")
        per_file[name] = 0
        for i, block in enumerate(blocks):
            for c, values in enumerate(clean_series(block)):
                if np.isnan(values).any() or not values.std() > 0:
                    continue  # a channel missing throughout, or constant: nothing to forecast
                series.append(((values - values.mean()) / values.std()).astype(np.float32))
                ids.append(f"{name}:{i}:{c}")
                per_file[name] += 1
    return series, ids, per_file, skipped


def prepare_uea_corpus(args) -> PreparedData:
    root = Path(args.root_path)
    files = corpus_files(root)
    if not files:
        raise UserError(f"{root}: no *_TRAIN.ts files here or one folder down; --task_name pretrain --data UEA "
                        "pretrains on every archive TRAIN file under --root_path")
    sized_for, sizes = None, {}
    typed = args.explicit
    if find_ts(root, args.model_id, "TRAIN").is_file() and "input_token_len" not in typed:
        longest = longest_series(root, args.model_id)
        sizes = window_sizes(args, longest)  # the classifier's token length (and a typed --seq_len in whole tokens)
        token = sizes["input_token_len"]
        if "output_token_len" not in typed:
            sizes["output_token_len"] = token
        output_token_len = sizes.get("output_token_len", args.output_token_len)
        if "seq_len" not in typed:
            sizes["seq_len"] = (longest - output_token_len) // token * token
            if sizes["seq_len"] < token:
                raise PretrainingSkipped(
                    f"{find_ts(root, args.model_id, 'TRAIN')}: its longest series has {longest} steps, fewer than one "
                    f"token + one output token ({token} + {output_token_len}); nothing to pretrain on")
        args = args.derive(**sizes)
        sized_for = args.model_id
    # with the sizes chosen here, a corpus too small for them skips pretraining; typed sizes are the user's to fix
    refuse = PretrainingSkipped if sized_for and "seq_len" not in typed else UserError
    series, ids, per_file, skipped = _univariate(files)
    span, stride = args.seq_len + args.output_token_len, args.input_token_len
    fits = [i for i, s in enumerate(series) if len(s) >= span]
    if not fits:
        longest = max((len(s) for s in series), default=0)
        raise refuse(f"{root}: no TRAIN series is as long as one window (seq_len {args.seq_len} + output_token_len "
                     f"{args.output_token_len} = {span}; the longest has {longest} steps); lower --seq_len")
    # the CSV loader's rule for cutting rows into train/val/test, here over shuffled series
    order = np.random.default_rng(args.seed).permutation(fits)
    bounds = split_bounds(len(order), parse_ratios(args.split))
    assigned = {split: order[a:b] for split, (a, b) in zip(SPLITS, bounds)}

    data = np.concatenate([series[i] for i in fits])[:, None]
    offset = dict(zip(fits, np.cumsum([0] + [len(series[i]) for i in fits[:-1]])))
    row_groups = np.concatenate([np.full(len(series[i]), ids[i], dtype=object) for i in fits])
    shared = torch.from_numpy(data)
    splits, report_splits = {}, {}
    for split, members in assigned.items():
        if not len(members):  # every member series fits at least one window
            raise refuse(f"{root}: the {split} split of --split {args.split} gets no series of the {len(fits)} long "
                         "enough; give it a larger fraction")
        ends = np.concatenate([offset[i] + np.arange(span - 1, len(series[i]), stride)
                               for i in np.sort(members)]).astype(np.int64)
        splits[split] = WindowSet(split, shared, ends, np.zeros(len(ends), dtype=np.int64), span)
        report_splits[split] = SplitSummary(series=int(len(members)), windows=int(len(ends)),
                                            class_counts={"0": int(len(ends))})
    report = CorpusReport(
        file=str(root),
        train_files=per_file,
        skipped_files=skipped,
        univariate_series=len(series),
        too_short=len(series) - len(fits),
        window={"span": span, "stride": stride, "sized_for": sized_for},
        splits=report_splits,
        label=LabelRule(mode="none"),
    )
    return PreparedData(splits=splits, n_classes=1, features=["value"], persistence=None, row_dates=None,
                        row_groups=row_groups, report=report, window_sizes=sizes)
