"""--config FILE: a YAML recipe under the command line, checked like the flags it stands for."""
import pytest

from run import main
from utils.cli import parse
from utils.errors import UserError


def recipe(tmp_path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return str(path)


def test_recipe_values_apply_and_the_command_line_overrides_them(tmp_path):
    path = recipe(tmp_path, "seq_len: 56\ninput_token_len: 7\nsplit: 0.6,0.2,0.2\ncosine: true\n"
                            "replace: [T=0.001, M=-1]\n")
    args = parse(["--config", path, "--input_token_len", "14"])
    assert (args.seq_len, args.input_token_len, args.split, args.lradj) == (56, 14, "0.6,0.2,0.2", "cosine")
    assert args.replace == ("T=0.001", "M=-1")
    # a value from the recipe counts as given, like a typed flag
    assert {"seq_len", "split", "cosine", "replace", "input_token_len"} <= set(args.explicit)


def test_recipe_values_meet_the_same_checks_as_flags(tmp_path):
    with pytest.raises(UserError, match="--train_steps and --train_epochs both set the training length"):
        parse(["--config", recipe(tmp_path, "train_steps: 100\ntrain_epochs: 5\n")])
    with pytest.raises(UserError, match=r"recipe.yaml: unknown key 'seq_length'; did you mean 'seq_len'\?"):
        parse(["--config", recipe(tmp_path, "seq_length: 96\n")])
    with pytest.raises(UserError, match=r"'lradj': 'type9' is not one of"):
        parse(["--config", recipe(tmp_path, "lradj: type9\n")])
    with pytest.raises(UserError, match=r"'seq_len': 'long' is not a valid value"):
        parse(["--config", recipe(tmp_path, "seq_len: long\n")])
    with pytest.raises(UserError, match="'cosine' is a switch: give true or false"):
        parse(["--config", recipe(tmp_path, "cosine: 1\n")])
    with pytest.raises(UserError, match="not valid YAML"):
        parse(["--config", recipe(tmp_path, "seq_len: [96\n")])
    with pytest.raises(UserError, match="file not found"):
        parse(["--config", str(tmp_path / "missing.yaml")])


def test_a_run_from_a_recipe_retests_without_it(tmp_path, capsys):
    from conftest import rain_table

    rain_table(n_rows=160).to_csv(tmp_path / "rain.csv", index=False)
    path = recipe(tmp_path, f"root_path: {tmp_path}\ndata_path: rain.csv\ngroup_col: region\ntarget_from: tp_mm\n"
                            "rain_threshold: 0.5\nseq_len: 8\ninput_token_len: 4\ne_layers: 1\nd_model: 16\n"
                            "d_ff: 16\nn_heads: 2\ntrain_epochs: 1\nmodel_id: from_recipe\n"
                            f"checkpoints: {tmp_path / 'ck'}\n")
    assert main(["--config", path]) == 0
    capsys.readouterr()
    assert main(["--is_training", "0", "--checkpoints", str(tmp_path / "ck"), "--model_id", "from_recipe"]) == 0
    assert "re-test metrics are identical" in capsys.readouterr().out
