"""Markdown table of the UEA runs in a checkpoints folder, beside published and MiniRocket numbers.

    python scripts/uea_table.py CHECKPOINTS NAME [NAME ...]

Reads each NAME's newest finished run (``classification_NAME_*_UEA_*``); MiniRocket figures are
read from CHECKPOINTS/minirocket.json when scripts/minirocket_baseline.py wrote one.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

# Test accuracy (%) that Time-Series-Library reports for TimesNet (Wu et al., 2023, UEA table).
TIMESNET = {"JapaneseVowels": 98.4, "EthanolConcentration": 35.7, "FaceDetection": 68.6, "Handwriting": 32.1,
            "Heartbeat": 78.0, "PEMS-SF": 89.6, "SelfRegulationSCP1": 91.8, "SelfRegulationSCP2": 57.2,
            "SpokenArabicDigits": 99.0, "UWaveGestureLibrary": 85.3}


def main(argv: list[str]) -> None:
    root, names = Path(argv[0]), argv[1:]
    rocket_path = root / "minirocket.json"
    rocket = json.loads(rocket_path.read_text()) if rocket_path.exists() else {}
    print("| dataset | Timer-XL accuracy | macro-F1 | time (s) | MiniRocket accuracy | TimesNet (published) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        runs = sorted(root.glob(f"classification_{name}_*_UEA_*/metrics.json"), key=lambda p: p.stat().st_mtime)
        if not runs:
            print(f"| {name} | not run | | | | |")
            continue
        m = json.loads(runs[-1].read_text())
        mr = rocket.get(name, {}).get("accuracy")
        print(f"| {name} | {100 * m['accuracy']:.1f}% | {m['macro_f1']:.3f} | {m['diagnosis']['cost']['wall_seconds']:.0f} "
              f"| {'-' if mr is None else f'{100 * mr:.1f}%'} | {TIMESNET.get(name, 'not reported')} |")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
