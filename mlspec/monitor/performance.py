"""Performance against training, when the current data carries labels.

The metrics are the evaluate stage's own (``mlspec.evaluation.metrics``, scikit-learn), computed
on the current rows with the model's predictions, and set against the values recorded for the
model at training (its test split, from the bundle's metadata). A binary model whose evaluation
tuned a decision threshold gets the same threshold here, so label metrics (precision, recall,
F1, ...) mean the same thing on both sides.

``drop`` is how much *worse* the current value is, in the metric's own direction (positive:
worse; for lower-is-better metrics such as log loss it is current - training).
"""

from __future__ import annotations

import math
from typing import Any

from mlspec.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS, direction


def labelled(df: Any, target: str | None) -> bool:
    """Whether ``df`` carries usable labels: the target column with at least one value."""
    return bool(target) and target in df.columns and bool(df[target].notna().any())


def performance(
    y_true: Any,
    predictions: Any,
    probabilities: Any,
    task: str,
    classes: list[Any] | None,
    training_metrics: dict[str, Any],
    split: str = "test",
) -> dict[str, Any]:
    """``{"split", "rows", "threshold", "metrics": {name: {training, current, drop,
    direction}}}`` for every metric recorded at training that can be computed here."""
    import numpy as np

    from mlspec.evaluation import threshold as thresholds
    from mlspec.evaluation.metrics import Predictions, point_metrics

    y = np.asarray(y_true)
    keep = ~_isna(y)
    y, pred = y[keep], np.asarray(predictions)[keep]
    recorded = training_metrics.get(split) or {}
    known = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    names = [m for m in known if m in recorded]
    score = None
    chosen = None
    if task == "classification":
        cls = np.asarray(classes) if classes is not None else np.unique(np.r_[y, pred])
        if probabilities is not None:
            proba = np.asarray(probabilities, dtype=float)[keep]
            score = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba
        else:
            names = [m for m in names if m not in ("roc_auc", "pr_auc", "log_loss", "brier")]
        y = y.astype(cls.dtype, copy=False) if y.dtype != cls.dtype else y
        p = Predictions(task, y, pred, cls, score, proba=probabilities is not None)
        setting = training_metrics.get("threshold") or {}
        if p.binary and score is not None and setting.get("value") is not None:
            chosen = float(setting["value"])
            p = thresholds.apply(p, chosen)
    else:
        p = Predictions(task, y.astype(float), pred.astype(float))
    current = point_metrics(p, names) if len(y) else {}
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        train_value = _float(recorded.get(name))
        value = _float(current.get(name))
        drop = None
        if train_value is not None and value is not None:
            worse = train_value - value if direction(name) != "minimize" else value - train_value
            drop = float(worse)
        out[name] = {
            "training": train_value,
            "current": value,
            "drop": drop,
            "direction": direction(name),
        }
    return {"split": split, "rows": len(y), "threshold": chosen, "metrics": out}


def _isna(values: Any) -> Any:
    import pandas as pd

    return pd.isna(values)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out
