"""features: a scikit-learn ColumnTransformer built from the spec, fitted on the training split."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from mlspec.errors import DataError, Problem, SpecError, choices_hint
from mlspec.stages.api import Stage, StageContext, StageParams

# step name -> allowed string shorthand values (None: takes a mapping or nothing)
STEP_KINDS: dict[str, tuple[str, ...] | None] = {
    "impute": ("mean", "median", "most_frequent", "constant"),
    "scale": ("standard", "minmax", "robust", "maxabs"),
    "log1p": None,
    "onehot": None,
    "ordinal": None,
}


def _check_steps(steps: list[Any]) -> list[Any]:
    from mlspec.errors import choices_hint

    for i, step in enumerate(steps):
        if isinstance(step, str):
            name, arg = step, None
        elif isinstance(step, dict) and len(step) == 1:
            name, arg = next(iter(step.items()))
        else:
            raise ValueError(
                f"step [{i}] must be a name or a one-key mapping like {{impute: median}}"
            )
        if name not in STEP_KINDS:
            raise ValueError(
                f"step [{i}]: unknown step '{name}'; " + choices_hint(name, STEP_KINDS)
            )
        allowed = STEP_KINDS[name]
        if allowed is not None and isinstance(arg, str) and arg not in allowed:
            raise ValueError(
                f"step [{i}] {name}: unknown option '{arg}'; " + choices_hint(arg, allowed)
            )
    return steps


class ColumnGroup(StageParams):
    columns: list[str] | Literal["auto"] = "auto"
    steps: list[Any] = Field(default_factory=list)

    _steps_ok = field_validator("steps")(_check_steps)


class FeaturesParams(StageParams):
    """Built from ``features`` and ``data.target``."""

    numeric: ColumnGroup = ColumnGroup(steps=[{"impute": "median"}, {"scale": "standard"}])
    categorical: ColumnGroup = ColumnGroup(
        steps=[{"impute": "most_frequent"}, {"onehot": {"handle_unknown": "ignore"}}]
    )
    drop: list[str] = Field(default_factory=list)
    target: str


class FeaturesStage(Stage):
    name = "features"
    version = "1"
    Params = FeaturesParams
    inputs = ("train",)
    outputs = {"transformer": "estimator", "feature_names": "json"}
    libraries = ("pandas", "numpy", "scikit-learn")

    def run(  # type: ignore[override]
        self, params: FeaturesParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        from sklearn.compose import ColumnTransformer

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
        X = train.drop(columns=[params.target])
        numeric, categorical = _resolve_columns(params, X)
        unused = [c for c in X.columns if c not in {*numeric, *categorical, *params.drop}]
        if unused:
            ctx.log("features: not used (neither numeric nor categorical): " + ", ".join(unused))
        groups = [
            (name, _pipeline(name, group.steps), cols)
            for name, group, cols in (
                ("numeric", params.numeric, numeric),
                ("categorical", params.categorical, categorical),
            )
            if cols
        ]
        if not groups:
            raise DataError(
                Problem(
                    code="no_features",
                    message="no feature columns: every column is the target, dropped or unusable",
                    loc=("features",),
                    fix="name columns in features.numeric.columns / features.categorical.columns",
                )
            )
        transformer = ColumnTransformer(groups, remainder="drop", verbose_feature_names_out=False)
        try:
            transformer.fit(X)
        except ValueError as exc:
            raise DataError(
                Problem(
                    code="features_failed",
                    message=f"fitting the feature transformer failed: {exc}",
                    loc=("features",),
                    fix="check the column groups and their steps against the training data",
                )
            ) from exc
        try:
            names = transformer.get_feature_names_out()
        except ValueError:  # two groups produce the same name: prefix them with the group
            transformer.set_params(verbose_feature_names_out=True)
            names = transformer.get_feature_names_out()
        ctx.log(f"features: {len(numeric)} numeric, {len(categorical)} categorical -> {len(names)}")
        feature_names = {
            "names": [str(n) for n in names],
            "numeric": numeric,
            "categorical": categorical,
        }
        return {"transformer": transformer, "feature_names": feature_names}


_CATEGORICAL_DTYPES = ["object", "category", "string", "bool"]


def _resolve_columns(params: FeaturesParams, X: Any) -> tuple[list[str], list[str]]:
    """Column lists per group; "auto" takes what the other group did not name explicitly."""
    present = [str(c) for c in X.columns]
    missing_drop = [c for c in params.drop if c not in present]
    if missing_drop:
        raise _missing(missing_drop, ("features", "drop"), present)
    excluded = set(params.drop) | {params.target}
    explicit = {
        name: list(group.columns)
        for name, group in (("numeric", params.numeric), ("categorical", params.categorical))
        if group.columns != "auto"
    }
    for name, cols in explicit.items():
        if params.target in cols:
            raise SpecError(
                Problem(
                    code="target_in_features",
                    message=f"the target '{params.target}' is listed as a {name} feature",
                    loc=("features", name, "columns"),
                    fix=f"remove '{params.target}' from features.{name}.columns",
                )
            )
        missing = [c for c in cols if c not in present]
        if missing:
            raise _missing(missing, ("features", name, "columns"), present)
    claimed = {c for cols in explicit.values() for c in cols}

    def auto(include: Any) -> list[str]:
        chosen = X.select_dtypes(include=include).columns
        return [str(c) for c in chosen if c not in excluded and c not in claimed]

    numeric = explicit.get("numeric") or (
        auto("number") if params.numeric.columns == "auto" else []
    )
    categorical = explicit.get("categorical") or (
        auto(_CATEGORICAL_DTYPES) if params.categorical.columns == "auto" else []
    )
    if "numeric" in explicit:
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        bad = [c for c in numeric if not (is_numeric_dtype(X[c]) or is_bool_dtype(X[c]))]
        if bad:
            raise DataError(
                Problem(
                    code="not_numeric",
                    message="numeric feature columns are not numeric: "
                    + ", ".join(f"'{c}' ({X[c].dtype})" for c in bad),
                    loc=("features", "numeric", "columns"),
                    fix="move them to features.categorical.columns or set data.source.dtypes",
                )
            )
    return numeric, categorical


def _missing(columns: list[str], loc: tuple[str, ...], present: list[str]) -> SpecError:
    """A column the spec names but the data lacks: the spec is what to fix (exit 2)."""
    return SpecError(
        Problem(
            code="missing_column",
            message="column(s) "
            + ", ".join(f"'{c}'" for c in columns)
            + " not in the training split",
            loc=loc,
            fix="columns present: " + ", ".join(present),
        )
    )


def _pipeline(group: str, steps: list[Any]) -> Any:
    from sklearn.pipeline import Pipeline

    if not steps:
        return "passthrough"
    built = []
    for i, step in enumerate(steps):
        kind, arg = (step, None) if isinstance(step, str) else next(iter(step.items()))
        built.append((f"{i}_{kind}", _step(group, i, kind, arg)))
    return Pipeline(built)


def _step(group: str, i: int, kind: str, arg: Any) -> Any:
    """One transformer from ``{kind: arg}``; a bad option is a SpecError at the step's key."""
    loc = ("features", group, "steps", i)
    if arg is not None and not isinstance(arg, str | dict):
        raise SpecError(
            Problem(
                code="bad_step",
                message=f"step '{kind}' takes a name or a mapping of options, got {arg!r}",
                loc=loc,
            )
        )
    if isinstance(arg, str) and STEP_KINDS[kind] is None:
        raise SpecError(
            Problem(
                code="bad_step",
                message=f"step '{kind}' takes a mapping of options, not '{arg}'",
                loc=loc,
            )
        )
    options = dict(arg) if isinstance(arg, dict) else {}
    try:
        est = _make(group, kind, arg, options)
        validate = getattr(est, "_validate_params", None)  # sklearn >= 1.2: check values now
        if callable(validate):
            validate()
    except (TypeError, ValueError) as exc:
        raise SpecError(Problem(code="bad_step", message=f"step '{kind}': {exc}", loc=loc)) from exc
    return est


def _make(group: str, kind: str, arg: Any, options: dict[str, Any]) -> Any:
    if kind == "impute":
        from sklearn.impute import SimpleImputer

        if isinstance(arg, str):
            options = {"strategy": arg}
        elif arg is None:  # a bare "impute": the usual choice for the group
            options = {"strategy": "median" if group == "numeric" else "most_frequent"}
        return SimpleImputer(**options)
    if kind == "scale":
        from sklearn import preprocessing as pp

        scalers = {
            "standard": pp.StandardScaler,
            "minmax": pp.MinMaxScaler,
            "robust": pp.RobustScaler,
            "maxabs": pp.MaxAbsScaler,
        }
        name = arg if isinstance(arg, str) else options.pop("kind", "standard")
        if name not in scalers:
            raise ValueError(f"unknown scaler '{name}'; " + choices_hint(name, scalers))
        return scalers[name](**options)
    if kind == "log1p":
        import numpy as np
        from sklearn.preprocessing import FunctionTransformer

        return FunctionTransformer(np.log1p, feature_names_out="one-to-one", **options)
    if kind == "onehot":
        from sklearn.preprocessing import OneHotEncoder

        return OneHotEncoder(**{"handle_unknown": "ignore", "sparse_output": False, **options})
    from sklearn.preprocessing import OrdinalEncoder  # kind == "ordinal"

    defaults: dict[str, Any] = {"handle_unknown": "use_encoded_value", "unknown_value": -1}
    if options.get("handle_unknown", "use_encoded_value") != "use_encoded_value":
        defaults.pop("unknown_value")  # sklearn rejects unknown_value with handle_unknown=error
    return OrdinalEncoder(**{**defaults, **options})
