"""ERA5 NetCDF -> regional CSV, on tiny files the tests write with xarray."""
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("netCDF4")

from data_provider import era5  # noqa: E402

LAT = np.array([-4.0, -5.0, -6.0, -12.0])       # descending, as ERA5 stores it
LON = np.array([279.0, 280.0, 283.5])            # 0..360, as some downloads use


def grid(values_by_lat, hours):
    """[time, lat, lon] array whose value depends on latitude (and time) only."""
    return np.array([[[v + h for _ in LON] for v in values_by_lat] for h in range(hours)], dtype="float64")


def write_pair(folder, start="2020-01-01", hours=24, time_name="valid_time", zip_name=None):
    times = pd.date_range(start, periods=hours, freq="h")
    coords = {time_name: times, "latitude": LAT, "longitude": LON}
    tp = np.zeros((hours, len(LAT), len(LON)))
    tp[:, 0, :] = 0.001  # 1 mm per hour at -4 deg only
    accum = xr.Dataset({"tp": ((time_name, "latitude", "longitude"), tp, {"units": "m"})}, coords=coords)
    instant = xr.Dataset({
        "t2m": ((time_name, "latitude", "longitude"), grid([300.0, 300.0, 290.0, 280.0], hours) * 0 + 300.15, {"units": "K"}),
        "d2m": ((time_name, "latitude", "longitude"), np.full((hours, 4, 3), 290.15), {"units": "K"}),
        "sp": ((time_name, "latitude", "longitude"), np.full((hours, 4, 3), 101325.0), {"units": "Pa"}),
        "u10": ((time_name, "latitude", "longitude"), np.full((hours, 4, 3), 3.0), {"units": "m s**-1"}),
        "v10": ((time_name, "latitude", "longitude"), np.full((hours, 4, 3), -4.0), {"units": "m s**-1"}),
        "u100": ((time_name, "latitude", "longitude"), np.full((hours, 4, 3), 9.0), {"units": "m s**-1"}),
    }, coords=coords)
    folder.mkdir(parents=True, exist_ok=True)
    tag = start[:4]
    accum_path, instant_path = folder / f"accum_{tag}.nc", folder / f"instant_{tag}.nc"
    accum.to_netcdf(accum_path)
    instant.to_netcdf(instant_path)
    if zip_name:
        with zipfile.ZipFile(folder / zip_name, "w") as archive:
            archive.write(accum_path, "data_stream-oper_stepType-accum.nc")
            archive.write(instant_path, "data_stream-oper_stepType-instant.nc")
        accum_path.unlink()
        instant_path.unlink()


def regions(tmp_path, boxes=None):
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(boxes or {"north": {"lat": [-6.5, -3.5], "lon": [-81.5, -79.5]},
                                         "south": {"lat": [-12.5, -11.5], "lon": [-81.5, -76.0]}}))
    return path


def test_units_region_means_and_derived_variables(tmp_path):
    write_pair(tmp_path / "in")
    table = era5.build([str(tmp_path / "in")], regions(tmp_path), None, None, log=lambda *_: None)
    assert list(table.columns[:2]) == ["timestamp", "region"]
    north = table[table["region"] == "north"].iloc[0]
    south = table[table["region"] == "south"].iloc[0]
    # north box holds latitudes -4, -5, -6 (rain only at -4): the cos-latitude weighted mean
    w = np.cos(np.deg2rad([-4.0, -5.0, -6.0]))
    assert north["tp_mm"] == pytest.approx(1.0 * w[0] / w.sum())
    assert south["tp_mm"] == 0.0
    assert north["t2m_c"] == pytest.approx(27.0) and north["d2m_c"] == pytest.approx(17.0)
    assert north["sp_hpa"] == pytest.approx(1013.25)
    # RH for T = 27 C, Td = 17 C: 54.3 % (psychrometric tables give the same to 0.1)
    assert north["rh2m"] == pytest.approx(54.3, abs=0.1)
    assert north["ws10"] == pytest.approx(5.0)
    assert north["wd10"] == pytest.approx(323.13, abs=0.01)  # u=3 (to the east), v=-4 (to the south): from the north-west
    assert "u100" in table and "u10" in table  # never renamed into each other


def test_zipped_yearly_files_merge_on_time(tmp_path):
    write_pair(tmp_path / "in", start="2020-12-31 20:00", hours=4, zip_name="2020.zip")
    write_pair(tmp_path / "in", start="2021-01-01 00:00", hours=6, time_name="time", zip_name="2021.zip")
    table = era5.build([str(tmp_path / "in")], regions(tmp_path), None, None, log=lambda *_: None)
    north = table[table["region"] == "north"]
    assert len(north) == 10 and north["timestamp"].is_monotonic_increasing
    assert not north[["tp_mm", "t2m_c"]].isna().any().any()


def test_a_missing_variable_names_what_the_files_have(tmp_path):
    write_pair(tmp_path / "in")
    with pytest.raises(era5.UserError, match="variable\\(s\\) cape not in the files; they hold: d2m, sp, t2m, tp, u10, u100"):
        era5.build([str(tmp_path / "in")], regions(tmp_path), ["tp", "cape"], None, log=lambda *_: None)


def test_a_region_outside_the_files_is_an_error(tmp_path):
    write_pair(tmp_path / "in")
    with pytest.raises(era5.UserError, match="region 'lima' .* holds no grid cell; the files cover lat -12..-4"):
        era5.build([str(tmp_path / "in")], regions(tmp_path, {"lima": {"lat": [-20, -19], "lon": [-77, -76]}}),
                   None, None, log=lambda *_: None)


def test_resampling_sums_rain_and_averages_the_rest(tmp_path):
    write_pair(tmp_path / "in", start="2020-01-01 01:00", hours=24)
    lines = []
    table = era5.build([str(tmp_path / "in")], regions(tmp_path), None, "12h", log=lines.append)
    north = table[table["region"] == "north"].set_index("timestamp")
    w = np.cos(np.deg2rad([-4.0, -5.0, -6.0]))
    assert north.loc["2020-01-01 12:00", "tp_mm"] == pytest.approx(12 * w[0] / w.sum())  # 01:00..12:00
    assert north.loc["2020-01-01 12:00", "t2m_c"] == pytest.approx(27.0)
    assert any("resampled to 12h" in line for line in lines)


def test_a_coarse_step_warns_that_accumulations_lose_rain(tmp_path):
    folder = tmp_path / "in"
    write_pair(folder, hours=24)
    for path in folder.glob("*.nc"):  # keep only 00 and 12 UTC, as a 12-hourly download would
        ds = xr.open_dataset(path).load()
        ds.isel(valid_time=[0, 12]).to_netcdf(path.with_suffix(".12h.nc"))
        path.unlink()
    lines = []
    era5.build([str(folder)], regions(tmp_path), None, None, log=lines.append)
    assert any(line.startswith("WARNING: the time step is 0 days 12:00:00") and "--resample 12h" in line for line in lines)


def test_command_line_writes_a_csv_the_rainfall_loader_reads(tmp_path):
    from utils.cli import parse
    from data_provider.rainfall import prepare

    write_pair(tmp_path / "in", hours=24 * 20)
    out = tmp_path / "peru.csv"
    assert era5.main(["--input", str(tmp_path / "in"), "--regions", str(regions(tmp_path)), "--out", str(out)]) == 0
    args = parse(["--root_path", str(tmp_path), "--data_path", "peru.csv", "--group_col", "region",
                  "--target_from", "tp_mm", "--rain_threshold", "0.1", "--seq_len", "24", "--input_token_len", "12"])
    data = prepare(args)
    seen = set(data.features) | set(data.report.dropped_constant)  # the synthetic wind is constant
    assert {"tp_mm", "t2m_c", "rh2m", "ws10", "wd10", "u100"} <= seen
    assert data.report.groups == ["north", "south"]
    rainy = {g: data.splits["train"].labels[data.row_groups[data.splits["train"].ends] == g].mean()
             for g in ("north", "south")}
    assert rainy == {"north": 1.0, "south": 0.0}  # 0.95 mm/h in the north box, none in the south
    assert era5.main(["--input", str(tmp_path / "nowhere"), "--regions", str(regions(tmp_path)), "--out", str(out)]) == 2
