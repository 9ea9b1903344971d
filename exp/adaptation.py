"""Adaptation from a pretrained Timer-XL: architecture from the checkpoint, a load that accounts
for every tensor, a check that forward() really uses the loaded weights, and the fine-tune mode."""
from __future__ import annotations

from pathlib import Path

import torch

from models.pretrained import (assert_used_in_forward, infer_architecture, load_backbone, normalize_keys,
                               read_checkpoint, strip_module)
from models.timer_xl_classifier import PRESETS, count_parameters
from utils.atomic_io import read_json, write_json
from utils.config import Config, flat_saved, parse_finetune
from utils.errors import UserError

ARCHITECTURE = ("e_layers", "d_model", "d_ff", "n_heads", "input_token_len", "output_token_len")
# settings that change what the pretrained weights mean, without changing any tensor's shape
MEANINGFUL_SETTINGS = ("use_norm", "input_token_len", "activation", "covariate", "output_token_len")
FORECAST_HEAD = ("head.weight", "head.bias")


def adopt_checkpoint_architecture(cfg: Config, log) -> Config:
    """The Config with the sizes the user did not set taken from the checkpoint's shapes, so that
    ``--adaptation`` with the published checkpoint needs no size flags."""
    state = normalize_keys(read_checkpoint(cfg.pretrain_model_path))
    found = infer_architecture(state)
    adopted = {key: found[key] for key in ARCHITECTURE
               if key in found and key not in cfg.explicit and "preset" not in cfg.explicit
               and getattr(cfg, key) != found[key]}
    if not adopted:
        return cfg
    log(f"architecture from the checkpoint: {', '.join(f'{k} {v}' for k, v in adopted.items())}")
    if any(k in adopted for k in PRESETS["small"]):
        adopted["preset"] = "none"  # the sizes are the checkpoint's, not a preset's
    return cfg.derive(**adopted)


def apply_finetune(model: torch.nn.Module, mode: str, k: int | None) -> None:
    """Freeze what the mode keeps fixed. Frozen parameters stay in the state_dict, so a re-test
    always loads a whole model."""
    backbone = model.backbone
    n_layers = len(backbone.layers())
    if mode == "partial" and k > n_layers:
        raise UserError(f"--finetune partial:{k}: the backbone has only {n_layers} layers")
    for p in backbone.parameters():
        p.requires_grad_(mode == "full")
    if mode == "partial":
        for layer in backbone.layers()[n_layers - k:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        if backbone.final_norm() is not None:
            for p in backbone.final_norm().parameters():
                p.requires_grad_(True)


def _settings_beside(checkpoint: Path) -> dict | None:
    for name in ("config.json", "args.json"):
        candidate = checkpoint.parent / name
        if candidate.is_file():
            try:
                return flat_saved(read_json(candidate))  # ours (either format) or OpenLTM's flat args.json
            except ValueError:
                return None
    return None


def adapt(model: torch.nn.Module, cfg, run_dir: Path, example: tuple[torch.Tensor, ...], log) -> dict:
    """Load the pretrained backbone into ``model`` and write adaptation.json; returns its content."""
    path = Path(cfg.pretrain_model_path)
    total_before, _ = count_parameters(model)
    raw = read_checkpoint(path)
    state = normalize_keys(raw)
    head = {k: state.pop(k) for k in FORECAST_HEAD if k in state}  # the classifier does not forecast
    result = load_backbone(model.backbone, state, cfg.allow_partial_load, str(path))
    if result["unexpected"] and not cfg.allow_partial_load:
        raise UserError(f"{path}: checkpoint tensor {result['unexpected'][0]} has no place in the model "
                        f"({len(result['unexpected'])} such); match --e_layers and the other sizes to the checkpoint, "
                        "or pass --allow_partial_load")
    assert_used_in_forward(model, result["loaded"], example, prefix="backbone.")

    mode, k = parse_finetune(cfg.finetune)
    apply_finetune(model, mode, k)
    total_after, trainable = count_parameters(model)
    backbone_total = sum(p.numel() for p in model.backbone.parameters())
    from_checkpoint = sum(state[n].numel() for n in result["loaded"])
    warnings = []
    saved = _settings_beside(path)
    if saved:
        for key in MEANINGFUL_SETTINGS:
            if key in saved and saved[key] != getattr(cfg, key):
                warnings.append(f"{key} is {getattr(cfg, key)!r} here but the checkpoint was trained with {saved[key]!r}")
    report = {
        "checkpoint": str(path),
        "loaded": result["loaded"],
        "missing": result["missing"],
        "unexpected": result["unexpected"],
        "shape_mismatched": result["shape_mismatched"],
        "unused_by_design": sorted(head),
        "key_renames": {
            "module_prefix_stripped": sum(k.startswith("module.") for k in raw),
            "encoder_to_blocks": sum(strip_module(k).startswith("encoder.") for k in raw),
        },
        "parameters": {
            "model_total_before_load": total_before,
            "model_total_after_load": total_after,
            "backbone": backbone_total,
            "classifier_head": total_after - backbone_total,
            "loaded_from_checkpoint": from_checkpoint,
            "trainable": trainable,
        },
        "backbone_fraction_from_checkpoint": from_checkpoint / backbone_total,
        "finetune": cfg.finetune,
        "backbone_lr_scale": cfg.backbone_lr_scale,
        "settings_beside_checkpoint": saved is not None,
        "settings_warnings": warnings,
    }
    write_json(run_dir / "adaptation.json", report)
    log(f"adaptation from {path}: {len(result['loaded'])} tensors loaded, {len(result['missing'])} missing, "
        f"{len(result['unexpected'])} unexpected, {len(result['shape_mismatched'])} shape-mismatched; "
        f"forecast head not used: {', '.join(sorted(head)) or '-'}")
    log(f"  {report['backbone_fraction_from_checkpoint']:.1%} of backbone parameters from the checkpoint; "
        f"parameters {total_after:,} (before load {total_before:,}), trainable {trainable:,} ({cfg.finetune})")
    for warning in warnings:
        log(f"  WARNING: {warning}")
    if not saved:
        log("  (no config.json beside the checkpoint: use_norm, activation and token length could not be checked)")
    return report
