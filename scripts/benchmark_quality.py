"""The quality table of docs/results.md from one command: every real rain task, trained with the
defaults (plus --flags), N seeds, beside every baseline on the same test windows.

    python scripts/benchmark_quality.py [--itr 3] [--checkpoints DIR] [--flags "..."] [--tag NAME]
                                        [--only id,id] [--extra_dir DIR] [--validation_only] [--quick]

Each task runs ``python run.py`` as a user would (``--resume``: a finished run is read, not
retrained). The table gives, per task: the validation macro-F1 of the tested epoch (mean over
seeds; what defaults are chosen by), then the test figures (macro-F1, HSS, ETS, PSS, Brier skill:
mean ± std over seeds) and every baseline's test macro-F1 / HSS. Validation is given twice: at the
tested epoch's argmax (what early stopping watched) and at the run's decision rule (the threshold
tuned on validation, where there is one), beside the persistence and learned baselines on the same
validation windows (their thresholds tuned there too), so that the model and the baselines are
compared on validation by the same rule. ``--validation_only`` prints the validation columns
alone: use it while choosing, so that no test figure is seen before the choice is made. ``--quick``: the Seattle task, 1 seed, 1 epoch, in a temporary folder (a smoke check).

Tasks whose file is missing are skipped with a line. ``--extra_dir`` holds the larger tables that
are not shipped (docs/results.md says where each comes from).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from exp.training_loop import tested_validation_value  # noqa: E402
from results_table import mean_std  # noqa: E402
from utils.config import read_run_config  # noqa: E402

SAMPLE = "datasets/sample"
DAILY = "--target_from precipitation --rain_threshold 0 --horizon 1 --seq_len 28 --input_token_len 7"
HOURLY = "--target_from precip --rain_threshold 0 --horizon 24 --seq_len 168 --input_token_len 24"
# (id, kind, folder: "sample" or "extra", file, flags)
TASKS = [
    ("seattle_daily", "daily, one station", "sample", "seattle_weather.csv", DAILY),
    ("two_stations_daily", "daily, two stations", "sample", "weather_2stations_daily.csv", f"{DAILY} --group_col location"),
    ("jfk_hourly_2013", "hourly, one station", "sample", "jfk_weather_hourly_2013.csv", HOURLY),
    ("ewr_lga_hourly_2013", "hourly, two stations", "sample", "ewr_lga_weather_hourly_2013.csv",
     f"{HOURLY} --group_col origin"),
    # not shipped: all three airports (the two above and JFK), docs/results.md says where it comes from
    ("nyc_airports_hourly_2013", "hourly, three stations", "extra", "nyc_airports_weather_hourly_2013.csv",
     f"{HOURLY} --group_col origin"),
]
BASELINES = ("persistence", "climatology", "learned", "majority")


def run_task(task: tuple, checkpoints: Path, itr: int, flags: str, tag: str, extra_dir: Path | None) -> str | None:
    model_id, _, where, file, task_flags = task
    folder = ROOT / SAMPLE if where == "sample" else extra_dir
    if folder is None or not (folder / file).is_file():
        return f"skipped {model_id}: no {file} (give --extra_dir)" if where == "extra" else f"skipped {model_id}"
    argv = [sys.executable, str(ROOT / "run.py"), "--task_name", "classification", "--is_training", "1",
            "--model", "timer_xl_classifier", "--data", "PeruRainfall", "--root_path", str(folder),
            "--data_path", file, *shlex.split(task_flags), *shlex.split(flags), "--itr", str(itr),
            "--checkpoints", str(checkpoints), "--model_id", f"{model_id}{tag}", "--resume"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        return f"{model_id}: run.py exit {result.returncode}: {result.stderr.strip().splitlines()[-1:]}"
    return None


def seed_runs(checkpoints: Path, model_id: str) -> list[Path]:
    """The classification seed runs of one model id (not their ensemble, not a pretraining run of
    the same id), finished."""
    runs = []
    for config_path in sorted(checkpoints.glob("classification_*/config.json")):
        if read_run_config(config_path).get("model_id") == model_id and (config_path.parent / "metrics.json").exists():
            runs.append(config_path.parent)
    return runs


def decision_validation_value(run_dir: Path) -> float:
    """Validation macro-F1 by the run's own decision rule: at its tuned threshold (metrics.json's
    ``threshold_tuned``, a validation figure), else at the tested epoch's argmax."""
    tuned = json.loads((run_dir / "metrics.json").read_text()).get("threshold_tuned") or {}
    value = tuned.get("validation_macro_f1")
    return float(value) if value is not None else tested_validation_value(run_dir, "val_macro_f1")


def baselines_on_validation(task: tuple, flags: str, extra_dir: Path | None) -> dict[str, float]:
    """Persistence's and the learned baseline's validation macro-F1 on the task's own validation
    windows (read with the task's data flags and --flags)."""
    from data_provider.data_factory import data_provider
    from exp.evaluation import baselines_for
    from utils.cli import parse

    _, _, where, file, task_flags = task
    folder = ROOT / SAMPLE if where == "sample" else extra_dir
    if folder is None or not (folder / file).is_file():
        return {}
    cfg = parse(["--root_path", str(folder), "--data_path", file, *shlex.split(task_flags), *shlex.split(flags)])
    scores = baselines_for(data_provider(cfg), "val", 1, "macro_f1")
    return {name: scores[name]["macro_f1"] for name in ("persistence", "learned") if name in scores}


def table(checkpoints: Path, model_ids: list[tuple[str, str]], validation_only: bool,
          validation_baselines: dict[str, dict[str, float]] | None = None) -> list[str]:
    validation_baselines = validation_baselines or {}
    head = ["task", "kind", "seeds", "validation macro-F1 (tested epoch, argmax)", "validation macro-F1 (decision rule)",
            "persistence / learned on validation"]
    if not validation_only:
        head += ["test n", "model macro-F1", "HSS", "ETS", "PSS", "Brier skill",
                 *(f"{b} macro-F1 / HSS" for b in BASELINES), "beats every baseline (seeds)"]
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model_id, kind in model_ids:
        runs = seed_runs(checkpoints, model_id)
        if not runs:
            continue
        on_val = validation_baselines.get(model_id, {})
        cells = [model_id, kind, str(len(runs)), mean_std([tested_validation_value(r, "val_macro_f1") for r in runs]),
                 mean_std([decision_validation_value(r) for r in runs]),
                 " / ".join(f"{on_val[b]:.3f}" if b in on_val else "-" for b in ("persistence", "learned"))]
        if not validation_only:
            metrics = [json.loads((r / "metrics.json").read_text()) for r in runs]
            verification = [m.get("verification") or {} for m in metrics]
            cells += [str(metrics[0]["n"]), mean_std([m["macro_f1"] for m in metrics]),
                      *(mean_std([v.get(k) for v in verification]) for k in ("hss", "ets", "pss", "brier_skill"))]
            for name in BASELINES:
                base = metrics[0]["baselines"].get(name)
                hss = (base or {}).get("verification", {}).get("hss") if base else None
                cells.append("-" if base is None else f"{base['macro_f1']:.3f}" + (f" / {hss:.3f}" if hss is not None
                                                                                   else ""))
            cells.append(f"{sum(not m.get('warnings') for m in metrics)} of {len(metrics)}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--itr", type=int, default=3)
    p.add_argument("--checkpoints", default="checkpoints/quality/")
    p.add_argument("--flags", default="", help="flags added to every task (e.g. to compare a default on validation)")
    p.add_argument("--tag", default="", help="appended to each model id, so runs with other --flags stay apart")
    p.add_argument("--only", default=None, help="comma-separated task ids")
    p.add_argument("--extra_dir", default=None)
    p.add_argument("--validation_only", action="store_true")
    p.add_argument("--quick", action="store_true")
    opts = p.parse_args(argv)
    tasks = [t for t in TASKS if opts.only is None or t[0] in opts.only.split(",")]
    flags, itr, checkpoints = opts.flags, opts.itr, Path(opts.checkpoints)
    scratch = None
    if opts.quick:
        scratch = tempfile.TemporaryDirectory()
        tasks, itr, flags, checkpoints = TASKS[:1], 1, f"{flags} --train_epochs 1", Path(scratch.name)
    checkpoints = checkpoints if checkpoints.is_absolute() else ROOT / checkpoints
    extra = Path(opts.extra_dir).resolve() if opts.extra_dir else None
    failed = False
    for task in tasks:
        print(f"running {task[0]} ({task[1]}), {itr} seed(s)", flush=True)
        problem = run_task(task, checkpoints, itr, flags, opts.tag, extra)
        if problem:
            print(problem)
            failed = failed or "exit" in problem
    print(f"defaults plus: {flags.strip() or '(nothing)'}; runs in {checkpoints}")
    on_val = {t[0] + opts.tag: baselines_on_validation(t, flags, extra) for t in tasks}
    print("\n".join(table(checkpoints, [(t[0] + opts.tag, t[1]) for t in tasks], opts.validation_only, on_val)))
    if scratch is not None:
        scratch.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
