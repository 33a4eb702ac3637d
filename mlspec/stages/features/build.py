"""Spec + training frame -> one unfitted ``FeatureTransformer`` (a ColumnTransformer).

Every column the spec names is checked against the training split here, before anything is
fitted: a missing column is a SpecError at the key that names it, listing the columns present.
"""

from __future__ import annotations

from typing import Any

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.features.params import ColumnGroup, FeaturesParams
from mlspec.stages.features.steps import build_step

Loc = tuple[str | int, ...]
_AUTO_DTYPES: dict[str, Any] = {
    "numeric": "number",
    "categorical": ["object", "category", "string", "bool"],
    "datetime": ["datetime", "datetimetz"],
}


def group_loc(name: str) -> Loc:
    return ("features", name) if name in _AUTO_DTYPES else ("features", "groups", name)


def missing_columns(columns: list[str], loc: Loc, present: list[str]) -> SpecError:
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


def resolve_columns(params: FeaturesParams, X: Any) -> dict[str, list[str]]:
    """Column lists per group; ``auto`` takes the columns of its kind nobody else names."""
    present = [str(c) for c in X.columns]
    target = params.target

    def require(cols: list[str], loc: Loc) -> None:
        missing = [c for c in cols if c not in present]
        if missing:
            raise missing_columns(missing, loc, present)

    require(params.drop, ("features", "drop"))
    explicit: dict[str, list[str]] = {}
    for name, group in params.column_groups():
        if group.columns == "auto":
            continue
        loc = (*group_loc(name), "columns")
        if target in group.columns:
            raise _target_used(target, loc, f"listed as a feature of group '{name}'")
        require(list(group.columns), loc)
        explicit[name] = list(group.columns)
    lag_sources: list[str] = []
    for loc, lags in params.lag_specs():
        for key, cols in (("by", lags.by), ("order", [lags.order]), ("columns", lags.columns)):
            if target in cols:
                raise _target_used(
                    target,
                    (*loc, key),
                    "lagged: the target is not an input when the model predicts",
                    fix="lag a column observed before prediction time (e.g. customers),"
                    " not the target",
                )
            require(cols, (*loc, key))
        lag_sources += lags.columns
    for i, term in enumerate(params.interactions):
        if target in term:
            raise _target_used(target, ("features", "interactions", i), "used in an interaction")
        require(term, ("features", "interactions", i))
    # Lag sources are not used raw unless named: a same-day value is often not known in advance.
    claimed = {target, *params.drop, *lag_sources, *(c for v in explicit.values() for c in v)}
    out: dict[str, list[str]] = {}
    for name, group in params.column_groups():
        if name in explicit:
            out[name] = explicit[name]
        elif group.columns == "auto" and name in _AUTO_DTYPES:
            chosen = X.select_dtypes(include=_AUTO_DTYPES[name]).columns
            out[name] = [str(c) for c in chosen if str(c) not in claimed]
        else:
            out[name] = []
    _require_numeric(X, explicit.get("numeric", []), ("features", "numeric", "columns"))
    _require_numeric(
        X, sorted({c for t in params.interactions for c in t}), ("features", "interactions")
    )
    return out


def _target_used(target: str, loc: Loc, how: str, fix: str | None = None) -> SpecError:
    return SpecError(
        Problem(
            code="target_in_features",
            message=f"the target '{target}' is {how}",
            loc=loc,
            fix=fix or f"remove '{target}' from {'.'.join(str(p) for p in loc[:3])}",
        )
    )


def _require_numeric(X: Any, columns: list[str], loc: Loc) -> None:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [c for c in columns if not (is_numeric_dtype(X[c]) or is_bool_dtype(X[c]))]
    if bad:
        raise DataError(
            Problem(
                code="not_numeric",
                message="columns used as numbers are not numeric: "
                + ", ".join(f"'{c}' ({X[c].dtype})" for c in bad),
                loc=loc,
                fix="move them to features.categorical.columns or set data.source.dtypes",
            )
        )


def group_pipeline(name: str, group: ColumnGroup) -> Any:
    """The group's steps as a Pipeline ('passthrough' with no steps)."""
    from sklearn.pipeline import Pipeline

    if not group.steps:
        return "passthrough"
    loc = (*group_loc(name), "steps")
    kind = name if name in _AUTO_DTYPES else "group"  # a bare impute: median for numeric only
    built = []
    for i, raw in enumerate(group.steps):
        step = build_step(raw, kind, (*loc, i))
        label = raw if isinstance(raw, str) else next(iter(raw))
        built.append((f"{i}_{str(label).strip('_')}", step))
    return Pipeline(built)


def build_transformer(params: FeaturesParams, X: Any, y: Any) -> tuple[Any, dict[str, Any]]:
    """The unfitted FeatureTransformer and the column lists it uses (for feature_names)."""
    from mlspec.stages.features.timeseries import LagFeatures
    from mlspec.stages.features.transformers import FeatureTransformer, Interactions

    columns = resolve_columns(params, X)
    entries: list[tuple[str, Any, list[str]]] = []
    for name, group in params.column_groups():
        if columns[name]:
            entries.append((name, group_pipeline(name, group), columns[name]))
    specs = params.lag_specs()
    for i, (_, lags) in enumerate(specs):
        entries.append(
            (
                "lags" if len(specs) == 1 else f"lags_{i}",
                LagFeatures(
                    by=tuple(lags.by),
                    order=lags.order,
                    columns=tuple(lags.columns),
                    lags=tuple(lags.lags),
                    windows=tuple(lags.windows),
                    stats=tuple(lags.stats),
                    min_periods=lags.min_periods,
                    fill_value=lags.fill_value,
                ),
                list(dict.fromkeys([*lags.by, lags.order, *lags.columns])),
            )
        )
    if params.interactions:
        terms = tuple(tuple(t) for t in params.interactions)
        used = list(dict.fromkeys(c for t in terms for c in t))
        entries.append(("interactions", Interactions(terms=terms), used))
    if not entries:
        raise DataError(
            Problem(
                code="no_features",
                message="no feature columns: every column is the target, dropped or unusable",
                loc=("features",),
                fix="name columns in features.numeric.columns / features.categorical.columns",
            )
        )
    transformer = FeatureTransformer(
        entries, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0.0
    )
    _set_target_type(transformer, target_type(params.task, y))
    info: dict[str, Any] = {
        "numeric": columns["numeric"],
        "categorical": columns["categorical"],
        "datetime": columns["datetime"],
    }
    if params.groups:
        info["groups"] = {name: columns[name] for name in params.groups}
    return transformer, info


def target_type(task: str, y: Any) -> str:
    """What target encoding encodes: class frequencies or a continuous mean. sklearn's own guess
    takes any integer target for classes, which turns a count target (units sold) into hundreds
    of classes; here integers are classes only when there are few of them."""
    from pandas.api.types import is_float_dtype, is_integer_dtype

    if task == "regression":
        return "continuous"
    if task == "classification":
        return "binary" if y.nunique(dropna=True) <= 2 else "multiclass"
    if is_float_dtype(y) or (is_integer_dtype(y) and y.nunique(dropna=True) > _MAX_CLASSES):
        return "continuous"
    return "auto"


_MAX_CLASSES = 20


def _set_target_type(transformer: Any, kind: str) -> None:
    from sklearn.preprocessing import TargetEncoder

    for _, pipeline, _ in transformer.transformers:
        for _, step in getattr(pipeline, "steps", []):
            if isinstance(step, TargetEncoder) and step.target_type == "auto":
                step.set_params(target_type=kind)


def check_steps(params: FeaturesParams) -> list[Problem]:
    """Build every step without data: unknown ``_target_``, bad options. Locs relative to the
    features section (the engine prefixes it)."""
    problems: list[Problem] = []
    for name, group in params.column_groups():
        try:
            group_pipeline(name, group)
        except SpecError as exc:
            for p in exc.problems:
                loc = p.loc[1:] if p.loc[:1] == ("features",) else p.loc
                problems.append(Problem(p.code, p.message, loc, p.file, p.fix))
    return problems
