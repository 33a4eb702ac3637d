"""evaluate: standard metrics of the fitted model on the validation and test splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.api import Stage, StageContext, StageParams

CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
)
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape", "median_ae")


class EvaluateParams(StageParams):
    """Built from ``evaluate`` and ``data.target``."""

    metrics: list[str] | None = None  # None: every metric for the task
    target: str
    task: Literal["auto", "classification", "regression"] = "auto"

    @model_validator(mode="after")
    def _known_metrics(self) -> EvaluateParams:
        from mlspec.errors import choices_hint

        known = CLASSIFICATION_METRICS + REGRESSION_METRICS
        for m in self.metrics or []:
            if m not in known:
                raise ValueError(f"unknown metric '{m}'; " + choices_hint(m, known))
        return self


class EvaluateStage(Stage):
    name = "evaluate"
    version = "1"
    Params = EvaluateParams
    inputs = ("model", "valid", "test")
    outputs = {"metrics": "json"}
    libraries = ("scikit-learn", "numpy", "pandas")

    def run(  # type: ignore[override]
        self, params: EvaluateParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        from sklearn.base import is_classifier

        model = inputs["model"]
        task = params.task
        if task == "auto":
            task = "classification" if is_classifier(model) else "regression"
        valid_names = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        names = list(params.metrics) if params.metrics is not None else list(valid_names)
        wrong = [m for m in names if m not in valid_names]
        if wrong:
            raise SpecError(
                Problem(
                    code="wrong_task_metric",
                    message=f"metric(s) {', '.join(wrong)} do not apply to a {task} task",
                    loc=("evaluate", "metrics"),
                    fix=f"metrics for {task}: " + ", ".join(valid_names),
                )
            )
        if task == "classification":
            names = _scorable(model, names, explicit=params.metrics is not None)
        metrics: dict[str, Any] = {"task": task, "valid": {}, "test": {}, "rows": {}}
        for split in ("valid", "test"):
            df = inputs[split]
            metrics["rows"][split] = len(df)
            if split == "valid" and len(df) == 0:
                continue  # no validation split configured (valid: 0)
            if params.target not in df.columns:
                raise DataError(
                    Problem(
                        code="missing_column",
                        message=f"target column '{params.target}' is not in the {split} split",
                        loc=("data", "target"),
                        fix="columns present: " + ", ".join(map(str, df.columns)),
                    )
                )
            X, y = df.drop(columns=[params.target]), df[params.target].to_numpy()
            compute = _classification if task == "classification" else _regression
            values = compute(model, X, y, names)
            undefined = [k for k, v in values.items() if v != v]
            if undefined:
                ctx.log(f"{split}: undefined on this data (NaN): {', '.join(undefined)}")
            metrics[split] = values
        return {"metrics": metrics}


# Metrics that need class scores: probabilities, or a decision function for the two AUCs.
_SCORE_METRICS = ("roc_auc", "pr_auc", "log_loss")


def _scorable(model: Any, names: list[str], explicit: bool) -> list[str]:
    """The metrics the model can give: defaults quietly lose the rest, explicit asks fail."""
    has_proba = hasattr(model, "predict_proba")
    has_decision = hasattr(model, "decision_function")
    impossible = [
        m
        for m in names
        if m in _SCORE_METRICS and not has_proba and (m == "log_loss" or not has_decision)
    ]
    if impossible and explicit:
        raise SpecError(
            Problem(
                code="metric_unavailable",
                message=f"the model has no predict_proba: cannot compute {', '.join(impossible)}",
                loc=("evaluate", "metrics"),
                fix="remove them from evaluate.metrics or use an estimator with predict_proba",
            )
        )
    return [m for m in names if m not in impossible]


def _safe(fn: Any) -> float:
    """The metric as a python float; NaN when the data leaves it undefined (e.g. one class)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning and friends: NaN says it
        try:
            return float(fn())
        except ValueError:
            return float("nan")


def _classification(model: Any, X: Any, y: Any, names: list[str]) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as skm
    from sklearn.preprocessing import label_binarize

    pred = model.predict(X)
    classes = getattr(model, "classes_", None)  # absent on some third-party classifiers
    classes = np.unique(np.concatenate([y, pred])) if classes is None else np.asarray(classes)
    binary = len(classes) == 2
    positive = classes.max()  # binary: the larger label is the positive class
    avg: dict[str, Any] = (
        {"average": "binary", "pos_label": positive} if binary else {"average": "macro"}
    )
    proba = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    if proba is not None:
        score = proba[:, list(classes).index(positive)] if binary else proba
    elif any(m in names for m in ("roc_auc", "pr_auc")):
        score = model.decision_function(X)
    else:
        score = None

    def pr_auc() -> float:
        if binary:
            return skm.average_precision_score(y == positive, score)
        return skm.average_precision_score(label_binarize(y, classes=classes), score)

    table = {
        "accuracy": lambda: skm.accuracy_score(y, pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred),
        "precision": lambda: skm.precision_score(y, pred, zero_division=0, **avg),
        "recall": lambda: skm.recall_score(y, pred, zero_division=0, **avg),
        "f1": lambda: skm.f1_score(y, pred, zero_division=0, **avg),
        # Multiclass: one-vs-rest macro average, computed on the indicator matrix so that
        # decision-function scores (which do not sum to 1) work as well as probabilities.
        "roc_auc": lambda: (
            skm.roc_auc_score(y == positive, score)
            if binary
            else skm.roc_auc_score(label_binarize(y, classes=classes), score, average="macro")
        ),
        "pr_auc": pr_auc,
        "log_loss": lambda: skm.log_loss(y, proba, labels=classes),
    }
    return {m: _safe(table[m]) for m in names}


def _regression(model: Any, X: Any, y: Any, names: list[str]) -> dict[str, float]:
    from sklearn import metrics as skm

    pred = model.predict(X)
    table = {
        "rmse": lambda: skm.root_mean_squared_error(y, pred),
        "mae": lambda: skm.mean_absolute_error(y, pred),
        "r2": lambda: skm.r2_score(y, pred),
        "mape": lambda: skm.mean_absolute_percentage_error(y, pred),
        "median_ae": lambda: skm.median_absolute_error(y, pred),
    }
    return {m: _safe(table[m]) for m in names}
