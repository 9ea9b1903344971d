"""--task_name pretrain --data UEA: Timer-XL pretraining on the archive's TRAIN files, then a
classifier adapted from it on one of them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_provider.uea_corpus import prepare_uea_corpus
from run import main
from test_uea import write_ts
from utils.cli import parse
from utils.errors import SKIPPED_EXIT, UserError
from utils.config import read_run_config


def archive(root):
    """Two data sets (one nested the archive's way) and a TEST file that must never be read."""
    rng = np.random.default_rng(0)
    waves = [[list(np.sin(np.arange(40) / (2 + i % 3)) * (1 + i) * 100)] for i in range(12)]
    write_ts(root / "Waves_TRAIN.ts", waves, ["a", "b"] * 6)
    (root / "Walk").mkdir()
    walks = [[list(np.cumsum(rng.normal(size=30))), list(rng.normal(size=30))] for _ in range(8)]
    walks[0][1] = [5.0] * 30  # a constant channel: nothing to forecast
    write_ts(root / "Walk" / "Walk_TRAIN.ts", walks, ["x", "y"] * 4)
    (root / "Waves_TEST.ts").write_text("not a .ts file: reading it would fail\n")


def corpus_args(root, *extra):
    return parse(["--task_name", "pretrain", "--data", "UEA", "--root_path", str(root), "--model_id", "corpus",
                  "--seq_len", "16", "--input_token_len", "4", "--output_token_len", "4", *extra])


def test_every_train_channel_is_a_normalised_series_and_whole_series_go_to_one_split(tmp_path):
    archive(tmp_path)
    data = prepare_uea_corpus(corpus_args(tmp_path))
    report = data.report
    # 12 one-channel series + 8 two-channel series, less the constant channel
    assert report.train_files == {"Walk": 15, "Waves": 12} and report.univariate_series == 27
    assert report.too_short == 0 and report.skipped_files == []
    owners = {}
    for split, ws in data.splits.items():
        assert ws.seq_len == 20  # seq_len + output_token_len
        first_rows = ws.ends - ws.seq_len + 1
        for first, end in zip(first_rows, ws.ends):
            (series_id,) = set(data.row_groups[first:end + 1])  # a window never crosses two series
            assert owners.setdefault(series_id, split) == split
    assert sum(r.series for r in report.splits.values()) == 27
    # each series is z-normalised on its own, so a 100x larger wave looks like a small one
    values = data.splits["train"].data[:, 0].numpy()
    for series_id in set(data.row_groups):
        rows = values[data.row_groups == series_id]
        assert abs(rows.mean()) < 1e-5 and abs(rows.std() - 1) < 1e-4


def test_windows_start_every_token_and_short_series_are_counted(tmp_path):
    archive(tmp_path)
    data = prepare_uea_corpus(corpus_args(tmp_path, "--seq_len", "28"))  # span 32: only the 40-step waves fit
    assert data.report.too_short == 15 and set(data.report.train_files) == {"Walk", "Waves"}
    windows = sum(len(ws) for ws in data.splits.values())
    assert windows == 12 * 3  # ends at steps 31, 35, 39 of each 40-step wave


def test_a_folder_without_train_files_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match=r"no \*_TRAIN.ts files here or one folder down"):
        prepare_uea_corpus(corpus_args(tmp_path))
    archive(tmp_path)
    with pytest.raises(UserError, match="no TRAIN series is as long as one window"):
        prepare_uea_corpus(corpus_args(tmp_path, "--seq_len", "96"))


def test_pretrain_on_the_archive_then_adapt_a_classifier_with_its_token_length(tmp_path, capsys):
    archive(tmp_path)
    ck = str(tmp_path / "ck")
    sizes = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "8"]
    assert main(["--task_name", "pretrain", "--data", "UEA", "--root_path", str(tmp_path), "--model_id", "corpus",
                 "--seq_len", "16", "--input_token_len", "4", "--output_token_len", "4", "--train_epochs", "2",
                 "--checkpoints", ck, *sizes]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_corpus_*")
    assert json.loads((pre_dir / "metrics.json").read_text())["test"]["mse"] > 0
    # pretraining never opened the unreadable TEST file; now give Waves a real one to classify
    write_ts(tmp_path / "Waves_TEST.ts", [[list(np.sin(np.arange(40) / (2 + i % 3)))] for i in range(6)], ["a", "b"] * 3)
    # the classifier's own rule would give Waves (40 steps, 24 tokens) token length 2; adapted, it
    # takes the checkpoint's 4, or the pretrained embedding would not fit
    assert main(["--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Waves", "--adaptation",
                 "--pretrain_model_path", str(pre_dir / "checkpoint.pth"), "--train_epochs", "1",
                 "--val_ratio", "0.25", "--checkpoints", ck]) == 0
    (clf_dir,) = (tmp_path / "ck").glob("classification_Waves_*")
    config = read_run_config(clf_dir / "config.json")
    assert (config["input_token_len"], config["seq_len"]) == (4, 40)
    report = json.loads((clf_dir / "adaptation.json").read_text())
    assert report["missing"] == [] and report["backbone_fraction_from_checkpoint"] == 1


def test_model_id_of_an_archive_set_sizes_the_windows_for_its_classifier(tmp_path):
    archive(tmp_path)
    write_ts(tmp_path / "Waves_TEST.ts", [[list(np.sin(np.arange(36) / 3))]] * 2, ["a", "b"])
    args = parse(["--task_name", "pretrain", "--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Waves"])
    data = prepare_uea_corpus(args)
    args = args.derive(**data.window_sizes)
    # the classifier of Waves: longest 40 steps / 24 tokens -> token 2, seq_len 40; its pretraining
    # windows span the same 40 steps: 38 in, and the last token's 2 to forecast
    assert (args.input_token_len, args.output_token_len, args.seq_len) == (2, 2, 38)
    assert data.report.window == {"span": 40, "stride": 2, "sized_for": "Waves"}
    assert data.report.too_short == 15  # the 30-step Walk series
    assert sum(len(ws) for ws in data.splits.values()) == 12  # one window per 40-step wave


def long_set(root, name, length, n=10):
    """NAME_TRAIN.ts of n one-channel waves of `length` steps, and an unreadable NAME_TEST.ts."""
    waves = [[list(np.sin(np.arange(length) / (2 + i % 3)))] for i in range(n)]
    write_ts(root / f"{name}_TRAIN.ts", waves, ["a", "b"] * (n // 2))
    (root / f"{name}_TEST.ts").write_text("not a .ts file: sizing the windows must not read it\n")


@pytest.mark.parametrize("length, token, seq_len", [(251, 11, 231), (2000, 84, 1848)])
def test_automatic_windows_round_down_to_fit_the_longest_train_series(tmp_path, length, token, seq_len):
    # rounded up, as the classifier's seq_len is, these spans were 253 and 2016: longer than any series
    long_set(tmp_path, "Long", length)
    args = parse(["--task_name", "pretrain", "--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Long"])
    data = prepare_uea_corpus(args)
    args = args.derive(**data.window_sizes)
    assert (args.input_token_len, args.output_token_len, args.seq_len) == (token, token, seq_len)
    assert data.report.window["span"] == seq_len + token <= length
    assert data.report.too_short == 0 and sum(len(ws) for ws in data.splits.values()) >= 10


def test_a_set_too_short_for_one_token_and_its_output_skips_pretraining(tmp_path, capsys):
    long_set(tmp_path, "Short", 30)
    argv = ["--task_name", "pretrain", "--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Short",
            "--checkpoints", str(tmp_path / "ck")]
    assert main([*argv, "--tokens_per_series", "1"]) == SKIPPED_EXIT  # one 30-step token: no room for its output
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pretraining skipped: " in err and "(30 + 30)" in err
    assert not (tmp_path / "ck").exists()
    # sizes typed by the user stay a refusal to fix, not a skip
    assert main([*argv, "--input_token_len", "30", "--seq_len", "30"]) == 2


def test_pretrain_with_automatic_windows_then_adapt_keeps_the_checkpoint_token(tmp_path):
    long_set(tmp_path, "Long", 251)
    ck = str(tmp_path / "ck")
    sizes = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "4"]
    assert main(["--task_name", "pretrain", "--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Long",
                 "--train_epochs", "1", "--checkpoints", ck, *sizes]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_Long_*")
    write_ts(tmp_path / "Long_TEST.ts", [[list(np.sin(np.arange(300) / (2 + i % 3)))] for i in range(4)], ["a", "b"] * 2)
    assert main(["--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Long", "--adaptation",
                 "--pretrain_model_path", str(pre_dir / "checkpoint.pth"), "--train_epochs", "1", "--val_ratio", "0",
                 "--select_epoch", "last", "--checkpoints", ck]) == 0
    (clf_dir,) = (tmp_path / "ck").glob("classification_Long_*")
    config = read_run_config(clf_dir / "config.json")
    # the checkpoint's token of 11; the classifier's own window, 251 steps rounded up (TEST's 300 play no part)
    assert (config["input_token_len"], config["seq_len"]) == (11, 253)
    assert json.loads((clf_dir / "adaptation.json").read_text())["backbone_fraction_from_checkpoint"] == 1


def test_uea_sh_trains_from_scratch_when_pretraining_is_skipped(tmp_path):
    # two TRAIN series: too few for --split's train, val and test shares of the pretraining corpus
    write_ts(tmp_path / "Tiny_TRAIN.ts", [[[0.0, 1, 2, 3, 4, 5]], [[5.0, 4, 3, 2, 1, 0]]], ["up", "down"])
    write_ts(tmp_path / "Tiny_TEST.ts", [[[0.0, 1, 2, 3, 4, 6]], [[6.0, 4, 3, 2, 1, 0]]], ["up", "down"])
    env = {**os.environ, "PYTHON": sys.executable, "CHECKPOINTS": str(tmp_path / "ck"), "ITR": "1",
           "EXTRA": "--train_steps 2 --e_layers 1 --d_model 16 --d_ff 32 --n_heads 2"}
    done = subprocess.run(["bash", "scripts/classification/uea.sh", str(tmp_path), "Tiny"], env=env,
                          capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert "pretraining skipped: " in done.stderr and "its classifier trains from scratch" in done.stderr
    (clf_dir,) = (tmp_path / "ck").glob("classification_Tiny_*_0")
    assert not (clf_dir / "adaptation.json").exists()
    assert "| Tiny |" in (tmp_path / "ck" / "uea_results.md").read_text()
