"""The baselines a meteorologist tries first: fitted on train windows, thresholds chosen on
validation, scored on exactly the model's test windows."""
import json

import numpy as np
import pandas as pd
import pytest

from conftest import data_args
from data_provider.base import ArchiveReport, DataReport, LabelRule, SplitSummary, TableReport, read_data_report
from data_provider.rainfall import prepare
from exp import baselines
from exp.evaluation import score_test
from exp.plots import run_title
from exp.threshold import predict_at, tune_threshold
from utils.metrics import classification_metrics


def seasonal_table(n_days=3 * 365, seed=0) -> pd.DataFrame:
    """Daily, one station: it rains often in winter months and rarely in summer ones."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2010-01-01", periods=n_days, freq="D")
    wet = np.isin(days.month, [11, 12, 1, 2, 3])
    rain = np.where(rng.random(n_days) < np.where(wet, 0.7, 0.15), rng.gamma(2.0, 2.0, n_days), 0.0)
    return pd.DataFrame({"date": days, "station": "s1", "tp_mm": rain, "rh": rng.normal(70, 5, n_days)})


@pytest.fixture
def seasonal(tmp_path):
    path = tmp_path / "rain.csv"
    seasonal_table().to_csv(path, index=False)
    args = data_args(path, group_col="station", rain_threshold=0, embed="none", persistence_input="off")  # the file's columns only
    return prepare(args)


def test_climatology_is_the_train_rate_of_the_label_periods_month(seasonal):
    data = seasonal
    forecast = baselines.climatology(data, "test", pos_label=1, metric="macro_f1")
    train, test = data.splits["train"], data.splits["test"]
    dates = pd.DatetimeIndex(data.row_dates)
    train_month = dates[train.ends + 1].month            # the label period's first step
    test_month = dates[test.ends + 1].month
    for month in np.unique(test_month):
        expected = train.labels[train_month == month].mean()
        assert np.allclose(forecast.probability[test_month == month, 1], expected)
    assert forecast.details["fallback_windows"] == 0
    # the class comes from a threshold chosen on the validation windows' own climatology
    assert "chosen on validation macro_f1" in forecast.rule
    assert len(forecast.prediction) == len(test)


def test_a_month_without_train_windows_falls_back_to_the_overall_rate_and_is_counted(tmp_path):
    frame = seasonal_table(n_days=400)          # train covers ~280 days: some months only appear later
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    data = prepare(data_args(path, group_col="station", rain_threshold=0, split="0.5,0.25,0.25"))
    forecast = baselines.climatology(data, "test", 1, "macro_f1")
    overall = data.splits["train"].labels.mean()
    unseen = forecast.details["fallback_windows"]
    assert unseen > 0 and f"{unseen} window(s)" in forecast.rule
    assert np.isclose(forecast.probability[:, 1], overall).sum() >= unseen


def test_the_learned_baseline_reads_each_window_without_copying_it(seasonal):
    data = seasonal
    test = data.splits["test"]
    features = baselines.window_features(test, total_column=0, total_steps=3)
    gathered = test.gather(np.arange(len(test))).numpy().astype(np.float64)
    assert np.allclose(features[:, :2], gathered[:, -1, :])            # last step of each variable
    assert np.allclose(features[:, 2:4], gathered.mean(axis=1))        # window mean
    assert np.allclose(features[:, 4], gathered[:, -3:, 0].sum(axis=1))  # recent total of tp_mm
    forecast = baselines.learned(data, "test", 1, "macro_f1")
    assert forecast.probability.shape == (len(test), 2) and np.allclose(forecast.probability.sum(axis=1), 1)
    assert "logistic regression" in forecast.rule and "total of 'tp_mm' over the last 1 step(s)" in forecast.rule


def test_every_baseline_scores_the_same_windows_and_a_beaten_model_is_called_out(seasonal):
    data = seasonal
    n = len(data.splits["test"])
    always_dry = np.tile([0.9, 0.1], (n, 1))          # a "model" that never forecasts rain
    metrics, predictions = score_test(always_dry, data, pos_label=1)
    assert set(metrics["baselines"]) == {"majority", "persistence", "climatology", "learned"}
    for name, base in metrics["baselines"].items():
        v = base["verification"]
        assert v["hits"] + v["false_alarms"] + v["misses"] + v["correct_negatives"] == n, name
    assert metrics["n"] == n == len(predictions)
    assert any(w.startswith("the model's macro-F1") for w in metrics["warnings"])
    assert metrics["verification"]["pod"] == 0 and metrics["verification"]["far"] is None


def test_a_tuned_threshold_is_the_rule_every_figure_uses(seasonal):
    data = seasonal
    test = data.splits["test"]
    probs = np.column_stack([1 - np.linspace(0.2, 0.45, len(test)), np.linspace(0.2, 0.45, len(test))])
    threshold = {"threshold": 0.3, "chosen_on": "validation macro_f1", "validation_macro_f1": 0.5}
    metrics, predictions = score_test(probs, data, 1, "macro_f1", threshold)
    tuned = predict_at(probs[:, 1], 0.3, 1)
    assert (predictions["predicted_label"] == tuned).all()
    assert (predictions["predicted_label_argmax"] == 0).all()
    assert metrics["accuracy"] == classification_metrics(test.labels, tuned, probs, 2, 1)["accuracy"]
    assert metrics["argmax"]["accuracy"] == pytest.approx((test.labels == 0).mean())
    assert metrics["decision_rule"]["kind"] == "threshold"


def test_the_vectorised_threshold_search_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    for _ in range(60):
        n = int(rng.integers(1, 40))
        y, p = rng.integers(0, 2, n), np.round(rng.random(n), 1)
        for metric in ("macro_f1", "accuracy"):
            threshold, value = tune_threshold(y, p, 1, metric)
            candidates = np.unique(np.concatenate(([0.5], (np.unique(p)[1:] + np.unique(p)[:-1]) / 2)))
            values = [classification_metrics(y, predict_at(p, t, 1), None, 2, 1)[metric] for t in candidates]
            assert value == pytest.approx(max(values))
            assert classification_metrics(y, predict_at(p, threshold, 1), None, 2, 1)[metric] == pytest.approx(value)


def report_with(label: LabelRule | None = None, cls=TableReport, **fields) -> DataReport:
    split = SplitSummary(windows=1, class_counts={"0": 1})
    return cls(file="datasets/sample/seattle_weather.csv", splits={"train": split}, label=label, **fields)


def test_pictures_name_the_classes_and_the_run():
    assert report_with(LabelRule(mode="threshold")).class_names(2) == ["no rain", "rain"]
    assert report_with(LabelRule(mode="column", mapping={"No": 0, "Yes": 1})).class_names(2) == ["No", "Yes"]
    assert report_with(LabelRule(mode="column")).class_names(3) == ["0", "1", "2"]
    assert report_with(cls=ArchiveReport, classes={"0": "walk", "1": "run"}).class_names(2) == ["walk", "run"]

    class Cfg:
        e_layers, d_model, model_id, data = 4, 512, "seattle", "PeruRainfall"

    title = run_title(Cfg, report_with(LabelRule(mode="column", column="precipitation")))
    assert title == "seattle_weather.csv | label: precipitation | 4 layers x d_model 512 | seattle"


def test_the_data_report_reads_back_as_its_own_class(tmp_path):
    """data_report.json round-trips: predict and re-test read the class the loader wrote, and a
    table report written before reports had a kind still reads as a table's."""
    path = tmp_path / "rain.csv"
    seasonal_table().to_csv(path, index=False)
    data = prepare(data_args(path, group_col="station", rain_threshold=0))   # calendar covariates on
    assert data.report.calendar_features["freq"] == "d"
    raw = json.loads(json.dumps(data.report.to_json()))
    again = read_data_report(raw)
    assert again == data.report and isinstance(again, TableReport)
    assert again.splits["test"].persistence_fallback == data.report.splits["test"].persistence_fallback
    old = {k: v for k, v in raw.items() if k not in ("kind", "calendar_features")}
    assert isinstance(read_data_report(old), TableReport) and read_data_report(old).calendar_features is None
    assert type(read_data_report({"file": "x", "splits": {}})) is DataReport
    # a split leaves out the fields of other kinds of split; a report says what it did not find
    assert "cases" not in raw["splits"]["train"] and "series" not in raw["splits"]["train"]
    assert TableReport(file="x", splits={}).to_json()["date_col"] is None


def test_a_label_column_is_dated_by_its_own_row(tmp_path):
    frame = seasonal_table()
    frame["wet_today"] = (frame["tp_mm"] > 0).astype(int)     # a label about the window's last day
    path = tmp_path / "rain.csv"
    frame.to_csv(path, index=False)
    args = data_args(path, group_col="station")
    args = args.derive(target_from=None, rain_threshold=None, target="wet_today")
    data = prepare(args)
    forecast = baselines.climatology(data, "test", 1, "macro_f1")
    train, test = data.splits["train"], data.splits["test"]
    dates = pd.DatetimeIndex(data.row_dates)
    for month in np.unique(dates[test.ends].month):
        rate = train.labels[dates[train.ends].month == month].mean()
        assert np.allclose(forecast.probability[dates[test.ends].month == month, 1], rate)


def test_probabilities_worse_than_the_train_rate_get_their_own_warning():
    from exp.evaluation import beaten_by, probability_warnings

    metrics = {"macro_f1": 0.7, "verification": {"hss": 0.4, "brier_skill": -0.22},
               "baselines": {"persistence": {"macro_f1": 0.6, "verification": {"hss": 0.3}}}}
    assert beaten_by(metrics) == []      # the decisions still beat every baseline
    (line,) = probability_warnings(metrics)
    assert line.startswith("the model's probabilities score worse than always forecasting the train rate "
                           "(Brier skill -0.2200)")
    metrics["verification"]["brier_skill"] = 0.1
    assert probability_warnings(metrics) == []


def test_a_test_period_with_another_base_rate_is_named_beside_its_scores():
    from data_provider.timeline import rate_shift_warning

    line = rate_shift_warning({"train": 0.181, "val": 0.254, "test": 0.066}, "class 'rain'")
    assert line.startswith("class 'rain' in 6.6% of the test windows against 25.4% of the validation windows "
                           "(train 18.1%)")
    assert rate_shift_warning({"train": 0.2, "val": 0.25, "test": 0.15}, "rain") is None      # within 2x
    assert rate_shift_warning({"train": 0.2, "val": 0.1, "test": 0.2}, "rain") is not None    # either way
    assert rate_shift_warning({"train": 0.2, "val": None, "test": 0.2}, "rain") is None       # no validation


def test_the_rate_shift_line_stands_beside_the_test_scores(tmp_path):
    from exp.evaluation import score_test

    table = seasonal_table()
    rng = np.random.default_rng(1)
    late = np.arange(len(table)) >= 0.85 * len(table)          # the test period: rain becomes rare
    table["tp_mm"] = np.where(rng.random(len(table)) < np.where(late, 0.05, 0.4), 3.0, 0.0)
    table.to_csv(tmp_path / "rain.csv", index=False)
    data = prepare(data_args(tmp_path / "rain.csv", group_col="station", rain_threshold=0))
    metrics = score_test(np.full((len(data.splits["test"]), 2), 0.5), data, pos_label=1)[0]
    (line,) = [w for w in metrics["data_warnings"] if "of the test windows against" in w]
    assert line.startswith("class 'rain' in ") and line not in metrics["warnings"]
