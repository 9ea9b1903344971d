"""Entry point: ``python run.py --task_name classification --is_training 1 ...`` (see --help)."""
from __future__ import annotations

import sys

from utils.errors import UserError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        # heavy imports inside the guard so that --help and flag errors answer fast
        from exp.exp_classification import train_runs
        from exp.exp_pretrain import pretrain_runs
        from exp.retest import retest_runs
        from exp.summary import compare
        from utils.cli import parse
        from utils.run_log import RunLog

        from utils.atomic_io import disable_writes
        from utils.distributed import init_from_env, shutdown

        args = parse(argv)
        if not init_from_env(args.use_gpu, args.ddp).is_main:
            disable_writes()  # under torchrun only rank 0 writes files
        log = RunLog()
        if args.task_name == "compare":
            for line in compare(args.checkpoints, args.sort_by):
                print(line)
        elif args.task_name == "pretrain":
            if not args.is_training:
                raise UserError("--is_training 0 re-tests classification runs; a pretrain run's test MSE is in "
                                "its metrics.json")
            pretrain_runs(args, log)
        elif args.is_training:
            train_runs(args, log)
        else:
            retest_runs(args, log)
        shutdown()
        return 0
    except UserError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: files already written in the run folder are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
