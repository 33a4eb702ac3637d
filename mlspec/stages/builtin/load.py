"""load: read the raw table through the loader plugin that ``data.source.kind`` names.

``data.source`` stays flat, as users write it: ``{kind: csv, path: data/x.csv, sep: ";"}``. The
stage owns the options every loader shares (``columns``, ``dtypes``, ``parse_dates``) and applies
them again after loading, so every loader gives the same result whether or not it could push them
into its reader; the rest of ``data.source`` is validated against the loader's own ``Options``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from mlspec.errors import (
    DataError,
    PluginError,
    Problem,
    SpecError,
    StageFailed,
    choices_hint,
    did_you_mean,
)
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.loaders.api import CommonOptions, Loader, LoaderOptions, loader_registry

SKLEARN_DATASETS = ("breast_cancer", "diabetes", "wine", "iris", "digits")

# Where these params live in the spec: errors raised while running point the user there.
LOC: tuple[str, ...] = ("data", "source")
COMMON_KEYS = ("kind", "columns", "dtypes", "parse_dates")


class LoadParams(StageParams):
    """``data.source`` in the spec: the shared options plus the loader's own (kept as extras)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    kind: str = Field(description="the loader: sklearn, csv, parquet, jsonl, sql, callable, ...")
    columns: list[str] | None = Field(None, description="keep only these columns, in this order")
    dtypes: dict[str, str] = Field(default_factory=dict, description="column -> pandas dtype")
    parse_dates: list[str] = Field(default_factory=list, description="columns to parse as dates")
    _options: LoaderOptions | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _known_kind_and_options(self) -> LoadParams:
        # Messages read "what; fix" and name the offending word in quotes, so the config layer
        # can pin them to data.source.<key> and split off the fix.
        registry = loader_registry()
        if self.kind not in registry:
            raise ValueError(
                f"unknown source kind '{self.kind}'; " + choices_hint(self.kind, registry.names())
            )
        try:
            loader = registry.get(self.kind)
        except PluginError as exc:
            problem = exc.problems[0]
            raise ValueError(f"{problem.message}; {problem.fix or ''}".rstrip("; ")) from None
        try:
            self._options = loader.Options.model_validate(self.model_extra or {})
        except ValidationError as exc:
            raise ValueError(_options_message(self.kind, loader, exc)) from None
        return self

    def loader(self) -> type[Loader]:
        return loader_registry().get(self.kind)

    def options(self) -> Any:
        """The loader's validated ``Options`` instance."""
        if self._options is None:  # e.g. built with model_construct
            self._options = self.loader().Options.model_validate(self.model_extra or {})
        return self._options

    def common(self) -> CommonOptions:
        return CommonOptions(
            columns=None if self.columns is None else list(self.columns),
            dtypes=dict(self.dtypes),
            parse_dates=list(self.parse_dates),
        )


def _options_message(kind: str, loader: type[Loader], exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        valid = sorted({*_option_names(loader.Options), *COMMON_KEYS})
        close = did_you_mean(where, valid) or _prefix_hint(where, valid)
        return (
            f"unknown option '{where}' for source kind '{kind}'; "
            + (f"{close} " if close else "")
            + "valid options: "
            + ", ".join(valid)
        )
    if err["type"] == "missing":
        field = loader.Options.model_fields.get(str(err["loc"][0]))
        why = f" ({field.description})" if field is not None and field.description else ""
        return f"source kind '{kind}' needs '{where}'{why}; add it under data.source"
    msg = str(err.get("ctx", {}).get("error", err["msg"])) if err["type"] == "value_error" else ""
    msg = msg or err["msg"]
    return f"option '{where}': {msg}" if where else msg


def _prefix_hint(word: str, valid: list[str]) -> str | None:
    """'seperator' -> 'sep': difflib misses abbreviations, which option names often are."""
    hits = [v for v in valid if len(v) >= 3 and word.lower().startswith(v)]
    return f"did you mean '{max(hits, key=len)}'?" if hits else None


def _option_names(model: type[LoaderOptions]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


class LoadStage(Stage):
    name = "load"
    version = "1"
    Params = LoadParams
    inputs = ()
    outputs = {"data": "frame"}
    libraries = ("pandas", "pyarrow")

    @classmethod
    def libraries_for(cls, params: LoadParams) -> tuple[str, ...]:  # type: ignore[override]
        return (*cls.libraries, *params.loader().libraries)

    @classmethod
    def is_deterministic(cls, params: LoadParams) -> bool:  # type: ignore[override]
        return params.loader().deterministic(params.options())

    @classmethod
    def code_objects(cls, params: LoadParams) -> tuple[type | ModuleType, ...]:  # type: ignore[override]
        loader = params.loader()
        return (loader, *loader.code_objects(params.options()))

    @classmethod
    def external_files(cls, params: LoadParams, project_root: Path) -> dict[str, Path]:  # type: ignore[override]
        # Keyed by the path the user sees, so renaming a file (e.g. inside a glob) changes the key.
        files = params.loader().files(params.options(), project_root)
        return {display_path(p, project_root): p for p in files}

    @classmethod
    def check(cls, params: LoadParams, project_root: Path) -> list[Problem]:  # type: ignore[override]
        problems = list(params.loader().check(params.options(), project_root))
        return problems + _dtype_problems(params.dtypes)

    def run(  # type: ignore[override]
        self, params: LoadParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        import pandas as pd

        bad = _dtype_problems(params.dtypes)
        if bad:
            raise SpecError([Problem(p.code, p.message, (*LOC, *p.loc), fix=p.fix) for p in bad])
        common = params.common()
        df = params.loader()().load(params.options(), common, ctx.project_root, ctx.log)
        if not isinstance(df, pd.DataFrame):
            raise StageFailed(
                Problem(
                    code="bad_loader_output",
                    message=f"loader '{params.kind}' returned {type(df).__name__},"
                    " not a pandas DataFrame",
                    loc=LOC,
                    fix=f"fix the loader registered as '{params.kind}'",
                )
            )
        df = apply_common(df, common)
        ctx.log(f"loaded {len(df)} rows x {df.shape[1]} columns (source kind '{params.kind}')")
        return {"data": df}


def apply_common(df: Any, common: CommonOptions, where: str = "the data") -> Any:
    """Column names as str, named columns present, dtypes, dates, column subset, clean index."""
    import pandas as pd

    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    require_columns(df.columns, common, where)
    for col, dtype in common.dtypes.items():
        try:
            df[col] = df[col].astype(dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                Problem(
                    code="bad_dtype",
                    message=f"column '{col}' cannot be converted to {dtype}: {exc}",
                    loc=(col,),
                    fix=f"fix the values or change data.source.dtypes.{col}",
                )
            ) from exc
    for col in common.parse_dates:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            continue
        try:
            df[col] = pd.to_datetime(df[col])
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                Problem(
                    code="bad_dtype",
                    message=f"column '{col}' cannot be parsed as dates: {exc}",
                    loc=(col,),
                    fix=f"fix the values or remove '{col}' from data.source.parse_dates",
                )
            ) from exc
    if common.columns is not None:
        df = df[list(common.columns)]
    return df.reset_index(drop=True)


def require_columns(present: Iterable[Any], common: CommonOptions, where: str) -> None:
    """A column the spec names but the data lacks is a spec error (exit 2) listing the real ones."""
    have = [str(c) for c in present]
    known = set(have)
    problems = []
    for key, wanted in (
        ("columns", common.columns or []),
        ("dtypes", list(common.dtypes)),
        ("parse_dates", common.parse_dates),
    ):
        missing = [c for c in wanted if c not in known]
        if not missing:
            continue
        names = ", ".join(f"'{c}'" for c in missing)
        hints = [h for h in (did_you_mean(c, have) for c in missing) if h]
        problems.append(
            Problem(
                code="missing_column",
                message=f"column(s) {names} named in data.source.{key} not in {where}",
                loc=(*LOC, key),
                fix=" ".join([*hints, "columns present: " + ", ".join(have)]),
            )
        )
    if problems:
        raise SpecError(problems)


def _dtype_problems(dtypes: Mapping[str, str]) -> list[Problem]:
    """A misspelt dtype is a spec error, found before anything is read."""
    if not dtypes:
        return []
    from pandas.api.types import pandas_dtype

    problems = []
    for col, dtype in dtypes.items():
        try:
            pandas_dtype(dtype)
        except TypeError:
            problems.append(
                Problem(
                    code="bad_dtype",
                    message=f"unknown dtype '{dtype}' for column '{col}'",
                    loc=("dtypes", col),
                    fix="use a pandas dtype such as int64, float64, str, category, bool",
                )
            )
    return problems


def resolve_path(path: str, project_root: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (project_root / p)


def display_path(path: Path, project_root: Path) -> str:
    """``path`` relative to the project root (posix) when it lies inside it, else absolute."""
    try:
        return Path(path).resolve().relative_to(Path(project_root).resolve()).as_posix()
    except ValueError:
        return str(path)
