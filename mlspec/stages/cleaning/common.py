"""Helpers shared by the built-in cleaning steps (builtin.py, convert.py, filter.py).

Kept cheap to import: pandas is imported inside the functions that need it. The steps list this
module in ``code_dependencies`` so that editing it invalidates cached clean results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import Field

from mlspec.errors import Problem, SpecError, did_you_mean

# A non-empty list of column names (None, where allowed, means "the step's default columns").
ColumnList = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
Scalar = str | int | float | bool

_LISTED = 30  # at most this many names in a "columns present" fix
_SAMPLES = 5  # at most this many sample values in an error


def listing(names: Iterable[Any], limit: int = _LISTED) -> str:
    names = [str(n) for n in names]
    head = ", ".join(names[:limit])
    return head + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def require_columns(df: Any, columns: Iterable[Any] | None, step: str) -> None:
    """SpecError (exit 2) naming every column the step names that the data lacks."""
    present = list(df.columns)
    problems = []
    for col in dict.fromkeys(columns or ()):
        if col in present:
            continue
        close = did_you_mean(str(col), present)
        problems.append(
            Problem(
                code="missing_column",
                message=f"column '{col}' named by cleaning step '{step}' is not in the data",
                loc=(),
                fix=(f"{close} " if close else "") + f"columns present: {listing(present)}",
            )
        )
    if problems:
        raise SpecError(problems)


def wrong_column_type(step: str, col: Any, series: Any, needs: str, fix: str) -> SpecError:
    return SpecError(
        Problem(
            code="wrong_column_type",
            message=f"cleaning step '{step}' needs {needs}, but column '{col}' is {series.dtype}",
            loc=(),
            fix=fix,
        )
    )


def samples(values: Sequence[Any] | Any, limit: int = _SAMPLES) -> str:
    """A few distinct values, quoted, for an error message."""
    seen: list[str] = []
    for v in values:
        text = repr(v.item() if hasattr(v, "item") else v)
        text = text if len(text) <= 40 else text[:37] + "..."
        if text not in seen:
            seen.append(text)
        if len(seen) == limit:
            break
    return ", ".join(seen)


def is_numeric(series: Any) -> bool:
    """Numbers, but not booleans (pandas counts bool as numeric)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype))


def is_text(series: Any) -> bool:
    """A string dtype, or an object column (which may hold strings among other values)."""
    import pandas as pd

    return isinstance(series.dtype, pd.StringDtype) or is_object(series)


def is_object(series: Any) -> bool:
    from pandas.api.types import is_object_dtype

    return bool(is_object_dtype(series.dtype))


def fit_scalar(series: Any, value: Any, integral: bool = False) -> tuple[bool, Any]:
    """Whether a spec scalar fits the column's dtype, and the value converted for it.

    Numbers fit numeric columns (whole numbers only for integer columns when ``integral``), booleans
    boolean ones, text string ones; date text fits datetime columns (naive text takes the column's
    time zone). Object and category columns take anything.
    """
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_integer_dtype

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or is_object(series):
        return True, value
    if is_bool_dtype(dtype):
        return isinstance(value, bool), value
    if is_numeric(series):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, value
        if integral and is_integer_dtype(dtype):
            whole = float(value).is_integer()
            return whole, int(value) if whole else value
        return True, value
    if is_datetime64_any_dtype(dtype):
        tz = getattr(dtype, "tz", None)
        try:
            stamp = pd.Timestamp(value) if isinstance(value, str) else None
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is None and tz is not None:
            stamp = stamp.tz_localize(tz)
        if stamp is None or (stamp.tzinfo is None) != (tz is None):
            return False, value
        return True, stamp
    return is_text(series) and isinstance(value, str), value


def numeric_columns(df: Any) -> list[Any]:
    return [c for c in df.columns if is_numeric(df[c])]


def row_mask(series: Any) -> Any:
    """A boolean Series (possibly nullable) as a plain numpy bool array, NA counting as False."""
    return series.fillna(False).to_numpy(dtype=bool)


def cells_differ(before: Any, after: Any) -> Any:
    """numpy bool mask: the value changed (NA and NA count as equal)."""
    import numpy as np

    a = before.to_numpy(dtype=object)
    b = after.to_numpy(dtype=object)
    na_a = before.isna().to_numpy()
    na_b = after.isna().to_numpy()
    both = ~(na_a | na_b)
    differ = na_a != na_b
    differ[both] = np.asarray(a[both] != b[both], dtype=bool)
    return differ


def as_python(value: Any) -> Any:
    """numpy/pandas scalars as plain Python values (stable reprs in notes)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def shorthand_mapping(field: str, fields: Iterable[str], data: Any) -> Any:
    """For a mapping-valued shorthand: ``{cast: {amount: float, errors: coerce}}`` means
    ``{dtypes: {amount: float}, errors: coerce}`` — keys that are not options go into ``field``.

    When ``field`` itself is given the mapping is taken as the options, so a typo among them
    still reports 'unknown option'.
    """
    if not isinstance(data, dict) or not data or field in data:
        return data
    options = set(fields)
    inner = {k: v for k, v in data.items() if k not in options}
    return {**{k: v for k, v in data.items() if k in options}, field: inner} if inner else data
