"""Diagnoses provoked on purpose, imbalance handling, threshold tuning, pictures and run comparison."""
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import rain_table
from exp.diagnosis import training_verdict
from exp.threshold import tune_threshold
from run import main
from utils.losses import Criterion, class_weights
from utils.lr_schedule import learning_rate_at

TINY = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2"]


@pytest.fixture
def rain_dir(tmp_path):
    rain_table(n_rows=300).to_csv(tmp_path / "rain.csv", index=False)
    return tmp_path


def run(root, name, *flags, data="rain.csv", threshold="0.5"):
    argv = ["--root_path", str(root), "--data_path", data, "--group_col", "region", "--target_from", "tp_mm",
            "--rain_threshold", threshold, "--seq_len", "8", "--input_token_len", "4",
            "--checkpoints", str(root / "ck"), "--model_id", name, *flags]
    assert main(argv) == 0
    (run_dir,) = (root / "ck").glob(f"classification_{name}_*")
    return run_dir, json.loads((run_dir / "metrics.json").read_text())


def test_step_decay_that_stalls_is_not_called_overfitting(rain_dir, capsys):
    _, metrics = run(rain_dir, "stall", *TINY, "--lradj", "type1", "--learning_rate", "3e-3", "--patience", "2",
                     "--train_epochs", "10", "--monitor", "val_loss", "--highway", "off")
    d = metrics["diagnosis"]
    assert d["stop_reason"].startswith("patience exhausted")
    # type1 divides the rate by 10 every epoch; gains under --min_delta (1e-4 of the best) no longer
    # count, so patience runs out a few epochs after the rate is dead (the exact epoch depends on the
    # noise of a tiny run)
    assert re.match(r"learning stalled: learning rate had decayed to 3e-\d\d by epoch \d+ ", d["verdict"]), d["verdict"]
    assert d["verdict_kind"] == "stalled" and d["verdict"].endswith("use --cosine or --lradj constant")
    assert d["lr_at_stop_fraction"] < 0.01
    assert "learning stalled" in capsys.readouterr().out


def test_overfitting_is_named_with_its_epoch(rain_dir):
    _, metrics = run(rain_dir, "overfit", "--e_layers", "2", "--d_model", "64", "--d_ff", "128", "--n_heads", "4",
                     "--dropout", "0", "--learning_rate", "3e-3", "--patience", "3", "--train_epochs", "30",
                     "--subset_rand_ratio", "0.2", "--class_weights", "none", "--embed", "none", "--highway", "off")
    assert metrics["diagnosis"]["verdict"].startswith("overfitting since epoch 3: training loss kept falling")


def test_a_collapsed_model_is_reported_loudly(rain_dir, capsys):
    # rain over 6 mm is rare here (3% of windows): a fast rate drives the model onto the majority class
    # once the imbalance defaults (balanced weights, a tuned threshold) are turned off
    _, metrics = run(rain_dir, "collapse", *TINY, "--learning_rate", "1e-2", "--train_epochs", "2",
                     "--class_weights", "none", "--threshold_tuning", "off", threshold="6")
    lines = metrics["diagnosis"]["collapse"]
    assert lines[0].startswith("collapse: the model predicts class 0 for 100.0% of test windows")
    assert "not above the majority baseline" in lines[1]
    assert "WARNING: collapse" in capsys.readouterr().out


def test_a_leaked_column_is_named(tmp_path):
    frame = rain_table(n_rows=300)
    frame["rain_next_mm"] = frame.groupby("region")["tp_mm"].shift(-1).fillna(0.0)  # the label period itself
    frame.to_csv(tmp_path / "leaky.csv", index=False)
    # (humidity is left out: in this synthetic table it predicts the next step's rain almost perfectly
    # by construction, a legitimate predictor that the same rule would also question)
    _, metrics = run(tmp_path, "leak", *TINY, "--train_epochs", "1", "--exclude", "rh", data="leaky.csv")
    assert any(line.startswith("leakage suspected: column 'rain_next_mm' alone separates the train classes")
               for line in metrics["diagnosis"]["leakage"])
    assert not any("'tp_mm'" in line or "'t2m_c'" in line for line in metrics["diagnosis"]["leakage"])


def rows(train, val, lr):
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v, "lr": r} for i, (t, v, r) in enumerate(zip(train, val, lr))]


def test_verdict_rules_on_hand_made_histories():
    overfit = rows([0.9, 0.7, 0.6, 0.5, 0.4], [0.8, 0.6, 0.65, 0.7, 0.72], [1e-3] * 5)
    assert training_verdict(overfit, 1e-3, 2, "patience exhausted", 3)["verdict"].startswith("overfitting since epoch 2")
    stalled = rows([0.9, 0.8, 0.8, 0.8, 0.8], [0.8, 0.7, 0.71, 0.72, 0.71], [1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
    assert training_verdict(stalled, 1e-3, 2, "patience exhausted", 3)["verdict"].startswith("learning stalled")
    noisy = rows([0.9, 0.8, 0.81, 0.79, 0.8], [0.8, 0.7, 0.75, 0.71, 0.72], [1e-3] * 5)
    assert training_verdict(noisy, 1e-3, 2, "patience exhausted", 3)["verdict"] is None
    assert training_verdict(noisy, 1e-3, 2, "max epochs", 3)["verdict"] is None


def epochs(val, lr, train=None):
    """An epochs.csv history; training loss falls every epoch unless given (the pattern overfitting needs)."""
    train = train or [1.0 - 0.05 * i for i in range(len(val))]
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v, "lr": r} for i, (t, v, r) in enumerate(zip(train, val, lr))]


def verdict(history, best_epoch, stop="patience exhausted (3 epochs without a better val_loss)", **rule):
    rule = {"monitor": "val_loss", "min_delta": 1e-4, **rule}
    return training_verdict(history, 1e-3, best_epoch, stop, 3, **rule)


def test_step_decay_stall_after_an_early_best_is_named_with_its_rates_and_advice():
    # the Seattle run of issue 14: --lradj type1 --learning_rate 1e-3 --patience 3 peaks at epoch 1,
    # then patience counts three epochs at 1e-4, 1e-5 and 1e-6; only the last is under 1% of the start,
    # so "most epochs after the best under 1% of the start" never fired
    history = epochs([0.6468, 0.6469, 0.6470, 0.6470], [1e-3, 1e-4, 1e-5, 1e-6])
    d = verdict(history, 1, schedule="type1", tmax=15)
    assert d["verdict_kind"] == "stalled"
    assert d["verdict"].startswith("learning stalled: learning rate had decayed to 1e-06 by epoch 4 (0.1% of its "
                                   "0.001 at the best epoch 1, 0.1% of --learning_rate)")
    assert d["verdict"].endswith("use --cosine or --lradj constant")
    assert (d["lr_at_best"], d["lr_at_stop"]) == (1e-3, 1e-6)
    # the epoch budget ending the run counts like patience: type2 halves the rate, 1/128 after 7 epochs
    budget = epochs([0.60, 0.59] + [0.595] * 7, [1e-3 * 0.5 ** i for i in range(9)])
    assert verdict(budget, 2, stop="max epochs", schedule="type2", tmax=9)["verdict_kind"] == "stalled"


def test_cosine_that_reached_its_floor_early_is_stalled_and_told_to_lengthen_tmax():
    lr = [learning_rate_at(e, schedule="cosine", learning_rate=1e-3, tmax=4) for e in range(7)]
    history = epochs([0.70, 0.66, 0.64, 0.63, 0.631, 0.632, 0.632], lr)  # epochs 5-7 at the floor, 1e-8
    d = verdict(history, 4, schedule="cosine", tmax=4)
    assert d["verdict_kind"] == "stalled"
    assert d["verdict"].endswith("the cosine reached its floor after epoch 4 of 7; give a longer --tmax")
    assert "--lradj constant" not in d["verdict"]


def test_overfitting_at_a_steady_rate_is_not_a_stall():
    history = epochs([0.80, 0.60, 0.62, 0.66, 0.70], [1e-3] * 5)
    d = verdict(history, 2, schedule="constant", tmax=5)
    assert d["verdict_kind"] == "overfitting" and d["verdict"].startswith("overfitting since epoch 2")


def test_neither_verdict_when_the_rate_could_still_move_or_the_model_still_improved():
    # type2 after the best: 50%, 25%, 12.5% of the rate at the best epoch, still able to move
    noisy = epochs([0.7, 0.65, 0.66, 0.65, 0.66], [1e-3 * 0.5 ** i for i in range(5)],
                   train=[0.9, 0.8, 0.81, 0.79, 0.8])
    assert verdict(noisy, 2, schedule="type2", tmax=5)["verdict_kind"] is None
    # epoch 3 beat the best by 1.4%: a stall under the run's own --min_delta 0.05, not under 0.01
    history = epochs([0.70, 0.71, 0.69, 0.70], [1e-3, 1e-4, 1e-5, 1e-6], train=[0.9, 0.8, 0.81, 0.8])
    assert verdict(history, 1, schedule="type1", min_delta=0.05)["verdict_kind"] == "stalled"
    assert verdict(history, 1, schedule="type1", min_delta=0.01)["verdict_kind"] is None
    # the improvement is read on the monitor, in its direction
    scored = [dict(r, val_macro_f1=f) for r, f in zip(history, [0.60, 0.59, 0.62, 0.60])]
    assert verdict(scored, 1, schedule="type1", monitor="val_macro_f1", min_delta=0.01)["verdict_kind"] is None
    assert verdict(scored, 1, schedule="type1", monitor="val_macro_f1", min_delta=0.05)["verdict_kind"] == "stalled"
    # a fixed budget tests the last epoch: nothing after it to judge
    assert verdict(history, 4, stop="fixed budget (--select_epoch last)", schedule="type1")["verdict"] is None


def test_focal_loss_with_gamma_zero_is_cross_entropy_and_weights_are_per_class():
    torch.manual_seed(0)
    logits, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
    assert torch.allclose(Criterion("focal", None, 0.0)(logits, y), ce)
    assert Criterion("focal", None, 2.0)(logits, y) < ce  # easy windows count less
    weights = torch.tensor([1.0, 3.0])
    expected = torch.nn.functional.cross_entropy(logits, y, weight=weights, reduction="sum")
    assert torch.allclose(Criterion("ce", weights)(logits, y), expected)


def test_balanced_class_weights_come_from_train_windows():
    weights = class_weights("balanced", np.array([0] * 90 + [1] * 10), 2)
    assert weights.tolist() == pytest.approx([100 / 180, 100 / 20])
    assert class_weights("1,4", np.array([0, 1]), 2).tolist() == [1.0, 4.0]


def test_threshold_is_tuned_on_validation_and_reported_beside_half(rain_dir):
    run_dir, metrics = run(rain_dir, "tuned", *TINY, "--train_epochs", "2", "--threshold_tuning",
                           "--class_weights", "balanced", "--loss", "focal")
    rule = metrics["decision_rule"]
    assert rule["kind"] == "threshold" and rule["chosen_on"] == "validation macro_f1" and 0 < rule["threshold"] < 1
    # the tuned threshold is the rule every headline figure and predicted_label uses
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert (predictions["predicted_label"] == (predictions["prob_1"] >= rule["threshold"])).all()
    assert (predictions["predicted_label_argmax"] == (predictions["prob_1"] > 0.5)).all()
    cm = np.array(metrics["confusion_matrix"])
    assert metrics["accuracy"] == np.trace(cm) / cm.sum() == (predictions["predicted_label"] == predictions["true_label"]).mean()
    v = metrics["verification"]
    assert (v["hits"], v["false_alarms"], v["misses"], v["correct_negatives"]) == (cm[1, 1], cm[0, 1], cm[1, 0], cm[0, 0])


def test_tuning_picks_the_best_validation_threshold():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.9])  # 0.5 misses two positives
    threshold, value = tune_threshold(labels, scores, 1, "accuracy")
    assert 0.3 < threshold < 0.35 and value == 1.0


def test_pictures_summary_and_compare(rain_dir, capsys):
    run_dir, _ = run(rain_dir, "first", *TINY, "--train_epochs", "2")
    run(rain_dir, "second", *TINY, "--train_epochs", "2", "--learning_rate", "1e-3")
    for name in ("curves.png", "confusion_matrix.png", "roc_pr.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    summary = pd.read_csv(rain_dir / "ck" / "summary.csv")
    assert sorted(summary["model_id"]) == ["first", "second"]
    assert {"strategy", "parameters", "best_epoch", "stop_reason", "accuracy", "macro_f1", "roc_auc",
            "majority_macro_f1", "persistence_macro_f1", "seconds", "peak_memory_mib"} <= set(summary.columns)
    capsys.readouterr()
    assert main(["--task_name", "compare", "--checkpoints", str(rain_dir / "ck"), "--sort_by", "accuracy"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2 finished run(s)") and "is not a model selection" in out[1]
    assert out[3].startswith(f"== data {rain_dir / 'rain.csv'}, label tp_mm>0.5@1: 2 run(s), by accuracy")
    best_first = summary.sort_values("accuracy", ascending=False)["model_id"].tolist()
    assert [line.split()[0] for line in out[5:7]] == best_first


def test_itr_reports_mean_and_std(rain_dir, capsys):
    argv = ["--root_path", str(rain_dir), "--data_path", "rain.csv", "--group_col", "region", "--target_from", "tp_mm",
            "--rain_threshold", "0.5", "--seq_len", "8", "--input_token_len", "4", "--checkpoints",
            str(rain_dir / "ck"), "--model_id", "rep", "--itr", "3", "--train_epochs", "1", *TINY]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "over 3 repeats (mean ± std):" in out
    runs = sorted(p.parent for p in (rain_dir / "ck").glob("*/config.json"))  # the seeds, not their ensemble
    accuracies = [json.loads((r / "metrics.json").read_text())["accuracy"] for r in runs]
    assert len(runs) == 3
    assert f"accuracy           {np.mean(accuracies):.4f} ± {np.std(accuracies):.4f}" in out
    assert out.strip().splitlines()[-1].startswith("run folders: ") and out.count("_rep_") >= 3


def test_a_leaking_column_is_named_with_the_flag_that_removes_it():
    from data_provider.windows import WindowSet
    from exp.diagnosis import leaking_columns

    labels = np.array([0, 1] * 20)
    data = torch.tensor(np.stack([labels, labels, labels, np.random.default_rng(0).normal(size=40)], axis=1),
                        dtype=torch.float32)
    train = WindowSet("train", data, np.arange(40), labels, 1)
    lines = leaking_columns(train, ["rain_today", "persistence_rain", "calendar_doy_sin", "rh"], 2)
    assert [line.rsplit("drop it with ", 1)[1] for line in lines] == [
        "--exclude rain_today", "--persistence_input off", "--embed none"]
