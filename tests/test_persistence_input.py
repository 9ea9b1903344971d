"""--persistence_input on: the persistence forecast ("the label's rule over the last --horizon
steps") as an input variable. It must equal the persistence baseline at every window's last step,
read nothing after the step it describes, never hide a window, and come back the same on a new
file at forecast time."""
import numpy as np
import pandas as pd
import pytest

from conftest import data_args, rain_table
from data_provider.labels import observed_events
from data_provider.rainfall import prepare, prepare_prediction
from data_provider.windows import SPLITS

NAME = "persistence_tp_mm"


def saved(tmp_path, frame=None):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "rain.csv"
    (rain_table(n_rows=160) if frame is None else frame).to_csv(path, index=False)
    return path


def column_at_window_ends(data, split, name=NAME):
    ws = data.splits[split]
    return ws.data[ws.ends, data.features.index(name)].numpy()


def with_gaps(n_rows=160):
    frame = rain_table(n_rows=n_rows)
    frame.loc[[20, 21, 33, 60, 61, 62, 97, 130, 181, 250], "tp_mm"] = np.nan   # both groups, every split
    return frame


def test_it_is_the_persistence_forecast_at_every_window_end(tmp_path):
    frame = with_gaps()
    data = prepare(data_args(saved(tmp_path, frame), horizon=3, persistence_input="on"))
    assert data.report.persistence_input["horizon"] == 3 and NAME in data.features
    # the file's rain on each of the data's rows
    stamps = pd.to_datetime(frame.timestamp)
    rain = frame.set_index([frame.region, stamps]).tp_mm
    raw = rain.loc[list(zip(data.row_groups, pd.to_datetime(data.row_dates)))].to_numpy()
    fallbacks = 0
    for split in SPLITS:
        ends = data.splits[split].ends
        # where the baseline has its own answer (every step of its period observed), not its fallback
        known = ~np.isnan(np.stack([raw[ends - k] for k in range(3)])).any(axis=0)
        assert known.sum() > 10
        fallbacks += (~known).sum()
        np.testing.assert_array_equal(column_at_window_ends(data, split)[known], data.persistence[split][known])
    assert fallbacks > 0      # the gaps reached some window ends: the comparison above skipped those


def test_it_reads_nothing_after_the_step_it_describes(tmp_path):
    frame = rain_table(n_rows=160, groups=("coast",))
    frame.loc[[99, 100], "tp_mm"] = np.nan       # a gap just before: no value may come back from after it
    later = frame.copy()
    later.loc[101:, "tp_mm"] = np.where(later.loc[101:, "tp_mm"] > 0, 0.0, 5.0)     # every later step flipped
    column = [prepare(data_args(saved(tmp_path / name, f), horizon=4, persistence_input="on", group_col=""))
              for name, f in (("a", frame), ("b", later))]
    values = [d.splits["train"].data[:, d.features.index(NAME)].numpy() for d in column]
    np.testing.assert_array_equal(values[0][:101], values[1][:101])
    assert not np.array_equal(values[0][101:], values[1][101:])


def test_a_missing_step_counts_as_no_rain_and_the_first_steps_look_back_as_far_as_they_can():
    rain = np.array([0.0, 2.0, np.nan, 0.0, 0.0, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(observed_events(rain, 0.5, 2), [0, 1, 1, 0, 0, 0, 0, 0])
    assert not np.isnan(observed_events(rain, 0.5, 3)).any()


def test_it_adds_no_missing_value_so_it_drops_no_window(tmp_path):
    frame = rain_table(n_rows=160)
    frame.loc[[20, 21, 22, 23, 90], "tp_mm"] = np.nan
    path = saved(tmp_path, frame)
    without, with_it = (prepare(data_args(path, persistence_input=v)) for v in ("off", "on"))
    for split in SPLITS:
        np.testing.assert_array_equal(without.splits[split].ends, with_it.splits[split].ends)


def test_it_needs_the_rain_column_among_the_inputs(tmp_path):
    path = saved(tmp_path)
    chosen = prepare(data_args(path, persistence_input="on", features="rh,t2m_c"))
    assert chosen.report.persistence_input == {"column": None, "why": "'tp_mm' is not an input"}
    assert not any(f.startswith("persistence_") for f in chosen.features)
    off = prepare(data_args(path, persistence_input="off"))
    assert off.report.persistence_input["column"] is None and NAME not in off.features


@pytest.mark.parametrize("freq, added", [("1D", True), ("12h", False), ("1h", False)])
def test_auto_adds_it_on_daily_grids_only(tmp_path, freq, added):
    data = prepare(data_args(saved(tmp_path, rain_table(n_rows=160, freq=freq)), persistence_input="auto"))
    assert (NAME in data.features) == added
    assert data.report.persistence_input["why"].startswith("--persistence_input auto: " + ("on" if added else "off"))


def test_the_header_says_whether_it_was_added_and_why(tmp_path):
    from exp.console import table_summary

    daily = prepare(data_args(saved(tmp_path, rain_table(n_rows=160, freq="1D"))))
    hourly = prepare(data_args(saved(tmp_path, rain_table(n_rows=160, freq="1h"))))
    assert any(line.startswith(f"  persistence input '{NAME}' (--persistence_input auto: on") for line in table_summary(daily.report))
    assert "  persistence input: not added (--persistence_input auto: off on a grid of 0 days 01:00:00, where it " \
           "did not pay on validation)" in table_summary(hourly.report)


def test_a_file_column_of_the_same_name_is_refused_in_one_line(tmp_path):
    from utils.errors import UserError

    frame = rain_table(n_rows=160)
    frame[NAME] = np.arange(len(frame)) % 3.0
    with pytest.raises(UserError, match="--persistence_input off"):
        prepare(data_args(saved(tmp_path, frame), persistence_input="on"))


def test_a_new_file_gets_the_same_column_at_forecast_time(tmp_path):
    frame = with_gaps()
    args = data_args(saved(tmp_path / "train", frame), horizon=2, persistence_input="on")
    data = prepare(args)
    report = data.report
    # today's file: the last 60 rows of one station, with a gap of its own
    today = frame[frame.region == "coast"].tail(60).copy()
    today.loc[today.index[10], "tp_mm"] = np.nan
    new_args = data_args(saved(tmp_path / "today", today), horizon=2, persistence_input="on")
    new = prepare_prediction(new_args, list(data.features), report.scaling_from_train["mean"],
                             report.scaling_from_train["std"], None, report.calendar_features,
                             report.persistence_input)
    column = data.features.index(NAME)
    got = new.windows.data[:, column].numpy()
    # the file's own rows decide: its first row looks back no further than the file, its gap is no rain
    np.testing.assert_array_equal(got, observed_events(today.tp_mm.to_numpy(), 0.5, 2))
    # and away from those two, every row has the value training gave the same timestamp
    trained = data.splits["train"].data[:, column].numpy()
    first = frame.index.get_loc(today.index[0])
    np.testing.assert_array_equal(got[12:], trained[first + 12:first + 60])


@pytest.mark.parametrize("freq, resumed", [("1h", True), ("1D", False)])
def test_a_run_saved_with_it_off_resumes_where_auto_decides_the_same(tmp_path, capsys, freq, resumed):
    # as every run before the default changed: today's auto adds nothing on an hourly grid, so the
    # run resumes as it ran; on a daily grid auto would add the column, and the resume is refused
    from run import main

    saved(tmp_path, rain_table(n_rows=160, freq=freq))
    argv = ["--task_name", "classification", "--is_training", "1", "--root_path", str(tmp_path), "--data_path",
            "rain.csv", "--group_col", "region", "--target_from", "tp_mm", "--rain_threshold", "0.5",
            "--seq_len", "8", "--input_token_len", "4", "--e_layers", "1", "--d_model", "16", "--d_ff", "32",
            "--n_heads", "2", "--train_epochs", "1", "--pretrain_stage", "off", "--checkpoints", str(tmp_path / "ck")]
    assert main([*argv, "--persistence_input", "off"]) == 0
    capsys.readouterr()
    assert main([*argv, "--resume"]) == (0 if resumed else 2)
    captured = capsys.readouterr()
    if resumed:
        assert "is already finished" in captured.out
    else:
        assert "was started with --persistence_input off, and today's default gives auto" in captured.err
