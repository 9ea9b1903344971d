"""What every loader returns: the windows of each split over one shared array, and the report of
how they were made. ``--data PeruRainfall`` (rainfall.py), ``--data UEA`` (uea.py) and the archive
pretraining corpus (uea_corpus.py) all return a PreparedData, so the experiment code never asks
which loader made it.

A loader never writes into the Config it is given: sizes it chooses from the data (the archive
sizes its window and token from TRAIN) come back in ``window_sizes``, and the caller derives the
run's Config from them (``cfg.derive(**data.window_sizes)``)."""
from __future__ import annotations

from dataclasses import dataclass, field

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
    report: dict                                # written as data_report.json
    kind: str = "table"                         # "table" (a CSV), "uea" (archive), "uea_corpus" (pretraining)
    window_sizes: dict[str, int] = field(default_factory=dict)  # options chosen from the data

    @property
    def is_weather(self) -> bool:
        """Windows of one timeline (a station table), where a window's last row means "now"."""
        return self.kind == "table"
