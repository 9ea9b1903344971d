"""Calendar covariates come from each row's own timestamp, follow the grid, and never go missing."""
import numpy as np
import pandas as pd
import pytest

from data_provider.calendar import calendar_features, calendar_names, infer_freq
from utils.errors import UserError


def test_the_grid_decides_which_pairs():
    hourly = pd.date_range("2013-01-01", periods=50, freq="h").to_numpy()
    daily = pd.date_range("2013-01-01", periods=50, freq="D").to_numpy()
    monthly = pd.date_range("2013-01-31", periods=30, freq="ME").to_numpy()
    assert [infer_freq(x) for x in (hourly, daily, monthly)] == ["h", "d", "m"]
    assert calendar_names("h") == ["calendar_hour_sin", "calendar_hour_cos", "calendar_doy_sin", "calendar_doy_cos"]
    assert calendar_names("d") == ["calendar_doy_sin", "calendar_doy_cos"]
    with pytest.raises(UserError, match="--freq 'x'"):
        calendar_names("x")


def test_each_row_gets_its_own_time_as_a_point_on_the_circle():
    dates = pd.to_datetime(["2013-01-01 00:00", "2013-01-01 06:00", "2013-07-02 12:00"]).to_numpy()
    names, values = calendar_features(dates, "h")
    hour = dict(zip(names, values.T))
    assert np.allclose(hour["calendar_hour_sin"], [0, 1, 0], atol=1e-6)      # midnight, 6 am, noon
    assert np.allclose(hour["calendar_hour_cos"], [1, 0, -1], atol=1e-6)
    assert np.allclose(values[:, 2] ** 2 + values[:, 3] ** 2, 1, atol=1e-6)   # day of year on the circle
    assert hour["calendar_doy_cos"][2] < -0.99                                   # early July: half a year on
    # a row's values depend on its own stamp only: appending later rows changes nothing
    more = np.concatenate([dates, pd.to_datetime(["2014-03-01"]).to_numpy()])
    assert np.array_equal(calendar_features(more, "h")[1][:3], values)


def test_time_zones_are_read_in_utc():
    utc = pd.to_datetime(["2013-01-01 12:00"]).tz_localize("UTC")
    local = utc.tz_convert("America/New_York")
    assert np.array_equal(calendar_features(utc, "h")[1], calendar_features(local, "h")[1])


def test_groups_that_share_a_timeline_get_the_same_values_as_row_by_row():
    shared = pd.date_range("2013-01-01", periods=30, freq="h").to_numpy()
    later = pd.date_range("2013-06-01 05:00", periods=30, freq="h").to_numpy()   # same length, other stamps
    shorter = shared[:20]
    dates = np.concatenate([shared, later, shared, shorter])
    starts, stops = np.array([0, 30, 60, 90]), np.array([30, 60, 90, 110])
    names, by_group = calendar_features(dates, "h", starts, stops)
    assert np.array_equal(by_group, calendar_features(dates, "h")[1])
