"""The skeleton every training task shares (classification and pretraining): read the data once,
settle the options the data decides, then repeat over seeds, each repeat in its own run folder
(opened, resumed or skipped as finished by exp/run_folder.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from data_provider.base import PreparedData
from data_provider.data_factory import data_provider
from exp import console
from exp.defaults import right_size
from exp.run_folder import open_run, pick_device
from exp.training_loop import with_epochs_from_steps
from utils.config import Config
from utils.precision import precision_for
from utils.run_log import RunLog
from utils.seeding import seed_everything, use_deterministic_algorithms


def sized_for(cfg: Config, data: PreparedData, n_train: int) -> tuple[Config, str | None]:
    """The Config with the window sizes the data decides and the model size right for ``n_train``
    train windows (--preset auto), and a line saying why: what a run folder's name is made of."""
    return right_size(cfg.derive(**data.window_sizes), n_train)


def prepare_session(cfg: Config, log: RunLog,
                    count_train: Callable[[Config, PreparedData], int] | None = None,
                    data: PreparedData | None = None) -> tuple[Config, PreparedData, torch.device]:
    """The data, the Config it settles (window sizes chosen from the data, epochs from a step
    budget over ``count_train`` windows: the train split unless the task trains on a subset, the
    precision --amp picks on this device) and the device. ``data``: windows already read with
    these data options (a tune search reads its file once for all trials)."""
    data = data if data is not None else data_provider(cfg)
    for line in console.data_summary(data.report):
        log(line)
    n_train = count_train(cfg, data) if count_train else len(data.splits["train"])
    cfg, why = sized_for(cfg, data, n_train)
    if why:
        log(why)
    cfg = with_epochs_from_steps(cfg, n_train, log)
    if cfg.deterministic:
        use_deterministic_algorithms()
    device = pick_device(cfg)
    precision = precision_for(cfg.amp, device)   # --amp auto on a CPU is refused here, before any folder
    if precision.dtype is not None:
        log(f"precision: {precision.reason}")
    return cfg.derive(precision=precision.name), data, device


def run_repeats(cfg: Config, data: PreparedData, log: RunLog,
                train_one: Callable[[Config, Path, dict | None], None]) -> list[Path]:
    """Repeat ``i`` of ``--itr`` trains with seed + i in its own folder: ``train_one(run_cfg,
    run_dir, resume_state)`` runs after the folder is opened and the seed set; a finished run is
    skipped (its results stay as they are)."""
    run_dirs = []
    for ii in range(cfg.itr):
        run_cfg, run_dir, resume, finished = open_run(cfg, data, ii, log)
        run_dirs.append(run_dir)
        if finished:
            log(f"{run_dir} is already finished ({finished['stop_reason']}); its results are in metrics.json")
            continue
        seed_everything(run_cfg.seed_used)
        log(f">>> {cfg.task_name} run {ii + 1}/{cfg.itr}: {run_cfg.setting}")
        train_one(run_cfg, run_dir, resume)
    return run_dirs
