"""--task_name predict as a user runs it: a trained run (or an --itr ensemble) applied to a file."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import rain_table
from run import main
from test_end_to_end import TINY
from utils.config import read_run_config

# rain is the label only, not a feature: a file without it can still be predicted on
DATA = ["--root_path", "{ws}", "--data_path", "rain.csv", "--group_col", "region", "--target_from", "tp_mm",
        "--rain_threshold", "0.5", "--horizon", "2", "--features", "rh,t2m_c"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One checkpoints folder: 'one' (a single run that tuned a threshold), 'two' (--itr 2) and
    'tuned' (--itr 2, each repeat tuning a threshold)."""
    ws = tmp_path_factory.mktemp("predict")
    table = rain_table(n_rows=160)
    table.to_csv(ws / "rain.csv", index=False)
    data = [a.format(ws=ws) for a in DATA]
    base = ["--checkpoints", str(ws / "ck"), *data, *TINY, "--train_epochs", "1", "--batch_size", "128"]
    assert main([*base, "--model_id", "one", "--threshold_tuning"]) == 0
    assert main([*base, "--model_id", "two", "--itr", "2"]) == 0
    assert main([*base, "--model_id", "tuned", "--itr", "2", "--threshold_tuning"]) == 0
    return ws, table


def predict(ws, *extra, data_path="rain.csv", model_id="one"):
    return main(["--task_name", "predict", "--model_id", model_id, "--checkpoints", str(ws / "ck"),
                 "--root_path", str(ws), "--data_path", data_path, "--output", str(ws / "out.csv"),
                 "--batch_size", "512", *extra])  # a runtime flag: fewer, larger batches, same numbers


def run_dir(ws, model_id, suffix="_0"):
    (folder,) = (ws / "ck").glob(f"classification_{model_id}_*{suffix}")
    return folder


def on_test_windows(ws, folder):
    """The predicted rows of the folder's test windows, beside its predictions.csv."""
    test = pd.read_csv(folder / "predictions.csv")
    out = pd.read_csv(ws / "out.csv")
    both = test.merge(out, on=["group", "date"], suffixes=("_test", ""))
    assert len(both) == len(test)
    return both


def test_on_the_runs_own_file_it_repeats_the_test_and_forecasts_the_last_step(trained, capsys):
    ws, table = trained
    capsys.readouterr()
    assert predict(ws) == 0
    out_text = capsys.readouterr().out
    out = pd.read_csv(ws / "out.csv")
    assert list(out.columns) == ["group", "date", "prob_0", "prob_1", "predicted_label", "true_label"]
    assert np.allclose(out[["prob_0", "prob_1"]].sum(axis=1), 1)

    both = on_test_windows(ws, run_dir(ws, "one"))
    assert np.abs(both["prob_1_test"] - both["prob_1"]).max() < 1e-5
    assert (both["true_label_test"] == both["true_label"]).all()
    # the run's own decision rule (its tuned threshold), whichever column predictions.csv records it in
    rule = "predicted_label_tuned" if "predicted_label_tuned" in both else "predicted_label_test"
    assert (both[rule] == both["predicted_label"]).all()

    # every group's very last step has a row: its label needs 2 steps that the file does not have yet
    last_step = str(table["timestamp"].max())
    for group in ("coast", "andes"):
        rows = out[out["group"] == group]
        assert rows["date"].iloc[-1] == last_step
        assert rows["true_label"].iloc[-2:].isna().all() and rows["true_label"].iloc[:-2].notna().all()
    assert out["true_label"].isna().sum() == 4
    assert f"{len(out)} window(s)" in out_text and "4 with an unknown label" in out_text
    assert f"coast: {last_step}" in out_text and out_text.strip().endswith(f"predictions: {ws / 'out.csv'}")


def test_a_file_without_the_label_column_is_predicted_with_empty_labels(trained):
    ws, table = trained
    table.drop(columns=["tp_mm"]).to_csv(ws / "no_label.csv", index=False)
    assert predict(ws, data_path="no_label.csv") == 0
    out = pd.read_csv(ws / "out.csv")
    assert len(out) == 2 * (160 - 7) and out["true_label"].isna().all()
    both = on_test_windows(ws, run_dir(ws, "one"))
    assert np.abs(both["prob_1_test"] - both["prob_1"]).max() < 1e-5


def test_a_file_missing_a_feature_column_is_refused_naming_it(trained, capsys):
    ws, table = trained
    table.drop(columns=["rh"]).to_csv(ws / "no_rh.csv", index=False)
    capsys.readouterr()
    assert predict(ws, data_path="no_rh.csv") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_rh.csv: column 'rh' that the run was trained on is missing" in err[0]


def test_itr_predicts_with_the_mean_of_the_members(trained, capsys):
    ws, _ = trained
    assert predict(ws, model_id="two") == 2  # two runs: which one?
    assert "--itr 2 for the ensemble of its repeats, or --run_dir" in capsys.readouterr().err

    members = []
    for member in (run_dir(ws, "two", "_0"), run_dir(ws, "two", "_1")):
        assert predict(ws, "--run_dir", str(member)) == 0
        members.append(pd.read_csv(ws / "out.csv")[["prob_0", "prob_1"]].to_numpy())
    assert predict(ws, "--itr", "2", model_id="two") == 0
    ensemble = pd.read_csv(ws / "out.csv")
    assert np.abs(ensemble[["prob_0", "prob_1"]].to_numpy() - np.mean(members, axis=0)).max() < 1e-12
    assert (ensemble["predicted_label"] == ensemble[["prob_0", "prob_1"]].to_numpy().argmax(axis=1)).all()
    folder = run_dir(ws, "two", "_ensemble")
    both = on_test_windows(ws, folder)
    assert np.abs(both["prob_1_test"] - both["prob_1"]).max() < 1e-5

    assert predict(ws, "--run_dir", str(folder)) == 0  # the ensemble folder itself
    assert pd.read_csv(ws / "out.csv").equals(ensemble)
    assert json.loads((folder / "members.json").read_text())["members"] == [
        run_dir(ws, "two", "_0").name, run_dir(ws, "two", "_1").name]


def test_an_ensemble_of_thresholded_members_decides_at_their_mean_threshold(trained, capsys):
    ws, _ = trained
    thresholds = [json.loads((run_dir(ws, "tuned", f"_{i}") / "metrics.json").read_text())["decision_rule"]["threshold"]
                  for i in (0, 1)]
    folder = run_dir(ws, "tuned", "_ensemble")
    rule = json.loads((folder / "metrics.json").read_text())["decision_rule"]
    assert rule["kind"] == "threshold" and rule["threshold"] == pytest.approx(np.mean(thresholds))
    scored = pd.read_csv(folder / "predictions.csv")
    assert (scored["predicted_label"] == (scored["prob_1"] >= rule["threshold"]).astype(int)).all()
    # and --task_name predict --itr 2 decides the same way on a file
    assert predict(ws, "--itr", "2", model_id="tuned") == 0
    assert (f"decision rule: class 1 when its probability is >= {rule['threshold']:.4f} (the mean of the members' "
            "thresholds, each tuned on validation)") in capsys.readouterr().out
    out = pd.read_csv(ws / "out.csv")
    assert (out["predicted_label"] == (out["prob_1"] >= rule["threshold"]).astype(int)).all()


def test_the_tuned_threshold_decides_the_label(trained):
    ws, _ = trained
    folder = run_dir(ws, "one")
    metrics_path = folder / "metrics.json"
    original = metrics_path.read_text()
    metrics = json.loads(original)
    assert predict(ws) == 0
    prob = pd.read_csv(ws / "out.csv")["prob_1"]
    # a threshold that makes the rule visible: the median probability, far from argmax's 0.5
    threshold = float(prob.median())
    for key in ("threshold_tuned", "decision_rule"):   # the older record and the newer one
        if isinstance(metrics.get(key), dict) and "threshold" in metrics[key]:
            metrics[key]["threshold"] = threshold
    try:
        metrics_path.write_text(json.dumps(metrics))
        assert predict(ws) == 0
        out = pd.read_csv(ws / "out.csv")
        assert (out["predicted_label"] == (out["prob_1"] >= threshold).astype(int)).all()
        assert 0.4 < out["predicted_label"].mean() < 0.6
        # no (readable) tuned threshold: argmax
        metrics.pop("decision_rule", None)
        metrics["threshold_tuned"] = "not a dict"
        metrics_path.write_text(json.dumps(metrics))
        assert predict(ws) == 0
        out = pd.read_csv(ws / "out.csv")
        assert (out["predicted_label"] == (out["prob_1"] > out["prob_0"]).astype(int)).all()
    finally:
        metrics_path.write_text(original)


def test_an_archive_run_is_refused_in_one_line(trained, capsys):
    ws, _ = trained
    folder = ws / "archive_run"
    shutil.copytree(run_dir(ws, "one"), folder)
    config = read_run_config(folder / "config.json")
    (folder / "config.json").write_text(json.dumps({**config, "data": "UEA"}))
    capsys.readouterr()
    assert predict(ws, "--run_dir", str(folder)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "applies to runs trained on a CSV" in err[0]
