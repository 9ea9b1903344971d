"""Options for small data sets: a training length in optimiser steps, testing the last epoch
instead of the best validation epoch, and the ensemble of --itr repeats."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT, rain_table
from data_provider.base import read_data_report
from exp.retest import agree
from run import main
from test_uea import toy_archive
from utils.cli import epochs_for_steps, parse
from utils.config import read_run_config

TINY = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--learning_rate", "3e-3",
        "--pooling", "mean", "--batch_size", "8"]


@pytest.fixture
def archive(tmp_path):
    toy_archive(tmp_path, n_train=40, n_test=24)
    return tmp_path


def uea_argv(root, *extra):
    return ["--data", "UEA", "--root_path", str(root), "--model_id", "Toy", "--checkpoints", str(root / "ck"),
            *TINY, *extra]


def run_folders(root):
    return sorted(p.parent for p in (root / "ck").glob("*/config.json"))


@pytest.mark.parametrize("windows, batch, accum, world, steps, epochs", [
    (40, 8, 1, 1, 20, 4),     # 5 steps per epoch
    (41, 8, 1, 1, 20, 4),     # 6 steps per epoch (a short last step counts): 4 epochs give 24 >= 20
    (40, 8, 2, 1, 20, 7),     # 3 steps per epoch
    (40, 8, 1, 2, 20, 7),     # two processes share each epoch: 3 steps each
    (5, 8, 1, 1, 600, 600),   # one step per epoch
])
def test_train_steps_become_enough_epochs(windows, batch, accum, world, steps, epochs):
    args = parse(["--batch_size", str(batch), "--accum_steps", str(accum), "--train_steps", str(steps)])
    assert epochs_for_steps(args, windows, world) == epochs


def test_train_steps_set_the_epochs_and_the_cosine_length_of_the_run(archive):
    # 40 TRAIN series, 20% held out for validation -> 32 train windows -> 4 steps of 8 per epoch
    assert main(uea_argv(archive, "--train_steps", "10", "--cosine")) == 0
    (run_dir,) = run_folders(archive)
    config = read_run_config(run_dir / "config.json")
    assert (config["train_epochs"], config["tmax"]) == (3, 3)
    assert len(pd.read_csv(run_dir / "epochs.csv")) == 3


def test_select_epoch_last_tests_the_final_weights_and_never_stops_early(archive):
    # a learning rate high enough for validation loss to jump about: with --select_epoch last the
    # run must neither stop early nor bring back the best validation epoch's weights
    assert main(uea_argv(archive, "--train_epochs", "6", "--select_epoch", "last", "--learning_rate", "0.05",
                         "--keep_last")) == 0
    (run_dir,) = run_folders(archive)
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert len(epochs) == 6
    # the best validation epoch is an earlier one, so testing "best" would have tested other weights
    assert int(epochs["val_loss"].idxmin()) + 1 < 6
    tested = torch.load(run_dir / "checkpoint.pth", weights_only=True)
    last = torch.load(run_dir / "last.pth", weights_only=True)["model"]
    assert all(torch.equal(tested[k], last[k]) for k in last)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["diagnosis"]["best_epoch"] == 6
    assert metrics["diagnosis"]["stop_reason"] == "fixed budget (--select_epoch last)"


def test_val_ratio_zero_trains_on_all_of_train_and_retests_the_same(archive, capsys):
    argv = uea_argv(archive, "--train_epochs", "3", "--select_epoch", "last", "--val_ratio", "0", "--keep_last")
    assert main(argv) == 0
    (run_dir,) = run_folders(archive)
    report = read_data_report(json.loads((run_dir / "data_report.json").read_text()))  # data_report.json read back as its class
    assert (report.splits["train"].cases, report.splits["val"].cases) == (40, 0)
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert len(epochs) == 3 and not [c for c in epochs.columns if c.startswith("val_")]
    out = capsys.readouterr().out
    assert "val -" in out and "0 series (--val_ratio 0: all of TRAIN trains" in out
    tested = torch.load(run_dir / "checkpoint.pth", weights_only=True)
    last = torch.load(run_dir / "last.pth", weights_only=True)["model"]
    assert all(torch.equal(tested[k], last[k]) for k in last)
    assert (run_dir / "curves.png").exists()
    trained = json.loads((run_dir / "metrics.json").read_text())
    assert trained["diagnosis"]["best_epoch"] == 3
    # archive sets have no calendar and no rain column: majority and the learned baseline only
    assert set(trained["baselines"]) == {"majority", "learned"}
    assert main(uea_argv(archive, "--is_training", "0")) == 0
    assert json.loads((run_dir / "metrics.json").read_text()) == trained  # the training results stay
    retested = json.loads((run_dir / "metrics_retest.json").read_text())
    trained.pop("diagnosis")  # about the training session, not the predictions
    # every count identical; probability scores may differ from training in float rounding only
    assert retested["confusion_matrix"] == trained["confusion_matrix"] and retested["n"] == trained["n"]
    assert agree(retested, trained, 1e-6)


def test_itr_writes_the_ensemble_of_its_repeats(archive, capsys):
    assert main(uea_argv(archive, "--train_epochs", "4", "--itr", "3")) == 0
    members = run_folders(archive)
    (ensemble,) = (archive / "ck").glob("*_ensemble")
    assert len(members) == 3 and ensemble.name.removesuffix("_ensemble") == members[0].name.removesuffix("_0")
    frames = [pd.read_csv(m / "predictions.csv") for m in members]
    columns = ["prob_0", "prob_1", "prob_2"]
    mean = np.mean([f[columns].to_numpy() for f in frames], axis=0)
    combined = pd.read_csv(ensemble / "predictions.csv")
    np.testing.assert_allclose(combined[columns].to_numpy(), mean, atol=1e-9)
    assert (combined["predicted_label"].to_numpy() == mean.argmax(axis=1)).all()
    metrics = json.loads((ensemble / "metrics.json").read_text())
    # its figures agree with its own predictions and confusion matrix
    correct = (combined["predicted_label"] == combined["true_label"]).mean()
    cm = np.array(metrics["confusion_matrix"])
    assert metrics["accuracy"] == pytest.approx(correct) == pytest.approx(np.trace(cm) / cm.sum())
    assert metrics["ensemble"]["members"] == [str(m) for m in members]
    assert "majority" in metrics["baselines"]
    assert f"accuracy {metrics['accuracy']:.4f}" in capsys.readouterr().out


def test_uea_table_reports_the_ensemble_beside_its_seeds(archive):
    assert main(uea_argv(archive, "--train_epochs", "2", "--itr", "2")) == 0
    (archive / "ck" / "minirocket.json").write_text(json.dumps({"Toy": {"accuracy": 0.9}}))
    table = subprocess.run([sys.executable, "scripts/uea_table.py", str(archive / "ck"), "Toy", "Missing"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    (ensemble,) = (archive / "ck").glob("*_ensemble")
    acc = 100 * json.loads((ensemble / "metrics.json").read_text())["accuracy"]
    seeds = [100 * json.loads((m / "metrics.json").read_text())["accuracy"] for m in run_folders(archive)]
    toy = table[2].split(" | ")
    assert toy[1] == f"{acc:.1f}%" and toy[2].startswith(f"{np.mean(seeds):.1f} ± {np.std(seeds):.1f} (2)")
    assert toy[5] == "90.0%" and toy[6] == ("yes" if acc >= 85 else f"no ({acc - 90:+.1f})")
    assert table[3].startswith("| Missing | not run")


def test_pretraining_takes_train_steps_too(tmp_path):
    rain_table(n_rows=200).to_csv(tmp_path / "rain.csv", index=False)
    assert main(["--task_name", "pretrain", "--model", "timer_xl", "--model_id", "pt", "--root_path", str(tmp_path),
                 "--data_path", "rain.csv", "--group_col", "region", "--checkpoints", str(tmp_path / "ck"),
                 "--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--seq_len", "8",
                 "--input_token_len", "4", "--output_token_len", "4", "--batch_size", "64", "--train_steps", "9"]) == 0
    (run_dir,) = (tmp_path / "ck").glob("pretrain_pt_*")
    config = read_run_config(run_dir / "config.json")
    epochs = pd.read_csv(run_dir / "epochs.csv")
    steps_per_epoch = -(-int(epochs["train_windows"].iloc[0]) // 64)
    assert steps_per_epoch > 1  # so that the test tells steps from epochs
    assert config["train_epochs"] == len(epochs) == -(-9 // steps_per_epoch)


def test_summarize_runs_counts_the_seeds_not_their_ensemble(archive):
    assert main(uea_argv(archive, "--train_epochs", "2", "--itr", "2")) == 0
    out = subprocess.run([sys.executable, "scripts/summarize_runs.py", str(archive / "ck"), "classification_Toy_*"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    seeds = [json.loads((m / "metrics.json").read_text())["accuracy"] for m in run_folders(archive)]
    assert out[1].split()[1] == "2"
    assert out[1].split()[2] == f"{np.mean(seeds):.4f}"
