"""The binary decision threshold: fixed, or chosen on the validation split's scores."""

from __future__ import annotations

from typing import Any

from mlspec.errors import DataError, Problem, SpecError
from mlspec.evaluation.metrics import Predictions
from mlspec.evaluation.options import ThresholdOptions

LOC = ("evaluate", "threshold")


def resolve(
    setting: float | ThresholdOptions | None, splits: dict[str, Predictions]
) -> dict[str, Any] | None:
    """The threshold record of the metrics artifact ({value, chosen_by, split}), or None."""
    if setting is None:
        return None
    any_split = next(iter(splits.values()), None)
    if any_split is None or any_split.task != "classification" or not any_split.binary:
        kind = "a regression" if any_split and any_split.task == "regression" else "this"
        raise SpecError(
            Problem(
                "threshold_not_binary",
                f"a decision threshold applies to binary classification, not to {kind} task",
                LOC,
                fix="remove evaluate.threshold",
            )
        )
    if any_split.score is None:
        raise SpecError(
            Problem(
                "threshold_without_scores",
                "the model gives no scores (no predict_proba or decision_function)",
                LOC,
                fix="remove evaluate.threshold or use an estimator with predict_proba",
            )
        )
    if not isinstance(setting, ThresholdOptions):
        return {"value": float(setting), "chosen_by": "fixed", "split": None}
    valid = splits.get(setting.split)
    if valid is None or len(valid.y) == 0:
        raise SpecError(
            Problem(
                "threshold_needs_valid",
                "choosing a threshold needs a validation split, and it is empty",
                LOC,
                fix="set data.split.valid > 0, or give a fixed threshold (evaluate.threshold: 0.5)",
            )
        )
    value, achieved = choose(valid.y == valid.positive, valid.score, setting.choose_by)
    return {
        "value": value,
        "chosen_by": setting.choose_by,
        "split": setting.split,
        "achieved": achieved,  # the criterion's value on that split at the chosen threshold
    }


def choose(truth: Any, score: Any, criterion: str) -> tuple[float, float]:
    """The score threshold t (predict positive when score >= t) maximising ``criterion``; among
    equal values the highest threshold. Returns (t, the criterion's value)."""
    import numpy as np

    truth = np.asarray(truth, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    P, N = int(truth.sum()), int((~truth).sum())
    if P == 0 or N == 0:
        raise DataError(
            Problem(
                "threshold_one_class",
                f"cannot choose a threshold by {criterion}: the validation split has"
                f" {'no positive' if P == 0 else 'no negative'} rows",
                LOC,
                fix="use a larger or stratified validation split, or a fixed threshold",
            )
        )
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], truth[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(t)[ends].astype(np.float64)
    fp = np.cumsum(~t)[ends].astype(np.float64)
    values = {
        "f1": lambda: 2 * tp / (tp + fp + P),
        "youden": lambda: tp / P - fp / N,
        "accuracy": lambda: (tp + N - fp) / (P + N),
        "balanced_accuracy": lambda: (tp / P + (N - fp) / N) / 2,
    }[criterion]()
    best = int(np.argmax(values))  # first maximum = highest threshold
    return float(s[ends][best]), float(values[best])


def apply(p: Predictions, value: float) -> Predictions:
    """The predictions with labels from ``score >= value`` (positive) instead of predict()."""
    import numpy as np

    negative, positive = p.classes[0], p.classes[1]
    pred = np.where(p.score >= value, positive, negative).astype(np.asarray(p.classes).dtype)
    return Predictions(p.task, p.y, pred, p.classes, p.score, p.proba)
