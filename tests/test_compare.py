"""--task_name compare ranks runs by validation, one table per data file and label; run folders
name the data file and the label; the resume hints name the folder to resume."""
import re
from pathlib import Path

import pandas as pd
import pytest

import exp.exp_classification as exp_classification
import exp.training_loop as training_loop
from conftest import rain_table
from exp.summary import SUMMARY, compare
from run import main
from utils.cli import parse, setting_name
from utils.errors import UserError

# (humidity is left out: in the synthetic table it predicts the next step's rain by construction,
# which the leakage check would flag on every run)
TINY = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "64",
        "--seq_len", "8", "--input_token_len", "4", "--train_epochs", "2", "--exclude", "rh"]


def rain_argv(root, name, *extra, data="rain.csv", threshold="0.5"):
    return ["--root_path", str(root), "--data_path", data, "--group_col", "region", "--target_from", "tp_mm",
            "--rain_threshold", threshold, "--checkpoints", str(root / "ck"), "--model_id", name, *TINY, *extra]


def folder_of(*argv):
    return setting_name(parse(list(argv)), 0)


def table_rows(lines, heading_part):
    """The model_id column of the table whose heading holds ``heading_part``."""
    (start,) = [i for i, line in enumerate(lines) if line.startswith("== data") and heading_part in line]
    rows = []
    for line in lines[start + 2:]:  # past the heading and the column names
        if not line or line == "stop reasons:":
            break
        rows.append(line)
    return rows


def test_run_folders_name_the_data_file_and_the_label():
    base = ["--data_path", "lima.csv", "--target_from", "tp mm/h", "--rain_threshold", "0.5"]
    folder = folder_of(*base)
    assert "_PeruRainfall_lima_tp-mm-h-gt0.5-h1_sl720_" in folder
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", folder), folder
    assert folder_of(*base) == folder  # the same command, the same folder: what --resume relies on
    by_target = folder_of("--data_path", "lima.csv", "--target", "rain_class")
    assert "_PeruRainfall_lima_rain_class_sl720_" in by_target
    others = {folder_of("--data_path", "cusco.csv", *base[2:]), folder_of(*base[:-1], "2"),
              folder_of(*base, "--horizon", "3"), by_target}
    assert len(others) == 4 and folder not in others
    # the archive set is already named by --model_id, and scripts/uea_table.py globs *_UEA_*
    uea = folder_of("--data", "UEA", "--root_path", "datasets/UEA", "--model_id", "JapaneseVowels")
    assert uea.startswith("classification_JapaneseVowels_timer_xl_classifier_UEA_sl720_")


def test_compare_ranks_by_validation_within_each_data_file_and_label(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(exp_classification, "draw", lambda *args: None)  # pictures are not compared; saves time
    rain_table(n_rows=120).to_csv(tmp_path / "rain.csv", index=False)
    leaky = rain_table(n_rows=120, seed=1)
    leaky["rain_next_mm"] = leaky.groupby("region")["tp_mm"].shift(-1).fillna(0.0)  # the label period itself
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    assert main(rain_argv(tmp_path, "a")) == 0
    assert main(rain_argv(tmp_path, "b", "--learning_rate", "3e-3")) == 0
    assert main(rain_argv(tmp_path, "c", "--monitor", "val_loss")) == 0
    # the same --model_id on another file or label: its own folder, not "already holds a run"
    assert main(rain_argv(tmp_path, "a", data="leaky.csv")) == 0
    assert main(rain_argv(tmp_path, "a", threshold="2")) == 0
    capsys.readouterr()

    summary = pd.read_csv(tmp_path / "ck" / SUMMARY)
    assert len(summary) == 5 and summary["setting"].is_unique
    for row in summary.itertuples():
        epochs = pd.read_csv(Path(row.run_dir) / "epochs.csv")
        assert row.val_monitor == pytest.approx(epochs.loc[epochs.epoch == row.best_epoch, row.monitor].item())
    assert summary.groupby("monitor").size().to_dict() == {"val_loss": 1, "val_macro_f1": 4}
    assert sorted(set(zip(summary["data_stem"], summary["label"]))) == [
        ("leaky", "tp_mm>0.5@1"), ("rain", "tp_mm>0.5@1"), ("rain", "tp_mm>2@1")]
    assert set(summary["data_file"]) == {str(tmp_path / "rain.csv"), str(tmp_path / "leaky.csv")}
    assert summary["leakage_warning"].tolist() == [False, False, False, True, False]

    assert main(["--task_name", "compare", "--checkpoints", str(tmp_path / "ck")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("5 finished run(s)")
    assert "in separate tables" in lines[1] and "different --monitor" in lines[2]
    assert not any("model selection" in line for line in lines)
    assert len([line for line in lines if line.startswith("== data")]) == 4
    rain = f"data {tmp_path / 'rain.csv'}, label tp_mm>0.5@1"
    ranked = table_rows(lines, f"{rain}: 2 run(s), by validation val_macro_f1 of the tested epoch, higher is better")
    same_data = summary[(summary["data_stem"] == "rain") & (summary["label"] == "tp_mm>0.5@1")]
    best_first = same_data[same_data["monitor"] == "val_macro_f1"].sort_values("val_monitor", ascending=False,
                                                                                 kind="stable")["model_id"].tolist()
    assert [line.split()[0] for line in ranked] == best_first
    assert [line.split()[0] for line in table_rows(lines, "by validation val_loss")] == ["c"]
    (leak_row,) = table_rows(lines, f"data {tmp_path / 'leaky.csv'}")
    assert " YES " in leak_row and not any(" YES " in row for row in ranked)

    by_test = compare(str(tmp_path / "ck"), "accuracy")
    assert any("choosing a run by test figures is not a model selection" in line for line in by_test)
    assert len([line for line in by_test if line.startswith("== data")]) == 3  # the monitors share a table
    assert not any("model selection" in line for line in compare(str(tmp_path / "ck"), "seconds"))
    with pytest.raises(UserError, match="--sort_by nope: not a summary column"):
        compare(str(tmp_path / "ck"), "nope")


def test_an_old_summary_without_validation_columns_still_prints(tmp_path):
    old = {"setting": "s", "model_id": "m", "seed": 1, "strategy": "scratch", "preset": "small", "parameters": 10,
           "epochs": 3, "best_epoch": 2, "stop_reason": "max epochs", "accuracy": 0.8, "macro_f1": 0.7, "f1": 0.6,
           "roc_auc": 0.9, "majority_accuracy": 0.7, "majority_macro_f1": 0.4, "persistence_accuracy": 0.6,
           "persistence_macro_f1": 0.5, "seconds": 1.0, "peak_memory_mib": 100.0, "run_dir": "ck/s"}
    new = {**old, "setting": "t", "model_id": "n", "data_file": "rain.csv", "data_stem": "rain",
           "label": "tp_mm>0.5@1", "monitor": "val_loss", "val_monitor": 0.3, "leakage_warning": False}
    pd.DataFrame([old, {**old, "setting": "s2", "model_id": "m2"}, new]).to_csv(tmp_path / SUMMARY, index=False)
    lines = compare(str(tmp_path), None)
    assert lines[0].startswith("3 finished run(s)")
    assert any(line.startswith("validation values are missing for 2 run(s)") for line in lines)
    assert [line.split()[0] for line in table_rows(lines, "label not recorded")] == ["m", "m2"]
    assert [line.split()[0] for line in table_rows(lines, "label tp_mm>0.5@1")] == ["n"]


def test_the_resume_hints_name_the_run_folder(tmp_path, monkeypatch, capsys):
    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    argv = rain_argv(tmp_path, "cut", "--train_epochs", "3")
    real_epoch = training_loop.run_epoch

    def interrupted(*args, **kwargs):
        if args[7] == 1:  # the 2nd epoch
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training_loop, "run_epoch", interrupted)
    assert main(argv) == 130
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    err = capsys.readouterr().err.strip()
    assert err == (f"interrupted: {run_dir} keeps every finished epoch; to continue it, run the same command "
                   "with --resume added")
    monkeypatch.setattr(training_loop, "run_epoch", real_epoch)
    assert main(argv) == 2
    assert (f"{run_dir} already holds a run stopped after epoch 1; to continue it, run the same command with "
            "--resume added") in capsys.readouterr().err
    assert main(argv + ["--resume"]) == 0
    assert [p for p in (tmp_path / "ck").iterdir() if p.is_dir()] == [run_dir]
    assert (pd.read_csv(run_dir / "epochs.csv")["epoch"] >= 1).sum() == 3   # epoch 0: the highway's start
    capsys.readouterr()
    assert main(argv) == 2
    assert f"{run_dir} already holds a finished run" in capsys.readouterr().err


def test_a_preset_with_typed_sizes_is_recorded_as_custom():
    from types import SimpleNamespace

    from exp.summary import preset_label

    sizes = dict(e_layers=1, d_model=32, d_ff=64, n_heads=2, adaptation=False)
    assert preset_label(SimpleNamespace(preset="small", explicit=["d_model", "seq_len"], **sizes)) == \
        "custom (e_layers 1, d_model 32, d_ff 64, n_heads 2)"
    assert preset_label(SimpleNamespace(preset="small", explicit=["seq_len"], **sizes)) == "small"
