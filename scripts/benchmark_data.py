"""Data-path benchmark: load, clean and window a multi-year hourly multi-region CSV it generates.

    python scripts/benchmark_data.py [--years 10] [--regions 5] [--features 27] [--out bench_data.json]

Prints seconds to prepare the windows, the size of the numeric array the windows index into, the
process's peak memory, and the time to gather one batch; writes the same as JSON.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_provider.rainfall import prepare  # noqa: E402
from utils.cli import parse  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def make_csv(path: Path, years: int, regions: int, features: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    n = 24 * 365 * years
    parts = []
    for r in range(regions):
        columns = {"timestamp": pd.date_range("2010-01-01", periods=n, freq="h"), "region": f"region{r}",
                   "tp_mm": np.maximum(rng.normal(0, 1, n), 0).round(3)}
        for j in range(features - 1):
            columns[f"x{j}"] = rng.normal(size=n).astype(np.float32)
        parts.append(pd.DataFrame(columns))
    frame = pd.concat(parts, ignore_index=True)
    frame.to_csv(path, index=False)
    return len(frame)


def measure(years: int = 10, regions: int = 5, features: int = 27, seq_len: int = 720) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hourly.csv"
        rows = make_csv(path, years, regions, features)
        size_mib = path.stat().st_size / 2**20
        rss_before = peak_rss_mib()
        args = parse(["--root_path", tmp, "--data_path", path.name, "--group_col", "region", "--target_from", "tp_mm",
                      "--rain_threshold", "0.1", "--seq_len", str(seq_len), "--input_token_len", "96"])
        t0 = time.perf_counter()
        data = prepare(args)
        seconds = time.perf_counter() - t0
        train = data.splits["train"]
        t0 = time.perf_counter()
        batch = train.gather(np.arange(256))
        gather_ms = (time.perf_counter() - t0) * 1e3
    return {
        "rows": rows, "csv_mib": round(size_mib, 1), "prepare_seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "windows": {name: len(ws) for name, ws in data.splits.items()},
        "numeric_array_mib": round(train.data.numel() * 4 / 2**20, 1),
        "peak_rss_mib_before_load": round(rss_before), "peak_rss_mib_after_load": round(peak_rss_mib()),
        "gather_256_windows_ms": round(gather_ms, 1), "batch_shape": list(batch.shape),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--years", type=int, default=10)
    p.add_argument("--regions", type=int, default=5)
    p.add_argument("--features", type=int, default=27)
    p.add_argument("--seq_len", type=int, default=720)
    p.add_argument("--out", default="bench_data.json")
    opts = p.parse_args()
    result = measure(opts.years, opts.regions, opts.features, opts.seq_len)
    for key, value in result.items():
        print(f"{key:26s} {value}")
    Path(opts.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
