"""Human-readable summaries of the data report and of the test metrics."""
from __future__ import annotations


def _fmt(value, width: int = 9) -> str:
    return f"{value:>{width}.4f}" if isinstance(value, (int, float)) and value is not None else f"{'-':>{width}}"


def data_summary(report: dict) -> list[str]:
    lines = [
        f"data: {report['file']}: {report['rows_read']} rows, groups {', '.join(report['groups'])}",
        f"  label: {report['label']['rule']}",
        f"  features ({report['n_features']}): {', '.join(report['features'])}",
    ]
    if report["rows_inserted_for_missing_timestamps"]:
        lines.append(f"  {report['rows_inserted_for_missing_timestamps']} missing timestamps added as empty rows "
                     f"(step {report['time_step']})")
    if report["skipped_non_numeric"]:
        lines.append(f"  skipped non-numeric columns: {', '.join(report['skipped_non_numeric'])}")
    if report["excluded"]:
        lines.append(f"  excluded: {', '.join(report['excluded'])}")
    cleaned = {name: c for name, c in report["cleaning"].items()
               if c["sentinels_to_missing"] or c["inf_to_missing"] or c["interpolated"] or c["still_missing"]}
    for name, c in cleaned.items():
        lines.append(f"  cleaned '{name}': {c['sentinels_to_missing']} sentinel, {c['inf_to_missing']} inf -> missing; "
                     f"{c['interpolated']} interpolated; {c['still_missing']} still missing (their windows are dropped)")
    for split, info in report["splits"].items():
        span = " .. ".join(info.get("window_end_range", [])) or "-"
        shares = ", ".join(f"{k}: {v}" for k, v in info["class_counts"].items())
        classes = f"; classes {shares}" if report["label"]["mode"] != "none" else ""
        lines.append(f"  {split:5s}: {info['rows']:7d} rows, {info['windows']:7d} windows (ending {span}){classes}")
    for warning in report["warnings"]:
        lines.append(f"  WARNING: {warning}")
    return lines


COLUMNS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_f1")


def metrics_table(metrics: dict, title: str) -> list[str]:
    head = f"{title} (n={metrics['n']})"
    width = max(len(head), 26)
    lines = [f"{head:<{width}}" + "".join(f"{c.replace('balanced_accuracy', 'bal_acc'):>10}" for c in COLUMNS)]
    lines.append(f"{'model':<{width}}" + "".join(" " + _fmt(metrics[c]) for c in COLUMNS))
    for name, base in metrics["baselines"].items():
        lines.append(f"{'baseline: ' + name:<{width}}" + "".join(" " + _fmt(base[c]) for c in COLUMNS))
    lines.append(f"ROC-AUC {_fmt(metrics['roc_auc'], 0)}  PR-AUC {_fmt(metrics['pr_auc'], 0)}  "
                 f"confusion matrix (rows true {metrics['labels']}, cols predicted): {metrics['confusion_matrix']}")
    return lines + collapse_warnings(metrics)


def collapse_warnings(metrics: dict) -> list[str]:
    """Loud lines when the model is no better than predicting one class."""
    lines = []
    shares = metrics["predicted_class_shares"]
    top = max(shares, key=shares.get)
    if shares[top] >= 0.95:
        lines.append(f"WARNING: collapse: the model predicts class {top} for {shares[top]:.1%} of test windows "
                     f"(predicted shares {shares}; true shares of the test windows in the data report)")
    majority = metrics["baselines"]["majority"]["macro_f1"]
    if metrics["macro_f1"] <= majority:
        lines.append(f"WARNING: macro-F1 {metrics['macro_f1']:.4f} is not above the majority baseline's "
                     f"{majority:.4f}: the model has learned nothing the class balance does not give")
    return lines
