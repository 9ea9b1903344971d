"""Opening a run folder: its resolved config, the guard against overwriting a finished or
interrupted run, and what ``--resume`` continues from (or that the run is finished already)."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import torch

from exp.training_loop import FINISHED, read_finished, read_last
from utils.atomic_io import write_json
from utils.cli import contradicting_flags, setting_name
from utils.config import Config, read_run_config
from utils.distributed import STATE, barrier
from utils.errors import UserError
from utils.run_log import RunLog


def pick_device(args) -> torch.device:
    if args.use_gpu and torch.cuda.is_available():
        return torch.device(f"cuda:{STATE.local_rank if STATE.enabled else args.gpu}")
    return torch.device("cpu")


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str) -> str | None:
    """SHA-256 of a data file, read once per process for as long as the file is unchanged
    (every repeat of --itr records it)."""
    if not Path(path).is_file():   # a folder of archive files, or windows a loader made itself
        return None
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def _refuse_resume_under_other_flags(args, run_dir: Path) -> None:
    """--resume found nothing under this setting: if the same experiment exists under other flags,
    the user most likely changed a flag by mistake, so say which instead of starting afresh."""
    siblings = []
    for config_path in sorted(run_dir.parent.glob("*/config.json")):
        saved = read_run_config(config_path)
        if saved.get("model_id") == args.model_id and saved.get("task_name") == args.task_name:
            siblings.append((config_path.parent, contradicting_flags(saved, args), saved))
    if siblings and all(differing for _, differing, _ in siblings):
        folder, differing, saved = siblings[0]
        flag = differing[0]
        raise UserError(f"--resume: no run with these flags, but {folder} has --model_id {args.model_id} with "
                        f"{flag}={saved[flag]} (not {getattr(args, flag)}); resume with the flags it was started with")


# defaults that changed after runs were saved: a run resumed without the flag would build another
# model (the highway's weights, an adapted backbone from the pretraining stage) or read other
# columns (the window-cost rule, the persistence input) than it trained with
CHANGED_DEFAULTS = ("highway", "max_window_loss", "persistence_input", "pretrain_stage")


def _same_in_effect(flag: str, then, data) -> bool:
    """Whether today's ``auto`` of a changed default decided on this data what the saved run ran
    with: --persistence_input auto adds no column on a sub-daily grid, as 'off' did."""
    if flag != "persistence_input":
        return False
    added = (getattr(data.report, "persistence_input", None) or {}).get("column") is not None
    return then == ("on" if added else "off")


def open_run(args: Config, data, ii: int, log: RunLog) -> tuple[Config, Path, dict | None, dict | None]:
    """Config and folder of repeat ``ii`` (the Config gains what the data and the repeat decide:
    n_vars, n_classes, feature names, seed, folder name, data file hash); the last.pth state to
    resume from (else None); the finished marker when the run is finished already (else None; its
    last.pth is then not read).

    Without --resume a folder that already holds a run is refused: a re-typed command must never
    overwrite hours of training. With --resume, flags that contradict the saved run are refused.
    """
    # a pretraining corpus is a folder of files (listed in data_report.json), not one file to hash
    cfg = args.derive(n_vars=len(data.features), n_classes=data.n_classes, feature_names=tuple(data.features),
                      seed_used=args.seed + ii, setting=setting_name(args, ii),
                      data_sha256=file_sha256(data.report.file))
    run_dir = Path(args.checkpoints) / cfg.setting
    # a finished run's last.pth is not read (nothing continues it), except in folders from before
    # finished.json, whose last.pth holds the finished flag
    state = None if (run_dir / FINISHED).exists() else read_last(run_dir)
    finished = read_finished(run_dir, state)
    state = None if finished else state
    if args.resume and (state is not None or finished):
        saved = read_run_config(run_dir / "config.json")
        differing = contradicting_flags(saved, args)
        if differing:
            flag = differing[0]
            raise UserError(f"--{flag} {getattr(args, flag)} contradicts the run being resumed in {run_dir} "
                            f"({flag}={saved[flag]}); resume with the flags it was started with")
        for flag in CHANGED_DEFAULTS:
            if flag in ("highway", "pretrain_stage") and args.task_name != "classification":
                continue   # a forecaster has no highway and no stage before it; their "auto" is never resolved
            then, now = saved.get(flag), getattr(args, flag)
            if flag not in args.explicit and then is not None and then != now and not _same_in_effect(flag, then, data):
                then, now = (f"{v:g}" if isinstance(v, float) else v for v in (then, now))
                raise UserError(f"{run_dir} was started with --{flag} {then}, and today's default gives {now}; "
                                f"add --{flag} {then} to the command to resume it as it ran")
    elif args.resume:
        _refuse_resume_under_other_flags(args, run_dir)
    elif state is not None:
        raise UserError(f"{run_dir} already holds a run stopped after epoch {state['epoch'] + 1}; to continue it, "
                        "run the same command with --resume added, or give another --model_id or --des for a new "
                        "one (nothing was changed)")
    elif finished or (run_dir / "metrics.json").exists():
        raise UserError(f"{run_dir} already holds a finished run (its results are in metrics.json); give another "
                        "--model_id or --des for a new one (nothing was changed)")
    barrier()  # every rank has checked the folder before rank 0 writes into it
    run_dir.mkdir(parents=True, exist_ok=True)
    log.attach(run_dir / "train.log")
    if finished:
        return cfg, run_dir, None, finished  # its config.json and data report stay as the run wrote them
    if args.resume and state is None:
        log(f"--resume: nothing to resume in {run_dir} (no finished epoch), starting it")
    write_json(run_dir / "config.json", cfg.to_json())
    write_json(run_dir / "data_report.json", data.report.to_json())
    return cfg, run_dir, state, None
