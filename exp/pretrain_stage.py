"""--pretrain_stage: Timer-XL's own recipe (next-token forecasting on the table's unlabeled series,
then adaptation) ahead of a classifier, in one command.

The stage is the documented two-command recipe of docs/transfer.md run for the user: a pretraining
run on the same file and data flags (its train period trains, its validation period stops it
early, its test period is never read: ``--skip_test``), in its own run folder under
``--model_id <id>_pretraining``, then the classifier adapted from its checkpoint with the
classifier's own flags. With ``--itr N`` one pretraining serves the N seeds. ``--resume`` finds a
finished pretraining run and reads it instead of training it again.

``auto`` decides from the data (docs/results.md has the validation evidence): on for a station
table on an hourly (or finer) grid, trained from scratch with a validation split, small enough
for the tiny preset; off otherwise (coarser grids: it did not pay on daily tables and was not
measured on 12-hourly ones; archive sets, whose pretraining reads a folder of files; adaptation
from a checkpoint the user gave).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_provider.base import PreparedData, TableReport
from exp.defaults import TINY_BELOW_WINDOWS
from utils.config import Config
from utils.errors import UserError
from utils.run_log import RunLog

# what was measured (docs/results.md): a forecaster of the classifier's size, a 10x larger rate than
# the classifier's, cosine over 30 epochs, stopped by 5 epochs without a better validation MSE
RECIPE = dict(task_name="pretrain", model="timer_xl", learning_rate=1e-3, cosine=True, lradj="cosine",
              train_epochs=30, tmax=30, patience=5, monitor="val_loss", skip_test=True, itr=1,
              subset_rand_ratio=1.0, select_epoch="best")


def _hourly_or_finer(report: TableReport) -> bool:
    return report.grid_step is not None and report.grid_step <= pd.Timedelta(hours=1)


def stage_beside_adaptation(cfg: Config) -> Config:
    """--adaptation gives the checkpoint: no stage (``on`` beside it is refused)."""
    if cfg.pretrain_stage == "on":
        raise UserError("--pretrain_stage on pretrains a checkpoint to adapt from, and --adaptation gives one "
                        "(--pretrain_model_path); give one of them")
    return cfg.derive(pretrain_stage="off")


def _why_not(cfg: Config, data: PreparedData) -> str | None:
    """Why the stage cannot run on this data with these flags (None: it can)."""
    if not isinstance(data.report, TableReport):
        return "an archive set (pretrain those with --task_name pretrain, docs/transfer.md)"
    if not len(data.splits["val"]):
        return "no validation split to stop the pretraining on"
    if cfg.seq_len % cfg.input_token_len:
        return (f"--seq_len {cfg.seq_len} is not a whole number of --input_token_len {cfg.input_token_len} tokens, "
                "and pretraining forecasts every token from real data")
    return None


def pretrain_stage_default(cfg: Config, data: PreparedData) -> tuple[Config, str | None]:
    """--pretrain_stage auto -> on or off, and why, for a run from scratch; ``on`` where it cannot
    run is refused in one line."""
    cannot = _why_not(cfg, data)
    if cfg.pretrain_stage == "on":
        if cannot:
            raise UserError(f"--pretrain_stage on: {cannot}; drop the flag")
        return cfg, "pretraining stage: on (--pretrain_stage on)"
    if cfg.pretrain_stage == "off":
        return cfg, None
    n_train = len(data.splits["train"])
    if cannot:
        why = cannot
    elif not _hourly_or_finer(data.report):
        grid = f"a grid of {data.report.time_step}" if data.report.time_step else "no time grid (no date column)"
        why = f"{grid}; it was measured on hourly tables and did not pay on daily ones"
    elif n_train >= TINY_BELOW_WINDOWS:
        why = f"{n_train:,} train windows, more than the tiny preset's {TINY_BELOW_WINDOWS:,} where it was measured"
    else:
        return cfg.derive(pretrain_stage="on"), (
            f"pretraining stage: on (--pretrain_stage auto: an hourly station table with {n_train:,} train windows; "
            "next-token pretraining on its train period, then adaptation; --pretrain_stage off says no)")
    return cfg.derive(pretrain_stage="off"), f"pretraining stage: off (--pretrain_stage auto: {why})"


# what --task_name pretrain refuses when typed: they shape the classifier's training, not the forecaster's
CLASSIFIER_ONLY = {"input_noise": 0.0, "mixup": 0.0, "highway": "auto"}
# flags the forecaster never reads: a classifier typed with another value of one (a sweep over
# --finetune or --class_weights) reads the same finished pretraining instead of being refused it
CLASSIFIER_FLAGS = frozenset({*CLASSIFIER_ONLY, "n_classes", "pos_label", "allow_partial_load", "finetune",
                              "backbone_lr_scale", "pooling", "loss", "class_weights", "focal_gamma",
                              "threshold_tuning", "select_epoch"})


def pretraining_config(cfg: Config) -> Config:
    """The pretraining run's options: the classifier's data flags and sizes, the recipe's training;
    an epoch budget the user typed (--train_epochs, --patience) bounds the pretraining too, and the
    classifier-only flags are the classifier's alone."""
    budget = {key: getattr(cfg, key) for key in ("train_epochs", "patience") if key in cfg.explicit}
    if "train_epochs" in budget:
        budget["tmax"] = budget["train_epochs"]
    return cfg.derive(**{**RECIPE, **budget, **CLASSIFIER_ONLY}, output_token_len=cfg.input_token_len,
                      model_id=f"{cfg.model_id}_pretraining", explicit=cfg.explicit - CLASSIFIER_FLAGS)


def _first_run_folder(cfg: Config, data: PreparedData, n_train: int) -> Path:
    """The folder of the command's first run: its name holds the model size, which --preset auto
    settles from ``n_train`` train windows."""
    from exp.session import sized_for
    from utils.cli import setting_name

    sized, _ = sized_for(cfg, data, n_train)
    return Path(cfg.checkpoints) / setting_name(sized, 0)


def _refuse_resume_of_a_run_without_it(cfg: Config, data: PreparedData) -> None:
    """--resume of a run started without the stage (before --pretrain_stage auto, or with it off):
    the stage would send the classifier to another folder (an adapted run's) and start afresh."""
    from exp.exp_classification import n_train_windows

    if not cfg.resume:
        return
    folder = _first_run_folder(cfg, data, n_train_windows(cfg, data))
    if (folder / "config.json").exists():
        raise UserError(f"{folder} was started without the pretraining stage, and today's default "
                        "(--pretrain_stage auto) gives on; add --pretrain_stage off to resume it as it ran")


def with_pretrain_stage(cfg: Config, data: PreparedData, log: RunLog) -> Config:
    """Resolves --pretrain_stage for a run from scratch and, where on, pretrains (a finished
    pretraining of the same setting is read, not trained again: one serves every seed, and every
    classifier of a sweep) and returns the classifier's Config, adapting from that checkpoint."""
    from data_provider.data_factory import data_provider
    from exp.exp_pretrain import pretrain_runs

    chosen_by_auto = cfg.pretrain_stage == "auto"
    cfg, why = pretrain_stage_default(cfg, data)
    if why:
        log(why)
    if cfg.pretrain_stage != "on":
        return cfg
    if chosen_by_auto:
        _refuse_resume_of_a_run_without_it(cfg, data)
    pretraining = pretraining_config(cfg)
    try:
        pretraining_data = data_provider(pretraining)
    except UserError as err:   # its windows are longer (seq_len + one output token) and must fit each period
        if not chosen_by_auto:
            raise UserError(f"{err} (--pretrain_stage off trains the classifier without the pretraining stage)")
        log(f"pretraining stage: off after all: its windows cannot be made ({err})")
        return cfg.derive(pretrain_stage="off")
    log(">>> pretraining stage: Timer-XL's next-token forecasting on the train period's series (the "
        "validation period stops it early; its report counts the test windows, never trained on or scored)")
    # sized by the pretraining's own windows, which are longer than the classifier's
    found = (_first_run_folder(pretraining, pretraining_data, len(pretraining_data.splits["train"]))
             / "config.json").exists()
    (run_dir,) = pretrain_runs(pretraining.derive(resume=found), log, pretraining_data)
    checkpoint = Path(run_dir) / "checkpoint.pth"
    log(f">>> classifier adapted from {checkpoint}")
    return cfg.derive(adaptation=True, pretrain_model_path=str(checkpoint))
