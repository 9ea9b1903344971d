"""--persistence_input on: the persistence forecast ("the label's rule over the last --horizon
steps") as an input variable. It must equal the persistence baseline at every window's last step,
read nothing after the step it describes, never hide a window, and come back the same on a new
file at forecast time."""
import numpy as np
import pytest

from conftest import data_args, rain_table
from data_provider.labels import observed_events
from data_provider.rainfall import prepare, prepare_prediction
from data_provider.windows import SPLITS

NAME = "persistence_tp_mm"


def saved(tmp_path, frame=None):
    path = tmp_path / "rain.csv"
    (rain_table(n_rows=160) if frame is None else frame).to_csv(path, index=False)
    return path


def column_at_window_ends(data, split, name=NAME):
    ws = data.splits[split]
    return ws.data[ws.ends, data.features.index(name)].numpy()


def test_it_is_the_persistence_forecast_at_every_window_end(tmp_path):
    data = prepare(data_args(saved(tmp_path), horizon=3, persistence_input="on"))
    assert data.report.persistence_input["horizon"] == 3 and NAME in data.features
    for split in SPLITS:
        persistence = data.persistence[split]
        known = persistence >= 0
        assert known.sum() > 10
        np.testing.assert_array_equal(column_at_window_ends(data, split)[known], persistence[known])


def test_it_reads_nothing_after_the_step_it_describes():
    rng = np.random.default_rng(0)
    rain = rng.gamma(0.5, 2, 60) * (rng.random(60) < 0.4)
    later_changed = rain.copy()
    later_changed[31:] = rng.gamma(0.5, 2, 29)
    np.testing.assert_array_equal(observed_events(rain, 0.0, 6)[:31], observed_events(later_changed, 0.0, 6)[:31])


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
    path = saved(tmp_path)
    args = data_args(path, horizon=2, persistence_input="on")
    data = prepare(args)
    report = data.report
    new = prepare_prediction(args, list(data.features), report.scaling_from_train["mean"],
                             report.scaling_from_train["std"], None, report.calendar_features,
                             report.persistence_input)
    column = data.features.index(NAME)
    test = data.splits["test"]
    # the same rows of the same file: the same value, whichever function built it
    np.testing.assert_array_equal(new.windows.data[test.ends, column].numpy(), test.data[test.ends, column].numpy())
