"""evaluate: metrics of the fitted model on the validation and test splits, with bootstrap
intervals, per-slice metrics, an optional decision threshold, and the predictions.

Outputs ``metrics`` (JSON; its shape is a contract: ``task``, ``valid``/``test`` metric maps and
``rows`` as before, plus ``intervals``, ``confusion_matrix``, ``threshold``, ``slices`` and
``skipped_slices``) and ``predictions`` (a frame: split, row, y_true, y_pred, scores and the
slice columns' values).

Why store the predictions rather than let the HTML report recompute them from the stored model
and splits: the report would have to unpickle the model and import its library (LightGBM,
XGBoost ...), load both splits and redo the threshold and the slice binning, and it could then
show numbers that differ from the ones recorded if any of that drifted. The predictions of the
evaluated rows are small next to the splits, and the report then draws exactly what was graded.

The numbers themselves are computed in ``mlspec.evaluation``: point estimates by scikit-learn
(``metrics``), intervals by a vectorised bootstrap of the same definitions (``bootstrap``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from mlspec.errors import DataError, Problem, SpecError
from mlspec.evaluation.names import (
    CLASSIFICATION_METRICS,
    PROBA_ONLY_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
)
from mlspec.evaluation.options import EvaluateOptions
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.builtin import _fit

__all__ = ["CLASSIFICATION_METRICS", "REGRESSION_METRICS", "EvaluateParams", "EvaluateStage"]

SPLITS = ("valid", "test")


class EvaluateParams(StageParams, EvaluateOptions):
    """Built from ``evaluate``, ``data.target`` and ``task``; the plan sets ``bootstrap.seed`` to
    the spec's seed when the spec leaves it out."""

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
    version = "2"
    Params = EvaluateParams
    inputs = ("model", "valid", "test")
    outputs = {"metrics": "json", "predictions": "frame"}
    libraries = ("scikit-learn", "numpy", "pandas")
    code_dependencies = (
        "mlspec.evaluation.metrics",
        "mlspec.evaluation.bootstrap",
        "mlspec.evaluation.slices",
        "mlspec.evaluation.threshold",
        "mlspec.evaluation.options",
        "mlspec.evaluation.names",
    )

    def run(  # type: ignore[override]
        self, params: EvaluateParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        from sklearn.base import is_classifier

        from mlspec.evaluation import threshold as thresholds

        model = inputs["model"]
        task = params.task
        if task == "auto":
            task = "classification" if is_classifier(model) else "regression"
        names = _metric_names(model, task, params.metrics)
        frames = {s: inputs[s] for s in SPLITS if not (s == "valid" and len(inputs[s]) == 0)}
        preds = {s: _predict(model, df, params.target, task, names, s) for s, df in frames.items()}
        chosen = thresholds.resolve(params.threshold, preds)
        if chosen is not None:
            preds = {s: thresholds.apply(p, chosen["value"]) for s, p in preds.items()}
            how = f"chosen by {chosen['chosen_by']} on valid" if chosen["split"] else "fixed"
            ctx.log(f"decision threshold {chosen['value']:.4g} ({how})")
        metrics = _empty(task, inputs, chosen)
        metrics["metric_names"] = names  # the json codec sorts keys: the order lives here
        if params.bootstrap is not None and params.bootstrap.samples:
            metrics["bootstrap"] = params.bootstrap.model_dump()
        for split, p in preds.items():
            values = _measure(p, names, params, split, metrics)
            undefined = [k for k, v in values.items() if v != v]
            if undefined:
                ctx.log(f"{split}: undefined on this data (NaN): {', '.join(undefined)}")
        if params.slices:
            from mlspec.evaluation.options import slice_groups

            # Declared order of the (crossed) columns: the json codec sorts each slice's keys.
            metrics["slice_columns"] = [[c.column for c in g] for g in slice_groups(params.slices)]
            _slices(params, frames, preds, names, metrics, ctx)
        return {"metrics": metrics, "predictions": _predictions_frame(preds, frames, params)}


def _metric_names(model: Any, task: str, asked: list[str] | None) -> list[str]:
    valid_names = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    names = list(asked) if asked is not None else list(valid_names)
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
        names = _scorable(model, names, explicit=asked is not None)
    return names


def _scorable(model: Any, names: list[str], explicit: bool) -> list[str]:
    """The metrics the model can give: defaults quietly lose the rest, explicit asks fail."""
    has_proba = hasattr(model, "predict_proba")
    has_decision = hasattr(model, "decision_function")
    impossible = [
        m
        for m in names
        if m in SCORE_METRICS and not has_proba and (m in PROBA_ONLY_METRICS or not has_decision)
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


def _predict(model: Any, df: Any, target: str, task: str, names: list[str], split: str) -> Any:
    import numpy as np

    from mlspec.evaluation.metrics import Predictions

    if target not in df.columns:
        raise DataError(
            Problem(
                code="missing_column",
                message=f"target column '{target}' is not in the {split} split",
                loc=("data", "target"),
                fix="columns present: " + ", ".join(map(str, df.columns)),
            )
        )
    X, y = df.drop(columns=[target]), df[target].to_numpy()
    features, est = _split_pipeline(model)
    Xt = features.transform(X) if features is not None else X  # once, not once per predict call
    if task == "regression":
        return Predictions(task, y, np.asarray(est.predict(Xt)))
    score, proba = None, False
    if hasattr(est, "predict_proba"):
        score, proba = np.asarray(est.predict_proba(Xt), dtype=np.float64), True
    elif hasattr(est, "decision_function"):
        score = np.asarray(est.decision_function(Xt), dtype=np.float64)
    classes = getattr(est, "classes_", None)  # absent on some third-party classifiers
    if score is not None and proba and classes is not None and _fit.family(est) in _LABEL_IS_ARGMAX:
        # These libraries' predict() is exactly classes_[argmax(predict_proba)]: one pass over
        # the trees instead of two (tests/unit/stages/test_evaluate_fast_labels.py checks it).
        pred = np.asarray(classes)[np.argmax(score, axis=1)]
    else:
        pred = np.asarray(est.predict(Xt))
    classes = np.unique(np.concatenate([y, pred])) if classes is None else np.asarray(classes)
    if score is not None and len(classes) == 2 and score.ndim == 2:
        score = score[:, 1]  # the positive (larger) label's column
    return Predictions(task, y, pred, classes, score, proba)


_LABEL_IS_ARGMAX = frozenset({"lightgbm", "xgboost", "xgboost_rf"})


def _split_pipeline(model: Any) -> tuple[Any, Any]:
    """(the fitted feature steps or None, the final estimator) of a scikit-learn Pipeline."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1], model.steps[-1][1]
    return None, model


def _empty(task: str, inputs: Mapping[str, Any], chosen: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "task": task,
        "valid": {},
        "test": {},
        "rows": {s: len(inputs[s]) for s in SPLITS},
        "intervals": {s: {} for s in SPLITS},
        "confusion_matrix": {},
        "threshold": chosen,
        "slices": {s: [] for s in SPLITS},
        "skipped_slices": {s: [] for s in SPLITS},
        "bootstrap": None,
    }


def _rng(seed: int, *path: int) -> Any:
    """An independent stream per (split, slice): adding a slice leaves the others' intervals."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([seed, *path]))


def _measure(
    p: Any, names: list[str], params: EvaluateParams, split: str, metrics: dict[str, Any]
) -> dict[str, float]:
    from mlspec.evaluation import bootstrap
    from mlspec.evaluation.metrics import confusion, point_metrics

    values = point_metrics(p, names)
    metrics[split] = values
    boot = params.bootstrap
    if boot is not None and boot.samples:
        rng = _rng(boot.seed or 0, SPLITS.index(split))
        metrics["intervals"][split] = bootstrap.intervals(
            p, names, values, boot.samples, boot.level, rng
        )
    if p.task == "classification":
        metrics["confusion_matrix"][split] = confusion(p)
        metrics["classes"] = metrics["confusion_matrix"][split]["labels"]
        if p.binary:
            metrics["positive_label"] = metrics["classes"][-1]
        kind = "proba" if p.proba else "decision" if p.score is not None else None
        metrics["score_kind"] = kind
    return values


def _slices(
    params: EvaluateParams,
    frames: dict[str, Any],
    preds: dict[str, Any],
    names: list[str],
    metrics: dict[str, Any],
    ctx: StageContext,
) -> None:
    from mlspec.evaluation import bootstrap
    from mlspec.evaluation.metrics import point_metrics
    from mlspec.evaluation.options import slice_groups
    from mlspec.evaluation.slices import slice_codes

    boot = params.bootstrap
    seed = (boot.seed or 0) if boot is not None else 0
    skipped = 0
    for g, group in enumerate(slice_groups(params.slices)):
        codes = slice_codes(frames, group, g)
        for split, p in preds.items():
            for k, (key, rows) in enumerate(codes.groups(split)):
                if len(rows) < params.min_slice_size:
                    metrics["skipped_slices"][split].append(
                        {
                            "slice": key,
                            "rows": len(rows),
                            "reason": f"below min_slice_size {params.min_slice_size}",
                        }
                    )
                    skipped += 1
                    continue
                sub = p.take(rows)
                values = point_metrics(sub, names)
                entry: dict[str, Any] = {"slice": key, "rows": len(rows), "metrics": values}
                if boot is not None and boot.samples:
                    rng = _rng(seed, SPLITS.index(split), g + 1, k)
                    entry["intervals"] = bootstrap.intervals(
                        sub, names, values, boot.samples, boot.level, rng
                    )
                metrics["slices"][split].append(entry)
    if skipped:
        ctx.log(f"{skipped} slice(s) below min_slice_size {params.min_slice_size}: skipped")


def _predictions_frame(
    preds: dict[str, Any], frames: dict[str, Any], params: EvaluateParams
) -> Any:
    """split, row (position in the split), y_true, y_pred, score(s), slice:<column> values."""
    import numpy as np
    import pandas as pd

    from mlspec.evaluation.options import slice_groups

    slice_columns = list(dict.fromkeys(c.column for g in slice_groups(params.slices) for c in g))
    parts = []
    for split, p in preds.items():
        part: dict[str, Any] = {
            "split": split,
            "row": np.arange(len(p.y)),
            "y_true": p.y,
            "y_pred": p.pred,
        }
        if p.score is not None:
            if p.score.ndim == 1:
                part["score"] = p.score
            else:
                for j, label in enumerate(p.classes):
                    part[f"score:{label}"] = p.score[:, j]
        for column in slice_columns:
            part[f"slice:{column}"] = frames[split][column].to_numpy()
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame({"split": [], "row": [], "y_true": [], "y_pred": []})
    return pd.concat(parts, ignore_index=True)
