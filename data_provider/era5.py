"""ERA5 reanalysis NetCDF (as the Copernicus CDS delivers it) -> one rainfall CSV per region set.

    python -m data_provider.era5 --input downloads/ --regions data_provider/regions_peru.json \\
        --out datasets/processed/peru_rainfall.csv [--resample 12h] [--variables tp,t2m,d2m]

Reads one or many files (``.nc``, or the ``.zip`` the new CDS sends with an ``accum`` and an
``instant`` file inside), merges them on time (``valid_time`` or ``time``), averages each region's
lat/lon box (weighted by cos(latitude), i.e. by cell area), converts the units it knows and says
so, derives relative humidity and 10 m wind speed/direction, and writes
``timestamp,region,<features>`` ready for ``--data PeruRainfall --group_col region --target_from tp_mm``.

Needs the optional extra: ``pip install xarray netCDF4``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from utils.atomic_io import write_csv
from utils.errors import UserError

# name -> (new name, function of the values, what was done); applied only when the file's units
# attribute is the one named (or absent, when ERA5's documented unit is assumed and said so)
CONVERSIONS = {
    "tp": ("tp_mm", "m", lambda v: v * 1000.0, "metres -> millimetres (x1000)"),
    "cp": ("cp_mm", "m", lambda v: v * 1000.0, "metres -> millimetres (x1000)"),
    "lsp": ("lsp_mm", "m", lambda v: v * 1000.0, "metres -> millimetres (x1000)"),
    "t2m": ("t2m_c", "K", lambda v: v - 273.15, "kelvin -> degrees Celsius (-273.15)"),
    "d2m": ("d2m_c", "K", lambda v: v - 273.15, "kelvin -> degrees Celsius (-273.15)"),
    "skt": ("skt_c", "K", lambda v: v - 273.15, "kelvin -> degrees Celsius (-273.15)"),
    "sp": ("sp_hpa", "Pa", lambda v: v / 100.0, "pascals -> hectopascals (/100)"),
    "msl": ("msl_hpa", "Pa", lambda v: v / 100.0, "pascals -> hectopascals (/100)"),
}
ACCUMULATED = {"tp", "cp", "lsp", "e", "ro", "ssrd", "strd", "ssr", "str", "tisr"}
TIME_NAMES = ("valid_time", "time")
LAT_NAMES, LON_NAMES = ("latitude", "lat"), ("longitude", "lon")
DROP = ("number", "expver", "step", "surface", "heightAboveGround")


def _xarray():
    try:
        import xarray as xr
    except ImportError:
        raise UserError("reading ERA5 NetCDF needs the optional extra: pip install xarray netCDF4")
    return xr


def collect_files(inputs: list[str], scratch: Path) -> list[Path]:
    """NetCDF files named or found in folders; zip archives are unpacked into ``scratch``."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            candidates = sorted(list(path.glob("*.nc")) + list(path.glob("*.zip")))
        elif path.exists():
            candidates = [path]
        else:
            raise UserError(f"{path}: not found; --input takes NetCDF/zip files or folders holding them")
        for candidate in candidates:
            if candidate.suffix == ".zip":
                with zipfile.ZipFile(candidate) as archive:
                    members = [m for m in archive.namelist() if m.endswith(".nc")]
                    if not members:
                        raise UserError(f"{candidate}: the zip holds no .nc file")
                    target = scratch / candidate.stem
                    archive.extractall(target, members)
                    found += [target / m for m in members]
            else:
                found.append(candidate)
    if not found:
        raise UserError(f"no .nc or .zip files in {', '.join(inputs)}")
    return found


def _coord(ds, names: tuple[str, ...], what: str, path: Path) -> str:
    for name in names:
        if name in ds.coords or name in ds.dims:
            return name
    raise UserError(f"{path}: no {what} coordinate (looked for {', '.join(names)}); it has {', '.join(map(str, ds.coords))}")


def open_dataset(path: Path):
    """One file with its time coordinate called ``time`` and ERA5's auxiliary coordinates dropped."""
    xr = _xarray()
    try:
        ds = xr.open_dataset(path)
    except Exception as err:
        raise UserError(f"{path}: cannot be read as NetCDF ({type(err).__name__}: {str(err)[:80]})")
    time = _coord(ds, TIME_NAMES, "time", path)
    if time != "time":
        ds = ds.rename({time: "time"})
    if "expver" in ds.dims:  # ERA5 + ERA5T: one of the two is NaN at every time
        ds = ds.max("expver", skipna=True)
    ds = ds.drop_vars([c for c in DROP if c in ds.coords or c in ds.data_vars], errors="ignore")
    lat, lon = _coord(ds, LAT_NAMES, "latitude", path), _coord(ds, LON_NAMES, "longitude", path)
    return ds.rename({lat: "latitude", lon: "longitude"}) if (lat, lon) != ("latitude", "longitude") else ds


def merge_files(paths: list[Path]):
    """Every variable concatenated over time across files, then all variables merged on time."""
    xr = _xarray()
    pieces: dict[str, list] = {}
    for path in paths:
        ds = open_dataset(path)
        for name in ds.data_vars:
            pieces.setdefault(str(name), []).append(ds[name])
    merged = {}
    for name, arrays in pieces.items():
        joined = xr.concat(arrays, dim="time") if len(arrays) > 1 else arrays[0]
        joined = joined.sortby("time")
        _, first = np.unique(joined["time"].values, return_index=True)
        merged[name] = joined.isel(time=np.sort(first))
    return xr.merge(list(merged.values()), join="outer", compat="override")


def read_regions(path: Path) -> dict[str, dict]:
    try:
        regions = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: regions file not found")
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})")
    for name, box in regions.items():
        if not isinstance(box, dict) or len(box.get("lat", [])) != 2 or len(box.get("lon", [])) != 2:
            raise UserError(f"{path}: region '{name}' needs \"lat\": [south, north] and \"lon\": [west, east]")
    return regions


def region_mean(ds, name: str, box: dict):
    """Area-weighted (cos latitude) mean over the grid cells inside the box, per time step."""
    lat = ds["latitude"]
    lon = ds["longitude"]
    west, east = box["lon"]
    if float(lon.max()) > 180:  # the file counts longitude 0..360
        west, east = west % 360, east % 360
    south, north = sorted(box["lat"])
    lon_in = (lon >= west) & (lon <= east) if west <= east else (lon >= west) | (lon <= east)
    lat_in = (lat >= south) & (lat <= north)
    if not bool(lat_in.any()) or not bool(lon_in.any()):
        raise UserError(f"region '{name}' (lat {box['lat']}, lon {box['lon']}) holds no grid cell; the files cover "
                        f"lat {float(lat.min()):g}..{float(lat.max()):g}, lon {float(lon.min()):g}..{float(lon.max()):g}")
    inside = ds.where(lat_in & lon_in, drop=True)
    weights = np.cos(np.deg2rad(inside["latitude"]))
    return inside.weighted(weights).mean(("latitude", "longitude"))


def resample(ds, rule: str):
    """Accumulated variables are summed, the others averaged, over periods ending at each label
    (ERA5 stamps an hourly accumulation at the end of its hour)."""
    accumulated = [v for v in ds.data_vars if v in ACCUMULATED]
    others = [v for v in ds.data_vars if v not in ACCUMULATED]
    xr = _xarray()
    parts = []
    if accumulated:
        parts.append(ds[accumulated].resample(time=rule, closed="right", label="right").sum(min_count=1))
    if others:
        parts.append(ds[others].resample(time=rule, closed="right", label="right").mean())
    return xr.merge(parts)


def to_table(ds, regions: dict, log) -> pd.DataFrame:
    frames = []
    for name, box in regions.items():
        frame = region_mean(ds, name, box).to_dataframe().reset_index()
        frame.insert(1, "region", name)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).rename(columns={"time": "timestamp"})
    return table.drop(columns=[c for c in table.columns if c in ("latitude", "longitude")], errors="ignore")


def convert_units(table: pd.DataFrame, units: dict[str, str | None], log) -> pd.DataFrame:
    for name, (new, unit, fn, what) in CONVERSIONS.items():
        if name not in table:
            continue
        found = units.get(name)
        if found not in (None, unit):
            log(f"  {name}: units are {found!r}, not ERA5's {unit!r}; left as they are, name kept")
            continue
        table[new] = fn(table.pop(name))
        note = "" if found else f" (no units attribute: ERA5's {unit} assumed)"
        log(f"  {name} -> {new}: {what}{note}")
    return table


def derive(table: pd.DataFrame, log) -> pd.DataFrame:
    if {"t2m_c", "d2m_c"} <= set(table):
        # Magnus form over water (Alduchov & Eskridge 1996): e_s(T) = 6.1094 exp(17.625 T / (T + 243.04))
        t, td = table["t2m_c"], table["d2m_c"]
        table["rh2m"] = 100.0 * np.exp(17.625 * td / (243.04 + td)) / np.exp(17.625 * t / (243.04 + t))
        log("  rh2m: relative humidity (%) from t2m and d2m (Magnus formula)")
    if {"u10", "v10"} <= set(table):
        table["ws10"] = np.hypot(table["u10"], table["v10"])
        # meteorological convention: the direction the wind blows FROM, clockwise from north
        table["wd10"] = np.mod(270.0 - np.degrees(np.arctan2(table["v10"], table["u10"])), 360.0)
        log("  ws10, wd10: 10 m wind speed (m/s) and the direction it blows from (degrees from north)")
    return table


def build(inputs: list[str], regions_path: str, variables: list[str] | None, rule: str | None, log=print) -> pd.DataFrame:
    regions = read_regions(Path(regions_path))
    with tempfile.TemporaryDirectory() as scratch:
        paths = collect_files(inputs, Path(scratch))
        log(f"reading {len(paths)} file(s): {', '.join(p.name for p in paths)}")
        ds = merge_files(paths)
        have = sorted(map(str, ds.data_vars))
        if variables:
            missing = [v for v in variables if v not in have]
            if missing:
                raise UserError(f"variable(s) {', '.join(missing)} not in the files; they hold: {', '.join(have)} "
                                "(names are never substituted, e.g. u100 is not u10)")
            ds = ds[variables]
        units = {str(v): ds[v].attrs.get("units") for v in ds.data_vars}
        times = pd.DatetimeIndex(ds["time"].values)
        step = pd.Series(times).diff().median() if len(times) > 1 else None
        if rule:
            ds = resample(ds, rule)
            log(f"resampled to {rule}: {', '.join(v for v in ds.data_vars if v in ACCUMULATED) or 'no accumulations'} "
                "summed, the rest averaged, periods labelled by their end")
        elif step is not None and step > pd.Timedelta(hours=1) and any(v in ACCUMULATED for v in ds.data_vars):
            log(f"WARNING: the time step is {step} but ERA5's accumulations (tp, ...) cover only the hour before each "
                "time stamp: most of each period's rain is missing. Download hourly data and pass --resample "
                f"{int(step / pd.Timedelta(hours=1))}h")
        table = to_table(ds.load(), regions, log)
    log("units:")
    table = derive(convert_units(table, units, log), log)
    log(f"{len(regions)} region(s), {table['timestamp'].min()} .. {table['timestamp'].max()}, "
        f"{len(table)} rows, columns: {', '.join(table.columns)}")
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="ERA5 NetCDF -> regional rainfall CSV")
    p.add_argument("--input", nargs="+", required=True, help="NetCDF or zip files, or folders holding them")
    p.add_argument("--regions", required=True, help='JSON: {"name": {"lat": [south, north], "lon": [west, east]}}')
    p.add_argument("--out", required=True, help="CSV to write")
    p.add_argument("--variables", default=None, help="comma-separated ERA5 short names to keep (default: all)")
    p.add_argument("--resample", default=None, help="e.g. 12h: sum accumulations and average the rest over each period")
    args = p.parse_args(argv)
    try:
        variables = [v.strip() for v in args.variables.split(",")] if args.variables else None
        table = build(args.input, args.regions, variables, args.resample)
        write_csv(Path(args.out), table)
        print(f"wrote {args.out}")
        return 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
