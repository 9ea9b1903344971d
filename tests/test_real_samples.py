"""The data step on the real multi-station samples shipped in datasets/sample (sources and
licences in docs/data.md): read with the flags a user would type, nothing else."""
from pathlib import Path

import numpy as np
import pandas as pd

from data_provider.rainfall import prepare
from data_provider.windows import SPLITS
from utils.cli import parse

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def natural(data_path: str, *flags: str):
    return parse(["--root_path", str(SAMPLES), "--data_path", data_path, *flags])


NYC = ("nyc_airports_weather_hourly.csv", "--group_col", "origin", "--target_from", "precip", "--rain_threshold", "0",
       "--horizon", "24", "--seq_len", "48", "--input_token_len", "24")


def test_hourly_airports_are_read_without_hints_and_every_window_is_accounted_for():
    data = prepare(natural(*NYC))
    report = data.report
    assert report.date_col == "time_hour" and report.time_step == "0 days 01:00:00"
    assert report.rows_inserted_for_missing_timestamps > 0          # the hours the stations missed
    assert list(report.dropped_sparse) == ["wind_gust"]             # ~80% missing: dropped for all three
    assert "wind_gust" not in data.features
    for group, by_split in report.by_group.items():
        for split, entry in by_split.items():
            assert entry["windows"] > 0, (group, split)
            assert entry["windows"] + sum(entry["dropped"].values()) == entry["rows"], (group, split)
    # one timeline: every airport's test windows start at the same cutoff
    test_from = pd.Timestamp(report.split["test_from"])
    dates = pd.to_datetime(data.row_dates)
    for split in SPLITS:
        ws = data.splits[split]
        assert len(set(data.row_groups[ws.ends])) == 3
    assert dates[data.splits["test"].ends].min() >= test_from
    assert dates[data.splits["val"].ends + 24].max() < test_from    # no validation label reaches into test


def test_hourly_airports_inputs_never_see_a_later_hour():
    before = prepare(natural(*NYC))
    cut = pd.Timestamp(before.report.split["test_from"]) + pd.Timedelta(days=3)
    frame = pd.read_csv(SAMPLES / NYC[0])
    later = pd.to_datetime(frame.time_hour).dt.tz_localize(None) >= cut
    frame.loc[later, ["temp", "pressure", "humid"]] = frame.loc[later, ["temp", "pressure", "humid"]].fillna(0) + 100

    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        frame.to_csv(Path(folder) / NYC[0], index=False)
        after = prepare(parse(["--root_path", folder, "--data_path", *NYC]))
    dates = pd.to_datetime(before.row_dates)
    ws_a, ws_b = before.splits["test"], after.splits["test"]
    earlier = np.isin(ws_a.ends, ws_b.ends) & (dates[ws_a.ends] < cut)
    same = np.searchsorted(ws_b.ends, ws_a.ends[earlier])
    assert earlier.sum() > 50
    assert np.array_equal(ws_a.gather(np.flatnonzero(earlier)).numpy(), ws_b.gather(same).numpy())


def test_two_daily_stations_share_one_split():
    data = prepare(natural("weather_2stations_daily.csv", "--group_col", "location", "--target_from", "precipitation",
                           "--rain_threshold", "0", "--seq_len", "28", "--input_token_len", "7"))
    report = data.report
    assert report.groups == ["Seattle", "New York"] and report.skipped_non_numeric == ["weather"]
    ranges = {g: report.by_group[g]["test"]["date_range"] for g in report.groups}
    assert ranges["Seattle"] == ranges["New York"]
    assert report.warnings == []
