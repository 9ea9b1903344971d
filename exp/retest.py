"""``--is_training 0``: re-test a trained run's best checkpoint with the settings in its config.json."""
from __future__ import annotations

import math
from pathlib import Path

from data_provider.data_factory import data_provider
from exp import console
from exp.exp_classification import build_model, evaluate_test
from exp.run_folder import file_sha256, pick_device
from utils.atomic_io import read_json, write_csv, write_json
from utils.cli import contradicting_flags, saved_config
from utils.config import read_run_config
from utils.errors import UserError
from utils.run_log import RunLog

# parts of metrics.json that describe the training session, not the predictions
SESSION_KEYS = ("diagnosis",)


def agree(a, b, tolerance: float = 1e-6) -> bool:
    """Equal structure, equal integers and strings, floats within ``tolerance`` (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(agree(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    return a == b


def find_runs(args) -> list[Path]:
    """Run folders whose config.json matches every flag the user typed (runtime flags aside)."""
    if args.run_dir:
        if not (Path(args.run_dir) / "config.json").exists():
            raise UserError(f"--run_dir {args.run_dir}: no config.json there; give a folder written by a training run")
        return [Path(args.run_dir)]
    root = Path(args.checkpoints)
    candidates = []
    for config_path in sorted(root.glob("*/config.json")):
        saved = read_run_config(config_path)
        if saved.get("model_id") == args.model_id and saved.get("task_name") == args.task_name:
            candidates.append((config_path.parent, saved))
    if not candidates:
        raise UserError(f"--is_training 0: no trained run with --model_id {args.model_id} under {root}; "
                        "train it first or give --run_dir")
    matches, conflicts = [], []
    for run_dir, saved in candidates:
        differing = contradicting_flags(saved, args)
        (conflicts if differing else matches).append((run_dir, differing, saved))
    if not matches:
        run_dir, differing, saved = conflicts[0]
        flag = differing[0]
        raise UserError(f"--{flag} {getattr(args, flag)} contradicts the saved run {run_dir} ({flag}={saved[flag]}); "
                        "drop the flag to re-test with the saved settings")
    return [run_dir for run_dir, _, _ in matches]


def keys_of(metrics: dict, older: dict) -> dict:
    """``metrics`` restricted to the keys ``older`` has, one level into a dict both hold."""
    kept = {}
    for key, value in metrics.items():
        if key in older:
            both_dicts = isinstance(value, dict) and isinstance(older[key], dict)
            kept[key] = {k: v for k, v in value.items() if k in older[key]} if both_dicts else value
    return kept


def retest_runs(args, log: RunLog) -> list[Path]:
    run_dirs = find_runs(args)
    for run_dir in run_dirs:
        log.attach(run_dir / "train.log")
        saved = read_run_config(run_dir / "config.json")
        # a folder written before a flag existed re-tests with that flag's default
        cfg = saved_config(saved, runtime=args)
        log(f">>> re-test {run_dir}")
        data = data_provider(cfg)
        if list(data.features) != list(saved["feature_names"]):
            raise UserError(f"{data.report.file}: the features now are {data.features}, the run was trained on "
                            f"{saved['feature_names']}; restore the data file the run was trained on")
        if file_sha256(data.report.file) != saved.get("data_sha256"):
            log(f"WARNING: {data.report.file} changed since training; the metrics will differ")
        metrics, predictions, _ = evaluate_test(build_model(cfg), data, cfg, run_dir, pick_device(cfg))
        write_json(run_dir / "metrics_retest.json", metrics)
        write_csv(run_dir / "predictions_retest.csv", predictions)
        for line in console.metrics_table(metrics, "re-test"):
            log(line)
        if (run_dir / "metrics.json").exists():
            # data_warnings describe the data, not the model, and a newer version may add a line
            trained = {k: v for k, v in read_json(run_dir / "metrics.json").items()
                       if k not in SESSION_KEYS and k != "data_warnings"}
            # a key newer than the trained run's metrics.json (probability_warnings, or
            # threshold_tuned's validation_macro_f1) is not a difference
            again = keys_of(read_json(run_dir / "metrics_retest.json"), trained)
            if trained == again:
                log("re-test metrics are identical to metrics.json from training")
            elif agree(trained, again):
                log("re-test metrics are identical to metrics.json from training in every count and equal to 1e-6 in "
                    "the probability scores (float rounding of a freshly built model)")
            else:
                log("WARNING: re-test metrics differ from metrics.json from training (see metrics_retest.json)")
        log(f"run folder: {run_dir}")
    return run_dirs
