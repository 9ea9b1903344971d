"""Task registry: ``--task_name NAME`` runs ``TASKS[NAME]``, and the command line's choices and
their help are read from here (add a task in one place, with ``register_task``).

A task is a function ``(cfg: Config, log: RunLog) -> None``, named as "module:function" and
imported only when it runs, so that ``--help`` and a flag error answer without loading the
training code.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Task:
    summary: str   # one line for --help
    runner: str    # "package.module:function"

    def load(self) -> Callable:
        module, function = self.runner.split(":")
        return getattr(importlib.import_module(module), function)


TASKS: dict[str, Task] = {}


def register_task(name: str, summary: str, runner: str) -> None:
    TASKS[name] = Task(summary, runner)


register_task("classification", "train, early-stop and test a classifier (--is_training 0: re-test a trained run)",
              "exp.exp_classification:classification_task")
register_task("pretrain", "Timer-XL's next-token forecasting on unlabeled series", "exp.exp_pretrain:pretrain_task")
register_task("compare", "print <checkpoints>/summary.csv, ranked by validation (--sort_by to choose a column)",
              "exp.summary:compare_task")
register_task("predict", "apply a trained run to a CSV (--data_path) and write --output", "exp.predict:predict_task")
register_task("tune", "search learning rate, size, dropout, weight decay and class weights on validation "
              "(Optuna, --n_trials); writes <checkpoints>/tune_<model_id>/best.yaml", "exp.tune:tune_task")
