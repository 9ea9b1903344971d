"""The shell scripts under scripts/classification, run with PYTHON pointing at a stub that prints
the run.py command it would start (and runs any other script with the real interpreter)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, rain_table
from utils.cli import parse

SCRIPTS = ROOT / "scripts" / "classification"
RECIPES = ROOT / "scripts" / "recipes"
DATA_FLAGS = "--group_col region --target_from tp_mm --rain_threshold 0.5 --horizon 1 --embed none"  # file columns only
FEATURES = ["tp_mm", "rh", "t2m_c"]  # rain_table's numeric columns; region names the groups


@pytest.fixture
def stub_python(tmp_path):
    stub = tmp_path / "python_stub"
    stub.write_text(f"""#!{sys.executable}
import json, os, sys
if sys.argv[1] == "run.py":
    print("run.py " + json.dumps(sys.argv[2:]))
else:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
""")
    stub.chmod(0o755)
    return stub


def run_script(name, stub, tmp_path, **env):
    env = {**os.environ, "PYTHON": str(stub), "ROOT_PATH": str(tmp_path), "DATA_PATH": "rain.csv",
           "DATA_FLAGS": DATA_FLAGS, "SEQ_LEN": "8", "TOKEN_LEN": "4", "CHECKPOINTS": str(tmp_path / "ck"), **env}
    done = subprocess.run(["bash", str(SCRIPTS / name)], env=env, capture_output=True, text=True, timeout=300)
    started = [json.loads(line.removeprefix("run.py ")) for line in done.stdout.splitlines()
               if line.startswith("run.py ")]
    return done, started


def flag(argv, name):
    return argv[argv.index(name) + 1]


def resolved(argv, monkeypatch):
    """The Config run.py would build from a script's command (its recipe path is relative to the repo)."""
    monkeypatch.chdir(ROOT)
    return parse(argv)


@pytest.mark.parametrize("recipe", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_every_recipe_runs_with_data_flags_after_it(recipe, monkeypatch, tmp_path):
    rain_table().to_csv(tmp_path / "rain.csv", index=False)
    argv = ["--config", f"scripts/recipes/{recipe}", "--root_path", str(tmp_path), "--data_path", "rain.csv",
            *DATA_FLAGS.split(), "--seq_len", "8", "--input_token_len", "4", "--pretrain_model_path", "my.pth"]
    cfg = resolved(argv, monkeypatch)
    assert cfg.config == f"scripts/recipes/{recipe}" and cfg.data_path == "rain.csv" and cfg.seq_len == 8
    assert cfg.model_id == recipe.removesuffix(".yaml") or recipe == "seattle_small.yaml"


def test_pretrain_sh_passes_the_data_flags_and_leaves_the_test_period_unscored(tmp_path, stub_python, monkeypatch):
    done, (argv,) = run_script("pretrain.sh", stub_python, tmp_path, EPOCHS="7")
    assert done.returncode == 0, done.stderr
    assert " ".join(argv).count(DATA_FLAGS) == 1
    cfg = resolved(argv, monkeypatch)
    assert (cfg.task_name, cfg.root_path, cfg.data_path, cfg.skip_test) == ("pretrain", str(tmp_path), "rain.csv", True)
    assert (cfg.train_epochs, cfg.patience, cfg.output_token_len) == (7, 5, 4)   # EPOCHS over the recipe's 30


def fake_pretraining(checkpoints, name, data_path="rain.csv", features=FEATURES, finished=True, model_id="pretrain"):
    """A pretraining run folder as far as choosing one reads it: config.json, checkpoint.pth, marker."""
    run_dir = checkpoints / f"pretrain_{model_id}_timer_xl_{name}_0"
    run_dir.mkdir(parents=True)
    root = checkpoints.parent
    (run_dir / "config.json").write_text(json.dumps({
        "task_name": "pretrain", "model_id": model_id, "root_path": str(root), "data_path": data_path,
        "split": "0.7,0.15,0.15", "feature_names": features, "data_sha256": None}))
    (run_dir / "checkpoint.pth").write_bytes(b"")  # never loaded: run.py is the stub
    if finished:
        (run_dir / "finished.json").write_text(json.dumps({"stop_reason": "max epochs"}))
    return run_dir


def test_transfer_sh_starts_from_the_pretraining_run_on_the_same_data_and_features(tmp_path, stub_python,
                                                                                   monkeypatch):
    rain_table().to_csv(tmp_path / "rain.csv", index=False)
    rain_table(seed=1).to_csv(tmp_path / "other.csv", index=False)
    ck = tmp_path / "ck"
    # in name order: the first three are what `ls | head -n 1` used to pick from
    fake_pretraining(ck, "a_other", data_path="other.csv")
    fake_pretraining(ck, "b_fewer_features", features=FEATURES[1:])
    fake_pretraining(ck, "c_unfinished", finished=False)
    fake_pretraining(ck, "e_other_id", model_id="fewshot")
    right = fake_pretraining(ck, "d_right")
    done, (argv,) = run_script("transfer.sh", stub_python, tmp_path)
    assert done.returncode == 0, done.stderr
    assert flag(argv, "--pretrain_model_path") == str(right / "checkpoint.pth")
    assert " ".join(argv).count(DATA_FLAGS) == 1
    cfg = resolved(argv, monkeypatch)
    assert cfg.adaptation and cfg.finetune == "full" and cfg.backbone_lr_scale == 0.1
    done, (argv,) = run_script("linear_probe.sh", stub_python, tmp_path)
    assert resolved(argv, monkeypatch).finetune == "linear_probe"

    # a path given by the user is used as given
    done, (argv,) = run_script("transfer.sh", stub_python, tmp_path, PRETRAIN_MODEL_PATH="my.pth")
    assert flag(argv, "--pretrain_model_path") == "my.pth"

    # none fits: refused, naming each folder found and why it does not fit; nothing started
    (right / "config.json").unlink()
    done, started = run_script("transfer.sh", stub_python, tmp_path)
    assert done.returncode == 2 and started == []
    err = done.stderr
    assert err.startswith(f"error: no pretraining run under {ck} fits {tmp_path / 'rain.csv'} (split 0.7,0.15,0.15) "
                          f"with features {FEATURES}")
    assert f"_a_other_0: pretrained on {tmp_path / 'other.csv'}" in err
    assert f"_b_fewer_features_0: features {FEATURES[1:]} (this run: {FEATURES})" in err
    assert "_c_unfinished_0: not finished" in err and "e_other_id" not in err

    # two fit: refused, naming both
    fake_pretraining(ck, "f_right_again")
    fake_pretraining(ck, "g_right_too")
    done, started = run_script("transfer.sh", stub_python, tmp_path)
    assert done.returncode == 2 and started == []
    assert "2 pretraining runs" in done.stderr and "f_right_again_0/checkpoint.pth" in done.stderr
    assert "set PRETRAIN_MODEL_PATH" in done.stderr


def load_script(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_speed_benchmark_measures_each_precision_it_is_given():
    benchmark = load_script("benchmark")
    for precision in ("fp32", "bf16", "fp16"):
        row = benchmark.measure("tiny", 96, 2, 1, "cpu", "sdpa", precision)
        assert row["precision"] == precision and row["train_samples_per_s"] > 0 and row["fp16_skipped_steps"] >= 0


def test_the_quality_table_reruns_from_one_command():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark_quality.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| seattle_daily")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "1" and float(cells[3].split()[0]) > 0          # one seed; its validation macro-F1
    assert float(cells[4].split()[0]) > 0                               # ... at its decision rule
    persistence, learned = (float(v) for v in cells[5].split(" / "))    # the baselines on the same windows
    assert 0 < persistence < 1 and 0 < learned < 1
    assert cells[6] == "218" and "/" in cells[12]                       # the test windows; persistence beside


def test_the_cross_fitted_threshold_is_never_chosen_on_the_windows_it_decides():
    import numpy as np
    crossfit = load_script("threshold_crossfit").crossfit
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    # the first half separates at 0.35, the second at 0.75: each half gets the other's threshold
    prob = np.array([0.1, 0.3, 0.4, 0.9, 0.5, 0.7, 0.8, 0.9])
    assert crossfit(labels, prob, 1, np.arange(8)).tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    # two stations over the same dates, one after the other: the halves are periods, not stations
    station_a, station_b = prob[[0, 1, 4, 5]], prob[[2, 3, 6, 7]]
    by_station = np.concatenate([station_a, station_b])
    by_station_labels = labels[[0, 1, 4, 5, 2, 3, 6, 7]]
    times = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    decided = crossfit(by_station_labels, by_station, 1, times)
    early = np.array([True, True, False, False, True, True, False, False])
    from exp.threshold import tune_threshold
    t_early, _ = tune_threshold(by_station_labels[early], by_station[early], 1, "macro_f1")
    assert decided[~early].tolist() == (by_station[~early] >= t_early).astype(int).tolist()


def test_the_threshold_check_reads_a_finished_run(tmp_path):
    from run import main
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    assert main(["--task_name", "classification", "--is_training", "1", "--model", "timer_xl_classifier",
                 "--data", "PeruRainfall", "--root_path", str(tmp_path), "--data_path", "rain.csv",
                 *DATA_FLAGS.split(), "--seq_len", "8", "--input_token_len", "4", "--e_layers", "1",
                 "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--train_epochs", "1",
                 "--checkpoints", str(tmp_path / "ck")]) == 0
    (run_dir,) = (tmp_path / "ck").glob("classification_*_exp_0")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "threshold_crossfit.py"), str(run_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{run_dir.name}: validation macro-F1 argmax 0.")
    assert "threshold cross-fitted 0." in done.stdout


def test_results_table_counts_the_classifier_seeds_not_a_pretraining_beside_them(tmp_path):
    def folder(name, model_id, metrics):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"model_id": model_id, "task_name": "x"}))
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))

    scored = {"n": 10, "macro_f1": 0.7, "verification": {"hss": 0.4, "brier_skill": 0.1}, "warnings": [],
              "baselines": {"persistence": {"macro_f1": 0.6, "verification": {"hss": 0.2}}}}
    folder("run_0", "rain", scored)
    folder("run_1", "rain", {**scored, "macro_f1": 0.5, "warnings": ["below persistence"]})
    folder("pretraining", "rain_pretraining", {"test": None})          # the stage's forecaster: no test
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "results_table.py"), str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (row,) = [line for line in out.stdout.splitlines() if line.startswith("| rain ")]
    assert "| 10 | 2 | 0.600 ± 0.100 |" in row and row.endswith("| 1 of 2 |")
    assert "pretraining" not in out.stdout
