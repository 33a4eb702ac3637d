"""validate: check the table against a pandera schema (a pandera YAML file or inline columns).

Validation is lazy and reports every failure: a count and up to five sample values per (column,
check) in the report, one log line each, and one Problem each when the policy is ``fail``. Under
``quarantine`` rows failing a row-level check leave the data for the ``quarantine`` output, with
their original values and a ``_mlspec_reason`` column naming the checks they failed; the rest are
validated again, so the data output satisfies the schema. Failures no row can be blamed for (a
missing column, a wrong dtype without coerce) stop the run under every policy but ``warn``.
Accounting: ``rows_in == rows_valid + rows_quarantined`` (rows_valid: the rows that go on).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem, SpecError
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.builtin._quarantine import COLUMN_LEVEL, Outcome, analyse, failure_table
from mlspec.stages.builtin.load import resolve_path

REASON = "_mlspec_reason"  # the quarantine frame's extra column: every check the row failed

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
    on_invalid: Literal["fail", "quarantine", "warn"] = "fail"
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
    outputs = {"data": "frame", "report": "json", "quarantine": "frame"}
    libraries = ("pandas", "pandera")
    code_dependencies = ("mlspec.stages.builtin._quarantine",)

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
        schema = _build_schema(params, ctx.project_root, _pandera())
        where = params.schema_file or "data.schema"
        found = analyse(schema, df)
        policy = params.on_invalid
        failing = found.failing_rows
        if found.failures:
            _log_failures(ctx, policy, found, len(df))
        unpinned = {_key(f) for f in found.schema_level}
        if found.failures and policy == "fail":
            raise DataError(
                [_problem(f, where, df, rows=_key(f) not in unpinned) for f in found.failures]
            )
        if found.schema_level and policy == "quarantine":
            raise DataError(
                [_unquarantinable(f, where, df, schema) for f in found.schema_level]
                + [_problem(f, where, df) for f in found.failures if _key(f) not in unpinned]
            )
        import pandas as pd

        reason = pd.Series(dtype="string", name=REASON)
        if policy == "quarantine" and failing:
            reason = pd.Series([found.reasons[p] for p in failing], dtype="string")
            quarantine = df.iloc[failing].reset_index(drop=True).assign(**{REASON: reason})
        else:
            # Nothing is quarantined: the artifact still exists, empty, with the same columns.
            quarantine = df.iloc[0:0].reset_index(drop=True).assign(**{REASON: reason})
        # Under warn every row goes on unchanged; otherwise the rows that passed, as validated.
        out = df if policy == "warn" and found.failures else found.validated
        if out is not df and _unchanged(out, df):
            out = df  # the same object lets the runner reuse the input's artifact (no re-encode)
        report = {
            "rows": len(out),
            "columns": int(out.shape[1]),
            "failures": found.failures,
            "valid": not found.failures,
            "on_invalid": policy,
            "rows_in": len(df),
            "rows_valid": len(out),
            "rows_quarantined": len(quarantine),
            "rows_failing": len(failing),  # under warn these went on with the valid ones
        }
        if out is not df:
            out = out.reset_index(drop=True)
        return {"data": out, "report": report, "quarantine": quarantine}


def _unchanged(out: Any, df: Any) -> bool:
    """Validation changed nothing (no rows dropped, nothing coerced), index included."""
    return (
        len(out) == len(df)
        and list(out.columns) == list(df.columns)
        and out.index.equals(df.index)
        and bool(out.equals(df))
    )


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


def _n(rows: int) -> str:
    return f"{rows} row" + ("" if rows == 1 else "s")


def _key(failure: dict[str, Any]) -> tuple[str, str]:
    return failure["column"], failure["check"]


def _log_failures(ctx: StageContext, policy: str, found: Outcome, rows_in: int) -> None:
    """The failures as a table, one ``ctx.log`` line per (column, check) under a headline."""
    failing = len(found.failing_rows)
    rows = f"{failing} of {rows_in} rows fail" if failing else "the data fails"
    checks = f"{len(found.failures)} schema check" + ("" if len(found.failures) == 1 else "s")
    if policy == "warn":
        head = f"warning: {rows} {checks}; passing every row through (on_invalid: warn)"
    elif policy == "quarantine" and not found.schema_level:
        head = f"{rows} {checks}; quarantined {_n(failing)}, {rows_in - failing} go on"
    else:
        head = f"{rows} {checks}"
    ctx.log(head)
    for line in failure_table(found.failures):
        ctx.log(line)


def _problem(failure: dict[str, Any], where: str, df: Any, rows: bool = False) -> Problem:
    """One (column, check); ``rows``: its failing rows could be quarantined instead."""
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
    elif _crashed(failure):
        message = f"check '{check}' could not run on the column: {failure['samples'][0]}"
        fix = f"give the column a dtype with coerce: true in {where}, or fix its values"
    else:
        samples = ", ".join(str(v) for v in failure["samples"])
        message = f"check '{check}' failed for {_n(count)}" + (
            f" (samples: {samples})" if samples else ""
        )
        if rows:
            fix += "; or set data.on_invalid: quarantine to set the failing rows aside"
    return Problem(code="schema_check", message=message, loc=(column,), fix=fix)


def _crashed(failure: dict[str, Any]) -> bool:
    """A check that raised (e.g. comparing strings with a number) reports the exception."""
    import re

    samples = failure["samples"]
    return len(samples) == 1 and bool(re.match(r"[A-Za-z]*(Error|Exception)\(", str(samples[0])))


def _unquarantinable(failure: dict[str, Any], where: str, df: Any, schema: Any) -> Problem:
    """A schema-level failure under on_invalid: quarantine: no rows to set aside, so it is fatal."""
    base = _problem(failure, where, df)
    column, check = failure["column"], failure["check"]
    message = base.message + " - this cannot be quarantined: it is not about particular rows"
    if check in COLUMN_LEVEL:
        fix = base.fix
    elif column in df.columns and (check.startswith("dtype(") or _crashed(failure)):
        wanted = getattr(schema.columns.get(column), "dtype", None)
        fix = (
            f"add coerce: true to column '{column}' in {where}, so values that do not convert"
            f" to {wanted or 'its dtype'} become row-level failures and are quarantined;"
            " or convert the column before validation (data.source.dtypes)"
        )
    else:
        fix = f"{base.fix} (only checks that fail for particular rows can be quarantined)"
    return Problem(code="schema_check", message=message, loc=base.loc, fix=fix)
