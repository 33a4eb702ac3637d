"""Point estimates of every metric, computed by scikit-learn on one set of predictions.

``Predictions`` is what the evaluate stage derives from the model once per split (labels after
the decision threshold, class scores); the same object feeds the point metrics, the bootstrap
(``bootstrap.py``), the slices and the stored ``predictions`` artifact, so all of them are
computed from identical numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Predictions:
    """One split's predictions. Classification: ``classes`` (the model's, sorted), ``score`` is
    the positive class's score (binary) or one column per class (multiclass); ``proba`` tells
    whether the scores are probabilities (else a decision function). Regression: ``pred`` only."""

    task: str
    y: Any  # numpy array
    pred: Any
    classes: Any = None
    score: Any = None
    proba: bool = False

    @property
    def binary(self) -> bool:
        return self.classes is not None and len(self.classes) == 2

    @property
    def positive(self) -> Any:
        """Binary: the larger label is the positive class (scikit-learn's convention)."""
        return self.classes[-1]

    def take(self, rows: Any) -> Predictions:
        """The predictions of a subset of rows (a slice, a bootstrap sample)."""
        score = None if self.score is None else self.score[rows]
        return Predictions(
            self.task, self.y[rows], self.pred[rows], self.classes, score, self.proba
        )


def safe(fn: Callable[[], Any]) -> float:
    """The metric as a python float; NaN when the data leaves it undefined (e.g. one class)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning and friends: NaN says it
        try:
            return float(fn())
        except ValueError:
            return float("nan")


def point_metrics(p: Predictions, names: list[str]) -> dict[str, float]:
    """Every metric in ``names`` by scikit-learn, in that order."""
    table = _classification(p) if p.task == "classification" else _regression(p)
    return {m: safe(table[m]) for m in names}


def _classification(p: Predictions) -> dict[str, Callable[[], Any]]:
    from sklearn import metrics as skm
    from sklearn.preprocessing import label_binarize

    y, pred, score, classes = p.y, p.pred, p.score, p.classes
    if p.binary:
        main: dict[str, Any] = {"average": "binary", "pos_label": p.positive}
    else:
        main = {"average": "macro"}

    def avg(fn: Callable[..., Any], **kw: Any) -> Callable[[], Any]:
        return lambda: fn(y, pred, zero_division=0, **kw)

    def roc_auc() -> float:
        if p.binary:
            return skm.roc_auc_score(y == p.positive, score)
        # One-vs-rest macro average on the indicator matrix: decision-function scores (which do
        # not sum to 1) work as well as probabilities.
        return skm.roc_auc_score(label_binarize(y, classes=classes), score, average="macro")

    def pr_auc() -> float:
        if p.binary:
            return skm.average_precision_score(y == p.positive, score)
        return skm.average_precision_score(label_binarize(y, classes=classes), score)

    def brier() -> float:
        # Binary: the usual mean squared error of the positive class's probability, in [0, 1].
        # Multiclass: Brier's original definition (sum over classes, mean over rows, in [0, 2]),
        # as scikit-learn computes it since 1.7.
        if p.binary:
            return skm.brier_score_loss(y == p.positive, score)
        return skm.brier_score_loss(y, score, labels=classes)

    def log_loss() -> float:
        proba = score if not p.binary else _two_columns(score)
        return skm.log_loss(y, proba, labels=classes)

    return {
        "accuracy": lambda: skm.accuracy_score(y, pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred),
        "precision": avg(skm.precision_score, **main),
        "recall": avg(skm.recall_score, **main),
        "f1": avg(skm.f1_score, **main),
        "precision_macro": avg(skm.precision_score, average="macro"),
        "recall_macro": avg(skm.recall_score, average="macro"),
        "f1_macro": avg(skm.f1_score, average="macro"),
        "precision_weighted": avg(skm.precision_score, average="weighted"),
        "recall_weighted": avg(skm.recall_score, average="weighted"),
        "f1_weighted": avg(skm.f1_score, average="weighted"),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": log_loss,
        "brier": brier,
    }


def _two_columns(score: Any) -> Any:
    import numpy as np

    return np.column_stack([1.0 - score, score])


def _regression(p: Predictions) -> dict[str, Callable[[], Any]]:
    from sklearn import metrics as skm

    y, pred = p.y, p.pred
    return {
        "rmse": lambda: skm.root_mean_squared_error(y, pred),
        "mae": lambda: skm.mean_absolute_error(y, pred),
        "r2": lambda: skm.r2_score(y, pred),
        "mape": lambda: skm.mean_absolute_percentage_error(y, pred),
        "median_ae": lambda: skm.median_absolute_error(y, pred),
        "max_error": lambda: skm.max_error(y, pred),
    }


def confusion(p: Predictions) -> dict[str, Any]:
    """The confusion matrix over the model's classes (rows: true, columns: predicted)."""
    from sklearn.metrics import confusion_matrix

    labels = list(p.classes)
    matrix = confusion_matrix(p.y, p.pred, labels=labels)
    return {"labels": [_scalar(v) for v in labels], "matrix": matrix.tolist()}


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
