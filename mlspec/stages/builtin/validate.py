"""validate: check the table against a pandera schema (a pandera YAML file or inline columns)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.builtin.load import resolve_path

# Inline check names map onto pandera.Check constructors of the same name.
CHECK_NAMES = (
    "ge",
    "gt",
    "le",
    "lt",
    "eq",
    "ne",
    "isin",
    "notin",
    "in_range",
    "str_matches",
    "str_contains",
    "str_startswith",
    "str_endswith",
    "str_length",
    "unique_values_eq",
)


class ColumnSchema(StageParams):
    dtype: str | None = None
    nullable: bool = False
    required: bool = True
    unique: bool = False
    coerce: bool = False
    checks: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_checks(self) -> ColumnSchema:
        from mlspec.errors import choices_hint

        for name in self.checks:
            if name not in CHECK_NAMES:
                raise ValueError(f"unknown check '{name}'; " + choices_hint(name, CHECK_NAMES))
        return self


class ValidateParams(StageParams):
    """Built from ``data.schema``, ``data.on_invalid`` and ``data.target``."""

    schema_file: str | None = None  # a pandera YAML schema (pandera's own io format)
    columns: dict[str, ColumnSchema] | None = None  # inline columns
    strict: bool = False  # reject columns the schema does not name
    on_invalid: Literal["fail", "warn"] = "fail"
    target: str

    @model_validator(mode="after")
    def _one_schema(self) -> ValidateParams:
        if self.schema_file is not None and self.columns is not None:
            raise ValueError("give either a schema file or inline columns, not both")
        return self


class ValidateStage(Stage):
    name = "validate"
    version = "1"
    Params = ValidateParams
    inputs = ("data",)
    outputs = {"data": "frame", "report": "json"}
    libraries = ("pandas", "pandera")

    @classmethod
    def external_files(cls, params: ValidateParams, project_root: Path) -> dict[str, Path]:  # type: ignore[override]
        if params.schema_file is None:
            return {}
        return {"schema": resolve_path(params.schema_file, project_root)}

    @classmethod
    def check(cls, params: ValidateParams, project_root: Path) -> list[Problem]:  # type: ignore[override]
        """Build the schema (file or inline) before anything runs: bad dtypes, unreadable YAML."""
        try:
            _build_schema(params, project_root, _pandera())
        except SpecError as exc:
            return [
                Problem(p.code, p.message, _params_loc(p.loc), p.file, p.fix) for p in exc.problems
            ]
        return []

    def run(  # type: ignore[override]
        self, params: ValidateParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        df = inputs["data"]
        if params.target not in df.columns:
            # Fatal even with on_invalid: warn, since nothing downstream can work without it.
            raise DataError(
                Problem(
                    code="missing_column",
                    message=f"target column '{params.target}' is not in the data",
                    loc=("data", "target"),
                    fix="columns present: " + ", ".join(map(str, df.columns)),
                )
            )
        pa = _pandera()
        from pandera.errors import SchemaErrors

        schema = _build_schema(params, ctx.project_root, pa)
        where = params.schema_file or "data.schema"
        try:
            out = schema.validate(df, lazy=True)
            failures: list[dict[str, Any]] = []
        except SchemaErrors as err:
            failures = _failures(err.failure_cases)
            if params.on_invalid == "fail":
                raise DataError([_problem(f, where, df) for f in failures]) from None
            summary = "; ".join(f"{f['column']}: {f['check']} x{f['count']}" for f in failures)
            ctx.log(f"warning: data does not match the schema ({summary}); passing it through")
            out = df
        report = {
            "rows": len(out),
            "columns": int(out.shape[1]),
            "failures": failures,
            "valid": not failures,
        }
        return {"data": out.reset_index(drop=True), "report": report}


def _params_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Spec-rooted locations from _build_schema, made relative to ValidateParams for check()."""
    rest = loc[2:] if loc[:2] == ("data", "schema") else loc
    return rest if rest[:1] == ("columns",) else ("schema_file", *rest)


def _pandera() -> Any:
    import importlib

    try:
        return importlib.import_module("pandera.pandas")  # pandera >= 0.24: the pandas API
    except ImportError:  # pragma: no cover - older pandera
        return importlib.import_module("pandera")


def _build_schema(params: ValidateParams, project_root: Path, pa: Any) -> Any:
    if params.schema_file is not None:
        path = resolve_path(params.schema_file, project_root)
        if not path.is_file():
            # from_yaml would read a missing path as YAML text and fail obscurely.
            raise SpecError(
                Problem(
                    code="missing_file",
                    message=f"schema file '{path}' does not exist",
                    loc=("data", "schema"),
                    fix="check data.schema (relative paths start at the project root)",
                )
            )
        try:
            schema = pa.DataFrameSchema.from_yaml(path)
        except Exception as exc:  # yaml, pandera and dtype errors all mean "bad file"
            raise SpecError(
                Problem(
                    code="bad_schema",
                    message=f"cannot load the pandera schema: {type(exc).__name__}: {exc}",
                    loc=("data", "schema"),
                    file=str(path),
                    fix="write the file in pandera's YAML format (DataFrameSchema.to_yaml)",
                )
            ) from exc
    elif params.columns is not None:
        columns = {name: _column(pa, name, col) for name, col in params.columns.items()}
        schema = pa.DataFrameSchema(columns, strict=params.strict)
    else:
        schema = pa.DataFrameSchema({params.target: pa.Column(nullable=False)})
    if params.target not in schema.columns:
        schema = schema.add_columns({params.target: pa.Column(required=True, nullable=True)})
    return schema


# Checks whose one argument is a collection: a YAML list is that argument, not *args.
_COLLECTION_CHECKS = ("isin", "notin", "unique_values_eq")


def _column(pa: Any, name: str, col: ColumnSchema) -> Any:
    checks = []
    for check, value in col.checks.items():
        loc = ("data", "schema", "columns", name, "checks", check)
        factory = getattr(pa.Check, check)
        try:
            if isinstance(value, dict):
                checks.append(factory(**value))
            elif isinstance(value, list) and check not in _COLLECTION_CHECKS:
                checks.append(factory(*value))
            else:
                checks.append(factory(value))
        except (TypeError, ValueError) as exc:
            raise SpecError(
                Problem(code="bad_check", message=f"check '{check}': {exc}", loc=loc)
            ) from exc
    try:
        return pa.Column(
            col.dtype,
            checks=checks,
            nullable=col.nullable,
            required=col.required,
            unique=col.unique,
            coerce=col.coerce,
            name=name,
        )
    except TypeError as exc:  # an unknown dtype string
        raise SpecError(
            Problem(
                code="bad_dtype",
                message=f"column '{name}': {exc}",
                loc=("data", "schema", "columns", name, "dtype"),
                fix="use a pandas dtype such as int64, float64, str, category, bool",
            )
        ) from exc


# Frame-level checks report the column name as the failure case, not in the column field.
_COLUMN_LEVEL = ("column_in_dataframe", "column_in_schema")


def _failures(cases: Any) -> list[dict[str, Any]]:
    """Failure counts and up to 5 sample values per (column, check), in pandera's order."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for column, check, value in zip(
        cases["column"], cases["check"], cases["failure_case"], strict=True
    ):
        check = str(check)
        if check in _COLUMN_LEVEL or _jsonable(column) is None:
            column, value = (value, None) if check in _COLUMN_LEVEL else ("<frame>", value)
        entry = groups.setdefault(
            (str(column), check), {"column": str(column), "check": check, "count": 0, "samples": []}
        )
        entry["count"] += 1
        value = _jsonable(value)
        if value is not None and len(entry["samples"]) < 5:
            entry["samples"].append(value)
    return list(groups.values())


def _jsonable(value: Any) -> Any:
    """A plain JSON value: numpy scalars unwrapped, NaN as null, anything else as text."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _problem(failure: dict[str, Any], where: str, df: Any) -> Problem:
    column, check, count = failure["column"], failure["check"], failure["count"]
    fix = f"fix the data or relax the schema in {where}"
    actual = str(df[column].dtype) if column in df.columns else None
    if check == "column_in_dataframe":
        message = "required column is missing from the data"
        fix = "columns present: " + ", ".join(map(str, df.columns)) + f"; or relax {where}"
    elif check == "column_in_schema":
        message = "column is not in the schema, which is strict"
        fix = f"drop the column, add it to the schema or set strict: false in {where}"
    elif check.startswith("dtype(") and failure["samples"] == [actual]:
        # A whole-column dtype mismatch reports the column's dtype as its one failure case.
        message = f"dtype is {failure['samples'][0]} but the schema expects {check[6:-1]}"
        fix = f"convert the column (coerce: true, or data.source.dtypes) or change {where}"
    else:
        samples = ", ".join(str(v) for v in failure["samples"])
        rows = "row" if count == 1 else "rows"
        message = f"check '{check}' failed for {count} {rows}" + (
            f" (samples: {samples})" if samples else ""
        )
    return Problem(code="schema_check", message=message, loc=(column,), fix=fix)
