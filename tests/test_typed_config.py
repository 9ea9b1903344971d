"""The configuration is one frozen, typed object: built once from defaults <- YAML <- flags, never
written into afterwards, saved whole in config.json and rebuilt from it."""
import dataclasses
import json

import pytest

from utils.cli import build_parser, parse, saved_config
from utils.config import SECTIONS, Config, DataConfig, ModelConfig, RunConfig, TrainConfig, flat_saved, read_run_config
from utils.errors import UserError


def test_every_flag_lives_in_exactly_one_section_and_every_section_field_is_a_flag_or_derived():
    flags = {a.dest for a in build_parser()._actions if a.dest != "help"}
    fields = [f for cls in (RunConfig, DataConfig, ModelConfig, TrainConfig) for f in dataclasses.fields(cls)]
    names = [f.name for f in fields]
    assert len(names) == len(set(names))                        # no option in two sections
    assert flags <= set(names)                                  # no flag lost
    derived = {f.name for f in fields if f.default is not dataclasses.MISSING}
    assert set(names) - flags == derived                        # the rest is derived for a run, with a default
    assert not flags & derived                                  # a flag's default lives in the parser only


def test_the_config_is_frozen_and_deriving_returns_a_new_validated_one():
    cfg = parse(["--seq_len", "96", "--input_token_len", "24"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seq_len = 48
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.data_config.seq_len = 48
    longer = cfg.derive(seq_len=192)
    assert (cfg.seq_len, longer.seq_len, longer.data_config.seq_len) == (96, 192, 192)
    assert longer.explicit == cfg.explicit                      # derived, not given
    with pytest.raises(UserError, match="--d_model 30 / --n_heads 8"):
        cfg.derive(d_model=30)                                  # derived values are checked like flags
    with pytest.raises(TypeError):
        cfg.derive(no_such_option=1)


def test_options_read_flat_by_their_flag_names_and_unknown_names_fail():
    cfg = parse(["--learning_rate", "0.001", "--preset", "small"])
    assert cfg.learning_rate == cfg.train_config.learning_rate == 0.001
    assert (cfg.e_layers, cfg.d_model) == (4, 512)              # the preset, resolved once
    assert cfg.data == "PeruRainfall" and cfg.model == "timer_xl_classifier"  # options, not sections
    with pytest.raises(AttributeError):
        cfg.learning_rat


def test_what_the_user_gave_is_part_of_the_config_and_a_yaml_value_counts_as_given(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("d_model: 64\nn_heads: 4\n")
    cfg = parse(["--config", str(recipe), "--e_layers", "2"])
    assert {"d_model", "n_heads", "e_layers"} <= cfg.explicit and "d_ff" not in cfg.explicit


def test_config_json_rebuilds_the_same_object_and_the_old_flat_file_too():
    cfg = parse(["--target_from", "rain", "--rain_threshold", "0.1", "--replace", "T=0.001", "--cosine"])
    cfg = cfg.derive(n_vars=3, n_classes=2, feature_names=("a", "b", "c"), seed_used=2021, setting="s")
    saved = json.loads(json.dumps(cfg.to_json()))               # through the file format
    assert saved["format"] == 2 and set(SECTIONS) <= set(saved)
    assert saved_config(saved) == cfg
    old = {k: v for k, v in flat_saved(saved).items() if k not in ("replace", "duplicates")}  # before those flags
    rebuilt = saved_config(old)
    assert rebuilt.replace is None and rebuilt.duplicates == "error"          # defaults for newer flags
    assert rebuilt.derive(replace=("T=0.001",)) == cfg


def test_the_runtime_flags_of_the_command_replace_the_saved_ones():
    trained = parse(["--target_from", "rain", "--rain_threshold", "0.1", "--batch_size", "32"])
    now = parse(["--is_training", "0", "--batch_size", "256"])
    again = saved_config(trained.to_json(), runtime=now)
    assert (again.batch_size, again.is_training, again.rain_threshold) == (256, 0, 0.1)


def test_checks_that_join_sections_still_answer_in_one_line():
    with pytest.raises(UserError, match="--train_steps and --train_epochs"):
        parse(["--train_steps", "100", "--train_epochs", "3"])
    with pytest.raises(UserError, match="--task_name pretrain trains a forecaster"):
        parse(["--task_name", "pretrain", "--model", "timer_xl_classifier"])
    assert parse(["--task_name", "pretrain", "--seq_len", "672"]).model == "timer_xl"  # the default model follows the task
    assert isinstance(parse([]), Config)


def test_defaults_the_data_decides_are_printed_recorded_and_never_override_the_user(tmp_path, capsys):
    from conftest import rain_table
    from run import main

    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    base = ["--root_path", str(tmp_path), "--data_path", "rain.csv", "--group_col", "region", "--target_from",
            "tp_mm", "--seq_len", "8", "--input_token_len", "4", "--train_epochs", "1",
            "--checkpoints", str(tmp_path / "ck")]

    def config_of(model_id, *flags):
        assert main([*base, "--model_id", model_id, *flags]) == 0
        (run_dir,) = (tmp_path / "ck").glob(f"classification_{model_id}_*")
        return read_run_config(run_dir / "config.json"), capsys.readouterr().out

    # rare rain (above 3 mm): weighted and tuned; the header says why
    rare, out = config_of("rare", "--rain_threshold", "3")
    assert (rare["class_weights"], rare["threshold_tuning"]) == ("balanced", "on")
    assert "class imbalance: class 1 in" in out and "--class_weights balanced, --threshold_tuning on" in out
    # a small table gets the tiny model, said in the header
    assert (rare["preset"], rare["e_layers"], rare["d_model"]) == ("tiny", 2, 64)
    assert "model size: preset tiny" in out
    # the user says no, or forces a size: kept as given
    kept, _ = config_of("kept", "--rain_threshold", "3", "--class_weights", "none", "--threshold_tuning", "off",
                        "--preset", "small")
    assert (kept["class_weights"], kept["threshold_tuning"], kept["preset"], kept["d_model"]) == ("none", "off",
                                                                                                 "small", 512)
    # the bare flag still means on
    assert parse(["--threshold_tuning"]).threshold_tuning == "on"


def test_imbalance_defaults_follow_the_positive_share():
    import numpy as np

    from exp.defaults import imbalance_defaults
    cfg = parse([])
    balanced, _ = imbalance_defaults(cfg, np.array([0, 1] * 50), 2, True)
    assert (balanced.class_weights, balanced.threshold_tuning) == ("none", "off")
    rare, _ = imbalance_defaults(cfg, np.array([0] * 80 + [1] * 20), 2, True)
    assert (rare.class_weights, rare.threshold_tuning) == ("balanced", "on")
    common, _ = imbalance_defaults(cfg, np.array([0] * 20 + [1] * 80), 2, True)
    assert common.class_weights == "balanced"
    no_val, why = imbalance_defaults(cfg, np.array([0] * 80 + [1] * 20), 2, False)
    assert no_val.threshold_tuning == "off" and "no validation split" in why
    three, _ = imbalance_defaults(cfg, np.array([0] * 80 + [1] * 10 + [2] * 10), 3, True)
    assert (three.class_weights, three.threshold_tuning) == ("none", "off")


def test_the_highway_is_on_by_default_only_where_it_was_measured_and_its_start_can_be_checked():
    from exp.defaults import highway_default
    station, why = highway_default(parse([]), station_table=True, has_validation=True)
    assert station.highway == "on" and "scored on validation as epoch 0" in why
    archive, why = highway_default(parse([]), station_table=False, has_validation=True)
    assert archive.highway == "off" and "archive set" in why
    unchecked, why = highway_default(parse([]), station_table=True, has_validation=False)
    assert unchecked.highway == "off" and "no validation split" in why
    adapted, why = highway_default(parse(["--adaptation", "--pretrain_model_path", "x.pth"]), True, True)
    assert adapted.highway == "off" and "adaptation" in why
    last, why = highway_default(parse(["--select_epoch", "last"]), station_table=True, has_validation=True)
    assert last.highway == "off" and "--select_epoch last" in why
    for given in ("on", "off"):   # the user's word stands
        assert highway_default(parse(["--highway", given]), False, False) == (parse(["--highway", given]), None)
