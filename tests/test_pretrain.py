"""--task_name pretrain, then adaptation from what it wrote, through run.py."""
import argparse
import json

import pytest
import torch

from conftest import rain_table
from exp.exp_pretrain import split_span
from models import timer_xl
from run import main
from utils.config import read_run_config

SIZES = ["--e_layers", "2", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--seq_len", "8",
         "--input_token_len", "4", "--batch_size", "16"]


def test_each_token_targets_the_points_that_follow_it():
    span = torch.arange(14, dtype=torch.float32).reshape(1, 14, 1)  # value = row index
    x, target = split_span(span, seq_len=12, token_len=4, out_len=2)
    assert x.flatten().tolist() == list(range(12))
    # tokens end at rows 3, 7, 11 -> targets rows 4-5, 8-9, 12-13
    assert target.flatten().tolist() == [4, 5, 8, 9, 12, 13]


def test_pretrain_writes_an_openltm_checkpoint_that_adaptation_loads_whole(tmp_path, capsys):
    rain_table(n_rows=200).to_csv(tmp_path / "rain.csv", index=False)
    data = ["--root_path", str(tmp_path), "--data_path", "rain.csv", "--group_col", "region",
            "--checkpoints", str(tmp_path / "ck")]
    assert main(["--task_name", "pretrain", "--model", "timer_xl", "--model_id", "pt", "--output_token_len", "4",
                 "--train_epochs", "2", *data, *SIZES]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_pt_timer_xl_*")
    state = torch.load(pre_dir / "checkpoint.pth", weights_only=True)
    config = read_run_config(pre_dir / "config.json")
    reference = timer_xl.Model(argparse.Namespace(**config))
    assert state.keys() == reference.state_dict().keys()  # OpenLTM's names: embedding., blocks., head.
    reference.load_state_dict(state, strict=True)
    metrics = json.loads((pre_dir / "metrics.json").read_text())
    assert metrics["test"]["mse"] > 0 and "naive_last_value_mse" in metrics["test"]
    capsys.readouterr()

    # adapt with no size flags at all: they are read off the checkpoint
    assert main(["--model_id", "ft", "--target_from", "tp_mm", "--rain_threshold", "0.5", "--adaptation",
                 "--pretrain_model_path", str(pre_dir / "checkpoint.pth"), "--finetune", "partial:1",
                 "--seq_len", "8", "--train_epochs", "2", "--subset_rand_ratio", "0.5", *data]) == 0
    out = capsys.readouterr().out
    assert "architecture from the checkpoint: e_layers 2, d_model 16, d_ff 32, n_heads 2, input_token_len 4" in out
    (ft_dir,) = (tmp_path / "ck").glob("classification_ft_*_ft-partial1_*")
    report = json.loads((ft_dir / "adaptation.json").read_text())
    assert report["missing"] == [] and report["unexpected"] == [] and report["backbone_fraction_from_checkpoint"] == 1
    assert "few-shot: training on" in out
    # frozen layers were saved too: the best checkpoint holds the pretrained embedding unchanged
    best = torch.load(ft_dir / "checkpoint.pth", weights_only=True)
    assert torch.equal(best["backbone.embedding.weight"], state["embedding.weight"])
    assert not torch.equal(best["backbone.blocks.attn_layers.1.conv1.weight"],
                           state["blocks.attn_layers.1.conv1.weight"])
    # a re-test needs neither the pretrained file nor the adaptation flags
    (pre_dir / "checkpoint.pth").unlink()
    assert main(["--is_training", "0", "--checkpoints", str(tmp_path / "ck"), "--model_id", "ft"]) == 0
    assert "identical to metrics.json" in capsys.readouterr().out



def test_skip_test_pretrains_on_the_training_period_and_never_scores_the_test_period(tmp_path, capsys, monkeypatch):
    from exp import exp_pretrain
    scored = []
    real = exp_pretrain.forecast_errors

    def spy(model, windows, *args, **kwargs):
        scored.append(windows.name)
        return real(model, windows, *args, **kwargs)

    monkeypatch.setattr(exp_pretrain, "forecast_errors", spy)
    rain_table(n_rows=200).to_csv(tmp_path / "rain.csv", index=False)
    assert main(["--task_name", "pretrain", "--model", "timer_xl", "--model_id", "pt", "--output_token_len", "4",
                 "--train_epochs", "2", "--skip_test", "--root_path", str(tmp_path), "--data_path", "rain.csv",
                 "--group_col", "region", "--checkpoints", str(tmp_path / "ck"), *SIZES]) == 0
    assert set(scored) == {"val"}                                   # early stopping watched validation only
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_pt_timer_xl_*")
    assert json.loads((pre_dir / "metrics.json").read_text())["test"] is None
    assert "test: not scored (--skip_test)" in capsys.readouterr().out

    # a classification run always scores its test split: the flag is refused there
    assert main(["--skip_test", "--root_path", str(tmp_path), "--data_path", "rain.csv"]) == 2
    assert "--skip_test applies to --task_name pretrain" in capsys.readouterr().err



@pytest.mark.parametrize("flag, value", [("--input_noise", "0.3"), ("--mixup", "0.2"), ("--highway", "on")])
def test_a_classification_only_flag_is_refused_by_pretraining(tmp_path, capsys, flag, value):
    assert main(["--task_name", "pretrain", "--model", "timer_xl", flag, value, "--root_path", str(tmp_path),
                 "--data_path", "rain.csv"]) == 2
    assert f"{flag} applies to classification runs" in capsys.readouterr().err
