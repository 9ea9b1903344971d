"""Mean ± std of test metrics over the run folders whose names match a pattern.

    python scripts/summarize_runs.py CHECKPOINTS 'classification_scratch10_*' 'classification_transfer10_*'
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

METRICS = ("accuracy", "macro_f1", "f1", "roc_auc")


def summarize(root: Path, pattern: str) -> dict:
    """Over the single runs only: an --itr ensemble folder (its metrics name their members) is not
    one more seed."""
    found = [json.loads(p.read_text()) for p in sorted(root.glob(f"{pattern}/metrics.json"))]
    runs = [m for m in found if "ensemble" not in m]
    if not runs:
        raise SystemExit(f"error: no run folder under {root} matches {pattern!r}")
    table = {m: [r[m] for r in runs] for m in METRICS}
    return {"runs": len(runs), **{m: (float(np.mean(v)), float(np.std(v))) for m, v in table.items()}}


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    root = Path(argv[0])
    print(f"{'runs':<40}{'n':>3}" + "".join(f"{m:>18}" for m in METRICS))
    for pattern in argv[1:]:
        s = summarize(root, pattern)
        print(f"{pattern:<40}{s['runs']:>3}" + "".join(f"{s[m][0]:>10.4f} ± {s[m][1]:.4f}" for m in METRICS))


if __name__ == "__main__":
    main(sys.argv[1:])
