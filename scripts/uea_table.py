"""Markdown table of the UEA runs in a checkpoints folder, beside published and MiniRocket numbers.

    python scripts/uea_table.py CHECKPOINTS NAME [NAME ...]

For each NAME it reads the newest ensemble folder (``classification_NAME_*_UEA_*_ensemble``, written
by ``--itr N``) and its members' metrics; without one, the newest single finished run. MiniRocket
figures are read from CHECKPOINTS/minirocket.json when scripts/minirocket_baseline.py wrote one.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

# Test accuracy (%) that Time-Series-Library reports for TimesNet (Wu et al., 2023, UEA table).
TIMESNET = {"JapaneseVowels": 98.4, "EthanolConcentration": 35.7, "FaceDetection": 68.6, "Handwriting": 32.1,
            "Heartbeat": 78.0, "PEMS-SF": 89.6, "SelfRegulationSCP1": 91.8, "SelfRegulationSCP2": 57.2,
            "SpokenArabicDigits": 99.0, "UWaveGestureLibrary": 85.3}
WITHIN = 5.0  # the target: every dataset within this many accuracy points of MiniRocket


def newest(root: Path, pattern: str) -> Path | None:
    found = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def read_runs(root: Path, name: str) -> tuple[dict, list[dict]] | None:
    """(the reported metrics, the member runs' metrics): an ensemble and its members, or one run."""
    ensemble = newest(root, f"classification_{name}_*_UEA_*_ensemble/metrics.json")
    if ensemble is not None:
        m = json.loads(ensemble.read_text())
        return m, [json.loads((Path(d) / "metrics.json").read_text()) for d in m["ensemble"]["members"]]
    single = newest(root, f"classification_{name}_*_UEA_*/metrics.json")
    if single is None:
        return None
    m = json.loads(single.read_text())
    return m, [m]


def row(name: str, runs: tuple[dict, list[dict]] | None, rocket: float | None) -> str:
    if runs is None:
        return f"| {name} | not run | | | | | | |"
    reported, members = runs
    accs = [100 * m["accuracy"] for m in members]
    spread = f"{statistics.mean(accs):.1f} ± {statistics.pstdev(accs):.1f} ({len(accs)})"
    seconds = sum(m["diagnosis"]["cost"]["wall_seconds"] for m in members)
    acc = 100 * reported["accuracy"]
    verdict = "-" if rocket is None else ("yes" if acc >= 100 * rocket - WITHIN else f"no ({acc - 100 * rocket:+.1f})")
    return (f"| {name} | {acc:.1f}% | {spread} | {reported['macro_f1']:.3f} | {seconds:.0f} "
            f"| {'-' if rocket is None else f'{100 * rocket:.1f}%'} | {verdict} | {TIMESNET.get(name, 'not reported')} |")


def main(argv: list[str]) -> None:
    root, names = Path(argv[0]), argv[1:]
    rocket_path = root / "minirocket.json"
    rocket = json.loads(rocket_path.read_text()) if rocket_path.exists() else {}
    print("| dataset | Timer-XL accuracy (ensemble) | seeds: mean ± std (n) | macro-F1 | time (s, all seeds) "
          f"| MiniRocket accuracy | within {WITHIN:g} points of MiniRocket | TimesNet (published) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        print(row(name, read_runs(root, name), rocket.get(name, {}).get("accuracy")))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
