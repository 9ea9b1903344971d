"""Entry point: ``python run.py --task_name classification --is_training 1 ...`` (see --help)."""
from __future__ import annotations

import sys

from utils.errors import BAD_INPUT_EXIT, SKIPPED_EXIT, TRAINING_FAILURE_EXIT, PretrainingSkipped, TrainingFailure, UserError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    args, log = None, None  # for the interrupt message: what was running, and in which run folder
    try:
        # heavy imports inside the guard so that --help and flag errors answer fast
        from exp.tasks import TASKS
        from utils.cli import parse
        from utils.run_log import RunLog

        from utils.atomic_io import disable_writes
        from utils.distributed import init_from_env, shutdown

        args = parse(argv)
        if not init_from_env(args.use_gpu, args.ddp).is_main:
            disable_writes()  # under torchrun only rank 0 writes files
        log = RunLog()
        TASKS[args.task_name].load()(args, log)
        shutdown()
        return 0
    except PretrainingSkipped as err:
        # not an error: scripts/classification/uea.sh reads this status and trains from scratch
        print(f"pretraining skipped: {err}", file=sys.stderr)
        return SKIPPED_EXIT
    except UserError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return BAD_INPUT_EXIT
    except TrainingFailure as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return TRAINING_FAILURE_EXIT
    except KeyboardInterrupt:
        print(interrupted_message(args, log), file=sys.stderr)
        return 130


def interrupted_message(args, log) -> str:
    folder = log.path.parent if log is not None and log.path is not None else None
    if folder is None:
        return "interrupted: files already written are complete"
    if args is not None and args.is_training and args.task_name != "compare":
        # the same flags map to the same folder, so --resume finds this one
        return (f"interrupted: {folder} keeps every finished epoch; to continue it, run the same command with "
                "--resume added")
    return f"interrupted: files already written in {folder} are complete"


if __name__ == "__main__":
    sys.exit(main())
