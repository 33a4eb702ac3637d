"""The built-in cleaning steps (entry-point group ``mlspec.cleaners``).

Every step is pure: it returns a new frame and never mutates its input. ``rows_changed`` counts the
rows a step *kept* and modified; rows it removes are counted by the clean stage as removed, never
as changed. The value-converting steps (cast, normalize_text, parse_dates) live in ``convert.py``
and the row filter in ``filter.py``; all are importable from here.

Statistics some steps compute (fillna's mean/median/mode, clip_outliers' bounds) are computed on the
whole table, before the split: they let validation and test rows influence training data.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from mlspec.errors import Problem, SpecError
from mlspec.stages.api import StageParams
from mlspec.stages.cleaning.api import CleaningStep, StepResult
from mlspec.stages.cleaning.common import (
    ColumnList,
    Scalar,
    as_python,
    fit_scalar,
    is_numeric,
    numeric_columns,
    require_columns,
    row_mask,
    shorthand_mapping,
    wrong_column_type,
)
from mlspec.stages.cleaning.convert import Cast, NormalizeText, ParseDates

DEPENDENCIES = ("mlspec.stages.cleaning.common",)
LEAK_NOTE = (
    "these statistics are computed on the whole table before the split, so validation/test rows"
    " leak into training data; the features stage's imputer (fitted on train only) is the"
    " leak-free choice"
)


class DropDuplicates(CleaningStep):
    """Remove repeated rows (equal in ``subset``, or in every column when it is not given).

    ``keep: first`` (default) or ``last`` keeps one copy; ``keep: none`` drops every copy.
    """

    name = "drop_duplicates"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        subset: ColumnList | None = None
        keep: Literal["first", "last", "none"] = "first"

    def apply(self, df: Any, params: Any) -> StepResult:
        require_columns(df, params.subset, self.name)
        keep = False if params.keep == "none" else params.keep
        return StepResult(df.drop_duplicates(subset=params.subset, keep=keep))


class DropNa(CleaningStep):
    """Remove rows with missing values in ``columns`` (every column when not given).

    ``how: any`` (default; shorthand ``{dropna: all}``) drops a row with any missing value,
    ``how: all`` one whose values are all missing; ``thresh: n`` instead keeps rows with at least
    ``n`` present values. Empty strings are values, not missing: normalize or cast them first.
    """

    name = "dropna"
    shorthand = "how"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: ColumnList | None = None
        how: Literal["any", "all"] = "any"
        thresh: int | None = Field(default=None, ge=1)

        @model_validator(mode="after")
        def _how_or_thresh(self) -> Any:
            if self.thresh is not None and "how" in self.model_fields_set:
                raise ValueError("give either 'how' or 'thresh', not both")
            return self

    def apply(self, df: Any, params: Any) -> StepResult:
        require_columns(df, params.columns, self.name)
        subset = list(params.columns or df.columns)
        missing = df[subset].isna()
        if params.thresh is not None:
            if params.thresh > len(subset):
                raise SpecError(
                    Problem(
                        code="invalid_option",
                        message=f"dropna thresh {params.thresh} exceeds the {len(subset)} columns"
                        " it checks, so every row would be dropped",
                        fix=f"use a thresh of at most {len(subset)}",
                    )
                )
            keep = (~missing).sum(axis=1) >= params.thresh
        elif params.how == "any":
            keep = ~missing.any(axis=1)
        else:
            keep = ~missing.all(axis=1)
        return StepResult(df[keep.to_numpy(dtype=bool)])


class FillNa(CleaningStep):
    """Fill missing values with a constant ``value`` or a ``strategy``.

    Without ``columns``: ``value`` fills every column whose dtype can hold it, ``mean``/``median``
    every numeric column, ``mode``/``ffill``/``bfill`` every column. Integer columns get the mean or
    median rounded to the nearest integer. ``mode`` takes the smallest most-frequent value.

    Leakage: a mean, median or mode computed here is computed on the whole table, before the
    split, so validation and test rows influence the training data (the step's note says so).
    For leak-free imputation use the features stage's impute step, which is fitted on the train
    split only. ``bfill`` copies later rows backwards: on time-ordered data it uses the future.
    """

    name = "fillna"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: ColumnList | None = None
        value: Scalar | None = None
        strategy: Literal["mean", "median", "mode", "ffill", "bfill"] | None = None

        @model_validator(mode="after")
        def _one_source(self) -> Any:
            if (self.value is None) == (self.strategy is None):
                raise ValueError("give exactly one of 'value' or 'strategy'")
            return self

    def apply(self, df: Any, params: Any) -> StepResult:
        from pandas.api.types import is_integer_dtype

        require_columns(df, params.columns, self.name)
        strategy = params.strategy
        stats = strategy in ("mean", "median")
        if params.columns is not None:
            columns = list(params.columns)
        else:
            columns = numeric_columns(df) if stats else list(df.columns)
        out = df.copy(deep=False)
        filled, used, skipped = None, [], []
        for col in columns:
            s = df[col]
            has_na = bool(s.isna().any())
            if not has_na and params.columns is None:
                continue
            if strategy in ("ffill", "bfill"):
                new = s.ffill() if strategy == "ffill" else s.bfill()
            else:
                if stats and not is_numeric(s):
                    raise wrong_column_type(
                        self.name,
                        col,
                        s,
                        f"numbers for strategy '{strategy}'",
                        "use strategy:"
                        " mode or a value for this column, or cast it to a number first",
                    )
                if strategy is None:
                    fits, value = fit_scalar(s, params.value, integral=True)
                    if not fits and params.columns is None:
                        skipped.append(f"{col} ({s.dtype})")
                        continue
                    if not fits:
                        raise wrong_column_type(
                            self.name,
                            col,
                            s,
                            f"a column that can hold {params.value!r}",
                            "choose a fill value of the column's type, or cast the column first",
                        )
                else:
                    value = _statistic(s, strategy)
                    if value is None:
                        skipped.append(f"{col} (no values)")
                        continue
                    if stats and is_integer_dtype(s.dtype):
                        value = round(value)
                    used.append(f"{col}={value!r}")
                if not has_na:
                    continue
                if hasattr(s, "cat") and value not in s.cat.categories:
                    s = s.cat.add_categories([value])
                new = s.fillna(value)
            out[col] = new
            mask = df[col].isna().to_numpy() & new.notna().to_numpy()
            filled = mask if filled is None else filled | mask
        parts = [f"{strategy} fill values: {', '.join(used)}"] if used and strategy else []
        if skipped:
            parts.append(f"skipped {', '.join(skipped)}")
        if strategy in ("mean", "median", "mode"):
            parts.append(LEAK_NOTE)
        elif strategy == "bfill":
            parts.append("bfill copies later rows' values backwards (the future, in time order)")
        changed = 0 if filled is None else int(filled.sum())
        return StepResult(out, changed, "; ".join(parts))


def _statistic(series: Any, strategy: str) -> Any:
    values = series.dropna()
    if values.empty:
        return None
    if strategy == "mode":
        return as_python(values.mode().iloc[0])
    return as_python(values.mean() if strategy == "mean" else values.median())


class Rename(CleaningStep):
    """Rename columns: ``{rename: {old: new}}`` (or ``{rename: {columns: {old: new}}}``)."""

    name = "rename"
    shorthand = "columns"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: dict[str, str] = Field(min_length=1)

        @model_validator(mode="before")
        @classmethod
        def _bare_mapping(cls, data: Any) -> Any:
            return shorthand_mapping("columns", ["columns"], data)

    def apply(self, df: Any, params: Any) -> StepResult:
        require_columns(df, params.columns, self.name)
        before = Counter(df.columns)
        after = Counter(params.columns.get(c, c) for c in df.columns)
        clashes = [n for n, k in after.items() if k > 1 and k > before.get(n, 0)]
        if clashes:
            raise SpecError(
                Problem(
                    code="duplicate_column",
                    message=f"cleaning step 'rename' would leave several columns named"
                    f" '{clashes[0]}'",
                    fix="choose another new name, or rename or drop the existing column first",
                )
            )
        return StepResult(df.rename(columns=params.columns))


class ClipOutliers(CleaningStep):
    """Clip (or drop) values outside per-column bounds.

    ``method: iqr`` bounds are ``[q1 - factor*iqr, q3 + factor*iqr]``; ``method: quantile`` bounds
    are the ``lower`` and ``upper`` quantiles. Without ``columns`` every numeric column is used.
    ``action: clip`` moves outside values onto the bounds (those rows count as changed);
    ``action: drop`` removes rows with an outside value in any column. Missing values are never
    outside. Integer columns get integer bounds (rounded inwards), so they stay integers.

    Leakage: the bounds are computed on the whole table, before the split, so validation and test
    rows influence the training data (the note lists the bounds).
    """

    name = "clip_outliers"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: ColumnList | None = None
        method: Literal["iqr", "quantile"] = "iqr"
        factor: float = Field(default=1.5, gt=0, allow_inf_nan=False)
        lower: float = Field(default=0.01, ge=0, le=1)
        upper: float = Field(default=0.99, ge=0, le=1)
        action: Literal["clip", "drop"] = "clip"

        @model_validator(mode="after")
        def _method_options(self) -> Any:
            given = self.model_fields_set
            if self.method == "iqr" and given & {"lower", "upper"}:
                raise ValueError("'lower' and 'upper' apply to method: quantile, not iqr")
            if self.method == "quantile" and "factor" in given:
                raise ValueError("'factor' applies to method: iqr, not quantile")
            if self.lower >= self.upper:
                raise ValueError(f"'lower' ({self.lower}) must be below 'upper' ({self.upper})")
            return self

    def apply(self, df: Any, params: Any) -> StepResult:
        import numpy as np

        require_columns(df, params.columns, self.name)
        columns = list(params.columns) if params.columns is not None else numeric_columns(df)
        outside: dict[Any, Any] = {}
        bounds: dict[Any, tuple[Any, Any]] = {}
        for col in columns:
            s = df[col]
            if not is_numeric(s):
                raise wrong_column_type(
                    self.name, col, s, "numbers", "remove it from columns, or cast it first"
                )
            found = _bounds(s, params)
            if found is None:
                continue
            lo, hi = bounds[col] = found
            outside[col] = s.notna().to_numpy() & (row_mask(s < lo) | row_mask(s > hi))
        mask = np.logical_or.reduce(list(outside.values())) if outside else None
        how = f"iqr x{params.factor}" if params.method == "iqr" else "quantile"
        shown = ", ".join(f"{c} [{lo}, {hi}]" for c, (lo, hi) in bounds.items())
        note = f"bounds ({how}, whole table): {shown or 'none'}"
        if mask is None:
            return StepResult(df.copy(deep=False), 0, note)
        if params.action == "drop":
            return StepResult(df[~mask], 0, note)
        out = df.copy(deep=False)
        for col, (lo, hi) in bounds.items():
            if outside[col].any():
                out[col] = df[col].clip(lo, hi)
        return StepResult(out, int(mask.sum()), note)


def _bounds(series: Any, params: Any) -> tuple[Any, Any] | None:
    from pandas.api.types import is_integer_dtype

    values = series.dropna().astype("float64")
    if values.empty:
        return None
    if params.method == "iqr":
        q1, q3 = (float(q) for q in values.quantile([0.25, 0.75]))
        lo, hi = q1 - params.factor * (q3 - q1), q3 + params.factor * (q3 - q1)
    else:
        lo, hi = (float(q) for q in values.quantile([params.lower, params.upper]))
    if is_integer_dtype(series.dtype) and math.ceil(lo) <= math.floor(hi):
        return math.ceil(lo), math.floor(hi)
    return lo, hi


__all__ = [
    "Cast",
    "ClipOutliers",
    "DropDuplicates",
    "DropNa",
    "FillNa",
    "NormalizeText",
    "ParseDates",
    "Rename",
]
