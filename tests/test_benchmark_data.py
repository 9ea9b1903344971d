"""scripts/benchmark_data.py measures the data path in a child process: a tiny size, end to end."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_data.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tiny_size_reports_its_rows_speed_and_the_child_processs_memory(bench):
    result = bench.measure(years=1, regions=2, features=4, seq_len=24)
    for key in ("rows", "rows_per_second", "numeric_array_mib", "peak_rss_mib_before_load",
                "peak_rss_mib_after_load", "memory_growth_mib", "growth_ratio", "windows", "prepare_seconds"):
        assert key in result
    assert result["rows"] == 2 * 24 * 365
    assert 0 < result["prepare_seconds"] < 60 and result["rows_per_second"] > 0
    # the array the windows index: float32, one column per input (the 4 of the file, and the
    # calendar's where the runner adds them), 17,520 rows
    n_inputs = result["batch_shape"][2]
    assert n_inputs >= 4 and result["batch_shape"][:2] == [256, 24]
    assert result["numeric_array_mib"] == pytest.approx(2 * 24 * 365 * n_inputs * 4 / 2**20, abs=0.05)
    # the child's own peak: torch and pandas loaded before, never less after
    assert 100 < result["peak_rss_mib_before_load"] <= result["peak_rss_mib_after_load"]
    growth = result["peak_rss_mib_after_load"] - result["peak_rss_mib_before_load"]
    assert result["memory_growth_mib"] == pytest.approx(growth, abs=1)      # each rounded on its own
    # growth / array, from the unrounded figures; a table this small may not raise the child's
    # peak above what importing torch already reached, so 0 is a fair answer
    assert result["growth_ratio"] >= 0
    assert sum(result["windows"].values()) > 0


def test_embed_none_measures_the_files_own_columns(bench):
    result = bench.measure(years=1, regions=1, features=3, seq_len=24, embed="none")
    assert result["batch_shape"] == [256, 24, 3]


def test_sizes_read_as_years_by_regions(bench):
    assert bench.parse_sizes("1x5,10x50") == [(1, 5), (10, 50)]
    with pytest.raises(SystemExit):
        bench.parse_sizes("10")
    lines = bench.growth_table([{"rows": 43800, "prepare_seconds": 0.2, "rows_per_second": 219000,
                                 "memory_growth_mib": 30, "numeric_array_mib": 4.5, "growth_ratio": 6.67}])
    assert "43,800" in lines[1] and "6.67" in lines[1]
