"""What every loader returns: the windows of each split over one shared array, and the typed report
of how they were made. ``--data PeruRainfall`` (rainfall.py), ``--data UEA`` (uea.py) and the
archive pretraining corpus (uea_corpus.py) all return a PreparedData, so the experiment code never
asks which loader made it.

A loader never writes into the Config it is given: sizes it chooses from the data (the archive
sizes its window and token from TRAIN) come back in ``window_sizes``, and the caller derives the
run's Config from them (``cfg.derive(**data.window_sizes)``).

The report is written as data_report.json (``to_json``) and read back by predict and re-test
(``read_data_report``); a file written before the report was typed reads the same way. Fields a
report of one kind does not have are simply absent from its class: the console and the plots ask
the class, not a ``kind`` string and a dict."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from data_provider.time_grid import DAY, described_step
from data_provider.windows import WindowSet


def _jsonable(value: Any) -> Any:
    """A dataclass tree as plain JSON values. A class with ``OMIT_NONE`` leaves its ``None`` fields
    out, so a split of one kind does not carry the empty fields of another; a report keeps them
    (``"date_col": null`` says the table had none)."""
    if dataclasses.is_dataclass(value):
        omit = getattr(type(value), "OMIT_NONE", False)
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (omit and getattr(value, f.name) is None)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _known(cls, raw: dict) -> dict:
    """The keys of ``raw`` that are fields of ``cls`` (a report from an older or newer version may
    hold others; a missing one takes the field's default)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in raw.items() if k in names}


@dataclass(frozen=True, kw_only=True)
class LabelRule:
    """How labels were made: ``threshold`` (a rain column summed over the horizon, compared with
    the threshold), ``column`` (a label column, text mapped to integers), or ``none`` (pretraining)."""
    OMIT_NONE: ClassVar[bool] = True
    mode: str
    rule: str = ""
    column: str | None = None
    threshold: float | None = None
    horizon: int | None = None
    mapping: dict[str, int] | None = None   # text label -> class index, for a text label column


@dataclass(frozen=True, kw_only=True)
class SplitSummary:
    """One split's windows and class balance; a table also says its rows, why windows were dropped
    and which columns blocked them; an archive counts cases, a corpus series."""
    OMIT_NONE: ClassVar[bool] = True
    windows: int
    class_counts: dict[str, int]
    class_shares: dict[str, float | None] | None = None
    rows: int | None = None                                  # table: rows whose time falls in the split
    dropped: dict[str, int] | None = None                    # table: windows dropped, by cause
    input_missing_by_column: dict[str, int] | None = None    # table: windows a column's gap blocks
    window_end_range: list[str] | None = None                # dated table: first and last window end
    persistence_fallback: int | None = None                  # rain table: windows persistence cannot answer
    cases: int | None = None                                 # archive
    series: int | None = None                                # pretraining corpus

    @classmethod
    def from_json(cls, raw: dict) -> SplitSummary:
        return cls(**_known(cls, raw))


@dataclass(frozen=True, kw_only=True)
class DataReport:
    """What every loader reports; a loader of another kind (data_provider.data_factory) may return
    this class itself."""
    kind: ClassVar[str] = "other"
    file: str
    splits: dict[str, SplitSummary]
    warnings: list[str] = field(default_factory=list)
    label: LabelRule | None = None

    def train_share(self, class_index: int) -> float | None:
        """The share of train windows in one class (None when there are none)."""
        train = self.splits.get("train")
        share = (train.class_shares or {}).get(str(class_index)) if train is not None else None
        return None if share is None else float(share)

    def class_names(self, n_classes: int) -> list[str]:
        """'no rain'/'rain' for rain labels, the text a label column held; digits where nothing
        better is known."""
        if self.label is not None and self.label.mode == "threshold":
            return ["no rain", "rain"]
        if self.label is not None and self.label.mapping:
            by_index = {v: k for k, v in self.label.mapping.items()}
            return [str(by_index.get(c, c)) for c in range(n_classes)]
        return [str(c) for c in range(n_classes)]

    def to_json(self) -> dict:
        return {"kind": self.kind, **_jsonable(self)}

    @classmethod
    def from_json(cls, raw: dict) -> DataReport:
        values = _known(cls, raw)
        values["splits"] = {name: SplitSummary.from_json(s) for name, s in raw.get("splits", {}).items()}
        if isinstance(raw.get("label"), dict):
            values["label"] = LabelRule(**_known(LabelRule, raw["label"]))
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class TableReport(DataReport):
    """A station/region table (``--data PeruRainfall``): what was read, how it was cleaned, split
    and labelled, and why windows were dropped."""
    kind: ClassVar[str] = "table"
    rows_read: int = 0
    rows_inserted_for_missing_timestamps: int = 0
    time_step: str | None = None
    snapped_to_grid: int = 0
    duplicates: dict[str, Any] = field(default_factory=dict)       # exact_dropped, conflicting_resolved, policy
    date_col: str | None = None
    date_col_found_by: str | None = None
    date_format: str | None = None
    group_col: str | None = None
    groups: list[str] = field(default_factory=list)
    n_classes: int | None = None
    features: list[str] = field(default_factory=list)
    n_features: int = 0
    skipped_non_numeric: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    dropped_sparse: list[str] = field(default_factory=list)
    dropped_constant: list[str] = field(default_factory=list)
    dropped_derived: dict[str, str] = field(default_factory=dict)   # row counters, parts of the date
    dropped_costly: dict[str, float] = field(default_factory=dict)  # share of train windows each alone removed
    replaced: dict[str, int] = field(default_factory=dict)
    cleaning: dict[str, dict[str, int]] = field(default_factory=dict)   # per column: what was marked and filled
    na_values: str | None = None
    max_gap: int | None = None
    max_missing_share: float | None = None
    max_window_loss: float | None = None
    split_ratios: list[float] = field(default_factory=list)
    split: dict[str, Any] = field(default_factory=dict)             # kind, val_from, test_from
    by_group: dict[str, dict] = field(default_factory=dict)         # per group, per split: windows, dropped
    scaling_from_train: dict[str, dict[str, float]] = field(default_factory=dict)   # mean, std per feature
    calendar_features: dict[str, Any] | None = None                 # freq, columns, from (--embed timeF)
    persistence_input: dict[str, Any] | None = None                 # column, from, threshold, horizon, rule
    months_unseen_in_train: dict[str, dict] = field(default_factory=dict)   # split: share, months (a season train lacks)

    @property
    def grid_step(self) -> pd.Timedelta | None:
        """The grid's fixed step; None on calendar periods and without a grid."""
        return described_step(self.time_step)

    @property
    def sub_daily(self) -> bool:
        """A grid finer than a day (hourly, 15-minute); False without a grid or on calendar months."""
        return self.grid_step is not None and self.grid_step < DAY


@dataclass(frozen=True, kw_only=True)
class ArchiveReport(DataReport):
    """A UEA/UCR problem (``--data UEA``): TRAIN's lengths size the window; TEST is the test split."""
    kind: ClassVar[str] = "uea"
    problem: str = ""
    dimensions: int = 0
    classes: dict[str, str] = field(default_factory=dict)           # class index -> the file's label
    length_min: int = 0
    length_max: int = 0
    equal_length: bool = True
    test_series_cut: dict[str, int] = field(default_factory=lambda: {"count": 0})
    missing_values: int = 0
    seq_len: int = 0
    input_token_len: int = 0
    val_ratio: float | None = None
    scaling_from_train: dict[str, list[float]] = field(default_factory=dict)

    def class_names(self, n_classes: int) -> list[str]:
        return [str(c) for c in self.classes.values()][:n_classes] or super().class_names(n_classes)


@dataclass(frozen=True, kw_only=True)
class CorpusReport(DataReport):
    """The pretraining corpus of archive TRAIN files (uea_corpus.py); TEST files are not read."""
    kind: ClassVar[str] = "uea_corpus"
    train_files: dict[str, int] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)
    univariate_series: int = 0
    too_short: int = 0
    window: dict[str, Any] = field(default_factory=dict)            # span, stride, sized_for


@dataclass(frozen=True, kw_only=True)
class PredictionReport:
    """A new file read with a trained run's rules (--task_name predict): no split, labels optional."""
    file: str
    rows: int
    windows: int                  # rows that end a window with complete inputs
    labels_known: int             # of those, the windows whose label the file already holds
    dropped: dict[str, int]       # rows that end no window, by cause
    label_column_in_file: bool


REPORTS = {cls.kind: cls for cls in (DataReport, TableReport, ArchiveReport, CorpusReport)}


def read_data_report(raw: dict) -> DataReport:
    """data_report.json back as its class (a table report written before reports had ``kind`` is
    recognised by its rows count)."""
    kind = raw.get("kind") or ("table" if "rows_read" in raw else "other")
    return REPORTS.get(kind, DataReport).from_json(raw)


@dataclass
class PreparedData:
    splits: dict[str, WindowSet]
    n_classes: int
    features: list[str]
    persistence: dict[str, np.ndarray] | None   # persistence-baseline label per window, per split
    row_dates: np.ndarray | None                # per global row
    row_groups: np.ndarray                      # per global row
    report: DataReport                          # written as data_report.json
    window_sizes: dict[str, int] = field(default_factory=dict)  # options chosen from the data

    @property
    def is_weather(self) -> bool:
        """Windows of one timeline (a station table), where a window's last row means "now"."""
        return isinstance(self.report, TableReport)
