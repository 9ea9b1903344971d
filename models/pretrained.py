"""Reading Timer-XL checkpoints (OpenLTM's or ours) and loading them into a backbone, loudly.

Loads that silently keep half the weights are the failure this module exists to prevent: every
tensor is accounted for as loaded, missing, unexpected or shape-mismatched, by name.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from utils.errors import UserError

WRAPPER_KEYS = ("model", "state_dict", "model_state_dict")


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat {name: tensor} from a .pth/.ckpt (plain or wrapped state_dict) or a .safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found; check --pretrain_model_path")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise UserError(f"{path}: reading .safetensors needs the safetensors package: "
                            "pip install safetensors")
        try:
            state = load_file(str(path), device="cpu")
        except Exception as err:
            raise UserError(f"{path}: not a readable safetensors file ({type(err).__name__})")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            text = str(err)
            # weights_only names the refused callable/class as "GLOBAL x.y"; other failures are
            # bytes that are not a checkpoint at all
            refused = re.search(r"GLOBAL (\S+) was not an allowed global", text)
            why = (f"it holds Python objects or code ({refused.group(1)}) that weights_only loading refuses"
                   if refused else f"it is truncated or not a PyTorch checkpoint ({type(err).__name__})")
            raise UserError(f"{path}: cannot be loaded as plain weights: {why}; "
                            "give a checkpoint that holds only tensors")
    for key in WRAPPER_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path}: does not hold a state_dict (a mapping of names to tensors, possibly under "
                        f"{' or '.join(WRAPPER_KEYS)})")
    return state


def strip_module(key: str) -> str:
    while key.startswith("module."):
        key = key[len("module."):]
    return key


def canonical_key(key: str) -> str:
    key = strip_module(key)
    return "blocks." + key[len("encoder."):] if key.startswith("encoder.") else key


def normalize_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenLTM names: drop DataParallel/DDP's ``module.``, map the older ``encoder.`` to ``blocks.``,
    and take the backbone out of one of our classifier checkpoints (``backbone.``)."""
    out = {canonical_key(key): value for key, value in state.items()}
    if any(k.startswith("backbone.") for k in out):
        out = {k[len("backbone."):]: v for k, v in out.items() if k.startswith("backbone.")}
    return out


def infer_architecture(state: dict[str, torch.Tensor]) -> dict:
    """Sizes read off the tensors' shapes (what the checkpoint *is*, whatever its config says)."""
    found = {}
    if "embedding.weight" in state:
        found["d_model"], found["input_token_len"] = state["embedding.weight"].shape
    layers = {int(m.group(1)) for k in state if (m := re.match(r"blocks\.attn_layers\.(\d+)\.", k))}
    if layers:
        found["e_layers"] = max(layers) + 1
    conv1 = "blocks.attn_layers.0.conv1.weight"
    if conv1 in state:
        found["d_ff"] = state[conv1].shape[0]
    bias = "blocks.attn_layers.0.attention.inner_attention.attn_bias.emb.weight"
    if bias in state:
        found["n_heads"] = state[bias].shape[1]
    if "head.weight" in state:
        found["output_token_len"] = state["head.weight"].shape[0]
    return {k: int(v) for k, v in found.items()}


def match_state(backbone: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict:
    """Sort every name into loaded / missing / unexpected / shape-mismatched."""
    own = backbone.state_dict()
    mismatched = {k: {"model": list(own[k].shape), "checkpoint": list(state[k].shape)}
                  for k in own if k in state and own[k].shape != state[k].shape}
    return {
        "loaded": sorted(k for k in own if k in state and k not in mismatched),
        "missing": sorted(k for k in own if k not in state),
        "unexpected": sorted(k for k in state if k not in own),
        "shape_mismatched": mismatched,
    }


def load_backbone(backbone: torch.nn.Module, state: dict[str, torch.Tensor], allow_partial: bool, source: str) -> dict:
    """Copy matching tensors into ``backbone``; refuse a partial load unless allowed."""
    result = match_state(backbone, state)
    problems = [f"{k} missing from the checkpoint" for k in result["missing"]]
    problems += [f"{k} has shape {v['checkpoint']} in the checkpoint but {v['model']} in the model"
                 for k, v in result["shape_mismatched"].items()]
    if problems and not allow_partial:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{source}: backbone tensor {problems[0]}{more}; match the architecture flags to the "
                        "checkpoint, or pass --allow_partial_load to start those tensors fresh")
    backbone.load_state_dict({k: state[k] for k in result["loaded"]}, strict=False)
    live = backbone.state_dict()
    differing = [k for k in result["loaded"] if not torch.equal(live[k].cpu(), state[k].to(live[k].dtype))]
    if differing:
        raise RuntimeError(f"after loading, {len(differing)} backbone tensors differ from the checkpoint: {differing[:3]}")
    return result


def assert_used_in_forward(model: torch.nn.Module, names: list[str], example, prefix: str = "") -> None:
    """Every named parameter must receive a gradient from one forward pass of ``model``.

    This catches weights loaded into a module that forward() never calls (a copy nobody uses).
    """
    params = dict(model.named_parameters())
    wanted = [prefix + n for n in names if prefix + n in params]
    was_training = model.training
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        flags = {n: params[n].requires_grad for n in wanted}
        for n in wanted:
            params[n].requires_grad_(True)
        inputs = example if isinstance(example, tuple) else (example,)
        model(*inputs).float().sum().backward()
        unused = [n for n in wanted if params[n].grad is None]
        for n, flag in flags.items():
            params[n].requires_grad_(flag)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    if unused:
        raise RuntimeError(f"loaded weights that forward() never uses: {unused[:3]}")
