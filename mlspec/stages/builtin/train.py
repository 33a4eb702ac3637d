"""train: fit any scikit-learn-API estimator named by ``_target_`` on the transformed train set.

The training stage is the only place where the estimator class is resolved, so ``check`` does it
without fitting anything: a typo in ``_target_`` or a parameter fails before any stage runs.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from mlspec.errors import DataError, Problem, SpecError, did_you_mean
from mlspec.stages.api import Stage, StageContext, StageParams


class TrainParams(StageParams):
    """Built from ``model``, ``data.target``, ``seed`` and ``task``."""

    model: dict[str, Any]  # ``_target_`` plus the estimator's keyword arguments
    target: str
    seed: int = 0
    task: Literal["auto", "classification", "regression"] = "auto"

    @field_validator("model")
    @classmethod
    def _has_target(cls, value: dict[str, Any]) -> dict[str, Any]:
        target = value.get("_target_")
        if not isinstance(target, str) or "." not in target:
            raise ValueError("needs '_target_': the estimator class, e.g. lightgbm.LGBMClassifier")
        return value


class TrainStage(Stage):
    name = "train"
    version = "1"
    Params = TrainParams
    inputs = ("transformer", "train", "valid")
    outputs = {"model": "estimator"}
    libraries = ("scikit-learn", "numpy", "pandas")

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
        return problems or _value_problems(found, params.model)

    def run(  # type: ignore[override]
        self, params: TrainParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        """Fit on the train split. ``valid`` is an input (for early stopping) but unused today."""
        from sklearn.pipeline import Pipeline

        est = _estimator(params)
        task = _task(params, est)
        train = inputs["train"]
        if params.target not in train.columns:
            raise SpecError(
                Problem(
                    code="missing_column",
                    message=f"target column '{params.target}' is not in the training split",
                    loc=("data", "target"),
                    fix="columns present: " + ", ".join(map(str, train.columns)),
                )
            )
        y = train[params.target]
        missing = int(y.isna().sum())
        if missing:
            raise DataError(
                Problem(
                    code="missing_values",
                    message=f"target '{params.target}' has {missing} missing values in train",
                    loc=(params.target,),
                    fix="drop those rows (or declare the target non-nullable in data.schema)",
                )
            )
        transformer = inputs["transformer"]
        X = transformer.transform(train.drop(columns=[params.target]))
        name = type(est).__name__
        ctx.log(f"fitting {name} ({task}) on {X.shape[0]} rows x {X.shape[1]} features")
        est.fit(X, y.to_numpy())
        # Both parts are fitted: assembling them does not refit the transformer.
        return {"model": Pipeline([("features", transformer), ("model", est)])}


def _estimator(params: TrainParams) -> Any:
    """The unfitted estimator: the user's kwargs plus our defaults where the user set nothing."""
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
    if "random_state" in est.get_params() and "random_state" not in kwargs:
        defaults["random_state"] = params.seed  # reproducible unless the user says otherwise
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
    import importlib.metadata

    if top in _DIST_ALIASES:
        return _DIST_ALIASES[top]
    try:
        importlib.metadata.version(top)
        return (top,)
    except importlib.metadata.PackageNotFoundError:
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
