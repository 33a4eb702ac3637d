"""The built-in steps: name -> builder ``(arg, group) -> unfitted transformer``.

Builders import scikit-learn inside, so this module is cheap to import (spec validation reads
the names and shorthands). A bad option raises ValueError/TypeError; the caller turns it into a
SpecError at the step's key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlspec.errors import choices_hint

DATETIME_PARTS = (
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "dayofweek",
    "dayofyear",
    "hour",
    "minute",
    "is_weekend",
    "is_month_start",
    "is_month_end",
)


@dataclass(frozen=True)
class StepKind:
    """A built-in step: its builder ``(arg, group) -> transformer`` and accepted shorthands."""

    name: str
    build: Callable[[Any, str], Any]
    choices: tuple[str, ...] | None = None  # valid string shorthands ({scale: robust})
    scalar: tuple[type, ...] = ()  # other accepted non-mapping values ({bin: 10})
    mapping: bool = True  # takes a mapping of options


def _impute(arg: Any, group: str) -> Any:
    from sklearn.impute import SimpleImputer

    if isinstance(arg, str):
        return SimpleImputer(strategy=arg)
    if arg is None:  # a bare "impute": the usual choice for the group
        return SimpleImputer(strategy="median" if group == "numeric" else "most_frequent")
    return SimpleImputer(**arg)


_SCALERS = ("standard", "minmax", "robust", "maxabs")


def _scale(arg: Any, group: str) -> Any:
    from sklearn import preprocessing as pp

    options = dict(arg) if isinstance(arg, dict) else {}
    name = arg if isinstance(arg, str) else options.pop("kind", "standard")
    scalers = {
        "standard": pp.StandardScaler,
        "minmax": pp.MinMaxScaler,
        "robust": pp.RobustScaler,
        "maxabs": pp.MaxAbsScaler,
    }
    if name not in scalers:
        raise ValueError(f"unknown scaler '{name}'; " + choices_hint(name, scalers))
    return scalers[name](**options)


def _log1p(arg: Any, group: str) -> Any:
    import numpy as np
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(np.log1p, feature_names_out="one-to-one", **(arg or {}))


def _clip(arg: Any, group: str) -> Any:
    from mlspec.stages.features.transformers import Clipper

    if not isinstance(arg, dict) or not arg:
        raise ValueError("clip needs {lower: .., upper: ..} or {quantiles: [0.01, 0.99]}")
    quantiles = arg.get("quantiles")
    if quantiles is not None:
        if set(arg) != {"quantiles"}:
            raise ValueError("give either quantiles or lower/upper, not both")
        if not (isinstance(quantiles, list | tuple) and len(quantiles) == 2):
            raise ValueError(f"quantiles must be [low, high], got {quantiles!r}")
        quantiles = (float(quantiles[0]), float(quantiles[1]))
        if not 0.0 <= quantiles[0] < quantiles[1] <= 1.0:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {list(quantiles)}")
        return Clipper(quantiles=quantiles)
    extra = set(arg) - {"lower", "upper"}
    if extra:
        raise ValueError(
            f"unknown option(s) {', '.join(sorted(extra))}; valid: lower, upper, quantiles"
        )
    lower, upper = arg.get("lower"), arg.get("upper")
    if lower is not None and upper is not None and float(lower) > float(upper):
        raise ValueError(f"lower ({lower}) is above upper ({upper})")
    return Clipper(lower=lower, upper=upper)


def _bin(arg: Any, group: str) -> Any:
    from sklearn.preprocessing import KBinsDiscretizer

    options: dict[str, Any] = {"n_bins": arg} if isinstance(arg, int) else dict(arg or {})
    # random_state: quantiles are computed on a subsample of large data; fixed for the cache.
    defaults = {"n_bins": 5, "encode": "ordinal", "strategy": "quantile", "random_state": 0}
    return KBinsDiscretizer(**{**defaults, **options})


def _onehot(arg: Any, group: str) -> Any:
    from sklearn.preprocessing import OneHotEncoder

    return OneHotEncoder(**{"handle_unknown": "ignore", "sparse_output": False, **(arg or {})})


def _ordinal(arg: Any, group: str) -> Any:
    from sklearn.preprocessing import OrdinalEncoder

    options = dict(arg or {})
    defaults: dict[str, Any] = {"handle_unknown": "use_encoded_value", "unknown_value": -1}
    if options.get("handle_unknown", "use_encoded_value") != "use_encoded_value":
        defaults.pop("unknown_value")  # sklearn rejects unknown_value with handle_unknown=error
    return OrdinalEncoder(**{**defaults, **options})


def _target_encode(arg: Any, group: str) -> Any:
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    options = dict(arg or {})
    n_splits = options.pop("cv", 5)
    shuffle = bool(options.pop("shuffle", True))
    seed = options.pop("random_state", 0)  # fixed by default: one cache key, one result
    if not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"cv must be an integer >= 2 (the cross-fitting folds), got {n_splits!r}")
    folds = KFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    return TargetEncoder(cv=folds, **options)


def _parts(arg: Any, group: str) -> Any:
    from mlspec.stages.features.transformers import DatetimeParts

    if isinstance(arg, dict):
        raise ValueError("parts takes a list of parts, e.g. {parts: [year, month, dayofweek]}")
    parts = ["year", "month", "day", "dayofweek"] if arg is None else arg
    parts = [parts] if isinstance(parts, str) else list(parts)
    unknown = [p for p in parts if p not in DATETIME_PARTS]
    if unknown:
        raise ValueError(
            f"unknown part '{unknown[0]}'; " + choices_hint(unknown[0], DATETIME_PARTS)
        )
    if not parts:
        raise ValueError("parts needs at least one part")
    return DatetimeParts(parts=tuple(parts))


BUILTIN_STEPS: dict[str, StepKind] = {
    k.name: k
    for k in (
        StepKind("impute", _impute, ("mean", "median", "most_frequent", "constant")),
        StepKind("scale", _scale, _SCALERS),
        StepKind("log1p", _log1p),
        StepKind("clip", _clip),
        StepKind("bin", _bin, scalar=(int,)),
        StepKind("onehot", _onehot),
        StepKind("ordinal", _ordinal),
        StepKind("target_encode", _target_encode),
        StepKind("parts", _parts, DATETIME_PARTS, scalar=(list,), mapping=False),
    )
}
