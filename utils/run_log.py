"""Console output that is also appended to the run folder's train.log."""
from __future__ import annotations

from pathlib import Path


class RunLog:
    def __init__(self, path: Path | None = None, echo: bool = True):
        self.path = Path(path) if path else None
        self.echo = echo  # False: train.log only (a tune trial's lines; the console gets one per trial)
        self._pending: list[str] = []  # lines printed before the run folder existed

    def attach(self, path: Path) -> None:
        from utils.distributed import STATE

        if not STATE.is_main:
            return
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.writelines(line + "\n" for line in self._pending)
        self._pending = []

    def __call__(self, message: str = "") -> None:
        from utils.distributed import STATE

        if not STATE.is_main:  # only rank 0 speaks
            return
        if self.echo:
            print(message, flush=True)
        if self.path is None:
            self._pending.append(message)
            return
        with open(self.path, "a") as handle:
            handle.write(message + "\n")
