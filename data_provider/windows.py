"""Windows as index arithmetic over one shared array, never a copy per sample.

A window is identified by the row it ends on. All groups' rows sit in one [rows, features]
float32 tensor; a batch of windows is gathered with one vectorised index (``ends - L + 1 .. ends``),
so the data path has no per-sample Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SPLITS = ("train", "val", "test")


def split_bounds(n_rows: int, ratios: tuple[float, float, float]) -> list[tuple[int, int]]:
    """Chronological [start, stop) row ranges of train, val and test within one group."""
    first = int(round(n_rows * ratios[0]))
    second = int(round(n_rows * (ratios[0] + ratios[1])))
    return [(0, first), (first, second), (second, n_rows)]


def valid_window_ends(row_ok: np.ndarray, label: np.ndarray, seq_len: int, horizon: int) -> np.ndarray:
    """Local indices t of one segment where a window [t-L+1, t] fits with only clean rows, the label
    is known and its look-ahead t+1..t+horizon stays inside the segment."""
    n = len(row_ok)
    if n < seq_len + horizon:
        return np.zeros(0, dtype=np.int64)
    bad = np.concatenate(([0], np.cumsum(~row_ok)))
    ends = np.arange(seq_len - 1, n - horizon)
    clean = (bad[ends + 1] - bad[ends + 1 - seq_len]) == 0
    ends = ends[clean]
    return ends[label[ends] >= 0]


@dataclass
class WindowSet:
    """The windows of one split. ``data`` is shared by all splits; ``ends`` index into it."""

    name: str
    data: torch.Tensor        # [rows, n_vars] float32, standardised
    ends: np.ndarray          # [n] global row index of each window's last row
    labels: np.ndarray        # [n] int64
    seq_len: int
    pad: torch.Tensor | None = None  # [rows] bool: True where a row is padding (variable-length series)

    def __len__(self) -> int:
        return len(self.ends)

    def subset(self, positions: np.ndarray) -> "WindowSet":
        """The windows number ``positions``, sharing the same data array."""
        return WindowSet(self.name, self.data, self.ends[positions], self.labels[positions], self.seq_len, self.pad)

    def _rows(self, positions) -> torch.Tensor:
        ends = torch.as_tensor(self.ends)[torch.as_tensor(positions)]
        return ends[:, None] + torch.arange(1 - self.seq_len, 1)

    def gather(self, positions: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Windows number ``positions`` of this set as one [B, seq_len, n_vars] tensor."""
        return self.data[self._rows(positions)]

    def inputs(self, positions) -> tuple[torch.Tensor, ...]:
        """What the model takes for these windows: (x,) or, with padding, (x, pad_mask [B, seq_len])."""
        rows = self._rows(positions)
        return (self.data[rows],) if self.pad is None else (self.data[rows], self.pad[rows])

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None):
        """Yields (inputs, y [B], positions [B]); the last batch may be short."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        labels = torch.as_tensor(self.labels)
        for start in range(0, n, batch_size):
            positions = order[start:start + batch_size]
            yield self.inputs(positions), labels[positions], positions


def to_device(batch: torch.Tensor, device) -> torch.Tensor:
    """A gathered batch on its way to the model. To a GPU it goes through page-locked memory with
    an asynchronous copy (the next batch is gathered while this one travels); on the CPU it is
    used where it is."""
    device = torch.device(device)
    if device.type != "cuda":
        return batch
    return batch.pin_memory().to(device, non_blocking=True)
