"""Verification scores against a 2x2 table worked by hand, and against the Bureau of Meteorology's
`scores` package (a dev-only reference)."""
import numpy as np
import pytest

from utils.verification import categorical_scores, contingency, expected_calibration_error, verification

# 50 hits, 20 false alarms, 10 misses, 120 correct negatives (n = 200)
A, B, C, D = 50, 20, 10, 120


def table_arrays(a=A, b=B, c=C, d=D):
    observed = np.array([1] * a + [0] * b + [1] * c + [0] * d, dtype=bool)
    forecast = np.array([1] * a + [1] * b + [0] * c + [0] * d, dtype=bool)
    return observed, forecast


def test_categorical_scores_equal_the_hand_computed_table():
    s = categorical_scores(A, B, C, D)
    assert s["pod"] == pytest.approx(50 / 60)
    assert s["far"] == pytest.approx(20 / 70)
    assert s["csi"] == pytest.approx(50 / 80)
    hits_random = 70 * 60 / 200                       # 21
    assert s["ets"] == pytest.approx((50 - 21) / (80 - 21))
    assert s["hss"] == pytest.approx(2 * (50 * 120 - 20 * 10) / (60 * 130 + 70 * 140))
    assert s["pss"] == pytest.approx(50 / 60 - 20 / 140)
    assert s["frequency_bias"] == pytest.approx(70 / 60)
    assert hits_random == 21


def test_perfect_and_no_skill_forecasts_score_as_documented():
    perfect = categorical_scores(30, 0, 0, 70)
    assert (perfect["pod"], perfect["far"], perfect["csi"], perfect["ets"], perfect["hss"], perfect["pss"],
            perfect["frequency_bias"]) == (1, 0, 1, 1, 1, 1, 1)
    # forecasts independent of the observations (rates 0.5 and 0.3): no skill
    random = categorical_scores(15, 35, 15, 35)
    assert random["ets"] == pytest.approx(0) and random["hss"] == pytest.approx(0) and random["pss"] == pytest.approx(0)


def test_undefined_scores_are_none_not_zero():
    never_forecast = categorical_scores(0, 0, 10, 90)
    assert never_forecast["far"] is None and never_forecast["pod"] == 0
    assert categorical_scores(0, 5, 0, 95)["pod"] is None


def test_brier_skill_and_calibration():
    observed = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1, 0])
    prob = np.array([0.9, 0.1, 0.8, 0.6, 0.2, 0.3, 0.1, 0.4, 0.7, 0.05])
    v = verification(observed, (prob >= 0.5).astype(int), prob, pos_label=1, base_rate=0.4)
    assert v["brier"] == pytest.approx(np.mean((prob - observed) ** 2))
    assert v["brier_skill"] == pytest.approx(1 - v["brier"] / np.mean((0.4 - observed) ** 2))
    # one forecast per bin except 0.1 (two) and 0.05: |mean p - frequency| weighted by counts
    assert expected_calibration_error(np.array([0.05, 0.95]), np.array([0, 1])) == pytest.approx(0.05)
    assert sum(row["count"] for row in v["reliability"]) == 10


def test_the_event_is_the_pos_label_class():
    observed, forecast = table_arrays()
    y_true, y_pred = np.where(observed, 0, 1), np.where(forecast, 0, 1)   # the event is class 0 here
    v = verification(y_true, y_pred, np.where(forecast, 0.8, 0.2), pos_label=0, base_rate=0.3)
    assert (v["hits"], v["false_alarms"], v["misses"], v["correct_negatives"]) == (A, B, C, D)


def test_agrees_with_the_bureau_of_meteorology_scores_package():
    xr = pytest.importorskip("xarray")
    sc = pytest.importorskip("scores.categorical")
    sp = pytest.importorskip("scores.probability")
    rng = np.random.default_rng(0)
    observed = rng.random(500) < 0.3
    prob = np.clip(observed * 0.4 + rng.random(500) * 0.6, 0, 1)
    forecast = prob >= 0.5
    ours = categorical_scores(*contingency(observed, forecast))
    table = sc.BinaryContingencyManager(xr.DataArray(forecast.astype(float)), xr.DataArray(observed.astype(float)))
    reference = {"pod": table.probability_of_detection(), "far": table.false_alarm_ratio(),
                 "csi": table.critical_success_index(), "ets": table.equitable_threat_score(),
                 "hss": table.heidke_skill_score(), "pss": table.peirce_skill_score(),
                 "frequency_bias": table.frequency_bias()}
    for name, value in reference.items():
        assert ours[name] == pytest.approx(float(value), abs=1e-12), name
    bs = sp.brier_score(xr.DataArray(prob), xr.DataArray(observed.astype(float)))
    assert verification(observed.astype(int), forecast.astype(int), prob, 1, 0.3)["brier"] == pytest.approx(float(bs))
