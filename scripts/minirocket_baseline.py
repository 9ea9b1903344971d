"""MiniRocket (aeon) on the same UEA files, for the comparison table. Needs ``pip install aeon``.

    python scripts/minirocket_baseline.py DATA_ROOT CHECKPOINTS NAME [NAME ...]

Reads the files with this project's reader; unequal-length series are padded at the end with
their last value to the longest length (MiniRocket needs equal lengths). Writes CHECKPOINTS/minirocket.json.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_provider.uea import clean_series, find_ts, read_ts  # noqa: E402


def equal_length(series: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(series), series[0].shape[0], length))
    for i, s in enumerate(series):
        s = np.nan_to_num(clean_series(s))
        out[i, :, : s.shape[1]] = s
        out[i, :, s.shape[1]:] = s[:, -1:]
    return out


def main(argv: list[str]) -> None:
    from aeon.classification.convolution_based import MiniRocketClassifier
    from sklearn.metrics import accuracy_score, f1_score

    root, out_dir, names = Path(argv[0]), Path(argv[1]), argv[2:]
    results_path = out_dir / "minirocket.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in names:
        train, y_train = read_ts(find_ts(root, name, "TRAIN"))
        test, y_test = read_ts(find_ts(root, name, "TEST"))
        length = max(max(clean_series(s).shape[1] for s in train + test), 9)
        t0 = time.time()
        model = MiniRocketClassifier(random_state=0).fit(equal_length(train, length), np.array(y_train))
        pred = model.predict(equal_length(test, length))
        results[name] = {"accuracy": float(accuracy_score(y_test, pred)),
                         "macro_f1": float(f1_score(y_test, pred, average="macro")), "seconds": time.time() - t0}
        print(name, results[name], flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
