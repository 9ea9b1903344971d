"""Would a threshold tuned on validation beat argmax for these runs? Judged on validation alone.

    python scripts/threshold_crossfit.py RUN_DIR [RUN_DIR ...]

For each finished binary classification run: its tested weights score the validation windows;
the threshold is chosen (exp.threshold.tune_threshold, macro-F1) on the windows of the first half
of the validation period (every group's, by the date of their last step) and applied to the
second half's, then the other way round, and the macro-F1 of those held-out
decisions is printed beside argmax's on the same windows. Tuning and scoring on the same windows
would flatter the threshold; the test split is never read.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from data_provider.data_factory import data_provider  # noqa: E402
from exp.evaluation import predict  # noqa: E402
from exp.exp_classification import build_model, load_weights  # noqa: E402
from exp.threshold import predict_at, tune_threshold  # noqa: E402
from utils.cli import saved_config  # noqa: E402
from utils.config import read_run_config  # noqa: E402
from utils.metrics import classification_metrics, softmax  # noqa: E402


def crossfit(labels: np.ndarray, positive_prob: np.ndarray, pos_label: int, times: np.ndarray) -> np.ndarray:
    """Each half's decisions at the threshold chosen on the other half; the halves are the windows
    before and from the median of ``times`` (windows come group by group, so not by position)."""
    order = np.argsort(times, kind="stable")
    half = len(order) // 2
    halves = (order[:half], order[half:])
    decided = np.empty(len(labels), dtype=int)
    for tuned_on, applied_to in ((0, 1), (1, 0)):
        t, _ = tune_threshold(labels[halves[tuned_on]], positive_prob[halves[tuned_on]], pos_label, "macro_f1")
        decided[halves[applied_to]] = predict_at(positive_prob[halves[applied_to]], t, pos_label)
    return decided


def main(run_dirs: list[str]) -> None:
    for run_dir in map(Path, run_dirs):
        cfg = saved_config(read_run_config(run_dir / "config.json"))
        data = data_provider(cfg)
        model = build_model(cfg)
        load_weights(model, run_dir)
        if data.n_classes != 2:
            raise SystemExit(f"{run_dir}: {data.n_classes} classes; a decision threshold is for binary runs")
        val = data.splits["val"]
        times = data.row_dates[val.ends] if data.row_dates is not None else val.ends
        _, logits = predict(model.eval(), val, cfg.batch_size, torch.device("cpu"))
        prob = softmax(logits.astype(np.float64))[:, cfg.pos_label]
        scores = {rule: classification_metrics(val.labels, decided, None, 2, cfg.pos_label)["macro_f1"]
                  for rule, decided in (("argmax", predict_at(prob, 0.5, cfg.pos_label)),
                                        ("crossfit", crossfit(val.labels, prob, cfg.pos_label, times)))}
        print(f"{run_dir.name}: validation macro-F1 argmax {scores['argmax']:.4f}, "
              f"threshold cross-fitted {scores['crossfit']:.4f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    main(sys.argv[1:])
