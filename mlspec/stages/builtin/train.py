"""train: fit any scikit-learn-API estimator named by ``_target_`` on the transformed train set.

The training stage is the only place where the estimator class is resolved, so ``check`` does it
without fitting anything: a typo in ``_target_`` or a parameter fails before any stage runs.

Options come from the spec's ``train:`` section (``early_stopping_rounds``, ``imbalance``); the
fitting itself (seed, class weights, early stopping on the valid split, importances) lives in
``_fit``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from mlspec.errors import DataError, Problem, SpecError, did_you_mean
from mlspec.stages.api import Stage, StageContext, StageParams


class TrainParams(StageParams):
    """Built from ``model``, ``data.target``, ``seed``, ``task`` and the ``train:`` section."""

    model: dict[str, Any]  # ``_target_`` plus the estimator's keyword arguments
    target: str
    seed: int = 0
    task: Literal["auto", "classification", "regression"] = "auto"
    # Patience (boosting rounds / epochs) of early stopping on the valid split, for LightGBM,
    # XGBoost and scikit-learn's MLPs; 0 or null disables it. Needs a non-empty valid split.
    early_stopping_rounds: int | None = Field(50, ge=0)
    # "balanced": weight classes inversely to their frequency in the train split.
    imbalance: Literal["none", "balanced"] = "none"

    @field_validator("model")
    @classmethod
    def _has_target(cls, value: dict[str, Any]) -> dict[str, Any]:
        target = value.get("_target_")
        if not isinstance(target, str) or "." not in target:
            raise ValueError("needs '_target_': the estimator class, e.g. lightgbm.LGBMClassifier")
        return value


class TrainStage(Stage):
    name = "train"
    version = "2"
    Params = TrainParams
    inputs = ("transformer", "train", "valid")
    outputs = {"model": "estimator", "report": "json"}
    libraries = ("scikit-learn", "numpy", "pandas")
    code_dependencies = ("mlspec.stages.builtin._fit",)

    @classmethod
    def libraries_for(cls, params: TrainParams) -> tuple[str, ...]:  # type: ignore[override]
        """The stage's libraries plus the estimator's own distribution (e.g. lightgbm)."""
        top = str(params.model["_target_"]).split(".", 1)[0]
        return tuple(dict.fromkeys((*cls.libraries, *_distributions_of(top))))

    @classmethod
    def check(cls, params: TrainParams, project_root: Path) -> list[Problem]:  # type: ignore[override]
        found = _resolve(str(params.model["_target_"]))
        if isinstance(found, Problem):
            return [found]
        known = _param_names(found)
        problems: list[Problem] = []
        for key in params.model:
            if key == "_target_" or key in known:
                continue
            hint = did_you_mean(key, known)
            problems.append(
                Problem(
                    code="unknown_param",
                    message=f"{found.__name__} has no parameter '{key}'",
                    loc=("model", key),
                    fix=(hint + " " if hint else "")
                    + f"{found.__name__} takes: {', '.join(sorted(known))}",
                )
            )
        return problems or _value_problems(found, params.model) or _option_problems(found, params)

    def run(  # type: ignore[override]
        self, params: TrainParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        """Fit on the train split, stopping early on the valid split where the estimator can."""
        from sklearn.pipeline import Pipeline

        from mlspec.stages.builtin import _fit

        user = {k: v for k, v in params.model.items() if k != "_target_"}
        est = _estimator(params)
        set_params, seed = _fit.apply_seed(est, user, params.seed)
        task = _task(params, est)
        train = inputs["train"]
        y = _target_values(train, params.target, "train")
        transformer = inputs["transformer"]
        X = transformer.transform(train.drop(columns=[params.target]))
        if task == "classification" and _fit.family(est).startswith("xgboost"):
            _fit.check_xgboost_labels(est, y)
        valid = _valid_set(inputs["valid"], params.target, transformer, y, task, ctx)
        balanced, fit_kwargs, imbalance = _fit.balance(est, params.imbalance, task, y, user)
        name = type(est).__name__
        ctx.log(f"fitting {name} ({task}) on {X.shape[0]} rows x {X.shape[1]} features")
        stopped, early = _fit.fit(
            est, X, y, valid, params.early_stopping_rounds, fit_kwargs, user, ctx.log
        )
        if early.get("applied"):
            ctx.log(
                f"early stopping: kept {early['best_iteration']} of {early['iterations_run']}"
                f" iterations ({early['metric']} {early['best_score']} on valid)"
            )
        report = {
            "estimator": str(params.model["_target_"]),
            "task": task,
            "n_features": int(X.shape[1]),
            "n_train_rows": int(X.shape[0]),
            "seed": seed,
            "params_set": {**set_params, **balanced, **stopped},
            "early_stopping": early,
            "imbalance": imbalance,
            **_fit.importances(est, transformer, int(X.shape[1])),
        }
        # Both parts are fitted: assembling them does not refit the transformer.
        model = Pipeline([("features", transformer), ("model", est)])
        return {"model": model, "report": report}


def _target_values(frame: Any, target: str, split: str) -> Any:
    """The split's target as a numpy array; missing column or values are the user's to fix."""
    if target not in frame.columns:
        raise SpecError(
            Problem(
                code="missing_column",
                message=f"target column '{target}' is not in the {split} split",
                loc=("data", "target"),
                fix="columns present: " + ", ".join(map(str, frame.columns)),
            )
        )
    y = frame[target]
    missing = int(y.isna().sum())
    if missing:
        raise DataError(
            Problem(
                code="missing_values",
                message=f"target '{target}' has {missing} missing values in {split}",
                loc=(target,),
                fix="drop those rows (or declare the target non-nullable in data.schema)",
            )
        )
    return y.to_numpy()


def _valid_set(
    valid: Any, target: str, transformer: Any, y: Any, task: str, ctx: StageContext
) -> tuple[Any, Any] | None:
    """(Xv, yv) from the valid split for early stopping, or None when it is empty."""
    if valid is None or len(valid) == 0:
        return None
    yv = _target_values(valid, target, "valid")
    if task == "classification":
        import numpy as np

        known = np.isin(yv, np.unique(y))
        if not known.all():  # a label train never saw cannot be scored
            ctx.log(f"early stopping: {int((~known).sum())} valid rows have labels not in train")
            valid, yv = valid[known], yv[known]
            if len(valid) == 0:
                return None
    return transformer.transform(valid.drop(columns=[target])), yv


def _estimator(params: TrainParams) -> Any:
    """The unfitted estimator: the user's kwargs plus quiet logging where the user set nothing.
    (The seed, class weights and early stopping are set by ``_fit``.)"""
    found = _resolve(str(params.model["_target_"]))
    if isinstance(found, Problem):
        raise SpecError(found)
    kwargs = {k: v for k, v in params.model.items() if k != "_target_"}
    try:
        est = found(**kwargs)
    except TypeError as exc:  # check() normally catches this before anything runs
        raise SpecError(
            Problem(code="unknown_param", message=f"{found.__name__}: {exc}", loc=("model",))
        ) from exc
    defaults: dict[str, Any] = {}
    quiet_set = {"verbose", "verbosity"} & set(kwargs)
    if found.__module__.split(".")[0] == "lightgbm" and not quiet_set:
        defaults["verbose"] = -1  # lightgbm prints every warning to stdout by default
    return est.set_params(**defaults) if defaults else est


def _task(params: TrainParams, est: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if params.task == "auto":
        return "classification" if is_classifier(est) else "regression"
    if (params.task == "classification" and is_regressor(est)) or (
        params.task == "regression" and is_classifier(est)
    ):
        raise SpecError(
            Problem(
                code="task_mismatch",
                message=f"task is '{params.task}' but {type(est).__name__} is not made for it",
                loc=("task",),
                fix="set task: auto, or choose an estimator for the task",
            )
        )
    return params.task


# Import names whose distribution is named differently; anything else is looked up directly
# (cheap), and only an unknown name pays for the scan of every installed distribution.
_DIST_ALIASES = {"sklearn": ("scikit-learn",)}


@functools.lru_cache(maxsize=64)
def _distributions_of(top: str) -> tuple[str, ...]:
    from mlspec.installed import distribution_version

    if top in _DIST_ALIASES:
        return _DIST_ALIASES[top]
    if distribution_version(top) is not None:
        return (top,)
    return tuple(_distributions().get(top, ()))


@functools.lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    import importlib.metadata

    # Scans every installed distribution's file list: slow enough to do once per process.
    return importlib.metadata.packages_distributions()


def _resolve(target: str) -> type | Problem:
    """The estimator class named by ``target``, or the Problem explaining why there is none."""
    loc = ("model", "_target_")
    module_path, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        return Problem(
            code="unknown_target",
            message=f"cannot import module '{module_path}' ({exc})",
            loc=loc,
            fix=_module_hint(module_path),
        )
    except ImportError as exc:  # installed but broken (e.g. a missing shared library)
        return Problem(
            code="unknown_target",
            message=f"importing '{module_path}' failed: {exc}",
            loc=loc,
            fix="repair the installation of the package",
        )
    cls = getattr(module, name, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        hint = did_you_mean(name, public)
        return Problem(
            code="unknown_target",
            message=f"module '{module_path}' has no class '{name}'",
            loc=loc,
            fix=hint or f"check the class name; '{module_path}' defines no close match",
        )
    if not (
        isinstance(cls, type)
        and callable(getattr(cls, "fit", None))
        and callable(getattr(cls, "predict", None))
    ):
        return Problem(
            code="not_an_estimator",
            message=f"'{target}' is not an estimator class (a class with fit and predict)",
            loc=loc,
            fix="name a scikit-learn-API estimator, e.g. sklearn.linear_model.LogisticRegression",
        )
    return cls


def _module_hint(module_path: str) -> str:
    """A did-you-mean among sibling modules: top-level distributions or the parent's modules."""
    import pkgutil

    parent = module_path.rpartition(".")[0]
    if not parent:
        candidates: list[str] = list(_distributions())
    else:
        try:
            pkg = importlib.import_module(parent)
        except ImportError:  # the typo is further up the path
            return _module_hint(parent)
        if not hasattr(pkg, "__path__"):  # a plain module has no submodules
            return f"'{parent}' is a module, not a package: check the path"
        candidates = [f"{parent}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    hint = did_you_mean(module_path, candidates)
    return hint or f"check the module path or install the package providing '{module_path}'"


# Keyword arguments a library accepts through ``**kwargs`` though get_params() omits them.
_EXTRA_PARAMS = {"lightgbm": frozenset({"verbose", "verbosity"})}


def _value_problems(cls: type, model: dict[str, Any]) -> list[Problem]:
    """Catch bad values before training: a string where the default is a number, and the
    estimator's own scikit-learn parameter constraints where it declares them."""
    kwargs = {k: v for k, v in model.items() if k != "_target_"}
    try:
        defaults = cls().get_params(deep=False)
    except Exception:
        defaults = {}
    problems: list[Problem] = []
    for key, value in kwargs.items():
        default = defaults.get(key)
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and isinstance(value, str):
            problems.append(
                Problem(
                    code="wrong_type",
                    message=f"{cls.__name__} parameter '{key}' expects a number, got '{value}'",
                    loc=("model", key),
                    fix=f"set model.{key} to a number (its default is {default})",
                )
            )
    if problems or not getattr(cls, "_parameter_constraints", None):
        return problems
    try:
        cls(**kwargs)._validate_params()  # type: ignore[attr-defined]
    except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError subclasses both
        import re

        text = str(exc)
        named = re.search(r"The '(\w+)' parameter", text)
        loc = ("model", named.group(1)) if named else ("model",)
        problems.append(
            Problem("invalid_value", text, loc, fix="use one of the values the message lists")
        )
    return problems


def _param_names(cls: type) -> set[str]:
    try:
        names = set(cls().get_params(deep=False))
    except Exception:  # needs constructor arguments: read the signature instead
        import inspect

        sig = inspect.signature(cls)
        names = {
            n
            for n, p in sig.parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
    return names | _EXTRA_PARAMS.get(cls.__module__.split(".")[0], frozenset())


def _option_problems(cls: type, params: TrainParams) -> list[Problem]:
    """The ``task`` and ``train:`` options against the estimator, before anything runs."""
    from mlspec.stages.builtin import _fit

    try:
        est = cls(**{k: v for k, v in params.model.items() if k != "_target_"})
    except Exception:  # needs arguments the spec cannot give: run() reports it
        return []
    try:
        task = _task(params, est)
    except SpecError as exc:
        return exc.problems
    if params.imbalance == "balanced":
        problem = _fit.imbalance_problem(est, task, ("imbalance",))
        if problem is not None:
            return [problem]
    return []
