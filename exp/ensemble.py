"""The ensemble of one command's repeats (``--itr N``, N > 1): the members' test probabilities
averaged and scored once, in its own folder ``<checkpoints>/<setting>_ensemble/``.

``members.json`` names the member run folders (beside this one), so that ``--task_name predict
--itr N`` averages the same runs on a new file.

The rule is fixed in advance (equal weights, argmax of the mean), so nothing about the test set
chooses it; it is reported beside the members' mean ± std, never instead of it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from exp.evaluation import score_test
from exp.threshold import tuning_metric
from utils.atomic_io import write_csv, write_json

ENSEMBLE = "ensemble"
MEMBERS = "members.json"


def mean_probabilities(run_dirs: list[Path], n_classes: int, labels: np.ndarray) -> np.ndarray:
    """[n, n_classes]: the mean of the members' predictions.csv probabilities. Every member scored
    the same test windows in the same order; a member that did not is a bug, so it stops here."""
    columns = [f"prob_{c}" for c in range(n_classes)]
    members = []
    for run_dir in run_dirs:
        frame = pd.read_csv(run_dir / "predictions.csv")
        if not np.array_equal(frame["true_label"].to_numpy(), labels):
            raise RuntimeError(f"{run_dir}/predictions.csv does not hold this command's test windows in order")
        members.append(frame[columns].to_numpy(dtype=np.float64))
    return np.mean(members, axis=0)


def ensemble_repeats(run_dirs: list[Path], data, cfg, out_dir: Path) -> dict:
    """Score the mean of the repeats' test probabilities; write metrics.json and predictions.csv
    to ``out_dir``. Returns the metrics."""
    probs = mean_probabilities(run_dirs, data.n_classes, data.splits["test"].labels)
    # the baselines' thresholds are chosen on the same validation metric as the members'
    metrics, predictions = score_test(probs, data, cfg.pos_label, tuning_metric(cfg.monitor))
    metrics["ensemble"] = {"members": [str(d) for d in run_dirs],
                           "rule": "equal-weight mean of the members' test probabilities; predicted class = argmax"}
    out_dir.mkdir(parents=True, exist_ok=True)
    # relative to the checkpoints folder, so that a moved or copied checkpoints folder still works
    write_json(out_dir / MEMBERS, {"members": [os.path.relpath(d, out_dir.parent) for d in run_dirs]})
    write_json(out_dir / "metrics.json", metrics)
    write_csv(out_dir / "predictions.csv", predictions)
    return metrics
