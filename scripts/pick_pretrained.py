"""The pretraining checkpoint a classification run should start from: the finished
``pretrain_<PRETRAIN_ID>_*`` run under CHECKPOINTS made on the same data file (same contents, same
split) with the same feature list as the classification run will use. Prints its checkpoint.pth;
with none or several, exits 2 naming what it found (scripts/classification/transfer.sh).

    python scripts/pick_pretrained.py CHECKPOINTS PRETRAIN_ID [classification flags: --root_path ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_provider.data_factory import data_provider  # noqa: E402
from exp.run_folder import file_sha256  # noqa: E402
from exp.training_loop import FINISHED, read_finished, read_last  # noqa: E402
from utils.cli import parse  # noqa: E402
from utils.config import read_run_config  # noqa: E402
from utils.errors import UserError  # noqa: E402


def mismatch(run_dir: Path, saved: dict, data_file: Path, features: list[str], split: str) -> str | None:
    """Why the pretraining run in ``run_dir`` does not fit the classification run, or None."""
    pretrained_on = Path(saved["root_path"]) / saved["data_path"]
    if pretrained_on.resolve() != data_file.resolve():
        return f"pretrained on {pretrained_on}"
    if saved.get("data_sha256") and saved["data_sha256"] != file_sha256(str(data_file)):
        return f"{data_file} changed since it was pretrained on"
    if saved.get("split") != split:  # another split: its train period may hold this run's test period
        return f"split {saved.get('split')} (this run: {split})"
    if list(saved.get("feature_names") or []) != list(features):
        return f"features {saved.get('feature_names')} (this run: {features})"
    if not (run_dir / "checkpoint.pth").is_file():
        return "no checkpoint.pth"
    last = None if (run_dir / FINISHED).exists() else read_last(run_dir)
    if read_finished(run_dir, last) is None:
        return "not finished (resume it with scripts/classification/pretrain.sh --resume)"
    return None


def pick(checkpoints: Path, pretrain_id: str, flags: list[str]) -> Path:
    args = parse(["--task_name", "classification", *flags])
    data = data_provider(args)
    data_file = Path(data.report.file)
    found, matches = [], []
    for config_path in sorted(checkpoints.glob(f"pretrain_{pretrain_id}_*/config.json")):
        saved = read_run_config(config_path)
        if saved.get("task_name") != "pretrain" or saved.get("model_id") != pretrain_id:
            continue
        why = mismatch(config_path.parent, saved, data_file, data.features, args.split)
        if why is None:
            matches.append(config_path.parent / "checkpoint.pth")
        else:
            found.append(f"{config_path.parent}: {why}")
    if len(matches) == 1:
        return matches[0]
    wanted = f"{data_file} (split {args.split}) with features {data.features}"
    if matches:
        raise UserError(f"{len(matches)} pretraining runs under {checkpoints} fit {wanted}: "
                        f"{', '.join(map(str, matches))}; set PRETRAIN_MODEL_PATH to the one to start from")
    what = f"found {'; '.join(found)}" if found else f"there is no pretrain_{pretrain_id}_* folder"
    raise UserError(f"no pretraining run under {checkpoints} fits {wanted}: {what}. Run "
                    "scripts/classification/pretrain.sh with the same ROOT_PATH, DATA_PATH and DATA_FLAGS, or set "
                    "PRETRAIN_MODEL_PATH")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(pick(Path(argv[0]), argv[1], argv[2:]))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
