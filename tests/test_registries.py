"""A model and a data loader are each added in one place (their registry) and run end to end:
the command line's choices come from the registries, and exp/ never names a model or a loader."""
import json

import numpy as np
import torch

from data_provider.base import DataReport, PreparedData, SplitSummary
from data_provider.data_factory import DATA_LOADERS, register_loader
from data_provider.windows import SPLITS, WindowSet
from models import CLASSIFIERS, register_classifier
from run import main
from utils.cli import build_parser


class MeanClassifier(torch.nn.Module):
    """Logistic regression on each variable's window mean: the smallest thing that is a classifier."""

    def __init__(self, cfg):
        super().__init__()
        self.head = torch.nn.Linear(cfg.n_vars, cfg.n_classes)

    def forward(self, x, pad_mask=None):
        return self.head(x.mean(dim=1))


def toy_windows(args) -> PreparedData:
    """Two variables; class 1 when the first one's level is high. 60 / 20 / 20 windows of 6 steps."""
    rng = np.random.default_rng(0)
    rows, seq_len = 100 * 6, 6
    level = np.repeat(rng.integers(0, 2, 100), seq_len).astype(np.float32)
    data = torch.from_numpy(np.column_stack([level + rng.normal(0, 0.3, rows), rng.normal(0, 1, rows)]).astype(np.float32))
    ends = np.arange(seq_len - 1, rows, seq_len)
    labels = level[ends].astype(np.int64)
    bounds = {"train": slice(0, 60), "val": slice(60, 80), "test": slice(80, 100)}
    splits = {s: WindowSet(s, data, ends[bounds[s]], labels[bounds[s]], seq_len) for s in SPLITS}
    report = DataReport(file="toy", splits={
        s: SplitSummary(windows=len(w), class_counts={str(c): int((w.labels == c).sum()) for c in (0, 1)},
                        class_shares={str(c): float((w.labels == c).mean()) for c in (0, 1)})
        for s, w in splits.items()})
    return PreparedData(splits, 2, ["level", "noise"], None, None, np.array(["toy"] * rows), report)


def test_a_model_and_a_loader_added_in_one_place_each_run_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(DATA_LOADERS, "Toy", toy_windows)   # the same as @register_loader("Toy"), undone after
    monkeypatch.setitem(CLASSIFIERS, "mean_classifier", MeanClassifier)
    actions = {a.dest: a for a in build_parser()._actions}
    assert "Toy" in actions["data"].choices and "mean_classifier" in actions["model"].choices
    argv = ["--data", "Toy", "--model", "mean_classifier", "--seq_len", "6", "--input_token_len", "6",
            "--train_epochs", "30", "--learning_rate", "0.05", "--batch_size", "20", "--patience", "30",
            "--checkpoints", str(tmp_path / "ck"), "--model_id", "toy"]
    assert main(argv) == 0
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n"] == 20 and metrics["accuracy"] >= 0.9
    assert set(metrics["baselines"]) == {"majority", "learned"}       # no calendar, no rain column
    assert main(["--is_training", "0", "--checkpoints", str(tmp_path / "ck"), "--model_id", "toy"]) == 0
    assert "re-test metrics are identical" in capsys.readouterr().out


def test_the_decorators_fill_the_registries():
    @register_loader("Toy2")
    def loader(args):
        return None

    @register_classifier("toy2")
    class Toy(torch.nn.Module):
        pass

    try:
        assert DATA_LOADERS["Toy2"] is loader and CLASSIFIERS["toy2"] is Toy
    finally:
        del DATA_LOADERS["Toy2"], CLASSIFIERS["toy2"]


def test_a_second_backbone_trains_and_retests_through_the_same_code(tmp_path, capsys, monkeypatch):
    """patch_transformer_classifier: Timer-XL's head on a plain patch transformer, registered in one
    line; exp/ reaches the encoder only through the backbone interface (layers, final_norm)."""
    monkeypatch.setitem(DATA_LOADERS, "Toy", toy_windows)
    argv = ["--data", "Toy", "--model", "patch_transformer_classifier", "--seq_len", "6", "--input_token_len", "3",
            "--e_layers", "2", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--train_epochs", "15",
            "--learning_rate", "0.01", "--batch_size", "20", "--patience", "15", "--checkpoints", str(tmp_path / "ck"),
            "--model_id", "patch"]
    assert main(argv) == 0
    (run_dir,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.9
    assert main(["--is_training", "0", "--checkpoints", str(tmp_path / "ck"), "--model_id", "patch"]) == 0
    assert "re-test metrics are identical" in capsys.readouterr().out
    # partial fine-tuning unfreezes the last K blocks and the final norm of whichever backbone
    from exp.adaptation import apply_finetune
    from utils.cli import parse
    cfg = parse(argv).derive(n_vars=2, n_classes=2)
    model = CLASSIFIERS["patch_transformer_classifier"](cfg)
    apply_finetune(model, "partial", 1)
    trainable = {n for n, p in model.backbone.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("blocks.1.", "norm.")) for n in trainable)
