"""--pretrain_stage: pretraining on the table's own train period, then adaptation, in one command."""
import json

from conftest import data_args, rain_table
from data_provider.rainfall import prepare
from exp.pretrain_stage import pretrain_stage_default
from run import main
from utils.config import read_run_config

SIZES = ["--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--batch_size", "32"]


def hourly(tmp_path):
    rain_table(n_rows=300, freq="1h").to_csv(tmp_path / "rain.csv", index=False)
    return ["--root_path", str(tmp_path), "--data_path", "rain.csv", "--group_col", "region", "--target_from", "tp_mm",
            "--rain_threshold", "0.5", "--horizon", "6", "--seq_len", "24", "--input_token_len", "6",
            "--checkpoints", str(tmp_path / "ck"), "--model_id", "stage", "--train_epochs", "1", *SIZES]


def test_one_pretraining_serves_every_seed_and_never_reads_the_test_period(tmp_path, capsys):
    assert main([*hourly(tmp_path), "--pretrain_stage", "on", "--itr", "2"]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_stage_pretraining_*_exp_0")
    assert json.loads((pre_dir / "metrics.json").read_text())["test"] is None      # --skip_test
    assert read_run_config(pre_dir / "config.json")["monitor"] == "val_loss"
    runs = sorted((tmp_path / "ck").glob("classification_stage_*_exp_[01]"))
    assert len(runs) == 2
    for run in runs:
        config = read_run_config(run / "config.json")
        assert config["adaptation"] and config["pretrain_model_path"] == str(pre_dir / "checkpoint.pth")
        assert config["pretrain_stage"] == "on"
    out = capsys.readouterr().out
    assert out.count(">>> pretrain run 1/1") == 1 and "classifier adapted from" in out


def test_resume_reads_the_finished_pretraining_and_a_retest_matches(tmp_path, capsys):
    argv = [*hourly(tmp_path), "--pretrain_stage", "on", "--resume"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("is already finished") == 2 and ">>> pretrain run" not in out   # the pretraining, the classifier
    assert main([*argv[:-1], "--is_training", "0"]) == 0
    assert "re-test metrics are identical to metrics.json from training" in capsys.readouterr().out


def test_auto_pretrains_small_hourly_tables_only(tmp_path, monkeypatch):
    for freq in ("1h", "12h", "1D"):
        rain_table(n_rows=300, freq=freq).to_csv(tmp_path / f"{freq}.csv", index=False)
    for name, expected, why in (("1h.csv", "on", "an hourly station table"), ("12h.csv", "off", "a grid of 0 days 12:00"),
                                ("1D.csv", "off", "a grid of 1 days")):
        args = data_args(tmp_path / name, pretrain_stage="auto")
        cfg, said = pretrain_stage_default(args, prepare(args))
        assert cfg.pretrain_stage == expected and why in said
    rain_table(n_rows=300, freq="1h").drop(columns="timestamp").to_csv(tmp_path / "undated.csv", index=False)
    args = data_args(tmp_path / "undated.csv", pretrain_stage="auto")
    cfg, said = pretrain_stage_default(args, prepare(args))
    assert cfg.pretrain_stage == "off" and "no time grid (no date column)" in said
    monkeypatch.setattr("exp.pretrain_stage.TINY_BELOW_WINDOWS", 100)   # as if the table were large
    args = data_args(tmp_path / "1h.csv", pretrain_stage="auto")
    cfg, said = pretrain_stage_default(args, prepare(args))
    assert cfg.pretrain_stage == "off" and "more than the tiny preset's 100" in said


def test_a_stage_beside_a_given_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    argv = [*hourly(tmp_path), "--pretrain_stage", "on", "--adaptation", "--pretrain_model_path", "x.pth"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--pretrain_stage on" in err and "Traceback" not in err


def test_an_epoch_budget_the_user_typed_bounds_the_pretraining_too(tmp_path):
    assert main([*hourly(tmp_path), "--pretrain_stage", "on"]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_stage_pretraining_*_exp_0")
    assert read_run_config(pre_dir / "config.json")["train_epochs"] == 1


def test_a_run_started_without_the_stage_is_not_resumed_under_it(tmp_path, capsys):
    # a run from scratch (as every run before --pretrain_stage auto was), then the same command with --resume
    assert main([*hourly(tmp_path), "--pretrain_stage", "off"]) == 0
    capsys.readouterr()
    assert main([*hourly(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert "add --pretrain_stage off to resume it as it ran" in err and err.count("\n") == 0
    assert not list((tmp_path / "ck").glob("pretrain_*"))       # nothing was pretrained meanwhile


def test_a_run_sized_by_auto_and_started_without_the_stage_is_not_resumed_under_it(tmp_path, capsys):
    # no size flags: the run folder's name holds the size --preset auto chose, and the guard finds it there
    unsized = hourly(tmp_path)[:-len(SIZES)]
    assert main([*unsized, "--pretrain_stage", "off"]) == 0
    capsys.readouterr()
    assert main([*unsized, "--resume"]) == 2
    assert "add --pretrain_stage off to resume it as it ran" in capsys.readouterr().err
    assert not list((tmp_path / "ck").glob("pretrain_*"))


def test_classifier_only_flags_stay_with_the_classifier(tmp_path):
    assert main([*hourly(tmp_path), "--mixup", "0.2", "--input_noise", "0.1", "--highway", "on",
                 "--select_epoch", "last"]) == 0
    (pre_dir,) = (tmp_path / "ck").glob("pretrain_stage_pretraining_*_exp_0")
    pretraining = read_run_config(pre_dir / "config.json")
    assert pretraining["mixup"] == 0 and pretraining["input_noise"] == 0
    assert pretraining["select_epoch"] == "best"          # the pretraining keeps its best validation epoch
    (run,) = (tmp_path / "ck").glob("classification_stage_*_exp_0")
    assert read_run_config(run / "config.json")["mixup"] == 0.2


def test_a_sweep_of_classifiers_shares_one_pretraining(tmp_path, capsys):
    sweep = [["--learning_rate", "1e-4"], ["--learning_rate", "3e-4"], ["--finetune", "partial:1"],
             ["--finetune", "linear_probe", "--class_weights", "balanced", "--pooling", "mean"]]
    for flags in sweep:
        assert main([*hourly(tmp_path), "--pretrain_stage", "on", *flags]) == 0
    assert len(list((tmp_path / "ck").glob("pretrain_*_exp_0"))) == 1
    assert capsys.readouterr().out.count("is already finished") == len(sweep) - 1   # the others read the first's
    assert len(list((tmp_path / "ck").glob("classification_stage_*_exp_0"))) == len(sweep)


def test_where_the_stage_cannot_run_auto_says_why_and_on_is_refused(tmp_path, capsys):
    ragged = [*hourly(tmp_path), "--seq_len", "26"]           # not a whole number of 6-step tokens
    assert main(ragged) == 0
    assert "pretraining stage: off (--pretrain_stage auto: --seq_len 26 is not a whole number" in capsys.readouterr().out
    assert main([*ragged, "--pretrain_stage", "on", "--model_id", "again"]) == 2
    assert "--pretrain_stage on: --seq_len 26" in capsys.readouterr().err
    # a validation period too short for a pretraining window (seq_len + one output token)
    assert main([*hourly(tmp_path), "--split", "0.8,0.08,0.12", "--model_id", "short"]) == 0
    out = capsys.readouterr().out
    assert "pretraining stage: off after all: its windows cannot be made" in out
    assert not list((tmp_path / "ck").glob("pretrain_short_*"))


def test_resume_finds_the_finished_pretraining_when_auto_chose_the_model_size(tmp_path, capsys):
    # no size flags: --preset auto settles the size from the data, and the pretraining's folder name holds it
    unsized = hourly(tmp_path)[:-len(SIZES)]
    argv = [*unsized, "--pretrain_stage", "on", "--resume"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("is already finished") == 2 and ">>> pretrain run" not in out
