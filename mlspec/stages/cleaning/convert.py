"""Value-converting cleaning steps: cast, parse_dates, normalize_text (importable from builtin.py).

A value the step could not convert raises a DataError (``errors: raise``, the default) or becomes
missing (``errors: coerce``); each row where that happened counts as changed. A successful type
conversion ("12" -> 12) is not a change of value and is not counted.
"""

from __future__ import annotations

import numbers
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from mlspec.errors import DataError, Problem, choices_hint
from mlspec.stages.api import StageParams
from mlspec.stages.cleaning.api import CleaningStep, StepResult
from mlspec.stages.cleaning.common import (
    ColumnList,
    cells_differ,
    is_numeric,
    is_text,
    require_columns,
    samples,
    shorthand_mapping,
    wrong_column_type,
)

DEPENDENCIES = ("mlspec.stages.cleaning.common",)
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_NULLABLE = {**{t: t.capitalize() for t in _INTS if t[0] == "i"}, "bool": "boolean"}
_NULLABLE.update({t: "UInt" + t[4:] for t in _INTS if t[0] == "u"})
DTYPES = (
    *_INTS,
    *(t for t in _NULLABLE.values() if t != "boolean"),
    *("float32", "float64", "Float32", "Float64"),
    *("bool", "boolean", "str", "string", "category", "object"),
)
ALIASES = {"int": "int64", "float": "float64"}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_BOOLS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def _failed(code: str, col: Any, bad: Any, what: str, fix: str) -> Problem:
    n = len(bad)
    return Problem(
        code=code,
        message=f"column '{col}' has {n} value(s) that cannot be {what}: {samples(bad)}",
        loc=(str(col),),
        fix=fix,
    )


def _to_number(s: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from pandas.api.types import is_bool_dtype

    if is_numeric(s):
        return s, np.zeros(len(s), dtype=bool)
    if is_bool_dtype(s.dtype):
        return s.astype("Int64"), np.zeros(len(s), dtype=bool)
    source = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
    number = pd.to_numeric(source, errors="coerce")
    return number, s.notna().to_numpy() & number.isna().to_numpy()


def _to_bool(s: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    def parse(v: Any) -> Any:
        if isinstance(v, str):
            return _BOOLS.get(v.strip().lower())
        if isinstance(v, bool) or type(v).__name__ == "bool_":
            return bool(v)
        if isinstance(v, numbers.Real) and v in (0, 1):
            return v == 1
        return None

    present = s.notna().to_numpy()
    values = s.to_numpy(dtype=object)
    parsed = [parse(v) if ok else None for v, ok in zip(values, present, strict=True)]
    bad = present & np.array([p is None for p in parsed], dtype=bool)
    return pd.Series(pd.array(parsed, dtype="boolean"), index=s.index, name=s.name), bad


def _to_str(s: Any, dtype: str) -> Any:
    import pandas as pd
    from pandas.api.types import pandas_dtype

    text = s.astype("string")  # keeps missing values missing in every pandas version
    if dtype == "string":
        return text
    if isinstance(pandas_dtype("str"), pd.StringDtype):  # pandas >= 3: the default str dtype
        return text.astype("str")
    return text.astype(object).where(text.notna(), None)


def _cast(s: Any, dtype: str) -> tuple[Any, Any]:
    """(converted values, numpy mask of present values that could not be converted)."""
    import numpy as np

    if dtype in ("str", "string"):
        return _to_str(s, dtype), np.zeros(len(s), dtype=bool)
    if dtype in ("category", "object"):
        return s.astype(dtype), np.zeros(len(s), dtype=bool)
    if dtype in ("bool", "boolean"):
        return _to_bool(s)
    number, bad = _to_number(s)
    if dtype.lower() in _INTS:
        info = np.iinfo(dtype.lower())
        present = number.notna().to_numpy()
        fraction = (number % 1 != 0).fillna(False).to_numpy(dtype=bool)
        outside = ((number < info.min) | (number > info.max)).fillna(False).to_numpy(dtype=bool)
        bad = bad | (present & (fraction | outside))
    return number, bad


class Cast(CleaningStep):
    """Convert columns to dtypes: ``{cast: {amount: float64, n: Int64}}``.

    Options may sit beside the columns (``{cast: {amount: float, errors: coerce}}``); a column
    literally named ``dtypes`` or ``errors`` goes under ``dtypes: {...}``.

    dtypes: int8..int64, uint8..uint64, their nullable forms Int8..UInt64, float32/float64 (and
    Float32/Float64), int (= int64), float (= float64), bool, boolean (nullable), str, string,
    category, object. Dates: use parse_dates. Text becomes numbers as pandas.to_numeric reads it;
    a fractional or out-of-range value is not an integer. Text becomes booleans from
    true/false/t/f/yes/no/y/n/1/0 (any case); numbers from 1/0. int and bool dtypes cannot hold
    missing values: cast to the nullable form (Int64, boolean) or fill them first.
    """

    name = "cast"
    shorthand = "dtypes"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        dtypes: dict[str, str] = Field(min_length=1)
        errors: Literal["raise", "coerce"] = "raise"

        @model_validator(mode="before")
        @classmethod
        def _bare_mapping(cls, data: Any) -> Any:
            return shorthand_mapping("dtypes", ["dtypes", "errors"], data)

        @field_validator("dtypes")
        @classmethod
        def _known_dtypes(cls, dtypes: dict[str, str]) -> dict[str, str]:
            out = {}
            for col, dtype in dtypes.items():
                dtype = ALIASES.get(dtype, dtype)
                if dtype not in DTYPES:
                    hint = "for dates use the parse_dates step" if "date" in dtype.lower() else ""
                    raise ValueError(
                        f"column '{col}': unknown dtype '{dtype}'; "
                        + (hint or choices_hint(dtype, [*DTYPES, *ALIASES]))
                    )
                out[col] = dtype
            return out

    def apply(self, df: Any, params: Any) -> StepResult:
        import numpy as np

        require_columns(df, params.dtypes, self.name)
        out = df.copy(deep=False)
        changed = np.zeros(len(df), dtype=bool)
        problems, coerced = [], []
        for col, dtype in params.dtypes.items():
            values, bad = _cast(df[col], dtype)
            if bad.any() and params.errors == "raise":
                fix = "use errors: coerce to turn them into missing values, or clean them first"
                problems.append(_failed("cast_failed", col, df[col][bad], f"cast to {dtype}", fix))
                continue
            if bad.any():
                values = values.mask(bad)
                changed |= bad
                coerced.append(f"{col} ({int(bad.sum())})")
            if dtype in _NULLABLE and values.isna().any():
                n = int(values.isna().sum())
                problems.append(
                    Problem(
                        code="cast_missing",
                        message=f"column '{col}' has {n} missing value(s), which {dtype} cannot"
                        " hold",
                        loc=(str(col),),
                        fix=f"cast to '{_NULLABLE[dtype]}' (nullable) instead, or fill or drop"
                        " the missing values first (fillna, dropna)",
                    )
                )
                continue
            keep_as_is = dtype in ("str", "string", "category", "object")
            out[col] = values if keep_as_is else values.astype(dtype)
        if problems:
            raise DataError(problems)
        note = f"coerced to missing: {', '.join(coerced)}" if coerced else ""
        return StepResult(out, int(changed.sum()), note)


class ParseDates(CleaningStep):
    """Parse text columns into datetimes: ``{parse_dates: [ts]}`` or with options.

    ``format`` is a strptime format (default: inferred from the first value, then applied to all);
    ``utc: true`` converts to UTC (needed when values carry different time zones). A value that is
    not a date raises a DataError (``errors: raise``) or becomes missing (``errors: coerce``,
    counted as changed); blank strings become missing and count as changed. Numbers are refused:
    cast them to str first and give a format such as ``%Y%m%d``.
    """

    name = "parse_dates"
    shorthand = "columns"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: ColumnList
        format: str | None = Field(default=None, min_length=1)
        errors: Literal["raise", "coerce"] = "raise"
        utc: bool = False

        @field_validator("columns", mode="before")
        @classmethod
        def _one_column(cls, value: Any) -> Any:
            return [value] if isinstance(value, str) else value

    def apply(self, df: Any, params: Any) -> StepResult:
        import numpy as np
        import pandas as pd
        from pandas.api.types import is_datetime64_any_dtype

        require_columns(df, params.columns, self.name)
        out = df.copy(deep=False)
        changed = np.zeros(len(df), dtype=bool)
        problems, coerced = [], []
        for col in params.columns:
            s = df[col]
            if is_datetime64_any_dtype(s.dtype):
                if params.utc:
                    out[col] = s.dt.tz_convert("UTC") if s.dt.tz else s.dt.tz_localize("UTC")
                continue
            if not (is_text(s) or isinstance(s.dtype, pd.CategoricalDtype)):
                raise wrong_column_type(
                    self.name,
                    col,
                    s,
                    "text dates",
                    "cast it to str first and give a format"
                    " (e.g. '%Y%m%d'); epoch numbers are not supported",
                )
            source = s.astype(object)
            try:
                parsed = pd.to_datetime(
                    source, format=params.format, errors="coerce", utc=params.utc
                )
            except (ValueError, TypeError) as exc:
                fix = "set utc: true if the values carry different time zones, or give a format"
                problems.append(
                    Problem("unparseable_date", f"column '{col}': {exc}", (str(col),), fix=fix)
                )
                continue
            lost = s.notna().to_numpy() & parsed.isna().to_numpy()
            blank = np.array([isinstance(v, str) and not v.strip() for v in source], dtype=bool)
            bad = lost & ~blank
            if bad.any() and params.errors == "raise":
                fix = "give the right format, or use errors: coerce to turn them into missing"
                problems.append(_failed("unparseable_date", col, s[bad], "parsed as dates", fix))
                continue
            out[col] = parsed
            changed |= lost
            if lost.any():
                coerced.append(f"{col} ({int(lost.sum())})")
        if problems:
            raise DataError(problems)
        note = f"became missing: {', '.join(coerced)}" if coerced else ""
        return StepResult(out, int(changed.sum()), note)


_SPACE = re.compile(r"\s+")


class NormalizeText(CleaningStep):
    """Tidy text: Unicode normal form (NFKC by default), collapse runs of whitespace into one
    space, strip the ends, lower-case — in that order.

    Without ``columns``: every string or object column (non-text values in an object column are
    left alone). Category columns are normalized when named; categories that become equal merge.
    """

    name = "normalize_text"
    code_dependencies: ClassVar[tuple[str, ...]] = DEPENDENCIES

    class Params(StageParams):
        columns: ColumnList | None = None
        lower: bool = True
        strip: bool = True
        unicode_form: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = "NFKC"
        collapse_whitespace: bool = True

    def apply(self, df: Any, params: Any) -> StepResult:
        import functools
        import unicodedata

        import numpy as np
        import pandas as pd

        require_columns(df, params.columns, self.name)
        columns = params.columns or [c for c in df.columns if is_text(df[c])]

        @functools.lru_cache(maxsize=1 << 16)
        def tidy(v: Any) -> Any:
            if not isinstance(v, str):
                return v
            if params.unicode_form:
                v = unicodedata.normalize(params.unicode_form, v)
            if params.collapse_whitespace:
                v = _SPACE.sub(" ", v)
            if params.strip:
                v = v.strip()
            return v.lower() if params.lower else v

        out = df.copy(deep=False)
        changed = np.zeros(len(df), dtype=bool)
        for col in columns:
            s = df[col]
            if isinstance(s.dtype, pd.CategoricalDtype):
                mapping = {c: tidy(c) for c in s.cat.categories}
                values = pd.Categorical(
                    s.astype(object).map(mapping),
                    categories=list(dict.fromkeys(mapping.values())),
                    ordered=s.cat.ordered,
                )
                new = pd.Series(values, index=s.index, name=s.name)
            elif is_text(s):
                tidied = [tidy(v) if isinstance(v, str) else v for v in s.to_numpy(dtype=object)]
                new = pd.Series(tidied, index=s.index, name=s.name, dtype=object)
                new = new if s.dtype == object else new.astype(s.dtype)
            else:
                raise wrong_column_type(
                    self.name, col, s, "text", "remove it from columns, or cast it to str first"
                )
            difference = cells_differ(s.astype(object), new.astype(object))
            if difference.any():
                out[col] = new
                changed |= difference
        return StepResult(out, int(changed.sum()), f"columns: {', '.join(map(str, columns))}")
