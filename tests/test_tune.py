"""--task_name tune as a user runs it: a tiny search on a tiny table, its recipe, resume, and that
only validation figures choose."""
import sys

import pandas as pd
import pytest

from conftest import rain_table
from run import main
from utils.cli import parse
from utils.config import read_run_config

optuna = pytest.importorskip("optuna")

DATA = ["--group_col", "region", "--target_from", "tp_mm", "--rain_threshold", "0.5", "--horizon", "2",
        "--seq_len", "8", "--input_token_len", "4", "--batch_size", "32", "--train_epochs", "1", "--model_id", "rain",
        "--monitor", "val_loss"]  # the figures below are losses


@pytest.fixture
def workspace(tmp_path):
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    return tmp_path


def tune_argv(ws, checkpoints, n_trials, *extra):
    return ["--task_name", "tune", "--n_trials", str(n_trials), "--root_path", str(ws), "--data_path", "rain.csv",
            "--checkpoints", str(checkpoints), *DATA, *extra]


def progress_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("trial ") and " -> " in line]


def test_a_tiny_search_leaves_trials_a_recipe_that_trains_and_resumes(workspace, capsys):
    assert main(tune_argv(workspace, workspace / "ck", 3)) == 0
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in progress_lines(out)] == ["trial 0 (1/3)", "trial 1 (2/3)", "trial 2 (3/3)"]
    folder = workspace / "ck" / "tune_rain"
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 3 and (trials["state"] == "complete").all()
    assert {"learning_rate", "e_layers", "d_model", "dropout", "weight_decay"} <= set(trials.columns)
    # the objective is the validation value the training loop recorded for the tested epoch
    summary = pd.read_csv(folder / "summary.csv").set_index("run_dir")
    assert trials["val_loss"].tolist() == summary.loc[trials["run_dir"], "val_monitor"].tolist()

    best = trials.loc[trials["val_loss"].idxmin()]
    recipe = parse(["--config", str(folder / "best.yaml")])
    assert recipe.pretrain_stage == "off"          # the trials trained from scratch, and so does the recipe
    tuned = parse(tune_argv(workspace, workspace / "ck", 3))
    for flag in ("root_path", "data_path", "group_col", "target_from", "rain_threshold", "horizon", "seq_len",
                 "input_token_len", "batch_size", "train_epochs", "seed"):
        assert getattr(recipe, flag) == getattr(tuned, flag), flag
    assert recipe.task_name == "classification" and recipe.preset == "none"
    for flag in ("learning_rate", "e_layers", "d_model", "dropout", "weight_decay"):
        assert getattr(recipe, flag) == best[flag], flag
    assert recipe.d_ff == 2 * recipe.d_model and recipe.n_heads == 4

    # the recipe trains the best trial's configuration again: same seed, same validation value
    assert main(["--config", str(folder / "best.yaml"), "--checkpoints", str(workspace / "again")]) == 0
    again = pd.read_csv(workspace / "again" / "summary.csv")
    assert again["val_monitor"].tolist() == pytest.approx([best["val_loss"]], rel=1e-9)

    # a process killed mid-trial leaves it RUNNING; the same command with --n_trials 4 runs one more
    optuna.load_study(study_name="rain", storage=f"sqlite:///{folder / 'study.db'}").ask()
    capsys.readouterr()
    assert main(tune_argv(workspace, workspace / "ck", 4)) == 0
    out = capsys.readouterr().out
    assert "trial 3 was interrupted: marked failed, not counted toward --n_trials" in out
    assert [line.split(":")[0] for line in progress_lines(out)] == ["trial 4 (4/4)"]
    trials = pd.read_csv(folder / "trials.csv")
    assert trials["state"].tolist() == ["complete"] * 3 + ["interrupted", "complete"]
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 4


def test_a_given_flag_is_held_and_test_figures_never_choose(workspace, capsys, monkeypatch):
    import exp.exp_classification as classification

    argv = ["--learning_rate", "0.001", "--monitor", "val_macro_f1"]
    assert main(tune_argv(workspace, workspace / "plain", 2, *argv)) == 0
    out = capsys.readouterr().out
    assert "held fixed: learning_rate 0.001 (given)" in out and "class_weights {none, balanced}" in out

    real = classification.score_test

    def absurd(*args, **kwargs):  # test figures no validation-only search could live with
        metrics, frame = real(*args, **kwargs)
        return {**metrics, "accuracy": -7.0, "macro_f1": -7.0, "f1": -7.0}, frame

    monkeypatch.setattr(classification, "score_test", absurd)
    assert main(tune_argv(workspace, workspace / "absurd", 2, *argv)) == 0
    assert (pd.read_csv(workspace / "absurd" / "tune_rain" / "summary.csv")["accuracy"] == -7.0).all()

    plain, skewed = (pd.read_csv(workspace / ck / "tune_rain" / "trials.csv") for ck in ("plain", "absurd"))
    assert "learning_rate" not in plain.columns
    pd.testing.assert_frame_equal(plain.drop(columns="run_dir"), skewed.drop(columns="run_dir"))
    for run_dir in plain["run_dir"]:
        saved = read_run_config(f"{run_dir}/config.json")
        assert saved["learning_rate"] == 0.001 and "learning_rate" in saved["explicit"]
    assert parse(["--config", str(workspace / "plain" / "tune_rain" / "best.yaml")]).learning_rate == 0.001


def test_without_optuna_the_task_says_how_to_get_it(workspace, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert main(tune_argv(workspace, workspace / "ck", 1)) == 2
    assert capsys.readouterr().err.strip() == "error: --task_name tune needs optuna: pip install optuna"


def test_a_trial_that_fails_in_training_is_recorded_and_counted(workspace, capsys, monkeypatch):
    import exp.tune as tune
    from utils.errors import TrainingFailure

    def diverges(cfg, log, data=None):
        raise TrainingFailure("non-finite training loss at epoch 1")

    monkeypatch.setattr(tune, "train_runs", diverges)
    assert main(tune_argv(workspace, workspace / "ck", 1)) == 3   # no trial finished: exit status 3
    assert "trial 0 (1/1):" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(tune_argv(workspace, workspace / "ck", 2)) == 0   # the failed trial counts: one more runs
    trials = pd.read_csv(workspace / "ck" / "tune_rain" / "trials.csv")
    assert trials["state"].tolist() == ["failed", "complete"]
    assert trials["note"][0] == "non-finite training loss at epoch 1"


def test_the_space_holds_what_the_flags_decide(workspace):
    from exp.tune import search_space, trial_options

    def space(*extra):
        drawn, held = search_space(parse(tune_argv(workspace, workspace / "ck", 1, *extra)), optuna)
        return drawn, " ".join(held)

    drawn, held = space("--preset", "small")
    assert "e_layers" not in drawn and "d_model" not in drawn and "e_layers 4 (--preset small)" in held
    assert "class_weights" not in drawn and "--monitor val_loss is weighted by the class weights" in held
    drawn, _ = space("--n_heads", "16", "--monitor", "val_accuracy")
    assert drawn["d_model"].choices == (64, 128) and "class_weights" in drawn
    cfg = parse(tune_argv(workspace, workspace / "ck", 1, "--n_heads", "16"))
    assert trial_options({"d_model": 64}, cfg) == {"preset": "none", "e_layers": cfg.e_layers, "d_model": 64,
                                                   "d_ff": 128, "n_heads": 16}
    drawn, held = space("--highway", "on")
    assert "highway" not in drawn and "highway on (given)" in held
    assert drawn["input_noise"].low == 0.0 and drawn["input_noise"].high == 0.5
    drawn, _ = space()
    assert drawn["highway"].choices == ("off", "on")
