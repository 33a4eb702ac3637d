"""Metric names the evaluate stage computes, per task, and which way each one is better."""

from __future__ import annotations

from typing import Literal

# Order = the order of the metrics artifact and of the printed table when none are chosen.
# ``precision``/``recall``/``f1`` are of the positive (larger) label for binary tasks and the
# macro average for multiclass ones; the ``_macro``/``_weighted`` forms are explicit averages.
CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
)
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape", "median_ae", "max_error")

# Metrics computed from the predicted labels: a decision threshold changes them.
LABEL_METRICS = frozenset(CLASSIFICATION_METRICS[:11])
# Metrics that need class scores; the last two need probabilities (a decision function will not do).
SCORE_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier")
PROBA_ONLY_METRICS = ("log_loss", "brier")

MINIMIZE = frozenset({"log_loss", "brier", *REGRESSION_METRICS} - {"r2"})
MAXIMIZE = frozenset(set(CLASSIFICATION_METRICS) | {"r2"}) - MINIMIZE


def direction(name: str) -> Literal["maximize", "minimize"] | None:
    """Higher is better (maximize), lower is better (minimize), or unknown."""
    if name in MAXIMIZE:
        return "maximize"
    if name in MINIMIZE:
        return "minimize"
    return None
