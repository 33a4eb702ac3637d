"""features: one scikit-learn ColumnTransformer built from the spec, fitted on the training split.

The spec's ``features:`` section (see ``mlspec.stages.features``) names column groups with
ordered steps, per-group lags and rolling windows, and interactions. The transformer is fitted
on the training split only; the train stage wraps it with the estimator into one Pipeline, so
serving applies identical transforms. Output names are recorded in ``feature_names``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.features import MODULES
from mlspec.stages.features.params import ColumnGroup, FeaturesParams, LagsSpec
from mlspec.stages.features.steps import (
    BUILTIN_STEPS,
    source_module,
    step_distributions,
    step_modules,
)

__all__ = ["BUILTIN_STEPS", "ColumnGroup", "FeaturesParams", "FeaturesStage", "LagsSpec"]


class FeaturesStage(Stage):
    name = "features"
    version = "1"
    Params = FeaturesParams
    inputs = ("train",)
    outputs = {"transformer": "estimator", "feature_names": "json"}
    libraries = ("pandas", "numpy", "scikit-learn")

    @classmethod
    def libraries_for(cls, params: StageParams) -> tuple[str, ...]:
        assert isinstance(params, FeaturesParams)
        extra = step_distributions(_all_steps(params))
        return tuple(dict.fromkeys((*cls.libraries, *extra)))

    @classmethod
    def code_objects(cls, params: StageParams) -> tuple[type | ModuleType, ...]:
        """The feature modules and the modules of custom/third-party steps, without importing
        any of them (their sources are read; planning stays free of the ML stack)."""
        assert isinstance(params, FeaturesParams)
        found = [source_module(m) for m in MODULES]
        return (*[m for m in found if m is not None], *step_modules(_all_steps(params)))

    @classmethod
    def check(cls, params: StageParams, project_root: Path) -> list[Problem]:
        """Unknown ``_target_`` steps and bad step options, found before any stage runs."""
        from mlspec.stages.features.build import check_steps

        assert isinstance(params, FeaturesParams)
        return check_steps(params)

    def run(  # type: ignore[override]
        self, params: FeaturesParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        from mlspec.stages.features.build import build_transformer

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
        X, y = train.drop(columns=[params.target]), train[params.target]
        transformer, info = build_transformer(params, X, y)
        used = {c for _, _, cols in transformer.transformers for c in cols}
        unused = [str(c) for c in X.columns if c not in used and c not in params.drop]
        if unused:
            ctx.log("not used (no group, lag or interaction names them): " + ", ".join(unused))
        _warn_duplicate_times(params, X, ctx)
        try:
            transformer.fit(X, y)
        except (ValueError, TypeError) as exc:
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
        blocks = {
            name: [str(n) for n in names[part]]
            for name, part in transformer.output_indices_.items()
            if part.stop > part.start and name != "remainder"
        }
        counts = ", ".join(f"{len(v)} {k}" for k, v in blocks.items())
        ctx.log(f"{counts} -> {len(names)} features")
        if getattr(transformer, "train_memo_", None):
            ctx.log(
                "cross-fitted on train (the model trains on out-of-fold values): "
                + ", ".join(transformer.train_memo_)
            )
        feature_names = {"names": [str(n) for n in names], **info, "outputs": blocks}
        return {"transformer": transformer, "feature_names": feature_names}


def _all_steps(params: FeaturesParams) -> list[Any]:
    return [step for _, group in params.column_groups() for step in group.steps]


def _warn_duplicate_times(params: FeaturesParams, X: Any, ctx: StageContext) -> None:
    """Lags count rows: several rows at one time in one group make 'the previous row' ambiguous."""
    for _, lags in params.lag_specs():
        keys = [*lags.by, lags.order]
        dupes = int(X.duplicated(subset=keys).sum())
        if dupes:
            ctx.log(
                f"{dupes} rows share ({', '.join(keys)}) with another row; lags count"
                " rows, so such rows may see each other (aggregate to one row per period)"
            )
