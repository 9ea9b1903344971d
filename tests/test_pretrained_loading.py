"""Pretrained Timer-XL checkpoints: every tensor accounted for, loud failures, fine-tune modes."""
import argparse
import json

import pytest
import torch

from exp.adaptation import adapt, apply_finetune
from exp.training_loop import build_optimizer
from models import timer_xl, timer_xl_classifier
from models.pretrained import (assert_used_in_forward, infer_architecture, load_backbone, normalize_keys,
                               read_checkpoint)
from utils.errors import UserError

SIZES = dict(input_token_len=4, output_token_len=4, d_model=32, n_heads=4, e_layers=2, d_ff=48, dropout=0.0,
             activation="relu", use_norm=False, covariate=False)


def openltm_state(**overrides):
    """A checkpoint with OpenLTM's timer_xl names and shapes (the forecaster, head included)."""
    torch.manual_seed(1)
    return timer_xl.Model(argparse.Namespace(**{**SIZES, **overrides})).state_dict()


def classifier(**overrides):
    torch.manual_seed(2)
    cfg = argparse.Namespace(**{**SIZES, **overrides}, seq_len=12, n_vars=3, n_classes=2, pooling="last")
    return timer_xl_classifier.Model(cfg)


def adapt_cfg(path, **overrides):
    base = dict(pretrain_model_path=str(path), allow_partial_load=False, finetune="full", backbone_lr_scale=1.0,
                **SIZES)
    base.update(overrides)
    return argparse.Namespace(**base)


def quiet(_line=""):
    pass


@pytest.mark.parametrize("wrap", ["plain", "model", "state_dict", "module", "encoder"])
def test_wrapped_and_renamed_checkpoints_read_to_openltm_names(tmp_path, wrap):
    state = openltm_state()
    stored = {
        "plain": state,
        "model": {"model": state, "epoch": torch.tensor(3)},
        "state_dict": {"state_dict": state},
        "module": {f"module.{k}": v for k, v in state.items()},
        "encoder": {k.replace("blocks.", "encoder.", 1): v for k, v in state.items()},
    }[wrap]
    path = tmp_path / "ckpt.pth"
    torch.save(stored, path)
    read = normalize_keys(read_checkpoint(path))
    assert read.keys() == state.keys()
    assert all(torch.equal(read[k], state[k]) for k in state)


def test_adaptation_loads_every_backbone_tensor_and_reports_it(tmp_path):
    state = openltm_state()
    path = tmp_path / "ckpt.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    model = classifier()
    report = adapt(model, adapt_cfg(path), tmp_path, torch.randn(1, 12, 3), quiet)
    assert report["missing"] == [] and report["unexpected"] == [] and report["shape_mismatched"] == {}
    assert report["unused_by_design"] == ["head.bias", "head.weight"]
    assert report["backbone_fraction_from_checkpoint"] == 1.0
    assert report["key_renames"]["module_prefix_stripped"] == len(state)
    params = report["parameters"]
    assert params["model_total_before_load"] == params["model_total_after_load"]
    assert params["backbone"] + params["classifier_head"] == params["model_total_after_load"]
    live = model.backbone.state_dict()
    for key in report["loaded"]:
        assert torch.equal(live[key], state[key]), key
    assert json.loads((tmp_path / "adaptation.json").read_text())["loaded"] == report["loaded"]


def test_a_tensor_of_another_shape_stops_the_run_with_both_shapes(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save(openltm_state(d_ff=64), path)
    with pytest.raises(UserError) as err:
        adapt(classifier(), adapt_cfg(path), tmp_path, torch.randn(1, 12, 3), quiet)
    message = str(err.value)
    assert "blocks.attn_layers.0.conv1.weight has shape [64, 32, 1] in the checkpoint but [48, 32, 1] in the model" in message
    assert "(and 5 more)" in message  # conv1 weight+bias, conv2 weight, in each of the 2 layers
    assert "--allow_partial_load" in message


def test_extra_checkpoint_layers_are_not_dropped_silently(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save(openltm_state(e_layers=3), path)
    with pytest.raises(UserError, match="blocks.attn_layers.2.* has no place in the model"):
        adapt(classifier(), adapt_cfg(path), tmp_path, torch.randn(1, 12, 3), quiet)
    report = adapt(classifier(), adapt_cfg(path, allow_partial_load=True), tmp_path, torch.randn(1, 12, 3), quiet)
    assert len(report["unexpected"]) == 17 and report["missing"] == []  # one whole layer


def test_partial_load_when_allowed_reports_the_fresh_tensors(tmp_path):
    state = openltm_state()
    del state["blocks.norm.weight"]
    path = tmp_path / "ckpt.pth"
    torch.save(state, path)
    with pytest.raises(UserError, match="blocks.norm.weight missing from the checkpoint"):
        adapt(classifier(), adapt_cfg(path), tmp_path, torch.randn(1, 12, 3), quiet)
    report = adapt(classifier(), adapt_cfg(path, allow_partial_load=True), tmp_path, torch.randn(1, 12, 3), quiet)
    assert report["missing"] == ["blocks.norm.weight"]
    assert 0.99 < report["backbone_fraction_from_checkpoint"] < 1.0


def test_settings_beside_the_checkpoint_are_compared(tmp_path):
    path = tmp_path / "checkpoint.pth"
    torch.save(openltm_state(), path)
    (tmp_path / "config.json").write_text(json.dumps({"use_norm": True, "activation": "relu"}))
    lines = []
    report = adapt(classifier(), adapt_cfg(path), tmp_path, torch.randn(1, 12, 3), lines.append)
    assert report["settings_warnings"] == ["use_norm is False here but the checkpoint was trained with True"]
    assert any("WARNING: use_norm" in line for line in lines)


def test_architecture_is_read_off_the_tensors():
    found = infer_architecture(openltm_state(e_layers=3, d_ff=64))
    assert found == {"d_model": 32, "input_token_len": 4, "e_layers": 3, "d_ff": 64, "n_heads": 4,
                     "output_token_len": 4}


class _Evil:
    def __reduce__(self):
        return (print, ("this ran during unpickling",))


@pytest.mark.parametrize("content, message", [
    (b"", "truncated or not a PyTorch checkpoint"),
    (b"not a checkpoint at all", "truncated or not a PyTorch checkpoint"),
    ("evil", r"holds Python objects or code \(print\) that weights_only loading refuses"),
    ("list", "does not hold a state_dict"),
])
def test_unreadable_checkpoints_are_refused_plainly(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    if content == "evil":
        torch.save({"weights": _Evil()}, path)
    elif content == "list":
        torch.save([torch.zeros(2)], path)
    else:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_checkpoint(path)


def test_truncated_real_checkpoint_is_refused(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save(openltm_state(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError, match="truncated"):
        read_checkpoint(path)


def test_safetensors_checkpoints_are_read(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    state = openltm_state()
    path = tmp_path / "model.safetensors"
    safetensors.save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    read = read_checkpoint(path)
    assert all(torch.equal(read[k], state[k]) for k in state)


def test_weights_loaded_into_a_module_forward_never_uses_are_caught():
    class Shadowed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Linear(3, 3)   # what gets loaded
            self.used = torch.nn.Linear(3, 2)       # what forward really calls

        def forward(self, x):
            return self.used(x)

    model = Shadowed()
    load_backbone(model.backbone, {k: torch.ones_like(v) for k, v in model.backbone.state_dict().items()}, False, "t")
    with pytest.raises(RuntimeError, match="forward\\(\\) never uses"):
        assert_used_in_forward(model, ["weight", "bias"], torch.randn(1, 3), prefix="backbone.")


@pytest.mark.parametrize("mode, k, trainable_layers", [("full", None, [0, 1]), ("linear_probe", None, []),
                                                       ("partial", 1, [1])])
def test_finetune_modes_freeze_the_right_parts_and_keep_them_saved(mode, k, trainable_layers):
    model = classifier()
    apply_finetune(model, mode, k)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {"classifier.weight", "classifier.bias"} <= trainable
    for i in range(2):
        assert (f"backbone.blocks.attn_layers.{i}.conv1.weight" in trainable) == (i in trainable_layers)
    assert ("backbone.embedding.weight" in trainable) == (mode == "full")
    assert len(model.state_dict()) == len(classifier().state_dict())  # frozen tensors are still saved


def test_backbone_learning_rate_scale_applies_to_the_backbone_only():
    model = classifier()
    cfg = argparse.Namespace(adaptation=True, backbone_lr_scale=0.1, learning_rate=1e-3, weight_decay=0.0)
    groups = build_optimizer(model, cfg).param_groups
    assert [g["lr_scale"] for g in groups] == [0.1, 1.0]
    assert sum(p.numel() for p in groups[1]["params"]) == sum(p.numel() for p in model.classifier.parameters())
