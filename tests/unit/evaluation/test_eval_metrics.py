"""Acceptance a: every metric equals scikit-learn's on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from mlspec.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS


def sklearn_classification(y, pred, score, classes) -> dict[str, float]:
    """Every classification metric computed directly with scikit-learn (no mlspec code)."""
    binary = len(classes) == 2
    main = {"average": "binary", "pos_label": classes[-1]} if binary else {"average": "macro"}
    zd = {"zero_division": 0}
    if binary:
        truth, proba = y == classes[-1], np.column_stack([1 - score, score])
        auc = skm.roc_auc_score(truth, score)
        ap = skm.average_precision_score(truth, score)
        brier = skm.brier_score_loss(truth, score)
    else:
        onehot, proba = label_binarize(y, classes=classes), score
        auc = skm.roc_auc_score(onehot, score, average="macro")
        ap = skm.average_precision_score(onehot, score)
        brier = skm.brier_score_loss(y, score, labels=classes)
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, **main, **zd),
        "recall": skm.recall_score(y, pred, **main, **zd),
        "f1": skm.f1_score(y, pred, **main, **zd),
        "precision_macro": skm.precision_score(y, pred, average="macro", **zd),
        "recall_macro": skm.recall_score(y, pred, average="macro", **zd),
        "f1_macro": skm.f1_score(y, pred, average="macro", **zd),
        "precision_weighted": skm.precision_score(y, pred, average="weighted", **zd),
        "recall_weighted": skm.recall_score(y, pred, average="weighted", **zd),
        "f1_weighted": skm.f1_score(y, pred, average="weighted", **zd),
        "roc_auc": auc,
        "pr_auc": ap,
        "log_loss": skm.log_loss(y, proba, labels=classes),
        "brier": brier,
    }


def sklearn_regression(y, pred) -> dict[str, float]:
    return {
        "rmse": skm.root_mean_squared_error(y, pred),
        "mae": skm.mean_absolute_error(y, pred),
        "r2": skm.r2_score(y, pred),
        "mape": skm.mean_absolute_percentage_error(y, pred),
        "median_ae": skm.median_absolute_error(y, pred),
        "max_error": skm.max_error(y, pred),
    }


def _assert_same(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


@pytest.mark.parametrize("case", ["binary", "multiclass"])
def test_classification_metrics_equal_sklearn(case, request):
    c = request.getfixturevalue(case)
    metrics = c.evaluate()["metrics"]
    classes = c.model.classes_
    for split, frame in (("valid", c.valid), ("test", c.test)):
        X, y = c.X(frame), frame["target"].to_numpy()
        proba = c.model.predict_proba(X)
        score = proba[:, 1] if len(classes) == 2 else proba
        expected = sklearn_classification(y, c.model.predict(X), score, classes)
        _assert_same(metrics[split], expected)
        assert list(metrics[split]) == list(CLASSIFICATION_METRICS)
        cm = skm.confusion_matrix(y, c.model.predict(X), labels=classes)
        assert metrics["confusion_matrix"][split] == {
            "labels": classes.tolist(),
            "matrix": cm.tolist(),
        }


def test_regression_metrics_equal_sklearn(regression):
    c = regression
    metrics = c.evaluate()["metrics"]
    for split, frame in (("valid", c.valid), ("test", c.test)):
        expected = sklearn_regression(frame["target"].to_numpy(), c.model.predict(c.X(frame)))
        _assert_same(metrics[split], expected)
    assert list(metrics["test"]) == list(REGRESSION_METRICS)
    assert metrics["confusion_matrix"] == {}


def test_decision_function_scores_for_the_aucs(svc):
    c = svc
    metrics = c.evaluate()["metrics"]
    X, y = c.X(c.test), c.test["target"].to_numpy()
    score = c.model.decision_function(X)
    assert metrics["test"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 1, score))
    assert metrics["test"]["pr_auc"] == pytest.approx(skm.average_precision_score(y == 1, score))
    assert "log_loss" not in metrics["test"] and "brier" not in metrics["test"]
    assert metrics["score_kind"] == "decision"


def test_predictions_artifact_reproduces_the_metrics(binary, multiclass, regression):
    """The stored predictions are what was graded: sklearn on them gives the same numbers."""
    for c in (binary, multiclass):
        out = c.evaluate()
        frame, classes = out["predictions"], c.model.classes_
        for split in ("valid", "test"):
            rows = frame[frame["split"] == split]
            if len(classes) == 2:
                score = rows["score"].to_numpy()
            else:
                score = rows[[f"score:{k}" for k in classes]].to_numpy()
            y, pred = rows["y_true"].to_numpy(), rows["y_pred"].to_numpy()
            _assert_same(out["metrics"][split], sklearn_classification(y, pred, score, classes))
    out = regression.evaluate()
    rows = out["predictions"][out["predictions"]["split"] == "test"]
    expected = sklearn_regression(rows["y_true"].to_numpy(), rows["y_pred"].to_numpy())
    _assert_same(out["metrics"]["test"], expected)


def test_metrics_artifact_shape(binary):
    m = binary.evaluate(metrics=["roc_auc", "f1"], slices=["group"])["metrics"]
    assert set(m) >= {
        "task", "valid", "test", "rows", "intervals", "confusion_matrix", "threshold", "slices",
        "skipped_slices",
    }  # fmt: skip
    assert m["threshold"] is None
    for split in ("valid", "test"):
        assert set(m["intervals"][split]) == {"roc_auc", "f1"}
        assert all(len(v) == 2 for v in m["intervals"][split].values())
        for entry in m["slices"][split]:
            assert set(entry) == {"slice", "rows", "metrics", "intervals"}
            assert set(entry["slice"]) == {"group"}
    import json

    json.dumps(m, allow_nan=True)


def test_bootstrap_off(binary):
    m = binary.evaluate(bootstrap=None, slices=["group"])["metrics"]
    assert m["intervals"] == {"valid": {}, "test": {}}
    assert all("intervals" not in e for e in m["slices"]["test"])
    m = binary.evaluate(bootstrap={"samples": 0})["metrics"]
    assert m["intervals"]["test"] == {}


def test_metric_names_cover_both_tasks():
    assert not set(CLASSIFICATION_METRICS) & set(REGRESSION_METRICS)
