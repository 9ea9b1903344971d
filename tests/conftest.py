"""Shared fixtures: small synthetic rainfall tables the tests write themselves."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rain_table(n_rows: int = 120, groups=("coast", "andes"), seed: int = 0, freq: str = "12h") -> pd.DataFrame:
    """A dated multi-region table where humidity rises before rain, so labels are learnable."""
    rng = np.random.default_rng(seed)
    parts = []
    for g, name in enumerate(groups):
        t = np.arange(n_rows)
        humidity = 60 + 20 * np.sin(t / 5.0 + g) + rng.normal(0, 2, n_rows)
        rain = np.where(np.roll(humidity, 1) > 70, rng.gamma(2.0, 2.0, n_rows), 0.0)
        parts.append(pd.DataFrame({
            "timestamp": pd.date_range("2015-01-01", periods=n_rows, freq=freq),
            "region": name,
            "tp_mm": rain,
            "rh": humidity,
            "t2m_c": 20 + 5 * np.cos(t / 7.0) + rng.normal(0, 1, n_rows),
            "station_name": f"st-{name}",
        }))
    return pd.concat(parts, ignore_index=True)


def data_args(path: Path, **overrides):
    """The resolved options the data step reads, as run.py would pass them."""
    from utils.cli import parse

    argv = ["--root_path", str(path.parent), "--data_path", path.name, "--group_col", "region",
            "--target_from", "tp_mm", "--rain_threshold", "0.5", "--seq_len", "8", "--input_token_len", "4"]
    for key, value in overrides.items():
        argv += [f"--{key}", str(value)]
    return parse(argv)


@pytest.fixture
def rain_csv(tmp_path) -> Path:
    path = tmp_path / "rain.csv"
    rain_table().to_csv(path, index=False)
    return path
