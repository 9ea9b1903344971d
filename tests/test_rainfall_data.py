"""The data step on whole tables: splits, windows, scaling, cleaning and the report."""
import numpy as np
import pandas as pd
import pytest

from conftest import data_args, rain_table
from data_provider.rainfall import prepare
from data_provider.windows import SPLITS
from utils.errors import UserError


def window_rows(data, split):
    ws = data.splits[split]
    return [range(e - ws.seq_len + 1, e + 1) for e in ws.ends]


def test_windows_stay_in_one_group_and_labels_inside_the_split_of_the_last_step(rain_csv):
    data = prepare(data_args(rain_csv, horizon=2))
    dates = pd.to_datetime(data.row_dates)
    cut = data.report.split
    val_from, test_from = pd.Timestamp(cut["val_from"]), pd.Timestamp(cut["test_from"])
    period = {"train": (pd.Timestamp.min, val_from), "val": (val_from, test_from), "test": (test_from, pd.Timestamp.max)}
    for split in SPLITS:
        lo, hi = period[split]
        for rows in window_rows(data, split):
            assert len(set(data.row_groups[rows.start:rows.stop])) == 1
            last, label_end = rows.stop - 1, rows.stop + 1
            # the last input step and every label step lie in the window's own split
            assert lo <= dates[last] and dates[label_end] < hi
            assert data.row_groups[label_end] == data.row_groups[last]


def test_one_time_split_for_every_group(tmp_path):
    # the andes record starts later and ends later: a per-group split would give it other cutoffs
    frame = rain_table(n_rows=160)
    frame = frame[~((frame.region == "andes") & (frame.groupby("region").cumcount() < 40))]
    frame = frame[~((frame.region == "coast") & (frame.groupby("region").cumcount() >= 120))]
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    data = prepare(data_args(path))
    dates = pd.to_datetime(data.row_dates)
    cut = data.report.split
    stamps = np.sort(frame.timestamp.unique())
    assert cut["kind"] == "time"
    assert pd.Timestamp(cut["val_from"]) == stamps[round(len(stamps) * 0.7)]
    assert pd.Timestamp(cut["test_from"]) == stamps[round(len(stamps) * 0.85)]
    train_label_end = dates[data.splits["train"].ends + 1].max()
    assert train_label_end < pd.Timestamp(cut["val_from"]), "a training label overlaps validation time"
    for group in ("coast", "andes"):
        in_group = {s: data.splits[s].ends[data.row_groups[data.splits[s].ends] == group] for s in SPLITS}
        assert dates[in_group["train"]].max() < pd.Timestamp(cut["val_from"])
        if len(in_group["test"]):
            assert dates[in_group["test"]].min() >= pd.Timestamp(cut["test_from"])


def test_labels_match_the_rule_on_the_raw_column(rain_csv):
    data = prepare(data_args(rain_csv, horizon=2))
    raw = pd.read_csv(rain_csv)
    table = raw.set_index(["region", "timestamp"]).sort_index()
    for split in SPLITS:
        ws = data.splits[split]
        for end, label in zip(ws.ends[:40], ws.labels[:40]):
            group, date = data.row_groups[end], str(pd.Timestamp(data.row_dates[end]))
            series = table.loc[group]["tp_mm"]
            position = list(series.index).index(date)
            assert label == int(series.iloc[position + 1:position + 3].sum() > 0.5)


def test_scaling_uses_train_rows_only(tmp_path):
    frame = rain_table()
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    before = prepare(data_args(path))
    # make the test period of every region wildly different: train statistics must not move
    frame.loc[frame.groupby("region").cumcount() >= 100, "rh"] = 1e4
    frame.to_csv(path, index=False)
    after = prepare(data_args(path))
    assert before.report.scaling_from_train == after.report.scaling_from_train
    train = before.splits["train"]
    assert np.allclose(train.gather(np.arange(len(train))).numpy(),
                       after.splits["train"].gather(np.arange(len(train))).numpy())
    stats = before.report.scaling_from_train
    kept = np.concatenate([np.arange(g * 120, g * 120 + 84) for g in range(2)])  # 70% of 120 rows
    assert stats["mean"]["rh"] == pytest.approx(frame["rh"].to_numpy()[kept].mean())


def test_gaps_sentinels_and_missing_timestamps(tmp_path):
    frame = rain_table()
    frame.loc[5, "rh"] = -9900          # sentinel, short gap: filled forward
    frame.loc[20:25, "t2m_c"] = np.nan  # long gap: its first 2 steps filled, windows touching the rest dropped
    frame.loc[30, "rh"] = np.inf
    frame = frame.drop(index=[50, 51])  # two missing timestamps in 'coast'
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    data = prepare(data_args(path, na_values="-9900"))
    report = data.report
    assert report.rows_inserted_for_missing_timestamps == 2
    assert report.cleaning["rh"]["sentinels_to_missing"] == 1
    assert report.cleaning["rh"]["inf_to_missing"] == 1
    assert report.cleaning["t2m_c"]["forward_filled"] == 2 + 2   # two steps of the gap, two inserted rows
    assert report.cleaning["t2m_c"]["still_missing"] == 4
    ws = data.splits["train"]
    for end in ws.ends:
        assert not (end - ws.seq_len + 1 <= 25 and end >= 22), "a window contains the unfilled part of the gap"
    assert report.splits["train"].dropped["input_missing"] > 0
    # no window contains a non-finite value
    assert np.isfinite(ws.gather(np.arange(len(ws))).numpy()).all()


def test_non_numeric_columns_are_skipped_and_constant_ones_dropped(rain_csv):
    frame = pd.read_csv(rain_csv)
    frame["sensor_ok"] = 1.0
    frame.to_csv(rain_csv, index=False)
    data = prepare(data_args(rain_csv, embed="none"))
    assert data.report.skipped_non_numeric == ["station_name"]
    assert data.report.dropped_constant == ["sensor_ok"]
    assert data.features == ["tp_mm", "rh", "t2m_c"]  # past rain is a legitimate feature
    assert any("sensor_ok" in w for w in data.report.warnings)


def test_features_and_exclude_flags(rain_csv):
    calendar = ["calendar_hour_sin", "calendar_hour_cos", "calendar_doy_sin", "calendar_doy_cos"]
    assert prepare(data_args(rain_csv, features="rh,t2m_c")).features == calendar + ["rh", "t2m_c"]
    assert prepare(data_args(rain_csv, exclude="tp_mm", embed="none")).features == ["rh", "t2m_c"]


def test_label_column_mode_reports_class_balance_on_windows(tmp_path):
    frame = rain_table()
    frame["rain_next"] = (frame.groupby("region")["tp_mm"].shift(-1) > 0.5).astype(float)
    frame.loc[frame.groupby("region").cumcount() == 119, "rain_next"] = np.nan  # unknown: not used
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    args = data_args(path)
    args = args.derive(target_from=None, rain_threshold=None, target="rain_next")
    data = prepare(args)
    assert "rain_next" not in data.features
    assert data.persistence is None
    for split in SPLITS:
        counts = data.report.splits[split].class_counts
        assert sum(counts.values()) == len(data.splits[split])
        assert counts["1"] == int(data.splits[split].labels.sum())


def test_windows_are_gathered_from_one_shared_array(rain_csv):
    data = prepare(data_args(rain_csv, embed="none"))
    shared = {id(ws.data) for ws in data.splits.values()}
    assert len(shared) == 1
    ws = data.splits["val"]
    x = ws.gather(np.array([0, 3]))
    assert x.shape == (2, 8, 3)
    assert np.array_equal(x[1].numpy(), ws.data[ws.ends[3] - 7: ws.ends[3] + 1].numpy())


@pytest.mark.parametrize("overrides, message", [
    ({"split": "0.7,0.2,0.2"}, "sum to 1.1"),
    ({"seq_len": 500}, "too few rows: 120 (in its longest group), but one window needs seq_len 500 + horizon 1"),
    ({"horizon": 20}, "the val split has no complete window (36 row(s); dropped: 36 label_past_split_end)"),
    ({"target_from": "nope"}, "column 'nope' (from --target_from) not found; the file has: timestamp, region"),
    ({"rain_threshold": 1e9}, "only one class"),
])
def test_bad_settings_are_clear_errors(rain_csv, overrides, message):
    with pytest.raises(UserError, match=None) as err:
        prepare(data_args(rain_csv, **overrides))
    assert message in str(err.value)


def test_a_threshold_in_the_wrong_units_warns_about_a_rare_class(tmp_path):
    frame = rain_table(n_rows=400)
    frame.loc[frame.index % 97 == 0, "tp_mm"] = 50.0  # a few downpours among many light showers
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    data = prepare(data_args(path, rain_threshold=40))  # threshold meant for another unit
    assert any("under 2% of train windows" in w for w in data.report.warnings)
    assert not any("under 2%" in w for w in prepare(data_args(path)).report.warnings)


def test_a_batch_for_the_cpu_is_used_where_it_is():
    # the pinned, asynchronous copy is for CUDA only; on the CPU a batch must not be copied again
    import torch

    from data_provider.windows import to_device

    batch = torch.randn(4, 8, 3)
    assert to_device(batch, "cpu") is batch
    assert to_device(batch, torch.device("cpu")) is batch
