"""Human-readable summaries of the data report and of the test metrics."""
from __future__ import annotations

from data_provider.base import ArchiveReport, CorpusReport, DataReport, TableReport


def _fmt(value, width: int = 9) -> str:
    return f"{value:>{width}.4f}" if isinstance(value, (int, float)) and value is not None else f"{'-':>{width}}"


def uea_summary(report: ArchiveReport) -> list[str]:
    lines = [f"data: UEA {report.problem} ({report.file}): {report.dimensions} dimension(s), TRAIN lengths "
             f"{report.length_min}..{report.length_max}, {len(report.classes)} classes, "
             f"{report.missing_values} missing values; seq_len {report.seq_len}, token {report.input_token_len}"]
    cut = report.test_series_cut
    if cut["count"]:
        lines.append(f"  {cut['count']} TEST series longer than seq_len {cut['seq_len']} (sized on TRAIN) were cut "
                     f"to their last {cut['seq_len']} steps")
    for split, info in report.splits.items():
        counts = ", ".join(f"{k}: {v}" for k, v in info.class_counts.items())
        if info.cases:
            lines.append(f"  {split:5s}: {info.cases:6d} series; classes {counts}")
        else:
            lines.append(f"  {split:5s}:      0 series (--val_ratio 0: all of TRAIN trains; the last epoch is tested)")
    lines += [f"  WARNING: {w}" for w in report.warnings]
    return lines


def corpus_summary(report: CorpusReport) -> list[str]:
    files = ", ".join(f"{name} ({n})" for name, n in report.train_files.items())
    lines = [f"data: pretraining corpus of archive TRAIN files under {report.file} (TEST files are not read): "
             f"{report.univariate_series} univariate series from {files}; {report.too_short} shorter than one "
             f"window of {report.window['span']} steps left out",
             "  " + "; ".join(f"{split} {info.series} series, {info.windows} windows"
                             for split, info in report.splits.items())]
    lines += [f"  skipped: {why}" for why in report.skipped_files]
    return lines


def _window_table(report: TableReport) -> list[str]:
    """Windows kept (and dropped) per group and split: nothing vanishes without a line here."""
    splits = list(report.splits)
    width = max([len("group")] + [len(g) for g in report.groups])
    lines = [f"  {'group':<{width}}" + "".join(f"{s + ' kept (dropped)':>24}" for s in splits)]
    for group, entry in report.by_group.items():
        cells = [f"{entry[s]['windows']} ({sum(entry[s]['dropped'].values())})" for s in splits]
        lines.append(f"  {group:<{width}}" + "".join(f"{c:>24}" for c in cells))
    return lines


def data_summary(report: DataReport) -> list[str]:
    if isinstance(report, ArchiveReport):
        return uea_summary(report)
    if isinstance(report, CorpusReport):
        return corpus_summary(report)
    if not isinstance(report, TableReport):   # a loader of another kind (registered in data_provider.data_factory)
        counts = ", ".join(f"{s} {info.windows}" for s, info in report.splits.items())
        return [f"data: {report.file} ({report.kind}): windows {counts}", *(f"  WARNING: {w}" for w in report.warnings)]
    return table_summary(report)


def table_summary(report: TableReport) -> list[str]:
    label = report.label
    lines = [
        f"data: {report.file}: {report.rows_read} rows, groups {', '.join(report.groups)}",
        f"  label: {label.rule}",
        f"  features ({report.n_features}): {', '.join(report.features)}",
    ]
    if report.date_col:
        how = report.date_col_found_by or ""
        found = (" (found by its values)" if how == "values" else f" ({how})" if how.startswith("built from") else "")
        if report.date_format not in (None, "inferred format", "datetime"):
            found += f", read as {report.date_format}"
        lines.append(f"  time: column '{report.date_col}'{found}, step {report.time_step}")
    added = report.persistence_input or {}
    if added.get("column"):
        lines.append(f"  persistence input '{added['column']}' ({added['why']}): {added['rule']}")
    elif added:
        lines.append(f"  persistence input: not added ({added['why']})")
    if label.mapping:
        lines.append(f"  label text mapped: {', '.join(f'{k!r} -> {v}' for k, v in label.mapping.items())}")
    duplicates = report.duplicates
    if duplicates["exact_dropped"] or duplicates["conflicting_resolved"]:
        lines.append(f"  duplicates: {duplicates['exact_dropped']} identical row(s) dropped, "
                     f"{duplicates['conflicting_resolved']} merged by --duplicates {duplicates['policy']}")
    if report.snapped_to_grid:
        lines.append(f"  {report.snapped_to_grid} row(s) stamped off the grid moved to their own period's stamp")
    if report.rows_inserted_for_missing_timestamps:
        lines.append(f"  {report.rows_inserted_for_missing_timestamps} missing timestamps added as empty rows "
                     f"(step {report.time_step})")
    if report.replaced:
        lines.append("  --replace: " + ", ".join(f"{k!r} in {n} cell(s)" for k, n in report.replaced.items()))
    if report.skipped_non_numeric:
        lines.append(f"  skipped non-numeric columns: {', '.join(report.skipped_non_numeric)}")
    if report.excluded:
        lines.append(f"  excluded: {', '.join(report.excluded)}")
    if report.dropped_sparse:
        lines.append(f"  dropped as sparse (--max_missing_share {report.max_missing_share:g}): "
                     f"{', '.join(report.dropped_sparse)}")
    if report.dropped_derived:
        lines.append(f"  dropped as row counters or parts of the date: {', '.join(report.dropped_derived)}")
    if report.dropped_costly:
        lines.append(f"  dropped for the train windows their gaps alone cost (--max_window_loss {report.max_window_loss:g}): "
                     + ", ".join(f"{name} ({share:.0%})" for name, share in report.dropped_costly.items()))
    cleaned = {name: c for name, c in report.cleaning.items()
               if c["sentinels_to_missing"] or c["inf_to_missing"] or c["forward_filled"] or c["still_missing"]}
    same: dict[tuple, list[str]] = {}
    for name, c in cleaned.items():   # columns cleaned alike (a missing hour empties them all) share a line
        key = (c["sentinels_to_missing"], c["inf_to_missing"], c["forward_filled"], c["still_missing"])
        same.setdefault(key, []).append(name)
    for (sentinel, inf, filled, still), names in same.items():
        lines.append(f"  cleaned {', '.join(repr(n) for n in names)}: {sentinel} sentinel, {inf} inf -> missing; "
                     f"{filled} filled forward; {still} still missing (their windows are dropped)")
    cut = report.split
    if cut["kind"] == "time":
        lines.append(f"  split: one timeline for all groups: val from {cut['val_from']}, test from {cut['test_from']}")
    for split, info in report.splits.items():
        span = " .. ".join(info.window_end_range or []) or "-"
        shares = ", ".join(f"{k}: {v}" for k, v in info.class_counts.items())
        classes = f"; classes {shares}" if label.mode != "none" else ""
        lines.append(f"  {split:5s}: {info.rows:7d} rows, {info.windows:7d} windows (ending {span}){classes}")
        if info.dropped:
            lines.append("         dropped: " + ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in info.dropped.items()))
        columns = list((info.input_missing_by_column or {}).items())[:3]
        if columns:
            lines.append("         missing inputs by column (a window may count for several): "
                         + ", ".join(f"'{c}' {n}" for c, n in columns))
    if len(report.groups) > 1:
        lines += _window_table(report)
    for warning in report.warnings:
        lines.append(f"  WARNING: {warning}")
    return lines


COLUMNS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_f1")
VERIFICATION = ("hss", "ets", "pss", "brier_skill")


def _row(name: str, width: int, scores: dict, verification: dict | None) -> str:
    cells = "".join(" " + _fmt(scores.get(c)) for c in COLUMNS)
    if verification is not None:
        cells += "".join(" " + _fmt(verification.get(c)) for c in VERIFICATION)
    return f"{name:<{width}}" + cells


def metrics_table(metrics: dict, title: str) -> list[str]:
    head = f"{title} (n={metrics['n']})"
    width = max(len(head), 26)
    binary = metrics.get("verification") is not None
    names = [c.replace("balanced_accuracy", "bal_acc") for c in COLUMNS] + (list(VERIFICATION) if binary else [])
    lines = [f"{head:<{width}}" + "".join(f"{c.replace('brier_skill', 'brier_ss'):>10}" for c in names)]
    rule = metrics.get("decision_rule", {})
    label = f"model @ threshold {rule['threshold']:.3f}" if rule.get("kind") == "threshold" else "model"
    lines.append(_row(label, width, metrics, metrics.get("verification")))
    if "argmax" in metrics:
        lines.append(_row("model @ argmax", width, metrics["argmax"], None))
    for name, base in metrics["baselines"].items():
        lines.append(_row(f"baseline: {name}", width, base, base.get("verification") if binary else None))
    lines.append(f"ROC-AUC {_fmt(metrics['roc_auc'], 0)}  PR-AUC {_fmt(metrics['pr_auc'], 0)}  "
                 f"confusion matrix (rows true {metrics['labels']}, cols predicted): {metrics['confusion_matrix']}")
    v = metrics.get("verification")
    if v:
        lines.append(f"verification (event = class {metrics['pos_label']}): POD {_fmt(v['pod'], 0)}  FAR {_fmt(v['far'], 0)}  "
                     f"CSI {_fmt(v['csi'], 0)}  bias {_fmt(v['frequency_bias'], 0)}  Brier {_fmt(v['brier'], 0)}  "
                     f"ECE {_fmt(v['ece'], 0)}")
    lines += [f"WARNING: {line}" for line in metrics.get("warnings", []) + metrics.get("probability_warnings", [])
                                                 + metrics.get("data_warnings", [])]
    return lines


def diagnosis_lines(diag: dict) -> list[str]:
    cost = diag["cost"]
    lines = [f"diagnosis: stopped by {diag['stop_reason']}; best epoch {diag['best_epoch']} of {diag['epochs_run']}; "
             f"learning rate at best {diag['lr_at_best_fraction']:.1%} of start, at stop {diag['lr_at_stop_fraction']:.1%}"]
    if diag["verdict"]:
        lines.append(f"  {diag['verdict']}")
    lines += [f"WARNING: {line}" for line in diag["collapse"] + diag["leakage"]]
    throughput = cost["train_samples_per_second"]
    lines.append(f"  cost: {cost['wall_seconds']:.1f}s wall, {cost['seconds_per_epoch'] or 0:.1f}s/epoch, "
                 f"train {throughput or 0:.0f} windows/s, inference {cost['inference_samples_per_second'] or 0:.0f} "
                 f"windows/s, peak memory {cost['peak_memory_mib']:.0f} MiB ({cost['peak_memory_kind']}), "
                 f"{cost['parameters_total']:,} parameters, {cost['device']} {cost['dtype']}")
    return lines
