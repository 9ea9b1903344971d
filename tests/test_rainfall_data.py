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


def segment_of(data):
    """(group, split) of every global row, rebuilt from the report's row counts."""
    labels = []
    for group in data.report["groups"]:
        for split in SPLITS:
            labels += [(group, split)] * data.report["by_group"][group][split]["rows"]
    return labels


def test_windows_never_cross_a_group_or_split_and_labels_stay_inside(rain_csv):
    data = prepare(data_args(rain_csv, horizon=2))
    owner = segment_of(data)
    for split in SPLITS:
        for rows in window_rows(data, split):
            # the window and the two label steps after it belong to one group and one split
            span = {owner[r] for r in range(rows.start, rows.stop + 2)}
            assert len(span) == 1 and span.pop()[1] == split


def test_split_is_chronological_within_each_region_not_by_region(rain_csv):
    data = prepare(data_args(rain_csv))
    dates = data.row_dates
    for split in SPLITS:
        groups = set(data.row_groups[data.splits[split].ends])
        assert groups == {"coast", "andes"}, f"{split} should hold every region"
    for group in ("coast", "andes"):
        ends = {s: data.splits[s].ends[data.row_groups[data.splits[s].ends] == group] for s in SPLITS}
        assert dates[ends["train"]].max() < dates[ends["val"]].min()
        assert dates[ends["val"]].max() < dates[ends["test"]].min()


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
    assert before.report["scaling_from_train"] == after.report["scaling_from_train"]
    train = before.splits["train"]
    assert np.allclose(train.gather(np.arange(len(train))).numpy(),
                       after.splits["train"].gather(np.arange(len(train))).numpy())
    stats = before.report["scaling_from_train"]
    kept = np.concatenate([np.arange(g * 120, g * 120 + 84) for g in range(2)])  # 70% of 120 rows
    assert stats["mean"]["rh"] == pytest.approx(frame["rh"].to_numpy()[kept].mean())


def test_gaps_sentinels_and_missing_timestamps(tmp_path):
    frame = rain_table()
    frame.loc[5, "rh"] = -9900          # sentinel, interior: interpolated
    frame.loc[20:25, "t2m_c"] = np.nan  # long gap: windows touching it dropped
    frame.loc[30, "rh"] = np.inf
    frame = frame.drop(index=[50, 51])  # two missing timestamps in 'coast'
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    data = prepare(data_args(path, na_values="-9900"))
    report = data.report
    assert report["rows_inserted_for_missing_timestamps"] == 2
    assert report["cleaning"]["rh"]["sentinels_to_missing"] == 1
    assert report["cleaning"]["rh"]["inf_to_missing"] == 1
    assert report["cleaning"]["t2m_c"]["still_missing"] == 6
    ws = data.splits["train"]
    for end in ws.ends:
        assert not (end - ws.seq_len + 1 <= 25 and end >= 20), "a window contains the long gap"
    # no window contains a non-finite value
    assert np.isfinite(ws.gather(np.arange(len(ws))).numpy()).all()


def test_non_numeric_columns_are_skipped_and_constant_ones_dropped(rain_csv):
    frame = pd.read_csv(rain_csv)
    frame["sensor_ok"] = 1.0
    frame.to_csv(rain_csv, index=False)
    data = prepare(data_args(rain_csv))
    assert data.report["skipped_non_numeric"] == ["station_name"]
    assert data.report["dropped_constant"] == ["sensor_ok"]
    assert data.features == ["tp_mm", "rh", "t2m_c"]  # past rain is a legitimate feature
    assert any("sensor_ok" in w for w in data.report["warnings"])


def test_features_and_exclude_flags(rain_csv):
    assert prepare(data_args(rain_csv, features="rh,t2m_c")).features == ["rh", "t2m_c"]
    assert prepare(data_args(rain_csv, exclude="tp_mm")).features == ["rh", "t2m_c"]


def test_label_column_mode_reports_class_balance_on_windows(tmp_path):
    frame = rain_table()
    frame["rain_next"] = (frame.groupby("region")["tp_mm"].shift(-1) > 0.5).astype(float)
    frame.loc[frame.groupby("region").cumcount() == 119, "rain_next"] = np.nan  # unknown: not used
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    args = data_args(path)
    args.target_from, args.rain_threshold, args.target = None, None, "rain_next"
    data = prepare(args)
    assert "rain_next" not in data.features
    assert data.persistence is None
    for split in SPLITS:
        counts = data.report["splits"][split]["class_counts"]
        assert sum(counts.values()) == len(data.splits[split])
        assert counts["1"] == int(data.splits[split].labels.sum())


def test_windows_are_gathered_from_one_shared_array(rain_csv):
    data = prepare(data_args(rain_csv))
    shared = {id(ws.data) for ws in data.splits.values()}
    assert len(shared) == 1
    ws = data.splits["val"]
    x = ws.gather(np.array([0, 3]))
    assert x.shape == (2, 8, 3)
    assert np.array_equal(x[1].numpy(), ws.data[ws.ends[3] - 7: ws.ends[3] + 1].numpy())


@pytest.mark.parametrize("overrides, message", [
    ({"split": "0.7,0.2,0.2"}, "sum to 1.1"),
    ({"seq_len": 500}, "fewer than one window needs: seq_len 500 + horizon 1 = 501"),
    ({"seq_len": 30}, "the val split has no complete window"),
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
    assert any("under 2% of train windows" in w for w in data.report["warnings"])
    assert not any("under 2%" in w for w in prepare(data_args(path)).report["warnings"])


def test_a_batch_for_the_cpu_is_used_where_it_is():
    # the pinned, asynchronous copy is for CUDA only; on the CPU a batch must not be copied again
    import torch

    from data_provider.windows import to_device

    batch = torch.randn(4, 8, 3)
    assert to_device(batch, "cpu") is batch
    assert to_device(batch, torch.device("cpu")) is batch
