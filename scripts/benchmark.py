"""Speed and memory of the Timer-XL classifier, beside thuml's eager attention formulation.

    python scripts/benchmark.py [--device cpu|cuda] [--presets small,full] [--seq_lens 720,1440]
                                [--batches 32,64] [--precisions fp32,bf16,fp16] [--steps 3]
                                [--out benchmark.json]

For each preset, seq_len (token 96, 27 variables; tokens = 27 x seq_len / 96), batch size and
precision (fp32; bf16 autocast; fp16 autocast with a gradient scaler, as --amp runs them; on CUDA
the default list holds bf16 only where the card has it) it measures, each configuration in a fresh
child process so peak memory is its own:
  * training: samples/s and tokens/s over ``--steps`` optimizer steps after one warm-up step;
  * inference: samples/s and tokens/s;
  * peak memory: CUDA max allocated on GPU; on CPU the growth of the process's peak RSS over
    what it held once the model was built;
  * the same with the reference attention (the eager math of OpenLTM's default path, written
    here: a [B, H, L, L] score tensor, a batch-sized mask, softmax, einsum), the ratio of the
    two, and the largest difference between their outputs for the same (freshly built) weights
    and input.
It ends with the data path (``scripts/benchmark_data.py``'s measurement) unless ``--no_data``.
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import timer_xl, timer_xl_classifier  # noqa: E402
from utils.precision import BF16_CAPABILITY, LossScaling, choose_precision, device_capability  # noqa: E402

N_VARS, TOKEN = 27, 96


def eager_attention(self, q, k, v, n_vars, n_tokens, key_pad=None):
    """The reference formulation: explicit scores, bias and mask materialised per batch element."""
    B, H, L, E = q.shape
    positions = torch.arange(L, device=q.device)
    w = self.rotary_width
    q = torch.cat((self.rotary(q[..., :w], positions), q[..., w:]), dim=-1)
    k = torch.cat((self.rotary(k[..., :w], positions), k[..., w:]), dim=-1)
    var_id = torch.arange(n_vars, device=q.device).repeat_interleave(n_tokens)
    time_id = torch.arange(n_tokens, device=q.device).repeat(n_vars)
    same = (var_id[:, None] == var_id[None, :]).expand(B, 1, L, L)
    weight = self.attn_bias.emb.weight  # [2, H]
    bias = torch.where(same, weight[1][None, :, None, None], weight[0][None, :, None, None])  # [B, H, L, L]
    causal = (time_id[None, :] > time_id[:, None]).expand(B, 1, L, L)
    scores = torch.einsum("bhle,bhse->bhls", q, k) + bias
    scores = scores.masked_fill(causal, float("-inf"))
    attn = torch.softmax(scores / math.sqrt(E), dim=-1)
    if self.training and self.dropout:
        attn = torch.nn.functional.dropout(attn, self.dropout)
    return torch.einsum("bhls,bhsd->bhld", attn, v)


def build(preset: str, seq_len: int, device: str) -> torch.nn.Module:
    cfg = argparse.Namespace(**timer_xl_classifier.PRESETS[preset], input_token_len=TOKEN, output_token_len=TOKEN,
                             dropout=0.0, activation="relu", use_norm=False, covariate=False, seq_len=seq_len,
                             n_vars=N_VARS, n_classes=2, pooling="last")
    torch.manual_seed(0)
    return timer_xl_classifier.Model(cfg).to(device)


def peak_mib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(preset: str, seq_len: int, batch: int, steps: int, device: str, attention: str,
            precision_name: str = "fp32") -> dict:
    """One configuration, in this process (the parent runs each in a child)."""
    precision = choose_precision("off" if precision_name == "fp32" else precision_name, device,
                                 device_capability(device))
    scaling = LossScaling(precision, device)
    if attention == "eager":
        timer_xl.TimeAttention.forward = eager_attention
    model = build(preset, seq_len, device)
    # the output comparison uses the freshly built weights: after a few optimizer steps the two
    # children's weights differ by rounding (different kernels, different gradients), and that
    # would be compared instead of the attention itself
    torch.manual_seed(1)
    probe = torch.randn(2, seq_len, N_VARS, device=device)
    model.eval()
    with torch.no_grad():
        out = model(probe).double().cpu().tolist()
    x = torch.randn(batch, seq_len, N_VARS, device=device)
    y = torch.randint(0, 2, (batch,), device=device)
    tokens = N_VARS * math.ceil(seq_len / TOKEN)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def train_step():
        with precision.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        scaling.scale(loss).backward()
        scaling.step(optimizer)

    model.train()
    train_step()  # warm-up (allocator, kernels)
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    before = peak_mib(device) if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t0) / steps
    train_peak = peak_mib(device) - (0 if device == "cuda" else before)
    model.eval()
    with torch.no_grad(), precision.autocast(device):
        model(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            model(x)
        sync()
    infer_s = (time.perf_counter() - t0) / steps
    return {"preset": preset, "seq_len": seq_len, "tokens": tokens, "batch": batch, "attention": attention,
            "precision": precision.name, "fp16_skipped_steps": scaling.skipped_steps,
            "train_samples_per_s": batch / train_s, "train_tokens_per_s": batch * tokens / train_s,
            "infer_samples_per_s": batch / infer_s, "infer_tokens_per_s": batch * tokens / infer_s,
            "train_peak_mib": train_peak, "probe_logits": out,
            "parameters": sum(p.numel() for p in model.parameters())}


def run_child(preset, seq_len, batch, steps, device, attention, precision="fp32") -> dict:
    cmd = [sys.executable, __file__, "--child",
           json.dumps([preset, seq_len, batch, steps, device, attention, precision])]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"benchmark child failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--presets", default="small,full")
    p.add_argument("--seq_lens", default="720,1440")
    p.add_argument("--batches", default=None, help="comma-separated batch sizes; default: 32,64 on GPU, 4 on CPU")
    p.add_argument("--precisions", default=None,
                   help="comma-separated fp32, bf16, fp16; default on GPU: fp32, fp16 and bf16 where the card has it; "
                        "on CPU: fp32")
    p.add_argument("--steps", type=int, default=None, help="timed steps; default: 10 on GPU, 2 on CPU")
    p.add_argument("--out", default="benchmark.json")
    p.add_argument("--no_data", action="store_true", help="skip the data-path measurement")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.child:
        print(json.dumps(measure(*json.loads(opts.child))))
        return
    gpu = opts.device == "cuda"
    batches = [int(b) for b in (opts.batches or ("32,64" if gpu else "4")).split(",")]
    if opts.precisions:
        precisions = opts.precisions.split(",")
    elif gpu:
        has_bf16 = device_capability("cuda") >= BF16_CAPABILITY
        precisions = ["fp32", "fp16"] + (["bf16"] if has_bf16 else [])
    else:
        precisions = ["fp32"]
    steps = opts.steps or (10 if gpu else 2)
    name = torch.cuda.get_device_name() if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; 27 variables, token {TOKEN}, {steps} timed steps; the eager "
          "reference (OpenLTM's formulation) runs beside each fp32 row")
    header = (f"{'preset':6} {'seq_len':>7} {'tokens':>6} {'batch':>5} {'prec':>4} | {'train samp/s':>12} {'tok/s':>9} "
              f"{'step ms':>8} {'peak MiB':>9} | {'infer samp/s':>12} | {'eager train':>11} {'eager MiB':>9} | "
              f"{'speed x':>7} {'mem x':>6} {'max |diff|':>10}")
    print(header)
    rows = []
    for preset in opts.presets.split(","):
        for seq_len in map(int, opts.seq_lens.split(",")):
            for batch in batches:
                for precision in precisions:
                    ours = run_child(preset, seq_len, batch, steps, opts.device, "sdpa", precision)
                    row = {**{k: v for k, v in ours.items() if k != "probe_logits"},
                           "train_step_ms": 1e3 * batch / ours["train_samples_per_s"]}
                    reference = "-"
                    if precision == "fp32":
                        ref = run_child(preset, seq_len, batch, steps, opts.device, "eager")
                        diff = max(abs(a - b) for ra, rb in zip(ours["probe_logits"], ref["probe_logits"])
                                   for a, b in zip(ra, rb))
                        row.update({"eager": {k: v for k, v in ref.items() if k != "probe_logits"},
                                    "train_speedup_vs_eager": ours["train_samples_per_s"] / ref["train_samples_per_s"],
                                    "memory_ratio_vs_eager": ours["train_peak_mib"] / max(ref["train_peak_mib"], 1e-9),
                                    "max_abs_output_difference": diff})
                        reference = (f"{ref['train_samples_per_s']:11.2f} {ref['train_peak_mib']:9.0f} | "
                                     f"{row['train_speedup_vs_eager']:7.2f} {row['memory_ratio_vs_eager']:6.2f} "
                                     f"{diff:10.2e}")
                    rows.append(row)
                    print(f"{preset:6} {seq_len:7d} {ours['tokens']:6d} {batch:5d} {precision:>4} | "
                          f"{ours['train_samples_per_s']:12.2f} {ours['train_tokens_per_s']:9.0f} "
                          f"{row['train_step_ms']:8.1f} {ours['train_peak_mib']:9.0f} | "
                          f"{ours['infer_samples_per_s']:12.2f} | {reference}", flush=True)
    result = {"device": name, "torch": torch.__version__, "batches": batches, "precisions": precisions,
              "steps": steps, "models": rows}
    if not opts.no_data:
        sys.path.insert(0, str(ROOT / "scripts"))
        from benchmark_data import measure as measure_data

        result["data_path"] = measure_data(years=10, regions=5, features=27, seq_len=720)
        print("data path:", json.dumps(result["data_path"]))
    Path(opts.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
