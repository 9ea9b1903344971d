"""The linear highway: its inputs, its start from a logistic regression, and runs that use it."""
import json
import types

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from data_provider.windows import WindowSet
from exp.highway import start_highway, window_summaries
from models import timer_xl_classifier
from run import main
from conftest import rain_table
from test_end_to_end import only_run, train_argv


@pytest.fixture
def workspace(tmp_path):
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    return tmp_path


def classifier(highway="on", seq_len=8, n_vars=2, n_classes=2):
    return timer_xl_classifier.Model(types.SimpleNamespace(
        input_token_len=4, output_token_len=4, d_model=16, n_heads=2, e_layers=1, d_ff=32, dropout=0.0,
        activation="relu", use_norm=False, covariate=False, seq_len=seq_len, n_vars=n_vars,
        n_classes=n_classes, pooling="last", highway=highway))


def test_summaries_are_last_step_last_token_mean_and_window_mean():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 8, 2)  # variable 0: 0,2,..,14; variable 1: 1,3,..,15
    s = classifier().summaries(x)
    assert s.tolist() == [[14.0, 15.0, 11.0, 12.0, 7.0, 8.0]]  # last; mean of the last 4 steps; mean of all 8


def test_padding_steps_are_left_out_of_the_summaries():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 8, 2)
    pad = torch.tensor([[True] * 6 + [False] * 2])  # only the last two steps are real
    s = classifier().summaries(x, pad)
    assert s.tolist() == [[14.0, 15.0, 13.0, 14.0, 13.0, 14.0]]


def test_without_highway_the_model_has_no_highway_weights():
    assert not any(k.startswith("highway.") for k in classifier("off").state_dict())
    assert {"highway.weight", "highway.bias"} <= set(classifier("on").state_dict())


def windows(n=200, seq_len=8, seed=0):
    rng = np.random.default_rng(seed)
    data = torch.tensor(rng.normal(size=(n + seq_len, 2)), dtype=torch.float32)
    ends = np.arange(seq_len - 1, n + seq_len - 1)
    labels = (data[ends, 0].numpy() + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    return WindowSet("train", data, ends, labels, seq_len)


def test_the_model_starts_as_the_logistic_regression_it_was_fitted_from():
    model, train = classifier().eval(), windows()
    line = start_highway(model, train, None, seed=0)
    assert "logistic regression on 6 window summaries of 200 train windows" in line
    reference = LogisticRegression(max_iter=2000, random_state=0).fit(window_summaries(model, train), train.labels)
    with torch.no_grad():
        probs = torch.softmax(model(*train.inputs(np.arange(len(train)))), dim=1).numpy()
    expected = reference.predict_proba(window_summaries(model, train))
    np.testing.assert_allclose(probs, expected, atol=1e-4)


def test_class_weights_enter_the_starting_regression():
    model_plain, model_weighted, train = classifier(), classifier(), windows()
    start_highway(model_plain, train, None, seed=0)
    start_highway(model_weighted, train, torch.tensor([1.0, 5.0]), seed=0)
    with torch.no_grad():
        x = train.inputs(np.arange(len(train)))
        share_plain = torch.softmax(model_plain(*x), 1)[:, 1].mean()
        share_weighted = torch.softmax(model_weighted(*x), 1)[:, 1].mean()
    assert share_weighted > share_plain + 0.1  # class 1 weighed 5x: forecast more often


def test_a_highway_run_is_recorded_and_retests_to_the_same_numbers(workspace, capsys):
    assert main(train_argv(workspace, "--highway", "on")) == 0
    out = capsys.readouterr().out
    assert "highway: started from a logistic regression on 21 window summaries" in out  # 7 variables x 3
    run_dir = only_run(workspace)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["highway"] == "on"
    state = torch.load(run_dir / "checkpoint.pth", weights_only=True)
    assert state["highway.weight"].shape == (2, 21)
    trained = json.loads((run_dir / "metrics.json").read_text())
    argv = train_argv(workspace)
    argv[argv.index("--is_training") + 1] = "0"
    assert main(argv) == 0  # re-test reads the highway from config.json, not from this command's default
    assert "re-test metrics are identical to metrics.json from training" in capsys.readouterr().out
    assert json.loads((run_dir / "metrics_retest.json").read_text())["macro_f1"] == trained["macro_f1"]


def test_the_start_is_scored_as_epoch_0_and_tested_when_no_epoch_beats_it(workspace, capsys):
    # a learning rate too small to move anything: no epoch can beat the fitted start on validation
    assert main(train_argv(workspace, "--highway", "on", "--learning_rate", "1e-12", "--train_epochs", "3",
                           "--patience", "2")) == 0
    out = capsys.readouterr().out
    assert "epoch   0 | the start, before any step | val loss" in out
    assert "tested epoch 0 (the start: no epoch of training beat the highway's regression on validation)" in out
    run_dir = only_run(workspace)
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert epochs["epoch"].tolist() == [0, 1, 2] and epochs["best"].tolist() == [True, False, False]
    assert json.loads((run_dir / "finished.json").read_text())["tested_epoch"] == 0
    diagnosis = json.loads((run_dir / "metrics.json").read_text())["diagnosis"]
    assert diagnosis["best_epoch"] == 0 and diagnosis["epochs_run"] == 2
    argv = train_argv(workspace)
    argv[argv.index("--is_training") + 1] = "0"
    assert main(argv) == 0
    assert "re-test metrics are identical to metrics.json from training" in capsys.readouterr().out


def test_without_the_highway_there_is_no_epoch_0(workspace):
    assert main(train_argv(workspace, "--highway", "off")) == 0
    assert pd.read_csv(only_run(workspace) / "epochs.csv")["epoch"].iloc[0] == 1


def test_a_run_saved_before_these_flags_reads_as_it_ran():
    from utils.config import flat_saved

    then = {"highway": "off", "input_noise": 0.0, "mixup": 0.0, "derived_columns": "keep", "persistence_input": "off"}
    for saved in ({"format": 2, "model": {"model": "timer_xl_classifier"}}, {"model": "timer_xl_classifier"}):
        assert {k: flat_saved(saved)[k] for k in then} == then
    assert flat_saved({"format": 2, "data": {"derived_columns": "drop"}})["derived_columns"] == "drop"


def test_a_station_table_gets_the_highway_by_default_and_config_json_says_so(workspace, capsys):
    assert main(train_argv(workspace)) == 0
    assert "highway: on (--highway auto: a station table trained from scratch" in capsys.readouterr().out
    run_dir = only_run(workspace)
    assert json.loads((run_dir / "config.json").read_text())["model"]["highway"] == "on"   # re-test reads this
    assert pd.read_csv(run_dir / "epochs.csv")["epoch"].iloc[0] == 0


def test_a_run_saved_before_the_highway_default_is_not_resumed_under_it(workspace, capsys):
    assert main(train_argv(workspace, "--highway", "off")) == 0
    capsys.readouterr()
    assert main(train_argv(workspace, "--resume")) == 2   # today's default would build the highway
    err = capsys.readouterr().err.strip()
    assert err.endswith("was started with --highway off, and today's default gives on; add --highway off to the "
                        "command to resume it as it ran") and "\n" not in err
    assert main(train_argv(workspace, "--resume", "--highway", "off")) == 0
