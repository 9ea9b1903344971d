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
              subset_rand_ratio=1.0)


def _hourly_or_finer(report: TableReport) -> bool:
    return report.sub_daily and pd.Timedelta(report.time_step) <= pd.Timedelta(hours=1)


def stage_beside_adaptation(cfg: Config) -> Config:
    """--adaptation gives the checkpoint: no stage (``on`` beside it is refused)."""
    if cfg.pretrain_stage == "on":
        raise UserError("--pretrain_stage on pretrains a checkpoint to adapt from, and --adaptation gives one "
                        "(--pretrain_model_path); give one of them")
    return cfg.derive(pretrain_stage="off")


def pretrain_stage_default(cfg: Config, data: PreparedData) -> tuple[Config, str | None]:
    """--pretrain_stage auto -> on or off, and why, for a run from scratch; ``on`` for an archive set
    is refused."""
    table = isinstance(data.report, TableReport)
    if cfg.pretrain_stage == "on":
        if not table:
            raise UserError("--pretrain_stage applies to station/region tables; for archive sets pretrain with "
                            "--task_name pretrain (docs/transfer.md)")
        return cfg, "pretraining stage: on (--pretrain_stage on)"
    if cfg.pretrain_stage == "off":
        return cfg, None
    n_train = len(data.splits["train"])
    if not table:
        why = "an archive set"
    elif not len(data.splits["val"]):
        why = "no validation split to stop the pretraining on"
    elif not _hourly_or_finer(data.report):
        why = f"a grid of {data.report.time_step}; it was measured on hourly tables (and did not pay on daily ones)"
    elif n_train >= TINY_BELOW_WINDOWS:
        why = f"{n_train:,} train windows, more than the tiny preset's {TINY_BELOW_WINDOWS:,} where it was measured"
    else:
        return cfg.derive(pretrain_stage="on"), (
            f"pretraining stage: on (--pretrain_stage auto: an hourly station table with {n_train:,} train windows; "
            "next-token pretraining on its train period, then adaptation; --pretrain_stage off says no)")
    return cfg.derive(pretrain_stage="off"), f"pretraining stage: off (--pretrain_stage auto: {why})"


def pretraining_config(cfg: Config) -> Config:
    """The pretraining run's options: the classifier's data flags and sizes, the recipe's training;
    an epoch budget the user typed (--train_epochs, --patience) bounds the pretraining too."""
    budget = {key: getattr(cfg, key) for key in ("train_epochs", "patience") if key in cfg.explicit}
    if "train_epochs" in budget:
        budget["tmax"] = budget["train_epochs"]
    return cfg.derive(**{**RECIPE, **budget}, output_token_len=cfg.input_token_len,
                      model_id=f"{cfg.model_id}_pretraining")


def run_pretrain_stage(cfg: Config, log: RunLog) -> Config:
    """Pretrains (or, with --resume, finds the finished pretraining) and returns the classifier's
    Config, adapting from that checkpoint."""
    from exp.exp_pretrain import pretrain_runs

    log(">>> pretraining stage: Timer-XL's next-token forecasting on the train period's series "
        "(the validation period stops it early; the test period is not read)")
    (run_dir,) = pretrain_runs(pretraining_config(cfg), log)
    checkpoint = Path(run_dir) / "checkpoint.pth"
    log(f">>> classifier adapted from {checkpoint}")
    return cfg.derive(adaptation=True, pretrain_model_path=str(checkpoint))
