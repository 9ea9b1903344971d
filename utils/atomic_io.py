"""Writes that never leave half a file: write to a temp file beside the target, then rename."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


_WRITES_ENABLED = True


def disable_writes() -> None:
    """For the ranks of a distributed run other than 0: every write below becomes a no-op."""
    global _WRITES_ENABLED
    _WRITES_ENABLED = False


def writes_enabled() -> bool:
    return _WRITES_ENABLED


def _atomic_write(path: Path, write) -> None:
    if not _WRITES_ENABLED:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path, data) -> None:
    text = json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n"
    _atomic_write(path, lambda h: h.write(text.encode()))


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def write_text(path, text: str) -> None:
    _atomic_write(path, lambda h: h.write(text.encode()))


def write_csv(path, frame) -> None:
    _atomic_write(path, lambda h: h.write(frame.to_csv(index=False).encode()))


def save_torch(path, obj) -> None:
    import torch

    _atomic_write(path, lambda h: torch.save(obj, h))
