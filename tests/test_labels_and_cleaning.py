"""Label rules and missing-value rules, on arrays small enough to check by hand."""
import numpy as np

from data_provider import cleaning, labels

NAN = np.nan


def test_future_label_is_the_total_over_the_next_h_steps():
    rain = np.array([0.0, 0.0, 0.3, 0.4, 0.0, 0.0, 2.0])
    # window ending at t looks at t+1 .. t+2
    got = labels.future_rain_labels(rain, threshold=0.5, horizon=2)
    assert got.tolist() == [0, 1, 0, 0, 1, -1, -1]


def test_threshold_is_strictly_greater_and_dry_totals_are_exactly_zero():
    rain = np.array([1e6, 0.0, 0.0, 0.0, 0.0])  # a huge value first must not leave 1e-10 residue
    assert labels.future_rain_labels(rain, threshold=0.0, horizon=2).tolist() == [0, 0, 0, -1, -1]
    assert labels.future_rain_labels(np.array([0.0, 0.5]), 0.5, 1).tolist() == [0, -1]


def test_unknown_future_rain_gives_no_label():
    rain = np.array([0.0, NAN, 1.0, 1.0])
    assert labels.future_rain_labels(rain, 0.5, 1).tolist() == [-1, 1, 1, -1]


def test_persistence_uses_the_windows_own_last_period():
    rain = np.array([0.0, 1.0, 0.0, 0.0, 3.0])
    assert labels.persistence_labels(rain, 0.5, 2).tolist() == [-1, 1, 1, 0, 1]


def test_sentinels_and_infinities_become_missing_and_are_counted():
    values = np.array([[1.0, -9900.0], [np.inf, 2.0], [-np.inf, -9900.0]])
    out, sentinels, infs = cleaning.mark_missing(values, [-9900.0])
    assert np.isnan(out).tolist() == [[False, True], [True, False], [True, True]]
    assert sentinels.tolist() == [0, 2] and infs.tolist() == [2, 0]


def test_forward_fill_uses_only_earlier_values_up_to_max_gap():
    column = np.array([[NAN], [1.0], [NAN], [3.0], [NAN], [NAN], [NAN], [7.0], [NAN]])
    filled = cleaning.forward_fill(column, group_starts=np.array([0]), max_gap=2)
    assert filled.tolist() == [4]
    # the leading gap has nothing before it; a long gap gets its first max_gap steps only;
    # the trailing step is filled from the past, as it would be when forecasting from today's file
    assert np.isnan(column[[0, 6], 0]).all()
    assert column[[2, 4, 5, 8], 0].tolist() == [1.0, 3.0, 3.0, 7.0]


def test_forward_fill_never_reaches_across_a_group():
    column = np.array([[1.0], [2.0], [NAN], [5.0]])
    cleaning.forward_fill(column, group_starts=np.array([0, 2]), max_gap=3)
    assert np.isnan(column[2, 0]), "group 2's first step must not take group 1's last value"


def test_max_gap_zero_fills_nothing():
    column = np.array([[1.0], [NAN], [3.0]])
    assert cleaning.forward_fill(column, np.array([0]), max_gap=0).tolist() == [0] and np.isnan(column[1, 0])


def test_a_column_sparse_in_one_groups_train_rows_is_named_with_that_group():
    missing = np.array([[False, True], [False, True], [False, False], [False, False], [True, False]])
    train = np.array([True, True, True, True, False])
    groups = np.array([0, 0, 1, 1, 1])
    assert cleaning.sparse_columns(missing, train, groups, ["rh", "gust"], max_share=0.5) == {"gust": {"0": 1.0}}


def test_a_column_whose_gaps_alone_cost_most_windows_is_chosen_and_one_costing_few_is_not():
    rows, seq_len = 200, 24
    missing = np.zeros((rows, 3), dtype=bool)
    missing[::30, 0] = True          # one hour in 30: nearly every 24-hour window holds one
    missing[100, 1] = True           # one hour: 24 windows
    ends = np.arange(seq_len - 1, rows)
    assert cleaning.costly_columns(missing, ends, seq_len, 0.25) == [(0, 123)]   # 141 windows hold a gap of column 0; 18 of them one of column 1 too
    assert cleaning.costly_columns(missing, ends, seq_len, 0.9) == []
    # a window blocked by both columns is the first one's only once the worst is out
    both = missing.copy()
    both[::30, 1] = True
    assert cleaning.costly_columns(both, ends, seq_len, 0.25) == []      # neither alone removes any window


def test_a_row_missing_in_every_column_is_no_columns_fault():
    missing = np.zeros((100, 2), dtype=bool)
    missing[::10] = True                      # whole empty rows: dropping a column cannot bring them back
    assert cleaning.costly_columns(missing, np.arange(23, 100), 24, 0.1) == []


def test_the_last_measured_column_is_never_dropped_for_its_gaps():
    missing = np.zeros((200, 1), dtype=bool)
    missing[::30, 0] = True                     # costly, but the table has nothing else
    assert cleaning.costly_columns(missing, np.arange(23, 200), 24, 0.25) == []
    two = np.zeros((200, 2), dtype=bool)
    two[0:100:30, 0] = True
    two[110:200:30, 1] = True                   # each costs about half the windows: one goes, one stays
    assert len(cleaning.costly_columns(two, np.arange(23, 200), 24, 0.25)) == 1


def test_a_trace_code_stored_as_a_number_is_named_with_the_threshold_that_excludes_it():
    rng = np.random.default_rng(0)
    gauge = np.round(rng.gamma(1.0, 0.1, 400), 2) * (rng.random(400) < 0.3)   # 0.01-inch steps, 70% dry
    traced = gauge.copy()
    traced[rng.choice(np.flatnonzero(gauge == 0), 40, replace=False)] = 0.0001
    line = labels.trace_code(traced, threshold=0)
    assert line.startswith("40 train rows") and "hold 0.0001, 100x below the next value 0.01" in line
    assert line.endswith("--rain_threshold 0 counts these rows as rain; --rain_threshold 0.001 does not")
    assert labels.trace_code(traced, threshold=0.0001) is None        # the user already excludes it
    assert labels.trace_code(gauge, threshold=0) is None              # a plain gauge has no such value
    # a text code the user mapped to that number (--replace T=0.0001) is their choice already
    assert labels.trace_code(traced, threshold=0, known=[0.0001]) is None
    traced[np.isclose(traced, 0.0001)] = np.nan
    traced[:3] = 0.0001                                               # three stray rows are no code
    assert labels.trace_code(traced, threshold=0) is None


def test_the_threshold_a_trace_warning_suggests_excludes_a_whole_period_of_trace_rows():
    values = np.array([0.0001] * 50 + [0.01, 0.02, 0.05] * 20 + [0.0] * 200)
    for horizon in (1, 2, 24, 99):
        line = labels.trace_code(values, threshold=0, horizon=horizon)
        suggested = float(line.split("--rain_threshold ")[-1].split()[0])
        # the label is "total of the period > threshold": trace alone must stay at or below it,
        # one real reading above it, with the totals summed as the labels sum them
        assert labels._window_totals(np.full(horizon, 0.0001), horizon)[0] <= suggested < 0.01, horizon
    assert labels.trace_code(values, threshold=0, horizon=24).endswith(
        "--rain_threshold 0 counts a period of 24 such rows alone as rain; "
        "--rain_threshold 0.005 does not (a period of 24 trace rows totals 0.0024)")
    # a threshold that excludes one trace row but not a day of them is still named
    assert "--rain_threshold 0.0001 counts a period of 24" in labels.trace_code(values, threshold=0.0001, horizon=24)
    assert labels.trace_code(values, threshold=0.005, horizon=24) is None
    # 100 trace rows outweigh one reading of 0.01: no threshold separates them, and the line says so
    line = labels.trace_code(values, threshold=0, horizon=100)
    assert "over --horizon 100 no threshold both excludes a period of trace rows (up to 0.01)" in line
    assert "--rain_threshold 0 counts a period of 100 such rows alone as rain" in line and line.count("--rain_threshold") == 1


def test_a_table_with_a_trace_code_says_so_in_its_data_report(tmp_path):
    from conftest import data_args, rain_table
    from data_provider.rainfall import prepare

    frame = rain_table(n_rows=200)
    dry = frame.index[frame["tp_mm"] == 0]
    frame.loc[dry[::4], "tp_mm"] = 0.0001
    frame.to_csv(tmp_path / "rain.csv", index=False)
    warnings = prepare(data_args(tmp_path / "rain.csv", rain_threshold=0)).report.warnings
    assert any(w.startswith("column 'tp_mm': ") and "hold 0.0001" in w for w in warnings)
    assert not any("trace code" in w for w in prepare(data_args(tmp_path / "rain.csv", rain_threshold=0.5)).report.warnings)
    # the same rows written as a text code the user maps with --replace: their choice, no warning
    frame["tp_mm"] = frame["tp_mm"].astype(object)
    frame.loc[dry[::4], "tp_mm"] = "T"
    frame.to_csv(tmp_path / "coded.csv", index=False)
    mapped = prepare(data_args(tmp_path / "coded.csv", rain_threshold=0, replace="T=0.0001"))
    assert mapped.report.replaced == {"T": len(dry[::4])}
    assert not any("trace code" in w for w in mapped.report.warnings)
