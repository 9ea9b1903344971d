"""What every loader returns: the windows of each split over one shared array, and the report of
how they were made. ``--data PeruRainfall`` (rainfall.py), ``--data UEA`` (uea.py) and the archive
pretraining corpus (uea_corpus.py) all return a PreparedData, so the experiment code never asks
which loader made it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_provider.windows import WindowSet


@dataclass
class PreparedData:
    splits: dict[str, WindowSet]
    n_classes: int
    features: list[str]
    persistence: dict[str, np.ndarray] | None   # persistence-baseline label per window, per split
    row_dates: np.ndarray | None                # per global row
    row_groups: np.ndarray                      # per global row
    report: dict
