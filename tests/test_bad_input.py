"""Every kind of bad input ends with exit code 2 and one line that names the problem, no traceback."""
import os

import pandas as pd
import pytest
import torch

from conftest import ROOT, rain_table
from run import main


class Evil:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def write(tmp_path, frame=None, name="rain.csv", text=None, raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    elif text is not None:
        path.write_text(text)
    else:
        (frame if frame is not None else rain_table()).to_csv(path, index=False)
    return path


def table_with(**changes):
    frame = rain_table()
    for column, value in changes.items():
        frame[column] = value
    return frame


def labelled(values):
    frame = rain_table()
    frame["label"] = values
    return frame


def dup_dates():
    frame = rain_table()
    frame.loc[3, "timestamp"] = frame.loc[2, "timestamp"]
    frame.loc[10, "timestamp"] = frame.loc[9, "timestamp"]
    return frame


def off_grid():
    frame = rain_table()
    frame.loc[5, "timestamp"] = pd.Timestamp("2015-01-03 05:00")  # between two 12-hourly steps
    return frame


def bad_dates():
    frame = rain_table().astype({"timestamp": str})
    frame.loc[[4, 7, 8], "timestamp"] = "yesterday"
    return frame


def checkpoint(tmp_path, kind):
    path = tmp_path / "pretrained.pth"
    if kind == "truncated":
        torch.save({"embedding.weight": torch.zeros(64, 64)}, path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "not a checkpoint":
        path.write_text("just some text\n")
    elif kind == "code":
        torch.save({"embedding.weight": Evil()}, path)
    return path


RAIN = ["--target_from", "tp_mm", "--rain_threshold", "0.5"]
# (case, how to make the input, extra flags, what the one line must say)
CASES = [
    ("file missing", lambda p: p / "nope.csv", RAIN, "nope.csv: file not found; check --root_path and --data_path"),
    ("empty file", lambda p: write(p, raw=b""), RAIN, "rain.csv: the file is empty"),
    ("header only", lambda p: write(p, text="timestamp,tp_mm,rh\n"), RAIN, "rain.csv: has a header but no data rows"),
    ("not a CSV (binary)", lambda p: write(p, raw=b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 50), RAIN, "cannot be read as CSV"),
    ("not a CSV (semicolons)", lambda p: write(p, text="date;tp_mm\n2020-01-01;0\n"), RAIN,
     "reads as a single column ('date;tp_mm'), not a CSV table; it looks separated by ';'"),
    ("not a CSV (spaces, as crop-model weather files are)",
     lambda p: write(p, text="Day Month Year Prcp(mm)\n1 1 1982 0.0\n"), RAIN,
     "reads as a single column ('Day Month Year Prcp(mm)'), not a CSV table; it looks separated by spaces; "
     "save it comma-separated with a header row"),
    ("label column missing", lambda p: write(p), ["--target", "rain_tomorrow"],
     "column 'rain_tomorrow' (from --target) not found; the file has: timestamp, region, tp_mm, rh, t2m_c, station_name"),
    ("a column name off by its case", lambda p: write(p), ["--target_from", "TP_mm", "--rain_threshold", "1"],
     "column 'TP_mm' (from --target_from) not found (did you mean 'tp_mm'?); the file has: timestamp"),
    ("the data file given from the current folder", lambda p: write(p),
     RAIN + ["--root_path", "/nonexistent", "--data_path", os.path.relpath(ROOT / "datasets/sample/seattle_weather.csv")],
     "exists from the current folder: give --root_path"),
    ("rain column missing", lambda p: write(p), ["--target_from", "precip", "--rain_threshold", "1"],
     "column 'precip' (from --target_from) not found; the file has: timestamp, region"),
    ("label mixing numbers and text", lambda p: write(p, labelled([0, 1, "rain"] * 80)), ["--target", "label"],
     "line 4, column 'label' (--target): 'rain' is not a number (80 such cell(s)); map it with --replace rain=NUMBER"),
    ("trace code in the rain column", lambda p: write(p, table_with(tp_mm=["0.2", "T", "0"] * 80)), RAIN,
     "line 3, column 'tp_mm' (--target_from): 'T' is not a number (80 such cell(s)); map it with --replace T=NUMBER, "
     "mark it missing with --na_values T"),
    ("bad --replace", lambda p: write(p), RAIN + ["--replace", "T"], "--replace 'T': give TOKEN=NUMBER"),
    ("label out of range", lambda p: write(p, labelled([0, 1, 5] * 80)), ["--target", "label", "--n_classes", "2"],
     "has value 5 outside 0..1; recode the labels or set --n_classes"),
    ("one class in train", lambda p: write(p, labelled(1)), ["--target", "label"],
     "the train split has only one class (window counts {'0': 0, '1': "),
    ("chosen feature entirely missing", lambda p: write(p, table_with(rh=float("nan"))), RAIN + ["--features", "rh,t2m_c"],
     "feature column 'rh' is entirely missing; drop it with --exclude rh"),
    ("fewer rows than a window", lambda p: write(p), RAIN + ["--seq_len", "200"],
     "too few rows: 120 (in its longest group), but one window needs seq_len 200 + horizon 1 = 201"),
    ("two rows", lambda p: write(p, rain_table(n_rows=2, groups=("coast",))), RAIN,
     "too few rows: 2 (in its longest group), but one window needs seq_len 8 + horizon 1 = 9"),
    ("two rows, tiny window", lambda p: write(p, rain_table(n_rows=2, groups=("coast",))), RAIN + ["--seq_len", "1"],
     "too few rows: 2 distinct timestamp(s) cannot be split 0.7,0.15,0.15 into train, val and test"),
    ("seq_len not positive", lambda p: write(p), RAIN + ["--seq_len", "-5"], "--seq_len must be a positive whole number, got -5"),
    ("token length not positive", lambda p: write(p), RAIN + ["--input_token_len", "0"],
     "--input_token_len must be a positive whole number, got 0"),
    ("dates that do not parse", lambda p: write(p, bad_dates()), RAIN,
     "column 'timestamp' has 3 value(s) that are not dates in the format the others use (first: 'yesterday' on line 6)"),
    ("duplicate dates in a group", lambda p: write(p, dup_dates()), RAIN,
     "2 row(s) repeat a timestamp of 'timestamp' with different values (first: 2015-01-02 00:00:00 in group 'coast', line 4); "
     "remove them, choose with --duplicates first|last|mean"),
    ("off-grid timestamp on an hourly grid", lambda p: write(p, off_grid()), RAIN,
     "1 timestamp(s) of 'timestamp' off the 0 days 12:00:00 grid that most rows follow (e.g. 2015-01-01 00:00:00); "
     "first: 2015-01-03 05:00:00"),
    ("--max_missing_share out of range", lambda p: write(p), RAIN + ["--max_missing_share", "0"],
     "--max_missing_share must be in (0, 1], got 0.0"),
    ("a positive class that does not exist", lambda p: write(p), RAIN + ["--pos_label", "2"],
     "--pos_label 2: the classes are 0..1; name one of them"),
    ("split not summing to 1", lambda p: write(p), RAIN + ["--split", "0.6,0.2,0.1"], "the fractions sum to 0.9, not 1"),
    ("checkpoint missing", lambda p: write(p), RAIN + ["--adaptation", "--pretrain_model_path", "missing.pth"],
     "missing.pth: checkpoint not found; check --pretrain_model_path"),
    ("checkpoint truncated", lambda p: (write(p), checkpoint(p, "truncated"))[0], RAIN + ["--adaptation"],
     "pretrained.pth: cannot be loaded as plain weights: it is truncated or not a PyTorch checkpoint"),
    ("not a checkpoint", lambda p: (write(p), checkpoint(p, "not a checkpoint"))[0], RAIN + ["--adaptation"],
     "pretrained.pth: cannot be loaded as plain weights: it is truncated or not a PyTorch checkpoint"),
    ("pickle carrying code", lambda p: (write(p), checkpoint(p, "code"))[0], RAIN + ["--adaptation"],
     "pretrained.pth: cannot be loaded as plain weights: it holds Python objects or code (print)"),
    ("two training lengths", lambda p: write(p), RAIN + ["--train_steps", "100"],
     "--train_steps and --train_epochs both set the training length; give one of them"),
    ("patience with a fixed budget", lambda p: write(p), RAIN + ["--select_epoch", "last", "--patience", "5"],
     "--patience has no effect with --select_epoch last (no early stopping); drop one of them"),
    ("no validation to pick an epoch", lambda p: write(p), ["--data", "UEA", "--val_ratio", "0"],
     "--val_ratio 0 leaves no validation split to stop early or pick the best epoch on; add --select_epoch last"),
    ("no validation to tune a threshold", lambda p: write(p),
     ["--data", "UEA", "--val_ratio", "0", "--select_epoch", "last", "--threshold_tuning"],
     "--threshold_tuning chooses the threshold on validation, and --val_ratio 0 has none; drop one of them"),
    ("two token lengths", lambda p: write(p), ["--data", "UEA", "--tokens_per_series", "48"],
     "--tokens_per_series and --input_token_len both set the token length; give one of them"),
    ("re-test with no trained run", lambda p: write(p), ["--is_training", "0", "--model_id", "never_trained"],
     "--is_training 0: no trained run with --model_id never_trained under"),
]


@pytest.mark.parametrize("case, make, flags, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(tmp_path, capsys, case, make, flags, message):
    path = make(tmp_path)
    argv = ["--root_path", str(tmp_path), "--data_path", path.name, "--group_col", "region",
            "--seq_len", "8", "--input_token_len", "4", "--e_layers", "1", "--d_model", "16", "--d_ff", "16",
            "--n_heads", "2", "--train_epochs", "1", "--checkpoints", str(tmp_path / "ck"), *flags]
    if "--adaptation" in flags and "--pretrain_model_path" not in flags:
        argv += ["--pretrain_model_path", str(tmp_path / "pretrained.pth")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "code ran while loading" not in captured.out


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="file not found"):
        main(["--root_path", str(tmp_path), "--data_path", "nope.csv", *RAIN, "--debug"])
