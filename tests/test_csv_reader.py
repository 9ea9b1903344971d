"""The fast CSV reader (pyarrow) reads a table as pandas would, on one thread or on every core."""
import numpy as np
import pandas as pd

from conftest import rain_table
from data_provider import csv_table


def read(path):
    frame, matrix, columns = csv_table._read(path, ["M"], "region", ("tp_mm",))
    return frame, matrix, columns


def test_threaded_and_single_threaded_reads_give_pandas_numbers(tmp_path, monkeypatch):
    table = rain_table(n_rows=3000)
    table.loc[5, "rh"] = np.nan
    path = tmp_path / "rain.csv"
    table.to_csv(path, index=False)
    text = path.read_text().replace(",st-coast\n", ",M\n", 1)  # a missing token in a text column
    path.write_text(text)

    asked = []
    real_read_csv = csv_table.pa_csv.read_csv

    def read_csv(*args, read_options, **kwargs):
        asked.append(read_options.use_threads)
        return real_read_csv(*args, read_options=read_options, **kwargs)

    monkeypatch.setattr(csv_table.pa_csv, "read_csv", read_csv)
    monkeypatch.setattr(csv_table, "THREADED_READ_BYTES", 2**62)
    one_thread = read(path)
    monkeypatch.setattr(csv_table, "THREADED_READ_BYTES", 0)
    threads = read(path)
    assert asked == [False, True]

    assert one_thread[1] is not None and threads[1] is not None       # both took the fast reader
    pd.testing.assert_frame_equal(one_thread[0], threads[0])
    np.testing.assert_array_equal(one_thread[1], threads[1])
    expected = pd.read_csv(path, na_values=["M"])
    for name in ("rh", "t2m_c"):
        np.testing.assert_array_equal(threads[0][name].to_numpy(), expected[name].to_numpy(np.float32))
    np.testing.assert_array_equal(threads[0]["tp_mm"].to_numpy(), expected["tp_mm"].to_numpy())  # float64 kept
    assert threads[0]["station_name"].isna().sum() == 1
