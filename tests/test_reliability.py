"""Faults and interruptions: exact resume after a real kill, exact gradient accumulation,
non-finite training stopped with a diagnosis, and no run ever overwritten."""
import argparse
import json
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import exp.training_loop as training_loop
from exp import exp_classification
from conftest import ROOT, rain_table
from data_provider.windows import WindowSet
from exp.training_loop import NonFiniteLoss, fit, mark_finished, read_finished, run_epoch
from models import timer_xl_classifier
from run import main
from utils.cli import parse
from utils.run_log import RunLog

TINY = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "16",
        "--seq_len", "8", "--input_token_len", "4", "--cosine", "--seed", "7", "--deterministic"]


def argv_for(root, checkpoints, *extra):
    return ["--root_path", str(root), "--data_path", "rain.csv", "--group_col", "region", "--target_from", "tp_mm",
            "--rain_threshold", "0.5", "--checkpoints", str(checkpoints), "--model_id", "rel", *TINY, *extra]


def outputs(checkpoints):
    """metrics.json without its cost block (timings), epochs.csv without timings, predictions.csv."""
    (run_dir,) = [p for p in checkpoints.iterdir() if p.is_dir()]
    epochs = pd.read_csv(run_dir / "epochs.csv").drop(columns=["seconds", "train_seconds"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["diagnosis"].pop("cost")
    return metrics, epochs, (run_dir / "predictions.csv").read_bytes()


# run.py in a child process that SIGKILLs itself at a fixed point: one optimiser step into the 3rd
# epoch, after epoch 2's files are written and with the model already changed in memory. A real
# kill (no Python cleanup) at a point that never depends on how fast the machine is.
KILLED_IN_EPOCH_3 = """
import os, signal, sys
import exp.training_loop as loop
from run import main

real_epoch = loop.run_epoch

def run_epoch(model, optimizer, windows, batch_loss, cfg, device, generator, epoch, lr, *rest, **named):
    calls = []

    def loss_then_kill(*args):
        calls.append(1)
        if epoch == 2 and len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return batch_loss(*args)

    return real_epoch(model, optimizer, windows, loss_then_kill, cfg, device, generator, epoch, lr, *rest, **named)

loop.run_epoch = run_epoch
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_resumes_to_exactly_the_uninterrupted_result(tmp_path, monkeypatch):
    monkeypatch.setattr(exp_classification, "draw", lambda *args: None)  # pictures are not compared
    rain_table(n_rows=200).to_csv(tmp_path / "rain.csv", index=False)
    flags = ["--train_epochs", "4", "--patience", "4", "--dropout", "0.1", "--input_noise", "0.2"]  # both draw random numbers
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    killed = subprocess.run([sys.executable, "-c", KILLED_IN_EPOCH_3, *argv_for(tmp_path, cut, *flags)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run_dir,) = [p for p in cut.iterdir() if p.is_dir()]
    assert (pd.read_csv(run_dir / "epochs.csv")["epoch"] >= 1).sum() == 2   # epoch 0: the highway's start
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "finished.json").exists()

    assert main(argv_for(tmp_path, cut, *flags, "--resume")) == 0
    assert main(argv_for(tmp_path, whole, *flags)) == 0
    resumed, uninterrupted = outputs(cut), outputs(whole)
    assert resumed[0] == uninterrupted[0]  # metrics.json, every number
    pd.testing.assert_frame_equal(resumed[1], uninterrupted[1])  # every epoch, learning rates included
    assert resumed[2] == uninterrupted[2]
    assert "resumed after epoch 2" in (run_dir / "train.log").read_text()


def test_resuming_an_adapted_fine_tune_continues_its_schedule(tmp_path, monkeypatch, capsys):
    rain_table(n_rows=300).to_csv(tmp_path / "rain.csv", index=False)
    assert main(["--task_name", "pretrain", "--root_path", str(tmp_path), "--data_path", "rain.csv",
                 "--group_col", "region", "--checkpoints", str(tmp_path / "pre"), "--model_id", "pt",
                 "--output_token_len", "4", "--train_epochs", "1", *TINY]) == 0
    (pretrained,) = (tmp_path / "pre").glob("*/checkpoint.pth")
    flags = ["--adaptation", "--pretrain_model_path", str(pretrained), "--finetune", "partial:1",
             "--warmup_epochs", "1", "--train_epochs", "5", "--patience", "5"]
    real_epoch = training_loop.run_epoch

    def interrupted(*args, **kwargs):
        if args[7] == 3:  # the 4th epoch
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training_loop, "run_epoch", interrupted)
    assert main(argv_for(tmp_path, tmp_path / "cut", *flags)) == 130
    monkeypatch.setattr(training_loop, "run_epoch", real_epoch)
    assert main(argv_for(tmp_path, tmp_path / "cut", *flags, "--resume")) == 0
    assert main(argv_for(tmp_path, tmp_path / "whole", *flags)) == 0
    resumed, whole = outputs(tmp_path / "cut"), outputs(tmp_path / "whole")
    assert resumed[0] == whole[0]
    pd.testing.assert_frame_equal(resumed[1], whole[1])
    assert resumed[1]["lr"].tolist() == pytest.approx([5e-5, 1e-4, 0.5e-4 * (1 + np.cos(np.pi / 4)), 5e-5,
                                                       0.5e-4 * (1 + np.cos(3 * np.pi / 4))], rel=1e-3)


def test_an_existing_run_is_never_overwritten(tmp_path, capsys):
    rain_table().to_csv(tmp_path / "rain.csv", index=False)
    argv = argv_for(tmp_path, tmp_path / "ck", "--train_epochs", "1")
    assert main(argv) == 0
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    capsys.readouterr()
    assert main(argv) == 2
    assert f"{run_dir} already holds a finished run" in capsys.readouterr().err
    assert before == {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    assert main(argv + ["--resume"]) == 0
    assert "is already finished (max epochs)" in capsys.readouterr().out
    assert before == {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    assert main(argv + ["--resume", "--learning_rate", "0.01"]) == 2
    assert "--resume: no run with these flags, but" in capsys.readouterr().err
    assert len([p for p in (tmp_path / "ck").iterdir() if p.is_dir()]) == 1
    # a finished run keeps no last.pth (finished.json alone says finished) and is never retrained
    assert "last.pth" not in before and "checkpoint.pth" in before
    assert main(argv + ["--resume", "--keep_last"]) == 0
    assert "is already finished" in capsys.readouterr().out
    assert main(argv) == 2
    assert f"{run_dir} already holds a finished run" in capsys.readouterr().err
    assert before == {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}


def test_a_run_folder_from_before_finished_json_is_read_from_last_pth(tmp_path, capsys):
    rain_table().to_csv(tmp_path / "rain.csv", index=False)
    argv = argv_for(tmp_path, tmp_path / "ck", "--train_epochs", "1", "--keep_last")  # as runs then kept it
    assert main(argv) == 0
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    # the old format: no marker, the flag inside last.pth
    (run_dir / "finished.json").unlink()
    state = torch.load(run_dir / "last.pth", weights_only=True)
    torch.save({**state, "finished": True}, run_dir / "last.pth")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    capsys.readouterr()
    assert main(argv) == 2
    assert f"{run_dir} already holds a finished run" in capsys.readouterr().err
    assert main(argv + ["--resume"]) == 0
    assert "is already finished (max epochs)" in capsys.readouterr().out
    assert before == {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "train.log"}
    # an old run stopped before it was tested is still one to resume
    torch.save({**state, "finished": False}, run_dir / "last.pth")
    (run_dir / "metrics.json").unlink()
    assert main(argv) == 2
    assert f"{run_dir} already holds a run stopped after epoch 1" in capsys.readouterr().err


def tiny_model(seed=0):
    torch.manual_seed(seed)
    cfg = argparse.Namespace(input_token_len=4, output_token_len=4, d_model=16, n_heads=2, e_layers=1, d_ff=16,
                             dropout=0.0, activation="relu", use_norm=False, covariate=False, seq_len=8, n_vars=3,
                             n_classes=2, pooling="last")
    return timer_xl_classifier.Model(cfg)


def toy_windows(n=37):
    rng = np.random.default_rng(0)
    data = torch.from_numpy(rng.normal(size=(n + 7, 3)).astype(np.float32))
    return WindowSet("train", data, np.arange(7, n + 7), rng.integers(0, 2, n), 8)


def loop_cfg(**kw):
    """The loop's options: a real Config (defaults), with these changed."""
    base = dict(batch_size=16, accum_steps=1, clip_grad=0.0, learning_rate=1e-2, weight_decay=0.0, lradj="constant",
                tmax=1, warmup_epochs=0, monitor="val_loss", patience=3, seed_used=0, train_epochs=1)
    base.update(kw)
    return parse([]).derive(**base)


def sum_ce(model, inputs, y):
    return torch.nn.functional.cross_entropy(model(*inputs), y, reduction="sum")


@pytest.mark.parametrize("micro, accum", [(8, 2), (4, 4), (1, 16)])
def test_gradient_accumulation_equals_one_big_batch(micro, accum):
    windows = toy_windows(37)  # 37 windows: the last step is short (5 of 16)
    results = []
    for batch_size, steps in ((16, 1), (micro, accum)):
        model = tiny_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        cfg = loop_cfg(batch_size=batch_size, accum_steps=steps)
        loss = run_epoch(model, optimizer, windows, sum_ce, cfg, "cpu", torch.Generator().manual_seed(0), 0, 0.1)
        results.append((loss, model.state_dict()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for key, value in results[0][1].items():
        assert torch.allclose(value, results[1][1][key], atol=1e-6), key


def test_non_finite_loss_stops_at_once_and_keeps_the_best_checkpoint(tmp_path):
    windows = toy_windows()
    calls = {"n": 0}

    def loss_turning_nan(model, x, y):
        calls["n"] += 1
        value = sum_ce(model, x, y)
        return value * float("nan") if calls["n"] > 3 else value  # epoch 1 has 3 steps

    history = fit(tiny_model(), windows, loss_turning_nan, lambda m: {"val_loss": 1.0}, loop_cfg(train_epochs=3),
                  tmp_path, "cpu", RunLog())
    assert calls["n"] == 4, "no batch after the first non-finite one may run"
    assert history["stop_reason"] == "non-finite loss or gradient" and history["best_epoch"] == 1
    message = history["non_finite"]
    assert "non-finite training loss at epoch 2, step 1: inputs finite: True" in message
    assert "learning rate 0.01" in message and "best checkpoint so far is intact" in message
    assert torch.load(tmp_path / "checkpoint.pth", weights_only=True).keys() == tiny_model().state_dict().keys()
    assert len(pd.read_csv(tmp_path / "epochs.csv")) == 1


def test_non_finite_loss_before_any_good_epoch_is_an_error(tmp_path):
    with pytest.raises(NonFiniteLoss, match="non-finite training loss at epoch 1, step 1"):
        fit(tiny_model(), toy_windows(), lambda m, x, y: sum_ce(m, x, y) * float("inf"),
            lambda m: {"val_loss": 1.0}, loop_cfg(), tmp_path, "cpu", RunLog())
    assert not (tmp_path / "checkpoint.pth").exists()


def test_a_diverging_run_tests_its_best_epoch_then_exits_3(tmp_path, capsys, monkeypatch):
    rain_table(n_rows=300).to_csv(tmp_path / "rain.csv", index=False)
    real = training_loop.run_epoch

    def diverging(*args, **kwargs):
        if args[7] == 2:
            raise NonFiniteLoss("non-finite training loss at epoch 3, step 1: (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(training_loop, "run_epoch", diverging)
    code = main(argv_for(tmp_path, tmp_path / "ck", "--train_epochs", "5"))
    assert code == 3   # a training failure, not a typo: scripts can tell them apart
    assert capsys.readouterr().err.strip().startswith("error: non-finite training loss at epoch 3")
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    diagnosis = json.loads((run_dir / "metrics.json").read_text())["diagnosis"]
    assert diagnosis["stop_reason"] == "non-finite loss or gradient" and diagnosis["epochs_run"] == 2
    assert diagnosis["verdict"].startswith("training diverged")


def test_non_finite_gradient_is_caught_even_when_the_loss_is_finite(tmp_path):
    def finite_loss_infinite_gradient(model, inputs, y):
        zero = model(*inputs).sum() * 0.0
        return torch.sqrt(zero * zero)  # value 0, gradient 0 * inf = nan

    with pytest.raises(NonFiniteLoss, match="non-finite gradient at epoch 1, step 1"):
        fit(tiny_model(), toy_windows(), finite_loss_infinite_gradient, lambda m: {"val_loss": 1.0}, loop_cfg(),
            tmp_path, "cpu", RunLog())


def test_last_checkpoint_holds_everything_needed_and_loads_weights_only(tmp_path):
    fit(tiny_model(), toy_windows(), sum_ce, lambda m: {"val_loss": 1.0}, loop_cfg(train_epochs=2), tmp_path,
        "cpu", RunLog())
    state = torch.load(tmp_path / "last.pth", weights_only=True)
    assert {"model", "optimizer", "stopper", "epoch", "rows", "rng", "config"} <= state.keys()
    assert {"torch", "shuffle", "numpy", "python"} <= state["rng"].keys()
    assert state["epoch"] == 1 and len(state["rows"]) == 2


def test_marking_a_run_finished_writes_a_small_marker_and_removes_last_pth_unless_kept(tmp_path):
    history = fit(tiny_model(), toy_windows(), sum_ce, lambda m: {"val_loss": 1.0}, loop_cfg(train_epochs=2),
                  tmp_path, "cpu", RunLog())
    last = tmp_path / "last.pth"
    written = (last.read_bytes(), last.stat().st_mtime_ns)
    state = torch.load(last, weights_only=True)
    assert read_finished(tmp_path, state) is None
    mark_finished(tmp_path, history, keep_last=True)
    assert (last.read_bytes(), last.stat().st_mtime_ns) == written   # --keep_last: not even rewritten
    (tmp_path / "finished.json").unlink()
    mark_finished(tmp_path, history)                                 # the default: lean on disk
    assert not last.exists() and (tmp_path / "checkpoint.pth").exists()
    torch.save(state, last)
    marker = json.loads((tmp_path / "finished.json").read_text())
    assert marker.keys() == {"stop_reason", "tested_epoch", "epochs_run", "finished_at"}
    assert (marker["stop_reason"], marker["tested_epoch"], marker["epochs_run"]) == ("max epochs", 1, 2)
    assert read_finished(tmp_path) == read_finished(tmp_path, state) == marker
    # without last.pth too
    last.unlink()
    (tmp_path / "finished.json").unlink()
    mark_finished(tmp_path, history)
    assert read_finished(tmp_path) is not None and not last.exists()
    # a folder written before the marker existed: the flag inside last.pth
    (tmp_path / "finished.json").unlink()
    assert read_finished(tmp_path, {**state, "finished": False}) is None
    old = read_finished(tmp_path, {**state, "finished": True})
    assert (old["stop_reason"], old["epochs_run"]) == ("max epochs", 2)
