"""Mixed precision that fits the card, out of memory as an answer, lean run folders, tracking:
each through run.py as a user runs it, on CPU (the CUDA choices are tested in test_precision.py)."""
import json

import pandas as pd
import pytest
import torch

import exp.training_loop as training_loop
from conftest import rain_table
from run import main
from utils.config import read_run_config

TINY = ["--seq_len", "8", "--input_token_len", "4", "--e_layers", "1", "--d_model", "16", "--d_ff", "32",
        "--n_heads", "2", "--batch_size", "16", "--train_epochs", "2", "--patience", "2"]


def argv(tmp_path, *extra):
    return ["--root_path", str(tmp_path), "--data_path", "rain.csv", "--group_col", "region", "--target_from",
            "tp_mm", "--rain_threshold", "0.5", "--checkpoints", str(tmp_path / "ck"), "--model_id", "card",
            *TINY, *extra]


@pytest.fixture
def table(tmp_path):
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    return tmp_path


def only_run(tmp_path):
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    return run_dir


@pytest.mark.parametrize("flag", [["--amp"], ["--use_amp"], ["--amp", "auto"]])
def test_automatic_mixed_precision_on_a_cpu_is_refused_in_one_line(table, capsys, flag):
    assert main(argv(table, *flag)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--amp auto needs a CUDA GPU" in err[0] and "--amp bf16 or --amp fp16" in err[0]
    assert not (table / "ck").exists() or not any((table / "ck").iterdir())   # no folder was started


def test_fp16_with_its_gradient_scaler_trains_on_cpu_and_counts_skipped_steps(table, capsys):
    assert main(argv(table, "--amp", "fp16")) == 0
    run_dir = only_run(table)
    assert "precision: fp16 autocast with a gradient scaler on CPU (--amp fp16)" in capsys.readouterr().out
    config = read_run_config(run_dir / "config.json")
    assert (config["amp"], config["precision"]) == ("fp16", "fp16")
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert "skipped_steps" in epochs and (epochs["skipped_steps"] >= 0).all()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1


def test_bf16_runs_on_cpu_when_asked_for(table):
    assert main(argv(table, "--amp", "bf16")) == 0
    assert read_run_config(only_run(table) / "config.json")["precision"] == "bf16"


@pytest.mark.parametrize("task", [[], ["--task_name", "pretrain", "--model", "timer_xl", "--output_token_len", "4"]],
                         ids=["classification", "pretrain"])
def test_out_of_memory_in_training_is_one_line_with_what_to_try_and_keeps_the_last_epoch(table, capsys, monkeypatch,
                                                                                         task):
    real = training_loop.run_epoch

    def second_epoch_runs_out(*args, **kwargs):
        if args[7] == 1:   # the epoch index
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(training_loop, "run_epoch", second_epoch_runs_out)
    assert main(argv(table, *task)) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory during training" in err[0]
    assert "batch size 16" in err[0] and "--batch_size 8 --accum_steps 2" in err[0] and "--amp" in err[0]
    state = torch.load(only_run(table) / "last.pth", weights_only=True)
    assert state["epoch"] == 0    # epoch 1's state, intact, for --resume


def test_a_finished_run_keeps_no_last_pth_unless_asked_and_resume_leaves_it_alone(table, capsys):
    assert main(argv(table)) == 0
    run_dir = only_run(table)
    assert not (run_dir / "last.pth").exists() and (run_dir / "checkpoint.pth").exists()
    assert (run_dir / "finished.json").exists()
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    capsys.readouterr()
    assert main(argv(table, "--resume")) == 0
    assert "is already finished" in capsys.readouterr().out
    assert before == {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    assert main(argv(table, "--des", "kept", "--keep_last")) == 0
    (kept,) = [p for p in (table / "ck").iterdir() if p.is_dir() and "kept" in p.name]
    assert (kept / "last.pth").exists()


def test_tensorboard_tracker_logs_epochs_and_final_metrics(table):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main(argv(table, "--tracker", "tensorboard")) == 0
    run_dir = only_run(table)
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"epochs/train_loss", "epochs/val_loss", "epochs/lr", "test/macro_f1"} <= tags
    epochs = pd.read_csv(run_dir / "epochs.csv")
    logged = [e.value for e in events.Scalars("epochs/train_loss")]
    assert logged == pytest.approx(epochs["train_loss"].dropna().tolist(), rel=1e-6)   # epoch 0 trained nothing
    assert len(events.Scalars("epochs/val_loss")) == len(epochs)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert events.Scalars("test/macro_f1")[0].value == pytest.approx(metrics["macro_f1"], rel=1e-6)


def test_a_config_json_from_when_amp_was_a_switch_still_reads():
    from utils.cli import saved_config
    old = {"amp": True, "model_id": "x"}
    assert saved_config(old).amp == "bf16" and saved_config({"amp": False}).amp == "off"
