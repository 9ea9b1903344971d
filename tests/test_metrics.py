"""Metrics come from one set of predictions and agree with their own confusion matrix."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from utils.metrics import classification_metrics


def test_accuracy_is_the_confusion_matrix_trace_over_its_sum():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 500)
    probs = rng.dirichlet([1, 1], 500)
    y_pred = probs.argmax(1)
    m = classification_metrics(y_true, y_pred, probs, n_classes=2)
    cm = np.array(m["confusion_matrix"])
    assert m["accuracy"] == np.trace(cm) / cm.sum()
    assert m["n"] == cm.sum() == 500
    tp, fp, fn = cm[1, 1], cm[0, 1], cm[1, 0]
    assert m["precision"] == pytest.approx(tp / (tp + fp))
    assert m["recall"] == pytest.approx(tp / (tp + fn))
    assert m["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["per_class"]["1"]["f1"] == m["f1"]


def test_label_order_is_fixed_even_when_a_class_is_absent():
    y_true = np.array([0, 0, 2, 2])
    y_pred = np.array([0, 2, 2, 2])
    m = classification_metrics(y_true, y_pred, None, n_classes=3)
    assert m["labels"] == [0, 1, 2]
    assert m["confusion_matrix"] == [[1, 0, 1], [0, 0, 0], [0, 0, 2]]
    assert m["per_class"]["1"]["support"] == 0
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)  # over the classes present
    assert m["f1"] == m["macro_f1"]  # multiclass: f1 is macro


def test_pos_label_chooses_the_class_precision_and_recall_describe():
    y_true = np.array([1, 1, 1, 0])
    y_pred = np.array([1, 1, 0, 0])
    as_rain = classification_metrics(y_true, y_pred, None, 2, pos_label=1)
    as_dry = classification_metrics(y_true, y_pred, None, 2, pos_label=0)
    assert as_rain["recall"] == pytest.approx(2 / 3) and as_dry["recall"] == 1.0


def test_ranking_scores_are_none_when_only_one_class_occurs():
    m = classification_metrics(np.ones(5, int), np.ones(5, int), np.tile([0.2, 0.8], (5, 1)), 2)
    assert m["roc_auc"] is None and m["pr_auc"] is None
    assert m["accuracy"] == 1.0


def test_perfect_ranking_scores_one():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    m = classification_metrics(y, probs.argmax(1), probs, 2)
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0


def test_multiclass_recall_equals_balanced_accuracy_when_a_class_is_absent():
    y_true = np.array([0, 0, 1, 1, 2, 2, 4, 4])          # class 3 (snow) has no test window
    y_pred = np.array([0, 1, 1, 1, 2, 0, 4, 2])
    m = classification_metrics(y_true, y_pred, None, n_classes=5)
    assert m["recall"] == pytest.approx(m["balanced_accuracy"])
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))   # sklearn's own convention


def test_predicting_a_rare_event_rarely_is_not_collapse():
    from exp.diagnosis import collapse

    def metrics(true_dry, predicted_dry):
        return {"n": 1000, "predicted_class_shares": {"0": predicted_dry, "1": 1 - predicted_dry},
                "per_class": {"0": {"support": int(1000 * true_dry)}, "1": {"support": int(1000 * (1 - true_dry))}},
                "macro_f1": 0.6, "baselines": {"majority": {"macro_f1": 0.49}}}

    assert collapse(metrics(true_dry=0.9535, predicted_dry=0.975)) == []          # rain in 5% of hours
    assert collapse(metrics(true_dry=0.60, predicted_dry=0.99))[0].startswith("collapse: the model predicts class 0")
