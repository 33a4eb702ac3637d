"""load: read the raw table from a bundled scikit-learn dataset, a CSV file or a parquet file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.api import Stage, StageContext, StageParams

SKLEARN_DATASETS = ("breast_cancer", "diabetes", "wine", "iris", "digits")

# Where these params live in the spec: errors point the user there.
LOC: tuple[str, ...] = ("data", "source")


class LoadParams(StageParams):
    """``data.source`` in the spec."""

    kind: Literal["sklearn", "csv", "parquet"]
    name: str | None = Field(None, description="scikit-learn dataset (kind: sklearn)")
    path: str | None = Field(None, description="file path, relative to the project root")
    columns: list[str] | None = Field(None, description="keep only these columns")
    dtypes: dict[str, str] = Field(default_factory=dict, description="column -> pandas dtype")
    parse_dates: list[str] = Field(default_factory=list)
    sep: str = ","

    @model_validator(mode="after")
    def _kind_needs(self) -> LoadParams:
        if self.kind == "sklearn":
            if self.name is None:
                raise ValueError(
                    "kind 'sklearn' needs 'name' (one of: " + ", ".join(SKLEARN_DATASETS) + ")"
                )
            if self.name not in SKLEARN_DATASETS:
                from mlspec.errors import choices_hint

                raise ValueError(
                    f"unknown scikit-learn dataset '{self.name}'; "
                    + choices_hint(self.name, SKLEARN_DATASETS)
                )
        elif self.path is None:
            raise ValueError(f"kind '{self.kind}' needs 'path' (the file to read)")
        return self


class LoadStage(Stage):
    name = "load"
    version = "1"
    Params = LoadParams
    inputs = ()
    outputs = {"data": "frame"}
    libraries = ("pandas", "pyarrow", "scikit-learn")

    @classmethod
    def external_files(cls, params: LoadParams, project_root: Path) -> dict[str, Path]:  # type: ignore[override]
        if params.kind == "sklearn" or params.path is None:
            return {}
        return {"source": resolve_path(params.path, project_root)}

    def run(  # type: ignore[override]
        self, params: LoadParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        _check_dtype_names(params.dtypes)
        if params.kind == "sklearn":
            df = _convert(_load_sklearn(str(params.name)), params)
            source = f"sklearn dataset '{params.name}'"
        else:
            path = resolve_path(str(params.path), ctx.project_root)
            if not path.exists():
                raise SpecError(
                    Problem(
                        code="missing_file",
                        message=f"data file '{path}' does not exist",
                        loc=(*LOC, "path"),
                        fix="check data.source.path (relative paths start at the project root)",
                    )
                )
            df = _read_csv(path, params) if params.kind == "csv" else _read_parquet(path, params)
            source = str(path)
        df.columns = [str(c) for c in df.columns]
        if params.columns is not None:
            _require_columns(df, params.columns, (*LOC, "columns"))
            df = df[list(params.columns)]
        df = df.reset_index(drop=True)
        ctx.log(f"loaded {len(df)} rows x {df.shape[1]} columns from {source}")
        return {"data": df}


def resolve_path(path: str, project_root: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (project_root / p)


def _load_sklearn(name: str) -> Any:
    from sklearn import datasets

    # ``frame`` holds the features plus a column named "target".
    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _read_csv(path: Path, params: LoadParams) -> Any:
    import pandas as pd

    # The header alone tells which named columns are missing, before paying for a full read.
    header = _read(path, lambda: pd.read_csv(path, sep=params.sep, nrows=0)).columns
    _require_columns(header, params.dtypes, (*LOC, "dtypes"))
    _require_columns(header, params.parse_dates, (*LOC, "parse_dates"))
    if not params.dtypes:
        return _read(
            path, lambda: pd.read_csv(path, sep=params.sep, parse_dates=params.parse_dates)
        )
    try:
        # dtypes go to the parser (not astype afterwards) so "01234" read as str keeps its zero.
        return _read(
            path,
            lambda: pd.read_csv(
                path, sep=params.sep, dtype=dict(params.dtypes), parse_dates=params.parse_dates
            ),
        )
    except (ValueError, TypeError) as exc:
        # pandas does not say which column failed its dtype: convert one by one to find it.
        raw = _read(path, lambda: pd.read_csv(path, sep=params.sep))
        raw.columns = [str(c) for c in raw.columns]
        _apply_dtypes(raw, params.dtypes)
        raise DataError(
            Problem(code="bad_dtype", message=f"cannot apply data.source.dtypes: {exc}", loc=LOC)
        ) from exc


def _read_parquet(path: Path, params: LoadParams) -> Any:
    import pandas as pd

    return _convert(_read(path, lambda: pd.read_parquet(path), also=(ValueError,)), params)


def _convert(df: Any, params: LoadParams) -> Any:
    """Apply dtypes and date parsing after the fact (sources without a text parser)."""
    import pandas as pd

    df.columns = [str(c) for c in df.columns]
    _require_columns(df, params.dtypes, (*LOC, "dtypes"))
    _require_columns(df, params.parse_dates, (*LOC, "parse_dates"))
    df = _apply_dtypes(df, params.dtypes)
    for col in params.parse_dates:
        try:
            df[col] = pd.to_datetime(df[col])
        except (ValueError, TypeError) as exc:
            raise DataError(
                Problem(
                    code="bad_dtype",
                    message=f"column '{col}' cannot be parsed as dates: {exc}",
                    loc=(col,),
                    fix=f"fix the values or remove '{col}' from data.source.parse_dates",
                )
            ) from exc
    return df


def _read(path: Path, read: Callable[[], Any], also: tuple[type[Exception], ...] = ()) -> Any:
    """Call ``read``; a malformed or unreadable file becomes a DataError naming the file."""
    import pandas as pd

    kinds = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, *also)
    try:
        return read()
    except kinds as exc:
        raise DataError(
            Problem(
                code="unreadable_file",
                message=f"cannot read '{path}': {exc}",
                loc=(*LOC, "path"),
                fix="check the file's format against data.source.kind and data.source.sep",
            )
        ) from exc


def _apply_dtypes(df: Any, dtypes: Mapping[str, str]) -> Any:
    for col, dtype in dtypes.items():
        try:
            df[col] = df[col].astype(dtype)
        except (ValueError, TypeError) as exc:
            raise DataError(
                Problem(
                    code="bad_dtype",
                    message=f"column '{col}' cannot be converted to {dtype}: {exc}",
                    loc=(col,),
                    fix=f"fix the values or change data.source.dtypes.{col}",
                )
            ) from exc
    return df


def _check_dtype_names(dtypes: Mapping[str, str]) -> None:
    """Reject a misspelt dtype as a spec error before reading anything."""
    if not dtypes:
        return
    from pandas.api.types import pandas_dtype

    for col, dtype in dtypes.items():
        try:
            pandas_dtype(dtype)
        except TypeError as exc:
            raise SpecError(
                Problem(
                    code="bad_dtype",
                    message=f"unknown dtype '{dtype}' for column '{col}'",
                    loc=(*LOC, "dtypes", col),
                    fix="use a pandas dtype such as int64, float64, str, category, bool",
                )
            ) from exc


def _require_columns(present: Any, wanted: Any, loc: tuple[str, ...]) -> None:
    have = [str(c) for c in getattr(present, "columns", present)]
    missing = [c for c in wanted if c not in set(have)]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise DataError(
            Problem(
                code="missing_column",
                message=f"column(s) {names} not in the data",
                loc=loc,
                fix="columns present: " + ", ".join(have),
            )
        )
