"""The UEA/UCR .ts reader and its splits: validation from TRAIN only, train-only scaling, labels
mapped once, variable lengths padded with a mask."""
import json

import numpy as np
import pytest

from data_provider.uea import prepare_uea, read_ts
from exp.console import data_summary
from run import main
from utils.cli import parse
from utils.errors import UserError

HEADER = "# a comment line\n@problemName {name}\n@timeStamps false\n@missing {missing}\n@univariate {uni}\n" \
         "@equalLength {equal}\n@classLabel true {labels}\n@data\n"


def write_ts(path, rows, labels, name="Toy"):
    """rows: per case a list of channels, each a list of values (None -> '?')."""
    multi = len(rows[0]) > 1
    equal = len({len(ch) for r in rows for ch in r}) == 1
    missing = any(v is None for r in rows for ch in r for v in ch)
    text = HEADER.format(name=name, missing=str(missing).lower(), uni=str(not multi).lower(),
                         equal=str(equal).lower(), labels=" ".join(sorted(set(labels))))
    for channels, label in zip(rows, labels):
        text += ":".join(",".join("?" if v is None else f"{v:g}" for v in ch) for ch in channels) + f":{label}\n"
    path.write_text(text)


def toy_archive(root, n_train=40, n_test=20, seed=0):
    """Two channels, lengths 6..12, labels 'up'/'down'/'flat' (the slope of channel 0)."""
    rng = np.random.default_rng(seed)
    names = ["down", "flat", "up"]

    def cases(n):
        rows, labels = [], []
        for i in range(n):
            label = i % 3
            length = int(rng.integers(6, 13))
            t = np.arange(length)
            ch0 = (label - 1) * 0.5 * t + rng.normal(0, 0.1, length)
            ch1 = rng.normal(0, 1, length)
            rows.append([list(ch0), list(ch1)])
            labels.append(names[label])
        return rows, labels

    for split, n in (("TRAIN", n_train), ("TEST", n_test)):
        rows, labels = cases(n)
        write_ts(root / f"Toy_{split}.ts", rows, labels)


def uea_args(root, *extra):
    return parse(["--data", "UEA", "--root_path", str(root), "--model_id", "Toy", *extra])


def test_reader_handles_multivariate_unequal_length_and_missing_values(tmp_path):
    write_ts(tmp_path / "t.ts", [[[1, 2, None, 4], [5, 6, 7, 8]], [[1, 2], [3, 4]]], ["b", "a"])
    series, labels = read_ts(tmp_path / "t.ts")
    assert labels == ["b", "a"]
    assert series[0].shape == (2, 4) and np.isnan(series[0][0, 2])
    assert series[1].shape == (2, 2)


def test_labels_are_mapped_from_train_and_validation_comes_from_train(tmp_path):
    toy_archive(tmp_path)
    data = prepare_uea(uea_args(tmp_path, "--val_ratio", "0.25"))
    assert data.report.classes == {"0": "down", "1": "flat", "2": "up"}
    assert len(data.splits["val"]) == 10 and len(data.splits["train"]) == 30 and len(data.splits["test"]) == 20
    val_counts = data.report.splits["val"].class_counts
    assert sorted(val_counts.values()) in ([3, 3, 4], [3, 4, 3], [4, 3, 3])  # stratified
    ids = lambda s: {data.row_groups[e] for e in data.splits[s].ends}  # noqa: E731
    assert ids("val").isdisjoint(ids("train")) and all(i.startswith("train:") for i in ids("val"))
    assert all(i.startswith("test:") for i in ids("test"))


def test_seq_len_rounds_up_to_whole_tokens_and_padding_is_masked(tmp_path):
    toy_archive(tmp_path)
    args = uea_args(tmp_path, "--input_token_len", "5")
    data = prepare_uea(args)
    args = args.derive(**data.window_sizes)  # the sizes the archive chose, as a run's Config takes them
    longest = data.report.length_max
    assert args.seq_len == -(-longest // 5) * 5 and args.seq_len % 5 == 0
    ws = data.splits["test"]
    x, pad = ws.inputs(np.arange(len(ws)))
    series, _ = read_ts(tmp_path / "Toy_TEST.ts")
    for i, s in enumerate(series):
        assert int((~pad[i]).sum()) == s.shape[1]           # real steps = the series' length
        assert not pad[i, -1] and bool(pad[i, : args.seq_len - s.shape[1]].all())  # left-padded
        assert (x[i][pad[i]] == 0).all()


@pytest.mark.parametrize("tokens", [4, 24])
def test_the_automatic_token_length_gives_about_tokens_per_series_tokens(tmp_path, tokens):
    toy_archive(tmp_path)
    args = uea_args(tmp_path, "--tokens_per_series", str(tokens))
    data = prepare_uea(args)
    args, longest = args.derive(**data.window_sizes), data.report.length_max
    assert args.input_token_len == -(-longest // tokens)  # rounded up: never more tokens than asked
    assert args.seq_len // args.input_token_len <= tokens


def test_train_alone_sizes_the_window_and_longer_test_series_are_cut(tmp_path):
    toy_archive(tmp_path)  # lengths 6..12
    before = uea_args(tmp_path, "--tokens_per_series", "4")
    before = before.derive(**prepare_uea(before).window_sizes)
    series, labels = read_ts(tmp_path / "Toy_TEST.ts")
    long = [list(np.arange(40.0)), list(np.arange(40.0))]
    write_ts(tmp_path / "Toy_TEST.ts", [long, long] + [[list(ch) for ch in s] for s in series[2:]], labels)
    args = uea_args(tmp_path, "--tokens_per_series", "4")
    data = prepare_uea(args)
    args = args.derive(**data.window_sizes)
    assert (args.seq_len, args.input_token_len) == (before.seq_len, before.input_token_len)
    L = args.seq_len
    assert data.report.test_series_cut == {"count": 2, "seq_len": L} and data.report.warnings == []
    assert any(f"2 TEST series longer than seq_len {L}" in line for line in data_summary(data.report))
    # a cut series keeps its last L steps, scaled with the training statistics
    x, pad = data.splits["test"].inputs(np.arange(2))
    mean, std = (np.array(data.report.scaling_from_train[k]) for k in ("mean", "std"))
    assert not pad[:2].any()
    np.testing.assert_allclose(x[0].numpy(), (np.arange(40.0 - L, 40.0)[:, None] - mean) / std, rtol=1e-5)


def test_scaling_uses_the_training_part_only(tmp_path):
    toy_archive(tmp_path)
    before = prepare_uea(uea_args(tmp_path))
    series, labels = read_ts(tmp_path / "Toy_TEST.ts")
    write_ts(tmp_path / "Toy_TEST.ts", [[list(ch * 1000) for ch in s] for s in series], labels)
    after = prepare_uea(uea_args(tmp_path))
    assert before.report.scaling_from_train == after.report.scaling_from_train


def test_a_test_label_that_train_lacks_is_an_error(tmp_path):
    toy_archive(tmp_path)
    series, labels = read_ts(tmp_path / "Toy_TEST.ts")
    write_ts(tmp_path / "Toy_TEST.ts", [[list(ch) for ch in s] for s in series], ["sideways"] + labels[1:])
    with pytest.raises(UserError, match=r"class label\(s\) \['sideways'\] never occur in TRAIN"):
        prepare_uea(uea_args(tmp_path))


def test_uea_trains_and_retests_end_to_end(tmp_path, capsys):
    toy_archive(tmp_path, n_train=60, n_test=30)
    (tmp_path / "Toy").mkdir()
    for split in ("TRAIN", "TEST"):  # DATA_ROOT/NAME/NAME_SPLIT.ts, as the archive unpacks
        (tmp_path / f"Toy_{split}.ts").rename(tmp_path / "Toy" / f"Toy_{split}.ts")
    argv = ["--data", "UEA", "--root_path", str(tmp_path), "--model_id", "Toy", "--e_layers", "1", "--d_model", "16",
            "--d_ff", "32", "--n_heads", "2", "--train_epochs", "15", "--learning_rate", "3e-3", "--pooling", "mean",
            "--checkpoints", str(tmp_path / "ck")]
    assert main(argv) == 0
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n"] == 30 and metrics["labels"] == [0, 1, 2]
    assert metrics["accuracy"] > 0.6  # the slope of channel 0 gives the class away
    assert "persistence" not in metrics["baselines"] and metrics["diagnosis"]["leakage"] == []
    capsys.readouterr()
    assert main(["--data", "UEA", "--is_training", "0", "--model_id", "Toy", "--checkpoints", str(tmp_path / "ck")]) == 0
    assert "identical to metrics.json" in capsys.readouterr().out
