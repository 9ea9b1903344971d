"""``--task_name predict``: a trained run, or the ensemble of one command's repeats, applied to a
new CSV with the run's columns.

The file is read with the run's own rules (reading, filling, feature list, train-split scaling,
best checkpoint), and every window whose inputs are complete gets a row, the file's very last
step included: its label is not known yet, and its prediction is tomorrow's forecast. The
decision rule is the run's: the threshold tuned on validation where there is one, else argmax.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from data_provider.base import DataReport, TableReport, read_data_report
from data_provider.rainfall import prepare_prediction
from data_provider.timeline import CAUSE_TEXT
from exp.ensemble import ENSEMBLE, MEMBERS
from exp.evaluation import predict
from exp.exp_classification import build_model, load_weights
from exp.run_folder import pick_device
from exp.threshold import predict_at, recorded_threshold
from utils.atomic_io import read_json, write_csv
from utils.cli import RUNTIME_FLAGS, contradicting_flags, saved_config, setting_name
from utils.config import Config, read_run_config
from utils.errors import UserError
from utils.metrics import softmax
from utils.precision import precision_for
from utils.run_log import RunLog

# flags that say what to predict on and where to write, not which run: never a contradiction
PREDICT_FLAGS = RUNTIME_FLAGS | {"task_name", "output", "itr", "root_path", "data_path", "model_id"}


@dataclasses.dataclass
class Predictor:
    """The run folders whose probabilities are averaged, and the folder whose decision rule applies
    (the run itself, or the ensemble folder of a ``--itr N`` command)."""
    members: list[Path]
    rule_dir: Path


# ------------------------------------------------------------------------------- finding the run
def read_members(ensemble_dir: Path) -> list[Path]:
    """The member run folders an ensemble folder records (members.json, or for a folder written
    before that file existed, the list in its metrics.json), found beside the ensemble folder."""
    if (ensemble_dir / MEMBERS).exists():
        names = read_json(ensemble_dir / MEMBERS)["members"]
    else:
        names = [Path(m).name for m in read_json(ensemble_dir / "metrics.json")["ensemble"]["members"]]
    members = [ensemble_dir.parent / name for name in names]
    for member in members:
        if not (member / "config.json").exists():
            raise UserError(f"{ensemble_dir}: its member run {member} is gone; restore it or predict with "
                            "--run_dir on one of the other members")
    return members


def _from_run_dir(run_dir: Path) -> Predictor:
    if (run_dir / "config.json").exists():
        return Predictor([run_dir], run_dir)
    metrics = run_dir / "metrics.json"
    if (run_dir / MEMBERS).exists() or (metrics.exists() and "ensemble" in read_json(metrics)):
        return Predictor(read_members(run_dir), run_dir)
    raise UserError(f"--run_dir {run_dir}: no config.json there; give a folder written by a training run "
                    "or its <setting>_ensemble folder")


def find_predictor(args) -> Predictor:
    """--run_dir, or the classification runs of --model_id (narrowed by any other flag typed):
    one run, or with --itr N the ensemble folder of the N repeats."""
    if args.run_dir:
        return _from_run_dir(Path(args.run_dir))
    root = Path(args.checkpoints)
    typed = args.derive(explicit=args.explicit - PREDICT_FLAGS)
    runs = []
    for config_path in sorted(root.glob("*/config.json")):
        saved = read_run_config(config_path)
        if (saved.get("model_id") == args.model_id and saved.get("task_name") == "classification"
                and not contradicting_flags(saved, typed)):
            runs.append((config_path.parent, saved))
    if not runs:
        raise UserError(f"--task_name predict: no trained classification run with --model_id {args.model_id} "
                        f"under {root} (--checkpoints); train it first or give --run_dir")
    if args.itr > 1:
        ensembles = sorted({root / setting_name(saved_config(saved), ENSEMBLE)
                            for _, saved in runs if saved.get("itr") == args.itr})
        if not ensembles:
            raise UserError(f"--itr {args.itr}: no run of --model_id {args.model_id} under {root} was trained with "
                            f"--itr {args.itr}; give the --itr it was trained with, or drop --itr for a single run")
        if len(ensembles) > 1:
            raise UserError(f"--itr {args.itr}: --model_id {args.model_id} has {len(ensembles)} ensembles under "
                            f"{root} ({ensembles[0].name}, {ensembles[1].name}, ...); pick one with --run_dir")
        if not (ensembles[0] / "metrics.json").exists():
            raise UserError(f"--itr {args.itr}: {ensembles[0]} does not exist (the training command did not "
                            "finish); finish it with --resume, or give --run_dir on one member run")
        return _from_run_dir(ensembles[0])
    if len(runs) > 1:
        trained_itr = max(saved.get("itr", 1) for _, saved in runs)
        hint = f"--itr {trained_itr} for the ensemble of its repeats, or " if trained_itr > 1 else ""
        raise UserError(f"--model_id {args.model_id} matches {len(runs)} runs under {root} ({runs[0][0].name}, "
                        f"{runs[1][0].name}, ...); give {hint}--run_dir to pick one")
    return Predictor([runs[0][0]], runs[0][0])


def run_config(run_dir: Path, args: Config) -> Config:
    """The run's saved config (a flag newer than the run takes its default), with the user's file
    and runtime flags."""
    saved = read_run_config(run_dir / "config.json")
    if saved.get("data") == "UEA":
        raise UserError(f"--task_name predict applies to runs trained on a CSV (--data PeruRainfall); {run_dir} was "
                        "trained on the UEA archive: re-test it with --is_training 0 instead")
    return saved_config(saved, runtime=args).derive(root_path=args.root_path, data_path=args.data_path)


# ------------------------------------------------------------------------------------ predicting
def member_probabilities(run_dir: Path, cfg, windows) -> np.ndarray:
    """[n, n_classes] class probabilities of one run's best checkpoint, exactly as its test used."""
    model = build_model(cfg)
    load_weights(model, run_dir)
    device = pick_device(cfg)
    model.to(device)
    # predict() also computes a loss, which needs a class per window; unknown labels are -1
    known = dataclasses.replace(windows, labels=np.zeros_like(windows.labels))
    _, logits = predict(model, known, cfg.batch_size, device, precision=precision_for(cfg.amp, device))
    return softmax(logits.astype(np.float64))


def prediction_frame(probs: np.ndarray, predicted: np.ndarray, prepared) -> pd.DataFrame:
    windows = prepared.windows
    frame = pd.DataFrame({
        "group": prepared.row_groups[windows.ends],
        "date": prepared.row_dates[windows.ends] if prepared.row_dates is not None else np.full(len(windows), ""),
    })
    for c in range(probs.shape[1]):
        frame[f"prob_{c}"] = probs[:, c]
    frame["predicted_label"] = predicted
    # an empty cell where the label is not known (yet)
    frame["true_label"] = pd.Series(windows.labels, dtype="Int64").where(windows.labels >= 0)
    return frame


def summary_lines(frame: pd.DataFrame, prepared, n_classes: int, pos_label: int,
                  trained_report: DataReport) -> list[str]:
    report = prepared.report
    names = trained_report.class_names(n_classes)
    label = trained_report.label
    period = (f"the {label.horizon} step(s) after" if label is not None and label.mode == "threshold"
              else "the label of the window ending")
    unknown = int(frame["true_label"].isna().sum())
    lines = [f"{len(frame)} window(s) from {report.file}; {unknown} with an unknown label"]
    for cause, n in report.dropped.items():
        lines.append(f"  {n} row(s) end no window: {CAUSE_TEXT.get(cause, cause)}")
    lines.append(f"forecast from each group's last window (for {period} the date shown; dates as in the file's "
                 "time column, converted to UTC where it held several offsets):")
    ends = prepared.windows.ends
    for group, rows in frame.groupby("group", sort=False):
        last = rows.iloc[-1]
        chance = (f"p({names[pos_label]}) {last[f'prob_{pos_label}']:.3f}" if n_classes == 2 else
                  "p " + " ".join(f"{names[c]} {last[f'prob_{c}']:.3f}" for c in range(n_classes)))
        # a window ending before the group's last step is not tomorrow's forecast: say so
        behind = int(np.flatnonzero(prepared.row_groups == group)[-1] - ends[rows.index[-1]])
        late = f"  (the last {behind} step(s) have incomplete inputs)" if behind else ""
        lines.append(f"  {group}: {last['date']}  {chance}  -> {names[int(last['predicted_label'])]}{late}")
    return lines


def predict_task(cfg: Config, log: RunLog) -> None:
    """--task_name predict."""
    predict_file(cfg, log)


def predict_file(args: Config, log: RunLog) -> Path:
    predictor = find_predictor(args)
    configs = [run_config(run_dir, args) for run_dir in predictor.members]
    first = predictor.members[0]
    cfg = configs[0]
    trained_report = read_data_report(read_json(first / "data_report.json"))
    if not isinstance(trained_report, TableReport):
        raise UserError(f"{first}/data_report.json is not a table's report: --task_name predict applies to runs "
                        "trained on a CSV (--data PeruRainfall)")
    scaling = trained_report.scaling_from_train
    # the members of one command share the data step (same flags, another seed): one reading serves all
    prepared = prepare_prediction(cfg, list(cfg.feature_names), scaling["mean"], scaling["std"],
                                  trained_report.label.mapping if trained_report.label else None,
                                  trained_report.calendar_features, trained_report.persistence_input)
    if len(prepared.windows) == 0:
        raise UserError(f"{prepared.report.file}: no window of seq_len {cfg.seq_len} steps with complete inputs; "
                        f"give a file with at least {cfg.seq_len} consecutive observed steps per group")
    what = (f"the ensemble of {len(predictor.members)} runs ({predictor.rule_dir})" if len(predictor.members) > 1
            else str(first))
    log(f">>> predict with {what}")
    probs = np.mean([member_probabilities(run_dir, member_cfg, prepared.windows)
                     for run_dir, member_cfg in zip(predictor.members, configs)], axis=0)
    threshold = recorded_threshold(predictor.rule_dir) if cfg.n_classes == 2 else None
    if threshold is None:
        predicted = probs.argmax(axis=1)
        log("decision rule: the most probable class")
    else:
        predicted = predict_at(probs[:, cfg.pos_label], threshold, cfg.pos_label)
        how = ("the mean of the members' thresholds, each tuned on validation" if len(predictor.members) > 1
               else "tuned on validation")
        log(f"decision rule: class {cfg.pos_label} when its probability is >= {threshold:.4f} ({how})")
    frame = prediction_frame(probs, predicted, prepared)
    write_csv(args.output, frame)
    for line in summary_lines(frame, prepared, cfg.n_classes, cfg.pos_label, trained_report):
        log(line)
    log(f"predictions: {args.output}")
    return Path(args.output)
