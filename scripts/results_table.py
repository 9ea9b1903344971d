"""A markdown table of test results beside every baseline, one row per experiment (--model_id),
the model as mean ± std over its seeds (the --itr ensemble folder is not one more seed).

    python scripts/results_table.py CHECKPOINTS [MODEL_ID ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from utils.config import read_run_config  # noqa: E402

BASELINES = ("persistence", "climatology", "learned", "majority")


def _verification(metrics: dict, key: str):
    return (metrics.get("verification") or {}).get(key)


def mean_std(values) -> str:
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "-"


def rows(root: Path, wanted: list[str]) -> list[str]:
    runs: dict[str, list[dict]] = {}
    for path in sorted(root.glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        config_path = path.parent / "config.json"
        # an ensemble is not one more seed; a pretraining (the stage's, or --task_name pretrain) has no
        # classification test
        if "ensemble" in metrics or "macro_f1" not in metrics or not config_path.exists():
            continue
        model_id = read_run_config(config_path)["model_id"]
        if not wanted or model_id in wanted:
            runs.setdefault(model_id, []).append(metrics)
    head = ["experiment", "test n", "seeds", "model macro-F1", "model HSS", "model BSS",
            *(f"{b} macro-F1 / HSS" for b in BASELINES), "beats every baseline (seeds)"]
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model_id, members in runs.items():
        first = members[0]
        cells = [model_id, str(first["n"]), str(len(members)),
                 mean_std([m["macro_f1"] for m in members]),
                 mean_std([_verification(m, "hss") for m in members]),
                 mean_std([_verification(m, "brier_skill") for m in members])]
        for name in BASELINES:
            base = first["baselines"].get(name)
            hss = _verification(base, "hss") if base else None
            cells.append("-" if base is None else f"{base['macro_f1']:.3f} / {hss:.3f}" if hss is not None
                         else f"{base['macro_f1']:.3f}")
        cells.append(f"{sum(not m.get('warnings') for m in members)} of {len(members)}")
        out.append("| " + " | ".join(cells) + " |")
    return out


if __name__ == "__main__":
    if not sys.argv[1:]:
        raise SystemExit(__doc__)
    print("\n".join(rows(Path(sys.argv[1]), sys.argv[2:])))
