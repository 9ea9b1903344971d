"""Data-path benchmark: load, clean and window a multi-year hourly multi-region CSV it generates.

    python scripts/benchmark_data.py [--years 10] [--regions 5] [--features 27] [--out bench_data.json]
    python scripts/benchmark_data.py --sizes 1x5,10x5,10x50 [--embed none] [--out bench_data.json]

Prints seconds to prepare the windows (read, clean, label, split, window, scale), rows per second,
the size of the float32 array the windows index into, the peak memory of the process that
prepared them, and the time to gather one batch; writes the same as JSON.

``prepare`` runs in a fresh child process (the CSV is written by this one), so the memory figures
are its own: ``peak_rss_mib_before_load`` is the child's peak with every module imported,
``peak_rss_mib_after_load`` its peak once the windows are made, and ``memory_growth_mib`` the
difference, which ``growth_ratio`` divides by ``numeric_array_mib``.

``--sizes`` takes YEARSxREGIONS items (10x50: ten years of hours for 50 regions, 4.38 million
rows) and prints one line per size, the growth table; the JSON is then a list with one object
per size (one object, as without ``--sizes``, when a single size is given).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def make_csv(path: Path, years: int, regions: int, features: int, seed: int = 0) -> int:
    """Hourly rows from 2010 for each region: rain (tp_mm) and ``features - 1`` more columns. Written
    a region at a time (the same file as all at once), so that 50 regions never sit in memory whole."""
    rng = np.random.default_rng(seed)
    n = 24 * 365 * years
    for r in range(regions):
        columns = {"timestamp": pd.date_range("2010-01-01", periods=n, freq="h"), "region": f"region{r}",
                   "tp_mm": np.maximum(rng.normal(0, 1, n), 0).round(3)}
        for j in range(features - 1):
            columns[f"x{j}"] = rng.normal(size=n).astype(np.float32)
        pd.DataFrame(columns).to_csv(path, index=False, mode="w" if r == 0 else "a", header=r == 0)
    return n * regions


def prepare_here(csv: Path, seq_len: int, embed: str | None = None) -> dict:
    """In the child process: import everything, then prepare the windows of ``csv``; this process's
    own seconds and peak memory, before (modules loaded) and after."""
    sys.path.insert(0, str(ROOT))
    from data_provider.rainfall import prepare
    from utils.cli import parse

    rss_before = peak_rss_mib()
    args = parse(["--root_path", str(csv.parent), "--data_path", csv.name, "--group_col", "region",
                  "--target_from", "tp_mm", "--rain_threshold", "0.1", "--seq_len", str(seq_len),
                  "--input_token_len", "96", *(["--embed", embed] if embed else [])])
    t0 = time.perf_counter()
    data = prepare(args)
    seconds = time.perf_counter() - t0
    rss_after = peak_rss_mib()
    train = data.splits["train"]
    t0 = time.perf_counter()
    batch = train.gather(np.arange(min(256, len(train))))
    gather_ms = (time.perf_counter() - t0) * 1e3
    return {"seconds": seconds, "windows": {name: len(ws) for name, ws in data.splits.items()},
            "numeric_array_mib": train.data.numel() * 4 / 2**20, "rss_before": rss_before, "rss_after": rss_after,
            "gather_ms": gather_ms, "batch_shape": list(batch.shape)}


def measure(years: int = 10, regions: int = 5, features: int = 27, seq_len: int = 720,
            embed: str | None = None) -> dict:
    """Writes the CSV here, prepares it in a fresh child process (so that this process's CSV
    writing hides none of the child's growth), and returns the child's figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hourly.csv"
        rows = make_csv(path, years, regions, features)
        size_mib = path.stat().st_size / 2**20
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(path),
                                "--seq_len", str(seq_len), *(["--embed", embed] if embed else [])],
                               capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(f"the child process failed:\n{child.stderr[-2000:]}")
        got = json.loads(child.stdout.strip().splitlines()[-1])
    growth = got["rss_after"] - got["rss_before"]
    return {
        "rows": rows, "csv_mib": round(size_mib, 1), "prepare_seconds": round(got["seconds"], 2),
        "rows_per_second": round(rows / got["seconds"]),
        "windows": got["windows"],
        "numeric_array_mib": round(got["numeric_array_mib"], 1),
        "peak_rss_mib_before_load": round(got["rss_before"]), "peak_rss_mib_after_load": round(got["rss_after"]),
        "memory_growth_mib": round(growth), "growth_ratio": round(growth / got["numeric_array_mib"], 2),
        "gather_256_windows_ms": round(got["gather_ms"], 1), "batch_shape": got["batch_shape"],
    }


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """--sizes 1x5,10x50 -> [(1, 5), (10, 50)]: (years, regions)."""
    try:
        sizes = [tuple(int(n) for n in item.lower().split("x")) for item in text.split(",") if item.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(len(size) != 2 or min(size) < 1 for size in sizes):
        raise SystemExit(f"--sizes {text!r}: give YEARSxREGIONS items, e.g. 1x5,10x5,10x50")
    return sizes  # type: ignore[return-value]


def growth_table(results: list[dict]) -> list[str]:
    """The lines of the growth table: one per size."""
    lines = [f"{'rows':>10} {'seconds':>8} {'rows/s':>9} {'growth MiB':>11} {'array MiB':>10} {'growth/array':>13}"]
    for r in results:
        lines.append(f"{r['rows']:>10,} {r['prepare_seconds']:>8.2f} {r['rows_per_second']:>9,} "
                     f"{r['memory_growth_mib']:>11,} {r['numeric_array_mib']:>10.1f} {r['growth_ratio']:>13.2f}")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--years", type=int, default=10)
    p.add_argument("--regions", type=int, default=5)
    p.add_argument("--features", type=int, default=27)
    p.add_argument("--seq_len", type=int, default=720)
    p.add_argument("--sizes", default=None, help="YEARSxREGIONS items, e.g. 1x5,10x5,10x50: one line each")
    p.add_argument("--embed", default=None, choices=["timeF", "none"],
                   help="the runner's --embed (default: the runner's default); none: the file's own columns only")
    p.add_argument("--out", default="bench_data.json")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)   # the CSV a child process prepares
    opts = p.parse_args()
    if opts.child:
        print(json.dumps(prepare_here(Path(opts.child), opts.seq_len, opts.embed)))
        return
    sizes = parse_sizes(opts.sizes) if opts.sizes else [(opts.years, opts.regions)]
    results = []
    for years, regions in sizes:
        results.append(measure(years, regions, opts.features, opts.seq_len, opts.embed))
        if len(sizes) == 1:
            for key, value in results[-1].items():
                print(f"{key:26s} {value}")
        else:
            print(f"{years} years x {regions} regions: {results[-1]['rows']:,} rows, "
                  f"{results[-1]['prepare_seconds']} s, growth x{results[-1]['growth_ratio']}", flush=True)
    if len(sizes) > 1:
        print("\n".join(growth_table(results)))
    Path(opts.out).write_text(json.dumps(results[0] if len(results) == 1 else results, indent=2) + "\n")


if __name__ == "__main__":
    main()
