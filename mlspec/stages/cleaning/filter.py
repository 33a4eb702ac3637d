"""filter: keep the rows that satisfy declared conditions — a safe row filter.

Conditions are data, never code: there is no eval, no ``DataFrame.query`` and no expression
language, so a value such as ``"__import__('os')"`` is only ever a string compared with cells.

    - filter:
        where:                                   # every condition must hold (one, or a list)
          - {column: amount, op: ">", value: 0}
          - {column: country, op: in, value: [DE, FR]}
        any:                                     # and at least one of these must hold
          - {column: channel, op: "==", value: web}
          - {column: score, op: between, value: [0.2, 0.8]}

Ops: ``== != < <= > >=`` (a scalar), ``in``/``not_in`` (a non-empty list), ``between`` ([low, high],
both ends included), ``isna``/``notna`` (no value), ``matches`` (a Python regular expression that
must match the whole text; at most 500 characters). Datetime columns compare with date text
(``value: "2024-01-31"``).

Missing values: a condition on a missing cell is unknown, and an unknown condition does not hold
(like SQL's WHERE): a row whose cell is missing fails every op except ``isna`` — including ``!=``
and ``not_in``. Such rows are dropped unless another ``any`` condition holds for them.
"""

from __future__ import annotations

import operator
import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from mlspec.errors import Problem, SpecError
from mlspec.stages.api import StageParams
from mlspec.stages.cleaning.api import CleaningStep, StepResult
from mlspec.stages.cleaning.common import (
    fit_scalar,
    is_numeric,
    is_text,
    require_columns,
    row_mask,
    wrong_column_type,
)

Op = Literal[
    "==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "isna", "notna", "matches"
]
OPS = get_args(Op)
MAX_PATTERN = 500
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SCALARS = (str, int, float, bool)


class Condition(StageParams):
    """``{column, op, value}``; the shape of ``value`` is checked against the op."""

    column: str = Field(min_length=1)
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Any:
        op, value, given = self.op, self.value, "value" in self.model_fields_set
        if op in ("isna", "notna"):
            if given:
                raise ValueError(f"op '{op}' takes no value")
            return self
        if value is None:
            hint = "; to test for missing values use op: isna or notna" if given else ""
            raise ValueError(f"op '{op}' needs a value{hint}")
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"op '{op}' needs a non-empty list of values, got {value!r}")
            _check_scalars(op, value)
        elif op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError(f"op 'between' needs [low, high], got {value!r}")
            _check_scalars(op, value)
            low, high = value
            try:
                wrong_order = low > high
            except TypeError:
                raise ValueError(f"op 'between': {low!r} and {high!r} do not compare") from None
            if wrong_order:
                raise ValueError(f"op 'between' needs low <= high, got [{low!r}, {high!r}]")
        elif op == "matches":
            if not isinstance(value, str):
                raise ValueError(f"op 'matches' needs a regular expression string, got {value!r}")
            if len(value) > MAX_PATTERN:
                raise ValueError(f"op 'matches': pattern longer than {MAX_PATTERN} characters")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"op 'matches': invalid regular expression ({exc})") from None
        else:
            _check_scalars(op, [value])
        return self

    def describe(self) -> str:
        if self.op in ("isna", "notna"):
            return f"{self.column} {'is' if self.op == 'isna' else 'is not'} missing"
        if self.op == "between":
            return f"{self.value[0]!r} <= {self.column} <= {self.value[1]!r}"
        return f"{self.column} {self.op} {self.value!r}"


def _check_scalars(op: str, values: list[Any]) -> None:
    for v in values:
        if v is None or not isinstance(v, _SCALARS):
            raise ValueError(f"op '{op}' compares with text, numbers or booleans, got {v!r}")


class FilterParams(StageParams):
    where: list[Condition] | None = Field(default=None, min_length=1)
    any_of: list[Condition] | None = Field(default=None, alias="any", min_length=1)

    @field_validator("where", mode="before")
    @classmethod
    def _one_condition(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _some_condition(self) -> Any:
        if self.where is None and self.any_of is None:
            raise ValueError("give 'where' (all must hold) and/or 'any' (one must hold)")
        return self


def _mismatch(cond: Condition, series: Any, value: Any, fix: str) -> SpecError:
    return SpecError(
        Problem(
            code="wrong_value_type",
            message=f"filter condition '{cond.describe()}' compares column '{cond.column}'"
            f" ({series.dtype}) with {value!r}, a {type(value).__name__}",
            fix=fix,
        )
    )


def _comparable(cond: Condition, series: Any, value: Any) -> Any:
    """``value`` as the column's type; a SpecError when it cannot be (a mistyped spec value)."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype

    fits, converted = fit_scalar(series, value)
    if fits:
        return converted
    if is_bool_dtype(series.dtype):
        fix = "use true or false"
    elif is_numeric(series):
        fix = "write the value as a number, without quotes"
    elif is_datetime64_any_dtype(series.dtype):
        tz = getattr(series.dtype, "tz", None)
        zone = f" (the column's time zone is {tz})" if tz is not None else ""
        fix = f"give a date as text like '2024-01-31'{zone}"
    else:
        fix = f"quote the value ('{value}') to compare text"
    raise _mismatch(cond, series, value, fix)


def _holds(df: Any, cond: Condition) -> Any:
    """numpy bool mask of the rows where the condition holds (unknown counts as not holding)."""
    import numpy as np
    import pandas as pd

    s = df[cond.column]
    if cond.op == "isna":
        return s.isna().to_numpy()
    if cond.op == "notna":
        return s.notna().to_numpy()
    present = s.notna().to_numpy()
    if cond.op == "matches":
        if not (is_text(s) or isinstance(s.dtype, pd.CategoricalDtype)):
            raise wrong_column_type(
                "filter", cond.column, s, "text for op 'matches'", "cast the column to str first"
            )
        pattern = re.compile(cond.value)
        cells = s.to_numpy(dtype=object)
        return np.fromiter(
            (isinstance(v, str) and pattern.fullmatch(v) is not None for v in cells),
            dtype=bool,
            count=len(cells),
        )
    raw = cond.value if cond.op in ("in", "not_in", "between") else [cond.value]
    values = [_comparable(cond, s, v) for v in raw]
    try:
        if cond.op in ("in", "not_in"):
            result = s.isin(values)
            result = ~result if cond.op == "not_in" else result
        elif cond.op == "between":
            result = row_mask(s >= values[0]) & row_mask(s <= values[1])
        else:
            result = _COMPARE[cond.op](s, values[0])
    except TypeError as exc:
        raise SpecError(
            Problem(
                code="wrong_value_type",
                message=f"filter condition '{cond.describe()}' cannot be evaluated on column"
                f" '{cond.column}' ({s.dtype}): {exc}",
                fix="compare with a value of the column's type, or cast the column first",
            )
        ) from None
    return present & (result if isinstance(result, np.ndarray) else row_mask(result))


class Filter(CleaningStep):
    """Keep rows where every ``where`` condition holds and, if ``any`` is given, at least one
    ``any`` condition holds. Rows are only removed, never changed. See the module docstring."""

    name = "filter"
    Params = FilterParams
    code_dependencies: ClassVar[tuple[str, ...]] = ("mlspec.stages.cleaning.common",)

    def apply(self, df: Any, params: Any) -> StepResult:
        import numpy as np

        where, any_of = params.where or [], params.any_of or []
        require_columns(df, [c.column for c in [*where, *any_of]], self.name)
        keep = np.ones(len(df), dtype=bool)
        for cond in where:
            keep &= _holds(df, cond)
        if any_of:
            keep &= np.logical_or.reduce([_holds(df, cond) for cond in any_of])
        described = [c.describe() for c in where]
        if any_of:
            described.append("(" + " or ".join(c.describe() for c in any_of) + ")")
        return StepResult(df[keep], 0, "kept rows where " + " and ".join(described))
