"""Checking input against a bundle's ``input_schema.json``: column set, types, values.

Two routes with one set of rules, so a row gets the same verdict whichever way it arrives:

- ``check_columns`` + ``coerce_values``: plain Python lists (a JSON request of a few rows),
  checked value by value without pandas — this is the serving fast path;
- ``validate_frame``: a DataFrame (CSV, parquet, large requests, ``mlspec score``), checked with
  vectorised pandas operations.

Rules per schema dtype (the dtypes of the training split):

- float: numbers; ``null``/NaN is a missing value (the pipeline imputes it or the model handles
  it); booleans, strings and infinities are refused.
- integer: whole numbers (``3.0`` is accepted as 3); missing values are refused — the training
  column had none (a nullable ``Int64`` column allows them).
- bool: ``true``/``false``.
- string/object/category: strings; ``null`` is a missing value.
- datetime: ISO-8601 strings (or datetimes).

Every problem names its column (``loc=(column,)``), the first offending row and value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from mlspec.errors import Problem
from mlspec.serve.errors import RequestError

# kinds: f float, i integer (I nullable integer), b bool, s string, M datetime, o anything
_EXPECTED = {
    "f": "a number",
    "i": "a whole number",
    "I": "a whole number or null",
    "b": "true or false",
    "s": "a string",
    "M": "a date-time string",
    "o": "a value",
}
MAX_PROBLEMS = 20


def csv_float_options() -> dict[str, Any]:
    """read_csv options that parse floats exactly (the same bits as JSON or parquet give):
    ``round_trip`` before pandas 3.1; from 3.1 every mode is exact and the option deprecated."""
    import pandas as pd

    major, minor = (int(x) for x in pd.__version__.split(".")[:2])
    return {} if (major, minor) >= (3, 1) else {"float_precision": "round_trip"}


def dtype_kind(dtype: str) -> str:
    """The validation kind of a schema dtype string (as pandas prints it)."""
    d = dtype.lower()
    if d.startswith("float"):
        return "f"
    if d.startswith(("int", "uint")):
        return "I" if dtype[0] in "IU" else "i"
    if d in ("bool", "boolean"):
        return "b"
    if d in ("object", "string", "str", "category") or d.startswith("string"):
        return "s"
    if d.startswith("datetime"):
        return "M"
    return "o"


def json_type(kind: str) -> dict[str, Any]:
    """The JSON-schema type of one value of a column of this kind (for the OpenAPI document)."""
    types: dict[str, dict[str, Any]] = {
        "f": {"type": ["number", "null"]},
        "i": {"type": "integer"},
        "I": {"type": ["integer", "null"]},
        "b": {"type": "boolean"},
        "s": {"type": ["string", "null"]},
        "M": {"type": "string", "format": "date-time"},
    }
    return types.get(kind, {})


def np_bool() -> type:
    """numpy's bool scalar type (numpy is imported by then: the model is loaded)."""
    import numpy as np

    return np.bool_


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(value), type(value).__name__
    )


def wrong_value(column: str, kind: str, row: int, value: Any, why: str | None = None) -> Problem:
    reason = why or f"got {_show(value)} ({_type_name(value)})"
    return Problem(
        "wrong_type" if why is None else "bad_value",
        f"column '{column}', row {row}: expected {_EXPECTED[kind]}, {reason}",
        loc=(column,),
        fix=f"send {_EXPECTED[kind]} for '{column}'",
    )


def check_columns(
    present: list[str], expected: list[tuple[str, str]], allow_extra: bool = False
) -> None:
    """Missing (and, unless allowed, unexpected) columns, all reported at once."""
    names = [n for n, _ in expected]
    if present == names:  # the common case, checked in one comparison
        return
    have = set(present)
    problems = [
        Problem(
            "missing_column",
            f"column '{n}' is missing",
            loc=(n,),
            fix="the model takes: " + ", ".join(names),
        )
        for n in names
        if n not in have
    ]
    if not allow_extra:
        known = set(names)
        problems += [
            Problem(
                "unexpected_column",
                f"column '{c}' is not an input of the model",
                loc=(c,),
                fix="remove it; the model takes: " + ", ".join(names),
            )
            for c in present
            if c not in known
        ]
    dupes = (
        sorted({c for c in present if present.count(c) > 1})
        if len(set(present)) != len(present)
        else []
    )
    problems += [
        Problem("duplicate_column", f"column '{c}' appears more than once", loc=(c,)) for c in dupes
    ]
    if problems:
        raise RequestError(problems[:MAX_PROBLEMS])


def coerce_values(column: str, kind: str, values: list[Any]) -> tuple[list[Any], list[Problem]]:
    """One column's JSON values checked and converted for its kind; (values, problems)."""
    out: list[Any] = []
    for row, v in enumerate(values):
        t = type(v)
        if kind == "f":
            if t is float:
                if math.isinf(v):
                    return out, [wrong_value(column, kind, row, v, "got an infinite value")]
                out.append(v)
            elif t is int:
                out.append(float(v))
            elif v is None:
                out.append(math.nan)
            elif isinstance(v, numbers.Real) and not isinstance(v, (bool, np_bool())):
                f = float(v)  # numpy scalars from Python callers
                if math.isinf(f):
                    return out, [wrong_value(column, kind, row, v, "got an infinite value")]
                out.append(f)
            else:
                return out, [wrong_value(column, kind, row, v)]
        elif kind in ("i", "I"):
            if t is int:
                out.append(v)
            elif (t is float and v.is_integer()) or (
                isinstance(v, numbers.Integral) and not isinstance(v, (bool, np_bool()))
            ):
                out.append(int(v))
            elif v is None and kind == "I":
                out.append(None)
            elif v is None or (t is float and math.isnan(v)):
                why = "got a missing value (the column had none in training)"
                return out, [wrong_value(column, kind, row, v, why)]
            else:
                return out, [wrong_value(column, kind, row, v)]
        elif kind == "b":
            if t is bool:
                out.append(v)
            else:
                return out, [wrong_value(column, kind, row, v)]
        elif kind in ("s", "M"):
            if t is str or v is None:
                out.append(v)
            else:
                return out, [wrong_value(column, kind, row, v)]
        else:
            if isinstance(v, (dict, list)):
                return out, [wrong_value(column, kind, row, v, "got a nested structure")]
            out.append(v)
    return out, []


def validate_frame(
    df: Any, columns: list[tuple[str, str]], allow_extra: bool = False, first_row: int = 0
) -> Any:
    """A DataFrame with exactly the schema's columns, in order, in the schema's dtypes.

    Raises RequestError with one Problem per bad column (first bad row and value named; rows
    are numbered from ``first_row``).
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    check_columns([str(c) for c in df.columns], columns, allow_extra)
    import numpy as np

    df = df.rename(columns=str) if any(not isinstance(c, str) for c in df.columns) else df
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    floats: list[str] = []  # already float in the schema's dtype: one bulk check for infinities
    converted = False
    for name, dtype in columns:
        series = df[name]
        kind = dtype_kind(dtype)
        if kind in "fiIbM" and str(series.dtype) == dtype:
            if kind == "f":
                floats.append(name)
            out[name] = series
            continue
        series, problem = _coerce_series(series, name, dtype, first_row)
        converted = True
        if problem is not None:
            problems.append(problem)
        else:
            out[name] = series
    if floats and np.isinf(df[floats].to_numpy()).any():
        for name in floats:
            _, problem = _coerce_series(df[name], name, dict(columns)[name], first_row)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise RequestError(problems[:MAX_PROBLEMS])
    if not converted:  # every column as the schema has it: one selection, no rebuilding
        return df[[n for n, _ in columns]]
    return pd.DataFrame(out, index=df.index, copy=False)


def _first_bad(series: Any, first_row: int, bad: Any) -> tuple[int, Any]:
    """(row number, value) of the first flagged row; rows count from ``first_row`` (0 for
    requests, 1 for files)."""
    import numpy as np

    pos = int(np.flatnonzero(np.asarray(bad))[0])
    return pos + first_row, series.iloc[pos]


def _numbers_only(s: Any, name: str, kind: str, first_row: int) -> Any:
    """An object column as numbers, or the Problem of its first value that is not one. Values
    that do not parse are named first (in a CSV column that is the culprit), then strings and
    booleans (JSON sent ``"1.5"`` or ``true`` where a number belongs)."""
    import pandas as pd

    num = pd.to_numeric(s, errors="coerce")
    unparsed = (num.isna() & s.notna()).to_numpy()
    if unparsed.any():
        row, value = _first_bad(s, first_row, unparsed)
        return wrong_value(name, kind, row, value)
    not_number = s.map(type).isin([bool, str]).to_numpy()
    if not_number.any():
        row, value = _first_bad(s, first_row, not_number)
        return wrong_value(name, kind, row, value)
    return num


def _coerce_series(s: Any, name: str, dtype: str, first_row: int = 0) -> tuple[Any, Problem | None]:
    """(converted series, None) or (None, the problem)."""
    import numpy as np
    import pandas as pd
    from pandas.api import types as pt

    kind = dtype_kind(dtype)
    if kind == "f":
        if pt.is_bool_dtype(s.dtype) or not (pt.is_numeric_dtype(s.dtype) or s.dtype == object):
            return None, wrong_value(name, kind, first_row, s.iloc[0] if len(s) else None)
        if s.dtype == object:
            num = _numbers_only(s, name, kind, first_row)
            if isinstance(num, Problem):
                return None, num
            s = num
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(values)
        if inf.any():
            row, value = _first_bad(s, first_row, inf)
            return None, wrong_value(name, kind, row, value, "got an infinite value")
        floats: Any = pd.Series(values, index=s.index, name=name, copy=False)
        return floats.astype(dtype), None
    if kind in ("i", "I"):
        if pt.is_bool_dtype(s.dtype):
            return None, wrong_value(name, kind, first_row, s.iloc[0] if len(s) else None)
        if pt.is_integer_dtype(s.dtype):
            return s.astype(dtype), None
        num = _numbers_only(s, name, kind, first_row) if s.dtype == object else s
        if isinstance(num, Problem):
            return None, num
        if not pt.is_numeric_dtype(num.dtype):
            return None, wrong_value(name, kind, first_row, s.iloc[0] if len(s) else None)
        missing = num.isna().to_numpy()
        values = num.to_numpy(dtype="float64", na_value=np.nan)
        if kind == "i" and missing.any():
            row, value = _first_bad(s, first_row, missing)
            why = "got a missing value (the column had none in training)"
            return None, wrong_value(name, kind, row, value, why)
        with np.errstate(invalid="ignore"):
            fractional = ~missing & (np.isinf(values) | (values != np.floor(values)))
        if fractional.any():
            row, value = _first_bad(s, first_row, fractional)
            return None, wrong_value(name, kind, row, value)
        return num.astype(dtype), None
    if kind == "b":
        if pt.is_bool_dtype(s.dtype):
            return s.astype(dtype), None
        bad = ~s.map(type).eq(bool).to_numpy()
        if len(s) and bad.any():
            row, value = _first_bad(s, first_row, bad)
            return None, wrong_value(name, kind, row, value)
        return s.astype(dtype), None
    if kind == "s":
        if pt.is_numeric_dtype(s.dtype) or pt.is_bool_dtype(s.dtype):
            if s.isna().all():
                return s.astype(object), None
            row, value = _first_bad(s, first_row, s.notna().to_numpy())
            return None, wrong_value(name, kind, row, value)
        if s.dtype == object:
            bad = ~(s.map(type).eq(str).to_numpy() | s.isna().to_numpy())
            if bad.any():
                row, value = _first_bad(s, first_row, bad)
                return None, wrong_value(name, kind, row, value)
        return (s if str(s.dtype) == dtype else s.astype(dtype)), None
    if kind == "M":
        if pt.is_datetime64_any_dtype(s.dtype):
            return s.astype(dtype), None
        parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
        bad = (parsed.isna() & s.notna()).to_numpy()
        if bad.any():
            row, value = _first_bad(s, first_row, bad)
            return None, wrong_value(name, kind, row, value, f"got {_show(value)}")
        try:
            return parsed.astype(dtype), None
        except (TypeError, ValueError) as exc:
            return None, wrong_value(name, kind, first_row, s.iloc[0], str(exc))
    return s, None
