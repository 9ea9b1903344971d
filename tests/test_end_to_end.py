"""run.py as a user runs it: train + test, re-test, repeatability, and one-line errors."""
import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from conftest import ROOT, rain_table
from data_provider.base import read_data_report
from run import main
from utils.config import read_run_config

TINY = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "16",
        "--seq_len", "8", "--input_token_len", "4", "--train_epochs", "3", "--patience", "2", "--cosine"]


@pytest.fixture
def workspace(tmp_path):
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    return tmp_path


def train_argv(ws, *extra):
    return ["--task_name", "classification", "--is_training", "1", "--model", "timer_xl_classifier",
            "--data", "PeruRainfall", "--root_path", str(ws), "--data_path", "rain.csv", "--group_col", "region",
            "--target_from", "tp_mm", "--rain_threshold", "0.5", "--horizon", "2",
            "--checkpoints", str(ws / "ck"), "--model_id", "tiny", *TINY, *extra]


def only_run(ws):
    (run_dir,) = [p for p in (ws / "ck").iterdir() if p.is_dir()]
    return run_dir


def test_train_writes_a_self_explaining_run_folder_and_retest_reproduces_it(workspace, capsys):
    assert main(train_argv(workspace)) == 0
    out = capsys.readouterr().out
    run_dir = only_run(workspace)
    assert out.strip().splitlines()[-1] == f"run folder: {run_dir}"
    assert run_dir.name.startswith("classification_tiny_timer_xl_classifier_PeruRainfall_rain_tp_mm-gt0.5-h2_sl8_it4_")
    for name in ("checkpoint.pth", "config.json", "data_report.json", "epochs.csv", "metrics.json",
                 "predictions.csv", "train.log", "curves.png", "confusion_matrix.png", "reliability.png"):
        assert (run_dir / name).is_file(), name

    state = torch.load(run_dir / "checkpoint.pth", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    config = read_run_config(run_dir / "config.json")
    # 3 file columns after the calendar pairs of an hourly grid (--embed timeF, the default)
    assert config["e_layers"] == 1 and config["n_vars"] == 3 + 4 and config["lradj"] == "cosine"
    assert config["feature_names"][:4] == ["calendar_hour_sin", "calendar_hour_cos", "calendar_doy_sin",
                                           "calendar_doy_cos"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cm = metrics["confusion_matrix"]
    assert metrics["accuracy"] == (cm[0][0] + cm[1][1]) / sum(map(sum, cm))
    assert set(metrics["baselines"]) == {"majority", "persistence", "climatology", "learned"}
    assert metrics["n"] == json.loads((run_dir / "data_report.json").read_text())["splits"]["test"]["windows"]
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert list(epochs.columns[:6]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "val_macro_f1", "lr"]
    # the default --monitor: the first epoch with the best validation macro-F1 is the one tested
    assert metrics["diagnosis"]["best_epoch"] == int(epochs.loc[epochs["val_macro_f1"].idxmax(), "epoch"])
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert len(predictions) == metrics["n"]
    assert list(predictions.columns) == ["date", "group", "true_label", "predicted_label", "prob_0", "prob_1"]
    assert (predictions["true_label"] == predictions["predicted_label"]).mean() == metrics["accuracy"]
    assert "baseline: persistence" in out and "epoch   1 |" in (run_dir / "train.log").read_text()

    # re-test with no model flags at all: found through config.json, same numbers exactly
    assert main(["--is_training", "0", "--checkpoints", str(workspace / "ck"), "--model_id", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "re-test metrics are identical to metrics.json from training" in out
    retest = json.loads((run_dir / "metrics_retest.json").read_text())
    metrics.pop("diagnosis")
    assert retest == metrics


def test_a_run_folder_from_before_typed_configs_still_retests(workspace, capsys):
    """config.json was once one flat mapping of every option, and lacked the flags added since."""
    assert main(train_argv(workspace, "--train_epochs", "1")) == 0
    run_dir = only_run(workspace)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format"] == 2 and config["model"]["e_layers"] == 1 and config["data"]["seq_len"] == 8
    flat = read_run_config(run_dir / "config.json")
    for flag in ("replace", "duplicates", "max_missing_share"):   # not in config.json files of that time
        del flat[flag]
    (run_dir / "config.json").write_text(json.dumps(flat))
    capsys.readouterr()
    assert main(["--is_training", "0", "--checkpoints", str(workspace / "ck"), "--model_id", "tiny"]) == 0
    assert "re-test metrics are identical to metrics.json from training" in capsys.readouterr().out


def test_retest_refuses_a_flag_that_contradicts_the_saved_run(workspace, capsys):
    assert main(train_argv(workspace, "--train_epochs", "1")) == 0
    capsys.readouterr()
    code = main(["--is_training", "0", "--checkpoints", str(workspace / "ck"), "--model_id", "tiny", "--d_model", "32"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--d_model 32 contradicts the saved run" in err and "d_model=16" in err


def test_same_seed_same_metrics(workspace):
    first, second = workspace / "a", workspace / "b"
    for ck in (first, second):
        assert main(train_argv(workspace, "--checkpoints", str(ck))) == 0
    read = [json.loads(next(ck.glob("*/metrics.json")).read_text()) for ck in (first, second)]
    for metrics in read:
        metrics["diagnosis"].pop("cost")  # wall time, throughput and memory: the only things that vary
    assert read[0] == read[1]
    epochs = [pd.read_csv(next(ck.glob("*/epochs.csv"))).drop(columns=["seconds", "train_seconds"])
              for ck in (first, second)]
    pd.testing.assert_frame_equal(*epochs)


def test_itr_runs_one_folder_per_seed(workspace):
    assert main(train_argv(workspace, "--itr", "2", "--train_epochs", "1")) == 0
    folders = sorted(p.parent.name for p in (workspace / "ck").glob("*/config.json"))
    assert [f[-2:] for f in folders] == ["_0", "_1"]
    seeds = [read_run_config(workspace / "ck" / f / "config.json")["seed_used"] for f in folders]
    assert seeds == [2021, 2022]


def test_the_shipped_sample_trains(tmp_path):
    argv = ["--root_path", str(ROOT / "datasets" / "sample"), "--data_path", "seattle_weather.csv",
            "--target_from", "precipitation", "--rain_threshold", "0", "--checkpoints", str(tmp_path),
            "--model_id", "sample", *TINY, "--train_epochs", "1"]
    assert main(argv) == 0
    report = read_data_report(json.loads(next(tmp_path.glob("*/data_report.json")).read_text()))  # data_report.json read back as its class
    assert report.skipped_non_numeric == ["weather"]
    assert report.splits["train"].windows > 900


@pytest.mark.parametrize("argv, message", [
    (["--data_path", "missing.csv"], "missing.csv: file not found; check --root_path and --data_path"),
    (["--seq_len", "0"], "--seq_len must be a positive whole number, got 0"),
    (["--rain_threshold", "0.5", "--cosine", "--lradj", "type1"], "--cosine contradicts --lradj type1"),
    (["--no_such_flag"], "unrecognized arguments: --no_such_flag"),
])
def test_bad_input_is_one_line_without_traceback(workspace, argv, message):
    base = ["--root_path", str(workspace), "--data_path", "rain.csv", "--group_col", "region",
            "--target_from", "tp_mm", "--rain_threshold", "0.5", "--checkpoints", str(workspace / "ck")]
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *base, *argv],
                            capture_output=True, text=True, cwd=workspace)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_threshold_tuned_on_validation_accuracy_still_records_its_validation_macro_f1(workspace):
    import importlib.util
    spec = importlib.util.spec_from_file_location("benchmark_quality", ROOT / "scripts" / "benchmark_quality.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert main(train_argv(workspace, "--monitor", "val_accuracy", "--threshold_tuning", "on")) == 0
    run_dir = only_run(workspace)
    tuned = json.loads((run_dir / "metrics.json").read_text())["threshold_tuned"]
    assert tuned["chosen_on"] == "validation accuracy" and 0 <= tuned["validation_macro_f1"] <= 1
    # it is the macro-F1 of the validation windows decided at the tuned threshold
    from sklearn.metrics import f1_score
    from data_provider.data_factory import data_provider
    from exp.evaluation import predict
    from exp.exp_classification import build_model, load_weights
    from utils.cli import saved_config
    from utils.metrics import softmax
    cfg = saved_config(read_run_config(run_dir / "config.json"))
    model, val = build_model(cfg), data_provider(cfg).splits["val"]
    load_weights(model, run_dir)
    _, logits = predict(model, val, cfg.batch_size, torch.device("cpu"))
    decided = (softmax(logits)[:, 1] >= tuned["threshold"]).astype(int)
    assert tuned["validation_macro_f1"] == pytest.approx(f1_score(val.labels, decided, average="macro"), abs=1e-9)
    # the benchmark's decision-rule column reads it instead of falling back to the argmax figure
    assert benchmark.decision_validation_value(run_dir) == tuned["validation_macro_f1"]


def test_a_run_tuned_on_accuracy_before_its_validation_macro_f1_was_recorded_retests_identical(workspace, capsys):
    assert main(train_argv(workspace, "--monitor", "val_accuracy", "--threshold_tuning", "on")) == 0
    run_dir = only_run(workspace)
    older = json.loads((run_dir / "metrics.json").read_text())
    for key in ("threshold_tuned", "decision_rule"):           # metrics.json as such a run wrote it
        del older[key]["validation_macro_f1"]
    older["data_warnings"] = ["a line on the data"]    # describes the data; versions add and word lines
    (run_dir / "metrics.json").write_text(json.dumps(older))
    capsys.readouterr()
    assert main(["--is_training", "0", "--checkpoints", str(workspace / "ck"), "--model_id", "tiny"]) == 0
    assert "re-test metrics are identical to metrics.json from training" in capsys.readouterr().out


def test_without_a_terminal_a_long_epoch_prints_progress_lines(workspace, capsys, monkeypatch):
    """A log file or a notebook's `!python` gets no progress bar; a line now and then says how far."""
    import exp.training_loop as training_loop
    from tqdm import tqdm
    monkeypatch.setattr(training_loop, "PROGRESS_EVERY_S", 0.0)      # every step, on this tiny table
    # no terminal, whatever runs the tests (pytest -s in a terminal would draw the bar)
    monkeypatch.setattr(training_loop, "tqdm", lambda *args, **named: tqdm(*args, **{**named, "disable": True}))
    assert main(train_argv(workspace, "--train_epochs", "1")) == 0
    out = capsys.readouterr().out
    assert "epoch 1: step 1 of " in out and "left in this epoch" in out
    assert "epoch 1: step 1 of " in (only_run(workspace) / "train.log").read_text()
    assert training_loop.progress_line(0, 300, 900, 100.0) == (
        "epoch 1: step 300 of 900 (3.00 steps/s), about 3 min left in this epoch")
