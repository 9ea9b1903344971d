"""The ensemble of one command's repeats (``--itr N``, N > 1): the members' test probabilities
averaged and scored once, in its own folder ``<checkpoints>/<setting>_ensemble/``.

``members.json`` names the member run folders (beside this one), so that ``--task_name predict
--itr N`` averages the same runs on a new file.

The rule is fixed in advance, so nothing about the test set chooses it: equal weights, and the
argmax of the mean probability, or, where every member decides at a threshold it tuned on
validation, the mean of those thresholds (an ensemble of thresholded members that fell back to
argmax would answer a different question than each of them). It is reported beside the members'
mean ± std, never instead of it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from exp.evaluation import score_test
from exp.threshold import recorded_threshold, tuning_metric
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


def members_threshold(run_dirs: list[Path], metric: str) -> dict | None:
    """The ensemble's decision threshold: the mean of the members' validation-tuned thresholds
    where every member has one, else None (argmax)."""
    values = [recorded_threshold(d) for d in run_dirs]
    if not values or any(value is None for value in values):
        return None
    return {"threshold": float(np.mean(values)), "members_thresholds": values,
            "chosen_on": f"the mean of the members' thresholds, each tuned on validation {metric}"}


def ensemble_repeats(run_dirs: list[Path], data, cfg, out_dir: Path) -> dict:
    """Score the mean of the repeats' test probabilities; write metrics.json and predictions.csv
    to ``out_dir``. Returns the metrics."""
    probs = mean_probabilities(run_dirs, data.n_classes, data.splits["test"].labels)
    metric = tuning_metric(cfg.monitor)
    threshold = members_threshold(run_dirs, metric) if data.n_classes == 2 else None
    # the baselines' thresholds are chosen on the same validation metric as the members'
    metrics, predictions = score_test(probs, data, cfg.pos_label, metric, threshold)
    decided = (f"predicted class = p(class {cfg.pos_label}) >= {threshold['threshold']:.4f}, the members' mean "
               "threshold" if threshold else "predicted class = argmax")
    metrics["ensemble"] = {"members": [str(d) for d in run_dirs],
                           "rule": f"equal-weight mean of the members' test probabilities; {decided}"}
    out_dir.mkdir(parents=True, exist_ok=True)
    # relative to the checkpoints folder, so that a moved or copied checkpoints folder still works
    write_json(out_dir / MEMBERS, {"members": [os.path.relpath(d, out_dir.parent) for d in run_dirs]})
    write_json(out_dir / "metrics.json", metrics)
    write_csv(out_dir / "predictions.csv", predictions)
    return metrics
