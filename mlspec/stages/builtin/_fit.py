"""How the train stage fits an estimator: the seed, class imbalance, early stopping on the
validation split, and the report (what was done, feature importances).

Helpers of ``mlspec.stages.builtin.train`` (listed in its ``code_dependencies``, so editing this
module invalidates cached trainings). The ML libraries are imported inside the functions.
"""

from __future__ import annotations

import copy
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from mlspec.errors import DataError, Problem, SpecError

TOP_FEATURES = 100  # importances kept in the report
SEED_PARAMS = ("random_state", "random_seed", "seed")  # the first one an estimator has gets it


_FAMILIES = {
    ("lightgbm", "LGBMModel"): "lightgbm",
    ("xgboost", "XGBRFClassifier"): "xgboost_rf",  # before XGBModel in their MRO
    ("xgboost", "XGBRFRegressor"): "xgboost_rf",
    ("xgboost", "XGBModel"): "xgboost",
    ("sklearn", "BaseMultilayerPerceptron"): "mlp",
}


def family(est: Any) -> str:
    """'lightgbm', 'xgboost', 'xgboost_rf', 'mlp' (scikit-learn's MLPs) or 'other'; subclasses
    count, and nothing is imported to find out."""
    for cls in type(est).__mro__:
        kind = _FAMILIES.get((cls.__module__.split(".")[0], cls.__name__))
        if kind:
            return kind
    return "other"


# -- seed --------------------------------------------------------------------------------------


def apply_seed(est: Any, user: Mapping[str, Any], seed: int) -> tuple[dict[str, Any], dict]:
    """Give the spec's seed to the estimator's seed parameter unless the user set one.

    The first of ``random_state``, ``random_seed``, ``seed`` the estimator has gets it: that covers
    scikit-learn (the MLPs included), LightGBM and XGBoost (``random_state``, which they turn into
    their own seeds: bagging, feature sampling). Same seed and data give the same model as long as
    the thread count is fixed too (the presets set ``n_jobs: 1``). Nested estimators' unset
    ``random_state`` get it as well. Returns (params set, report).
    """
    params = est.get_params(deep=True)
    applied: dict[str, Any] = {}
    report: dict[str, Any] = {"param": None, "value": None, "source": "none"}
    for name in SEED_PARAMS:
        if name in params:
            if name in user:
                report = {"param": name, "value": user[name], "source": "model"}
            else:
                applied[name] = seed
                report = {"param": name, "value": seed, "source": "seed"}
            break
    for key, value in params.items():
        if "__" in key and key.rsplit("__", 1)[1] == "random_state" and value is None:
            applied[key] = seed
    if applied:
        est.set_params(**applied)
    return applied, report


# -- class imbalance ---------------------------------------------------------------------------


def imbalance_problem(est: Any, task: str, loc: tuple[str, ...]) -> Problem | None:
    """Why ``imbalance: balanced`` cannot apply to this estimator (None when it can)."""
    name = type(est).__name__
    if task != "classification":
        return Problem(
            code="imbalance_needs_classification",
            message=f"imbalance 'balanced' weights classes, but {name} does {task}",
            loc=loc,
            fix="remove train.imbalance (or set it to none) for a regression model",
        )
    params = est.get_params(deep=False)
    if "class_weight" in params or "scale_pos_weight" in params or _accepts(est, "sample_weight"):
        return None
    return Problem(
        code="imbalance_unsupported",
        message=f"{name} has no class_weight parameter and its fit() takes no sample_weight,"
        " so classes cannot be balanced",
        loc=loc,
        fix="set train.imbalance: none, or choose an estimator with class_weight or sample_weight"
        " (e.g. lightgbm.LGBMClassifier, sklearn.ensemble.RandomForestClassifier)",
    )


def balance(
    est: Any, mode: str, task: str, y: Any, user: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Apply ``imbalance``: returns (params set on the estimator, fit kwargs, report).

    class_weight="balanced" where the estimator has it; XGBoost: scale_pos_weight =
    negatives/positives for a binary target, balanced sample weights for more classes; anything
    else: balanced sample weights if fit() takes them. The user's own setting in ``model`` wins.
    """
    import numpy as np

    report: dict[str, Any] = {"mode": mode}
    labels, counts = np.array([]), np.array([])
    if task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        report["class_counts"] = {str(k): int(v) for k, v in zip(labels, counts, strict=True)}
    if mode == "none":
        return {}, {}, report
    problem = imbalance_problem(est, task, ("train", "imbalance"))  # refuses regression
    if problem is not None:
        raise SpecError(problem)
    params = est.get_params(deep=False)
    for name in ("class_weight", "scale_pos_weight"):
        if name in user:
            return {}, {}, {**report, "strategy": name, "value": user[name], "source": "model"}
    if "class_weight" in params:
        est.set_params(class_weight="balanced")
        return {"class_weight": "balanced"}, {}, {**report, "strategy": "class_weight"}
    if "scale_pos_weight" in params and len(labels) == 2:
        # XGBoost's positive class is the larger label (it needs labels 0 and 1)
        value = float(counts[0]) / float(counts[1])
        est.set_params(scale_pos_weight=value)
        return (
            {"scale_pos_weight": value},
            {},
            {**report, "strategy": "scale_pos_weight", "value": value},
        )
    from sklearn.utils.class_weight import compute_sample_weight

    weights = compute_sample_weight("balanced", y)
    per_class = {str(k): float(weights[np.asarray(y) == k][0]) for k in labels}
    report.update({"strategy": "sample_weight", "value": per_class})
    return {}, {"sample_weight": weights}, report


def _accepts(est: Any, arg: str) -> bool:
    try:
        return arg in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


# -- early stopping ----------------------------------------------------------------------------


def fit(
    est: Any,
    X: Any,
    y: Any,
    valid: tuple[Any, Any] | None,
    rounds: int | None,
    fit_kwargs: dict[str, Any],
    user: Mapping[str, Any],
    log: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit ``est``, stopping early on ``valid`` where the family allows it.

    Returns (params set on the estimator, early-stopping report). ``best_iteration`` in the report
    counts from 1: the number of boosting rounds / epochs the fitted model keeps.
    """
    kind = family(est)
    report: dict[str, Any] = {"applied": False}
    if kind == "xgboost" and user.get("early_stopping_rounds"):
        rounds = int(user["early_stopping_rounds"])  # the model's own setting wins
        if valid is None:
            raise SpecError(
                Problem(
                    code="early_stopping_without_valid",
                    message="model.early_stopping_rounds is set but the validation split is empty",
                    loc=("model", "early_stopping_rounds"),
                    fix="give data.split a valid fraction, or remove model.early_stopping_rounds",
                )
            )
    reason = _not_applicable(est, kind, valid, rounds, user)
    if reason is not None:
        est.fit(X, y, **fit_kwargs)
        return {}, {**report, "reason": reason}
    assert valid is not None and rounds
    Xv, yv = valid
    report.update({"applied": True, "rounds": int(rounds), "n_valid_rows": len(yv)})
    if kind == "lightgbm":
        return {}, {**report, **_fit_lightgbm(est, X, y, Xv, yv, rounds, fit_kwargs)}
    if kind == "xgboost":
        applied: dict[str, Any] = {}
        if "early_stopping_rounds" not in user:
            applied["early_stopping_rounds"] = int(rounds)
            est.set_params(**applied)
        return applied, {**report, **_fit_xgboost(est, X, y, Xv, yv, fit_kwargs)}
    result = _fit_mlp(est, X, y, Xv, yv, int(rounds), fit_kwargs)
    if not result["stopped"]:
        log(f"early stopping: no stop within max_iter={est.max_iter} epochs (raise it?)")
    return {}, {**report, **result}


def _not_applicable(
    est: Any, kind: str, valid: Any, rounds: int | None, user: Mapping[str, Any]
) -> str | None:
    name = type(est).__name__
    if kind == "xgboost_rf":
        return f"{name} (XGBoost's random forest) has no early stopping"
    if kind == "other":
        return f"not wired for {name} (only LightGBM, XGBoost and scikit-learn's MLPs)"
    if kind == "mlp" and user.get("early_stopping"):
        return (
            "model.early_stopping is true: scikit-learn's internal validation_fraction is used"
            " instead of the valid split"
        )
    if kind == "mlp" and not hasattr(est, "partial_fit"):
        return f"{name} with solver '{est.solver}' has no epochs; use solver adam or sgd"
    if not rounds:
        return "disabled (train.early_stopping_rounds is 0 or null)"
    if valid is None:
        return "the validation split is empty"
    return None


def _fit_lightgbm(
    est: Any, X: Any, y: Any, Xv: Any, yv: Any, rounds: int, fit_kwargs: dict[str, Any]
) -> dict[str, Any]:
    import lightgbm

    evals: dict[str, Any] = {}
    callbacks = [
        lightgbm.early_stopping(rounds, verbose=False),
        lightgbm.record_evaluation(evals),
    ]
    if "eval_X" in inspect.signature(est.fit).parameters:  # lightgbm >= 4.6: eval_set deprecated
        eval_kwargs: dict[str, Any] = {"eval_X": (Xv,), "eval_y": (yv,)}
    else:
        eval_kwargs = {"eval_set": [(Xv, yv)]}
    est.fit(X, y, **eval_kwargs, callbacks=callbacks, **fit_kwargs)
    [curves] = evals.values()
    metric, scores = next(iter(curves.items()))
    best = int(est.best_iteration_) or len(scores)
    return _curve_report("lightgbm.early_stopping", metric, scores, best, est.n_estimators)


def _fit_xgboost(
    est: Any, X: Any, y: Any, Xv: Any, yv: Any, fit_kwargs: dict[str, Any]
) -> dict[str, Any]:
    est.fit(X, y, eval_set=[(Xv, yv)], verbose=False, **fit_kwargs)
    [curves] = est.evals_result().values()
    metric, scores = list(curves.items())[-1]  # XGBoost stops on the last metric
    best = int(est.best_iteration) + 1
    return _curve_report("xgboost early_stopping_rounds", metric, scores, best, est.n_estimators)


def _curve_report(
    method: str, metric: str, scores: list[float], best: int, max_iterations: Any
) -> dict[str, Any]:
    values = [float(s) for s in scores]
    return {
        "method": method,
        "metric": metric,
        "best_iteration": best,
        "best_score": values[best - 1] if 0 < best <= len(values) else None,
        "iterations_run": len(values),
        "max_iterations": int(max_iterations) if max_iterations is not None else None,
        "stopped": max_iterations is not None and len(values) < int(max_iterations),
        "validation_scores": values,
    }


def _fit_mlp(
    est: Any, X: Any, y: Any, Xv: Any, yv: Any, rounds: int, fit_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Epochs of ``partial_fit`` scored on the valid split; keep the best epoch's weights.

    scikit-learn's own ``early_stopping`` holds out a random fraction of train; this uses our
    valid split. Patience is ``rounds`` epochs without an improvement of more than ``tol``;
    ``max_iter`` caps the epochs.
    """
    import numpy as np
    from sklearn.base import is_classifier
    from sklearn.metrics import log_loss, mean_squared_error

    classifier = is_classifier(est)
    metric = "log_loss" if classifier else "mean_squared_error"

    def loss() -> float:
        if classifier:
            return float(log_loss(yv, est.predict_proba(Xv), labels=est.classes_))
        return float(mean_squared_error(yv, est.predict(Xv)))

    seed = est.random_state
    if isinstance(seed, numbers.Integral):
        # partial_fit re-seeds from an int on every call (same shuffle each epoch); one
        # generator for the whole loop gives fit()'s behaviour and stays reproducible.
        est.set_params(random_state=np.random.RandomState(int(seed)))
    scores: list[float] = []
    best, best_epoch, best_state, waited = math.inf, 0, None, 0
    try:
        for epoch in range(1, int(est.max_iter) + 1):
            extra = {"classes": np.unique(y)} if classifier and epoch == 1 else {}
            est.partial_fit(X, y, **extra, **fit_kwargs)
            score = loss()
            scores.append(score)
            waited = 0 if score < best - est.tol else waited + 1
            if score < best:
                best, best_epoch = score, epoch
                best_state = (copy.deepcopy(est.coefs_), copy.deepcopy(est.intercepts_))
            if waited >= rounds:
                break
    finally:
        if isinstance(seed, numbers.Integral):
            est.set_params(random_state=seed)
    if best_state is not None:
        est.coefs_, est.intercepts_ = best_state
    report = _curve_report("epochs scored on the valid split", metric, scores, best_epoch, None)
    report["max_iterations"] = int(est.max_iter)
    report["stopped"] = len(scores) < int(est.max_iter)
    return report


# -- labels, importances -----------------------------------------------------------------------


def check_xgboost_labels(est: Any, y: Any) -> None:
    """XGBoost classifiers need labels 0..n-1; say so before it fails with a traceback."""
    import numpy as np

    labels = np.unique(y)
    ok = labels.dtype.kind in "iub" and np.array_equal(labels, np.arange(len(labels)))
    if not ok:
        shown = ", ".join(map(str, labels[:5])) + (", ..." if len(labels) > 5 else "")
        raise DataError(
            Problem(
                code="labels_not_encoded",
                message=f"{type(est).__name__} needs class labels 0..{len(labels) - 1};"
                f" the target has {shown}",
                loc=("data", "target"),
                fix="encode the target as integers 0..n-1 (e.g. a clean step), or use"
                " lightgbm.LGBMClassifier, which takes any labels",
            )
        )


def importances(est: Any, transformer: Any, n_features: int) -> dict[str, Any]:
    """Feature importances named by the transformer's output features, largest first."""
    import numpy as np

    values, source = None, None
    try:
        values = getattr(est, "feature_importances_", None)
        source = "feature_importances_"
        if values is None:
            coef = getattr(est, "coef_", None)
            if coef is not None:
                coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef)
                several = coef.ndim > 1 and coef.shape[0] > 1  # one row per class or output
                values = np.abs(coef).reshape(-1, coef.shape[-1]).mean(axis=0)
                source = "abs(coef_), mean over rows" if several else "abs(coef_)"
    except Exception:  # e.g. a booster type without importances
        values = None
    if values is None:
        return {
            "importance_source": None,
            "feature_importances": {},
            "feature_ranking": [],
        }
    values = np.asarray(values, dtype=float).ravel()
    names = _feature_names(transformer, len(values))
    kind = getattr(est, "importance_type", None)
    if family(est).startswith("xgboost") and kind is None:
        kind = "gain"  # XGBoost's default for tree boosters
    pairs = [(n, float(v)) for n, v in zip(names, values, strict=True) if math.isfinite(v)]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    top = pairs[:TOP_FEATURES]
    return {
        "importance_source": f"{source} ({kind})" if kind else source,
        "feature_importances": dict(top),
        "feature_ranking": [n for n, _ in top],  # the json codec sorts keys: order lives here
    }


def _feature_names(transformer: Any, n: int) -> list[str]:
    try:
        names = [str(x) for x in transformer.get_feature_names_out()]
    except Exception:
        names = []
    return names if len(names) == n else [f"x{i}" for i in range(n)]
