"""Built-in loaders: scikit-learn datasets, CSV / parquet / JSON-lines files, a user callable.

File loaders accept a glob (``data/*.csv``): every match is read in sorted order and concatenated,
so monthly exports need no glue code; each matched file is hashed into the cache key. Whatever is
wrong with a file (missing, not text, not the declared format, unreadable) becomes a one-screen
error naming the file and the fix, never a traceback. pandas is imported only inside methods.
"""

from __future__ import annotations

import abc
import codecs
import glob
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from pydantic import Field, field_validator

from mlspec.errors import Problem, SpecError, choices_hint, did_you_mean
from mlspec.stages.builtin.load import (
    LOC,
    SKLEARN_DATASETS,
    display_path,
    require_columns,
    resolve_path,
)
from mlspec.stages.loaders.api import CommonOptions, Loader, LoaderOptions

Log = Callable[[str], None]
LOC_T = ("_target_",)
PATH_FIX = "check the path in data.source.path (relative paths start at the project root)"


class SklearnOptions(LoaderOptions):
    name: str = Field(description="a bundled scikit-learn dataset, e.g. breast_cancer")

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in SKLEARN_DATASETS:
            raise ValueError(
                f"unknown scikit-learn dataset '{name}'; " + choices_hint(name, SKLEARN_DATASETS)
            )
        return name


class SklearnLoader(Loader):
    """The toy datasets bundled with scikit-learn: features plus a column named ``target``."""

    kind = "sklearn"
    Options = SklearnOptions
    libraries = ("scikit-learn",)

    def load(self, options: Any, common: CommonOptions, project_root: Path, log: Log) -> Any:
        from sklearn import datasets

        return getattr(datasets, f"load_{options.name}")(as_frame=True).frame


# -- files ---------------------------------------------------------------------------------------


class FileOptions(LoaderOptions):
    path: str = Field(description="the file to read, or a glob such as data/*.csv")
    source_column: str | None = Field(None, description="add each row's file path as this column")


def match_files(path: str, project_root: Path) -> list[Path]:
    """The files ``path`` names: itself (existing or not), or a glob's matches in sorted order."""
    if not glob.has_magic(path):
        return [resolve_path(path, project_root)]
    pattern = str(Path(path).expanduser())
    if Path(pattern).is_absolute():
        found = [Path(p) for p in glob.glob(pattern, recursive=True)]
    else:
        rel = glob.glob(pattern, root_dir=project_root, recursive=True)
        found = [project_root / p for p in rel]
    return sorted((p for p in found if p.is_file()), key=lambda p: display_path(p, project_root))


def missing_file_problem(path: str, project_root: Path, loc: tuple[str, ...]) -> Problem | None:
    """The problem with ``path`` when it names no file (locs relative to data.source)."""
    if glob.has_magic(path):
        if match_files(path, project_root):
            return None
        message = f"no file matches '{path}'"
    else:
        target = resolve_path(path, project_root)
        if target.is_file():
            return None
        what = "is a directory, not a file" if target.is_dir() else "does not exist"
        message = f"file '{path}' {what}"
    return Problem(code="missing_file", message=message, loc=loc, fix=PATH_FIX)


def unreadable(
    path: Path, project_root: Path, kind: str, exc: BaseException, fix: str
) -> SpecError:
    """A file that exists but cannot be read as ``kind``: what is wrong and what to try."""
    name = display_path(path, project_root)
    if isinstance(exc, UnicodeDecodeError):
        reason = (
            f"it is not {exc.encoding} text (byte 0x{exc.object[exc.start]:02x} at offset"
            f" {exc.start}): a binary file, or another encoding"
        )
    elif isinstance(exc, PermissionError):
        reason, fix = "permission denied", "make the file readable by the user running mlspec"
    else:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        reason = lines[0][:300]
    message = f"cannot read '{name}' as {kind}: {reason}"
    return SpecError(Problem("unreadable_file", message, (*LOC, "path"), fix=fix))


class FileLoader(Loader):
    """Shared by the file loaders: glob expansion, hashing, source column, error translation."""

    Options: ClassVar[type[LoaderOptions]] = FileOptions
    fix: ClassVar[str] = "check that the file really is in the format data.source.kind names"

    @classmethod
    def files(cls, options: Any, project_root: Path) -> list[Path]:
        return match_files(options.path, project_root)

    @classmethod
    def check(cls, options: Any, project_root: Path) -> list[Problem]:
        problem = missing_file_problem(options.path, project_root, ("path",))
        return [problem] if problem else []

    @abc.abstractmethod
    def read(self, path: Path, options: Any, common: CommonOptions, log: Log) -> Any:
        """One file as a DataFrame; each file format implements it."""

    def load(self, options: Any, common: CommonOptions, project_root: Path, log: Log) -> Any:
        import pandas as pd

        problem = missing_file_problem(options.path, project_root, (*LOC, "path"))
        if problem:
            raise SpecError(problem)
        frames: list[Any] = []
        errors: tuple[type[BaseException], ...] = (ValueError, OSError, *self._errors())
        for path in match_files(options.path, project_root):
            name = display_path(path, project_root)
            log(f"reading {name}")
            try:
                df = self.read(path, options, common, log)
            except errors as exc:
                raise unreadable(path, project_root, self.kind, exc, self.fix) from exc
            df.columns = [str(c) for c in df.columns]
            if frames and list(df.columns) != list(frames[0].columns):
                log(f"note: {name} has other columns than the first file; missing values are NaN")
            if options.source_column:
                if options.source_column in df.columns:
                    msg = f"source_column '{options.source_column}' is a column of '{name}'"
                    loc, fix = (*LOC, "source_column"), "choose another name for source_column"
                    raise SpecError(Problem("column_exists", msg, loc, fix=fix))
                df[options.source_column] = name
            frames.append(df)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    @classmethod
    def _errors(cls) -> tuple[type[BaseException], ...]:
        return ()


class TextOptions(FileOptions):
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(
                f"unknown encoding '{encoding}'; use e.g. utf-8, latin-1, cp1252"
            ) from None
        return encoding


class CsvOptions(TextOptions):
    sep: str = ","
    header: int | None = Field(0, description="row holding the column names; null for none")
    na_values: list[str] | None = None
    skiprows: int | None = None
    decimal: str = "."
    thousands: str | None = None


class CsvLoader(FileLoader):
    """CSV through pandas' C parser. Named dtypes go to the parser, so ids read as ``str`` keep
    their leading zeros; the header is read first so a misnamed column fails before a full read."""

    kind = "csv"
    Options = CsvOptions
    fix = "check data.source.sep, encoding, header and skiprows against the file"

    def read(self, path: Path, options: Any, common: CommonOptions, log: Log) -> Any:
        import pandas as pd

        # The options are named after read_csv's parameters.
        kw: dict[str, Any] = options.model_dump(exclude={"path", "source_column"})
        if options.header is None:  # columns are positions: the load stage applies the rest
            return pd.read_csv(path, **kw)
        header = pd.read_csv(path, nrows=0, **kw).columns
        require_columns(header, common, f"'{path.name}'")
        usecols = None
        if common.columns is not None:
            usecols = list(dict.fromkeys([*common.columns, *common.dtypes, *common.parse_dates]))
        pushed: dict[str, Any] = {"usecols": usecols, "parse_dates": common.parse_dates or None}
        if not common.dtypes:
            return pd.read_csv(path, **pushed, **kw)
        try:
            return pd.read_csv(path, dtype=dict(common.dtypes), **pushed, **kw)
        except pd.errors.ParserError:
            raise
        except (ValueError, TypeError, OverflowError):
            # pandas does not say which column misfits: read untyped and let the load stage
            # convert column by column, which names it.
            log("note: dtypes did not apply while parsing; converting column by column")
            return pd.read_csv(path, **pushed, **kw)


class ParquetLoader(FileLoader):
    """Parquet through pyarrow; ``columns`` is pushed down so other columns are never read."""

    kind = "parquet"
    fix = "check that the file is a complete parquet file (not truncated, not CSV)"

    def read(self, path: Path, options: Any, common: CommonOptions, log: Log) -> Any:
        import pandas as pd
        import pyarrow.parquet as pq

        if common.columns is None:
            return pd.read_parquet(path)
        require_columns(pq.read_schema(path).names, common, f"'{path.name}'")
        wanted = [*common.columns, *common.dtypes, *common.parse_dates]
        return pd.read_parquet(path, columns=list(dict.fromkeys(wanted)))

    @classmethod
    def _errors(cls) -> tuple[type[BaseException], ...]:
        import pyarrow

        return (pyarrow.ArrowException,)


class JsonLinesLoader(FileLoader):
    """One JSON object per line, read with no guessing (``dtype=False``): pandas' default would
    turn "01234" into 1234 and any column named like a date into timestamps. The load stage then
    applies data.source.dtypes and parse_dates."""

    kind = "jsonl"
    Options = TextOptions
    fix = 'each line must be one JSON object ({"col": value, ...}); check data.source.encoding'

    def read(self, path: Path, options: Any, common: CommonOptions, log: Log) -> Any:
        import pandas as pd

        return pd.read_json(path, lines=True, encoding=options.encoding, dtype=False)


# -- callable ------------------------------------------------------------------------------------


class CallableOptions(LoaderOptions):
    target: str = Field(alias="_target_", description="function returning a DataFrame: pkg.mod.fn")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments to it")


class CallableLoader(Loader):
    """Any importable function returning a DataFrame. Its module's source enters the cache key,
    so editing the function reruns the load (and downstream only if the data changed)."""

    kind = "callable"
    Options = CallableOptions

    @classmethod
    def code_objects(cls, options: Any) -> tuple[type | ModuleType, ...]:
        found = resolve_target(options)
        return (found[0],) if isinstance(found, tuple) else ()  # else check() reports it

    @classmethod
    def check(cls, options: Any, project_root: Path) -> list[Problem]:
        found = resolve_target(options)
        return [found] if isinstance(found, Problem) else []

    def load(self, options: Any, common: CommonOptions, project_root: Path, log: Log) -> Any:
        import pandas as pd

        found = resolve_target(options)
        if isinstance(found, Problem):
            raise SpecError(Problem(found.code, found.message, (*LOC, *found.loc), fix=found.fix))
        log(f"calling {options.target}")
        df = found[1](**options.kwargs)
        if not isinstance(df, pd.DataFrame):
            raise SpecError(
                Problem(
                    code="not_a_dataframe",
                    message=f"'{options.target}' returned {type(df).__name__}, not a DataFrame",
                    loc=(*LOC, "_target_"),
                    fix="make the function return a pandas DataFrame",
                )
            )
        return df


def resolve_target(options: Any) -> tuple[ModuleType, Callable[..., Any]] | Problem:
    """(module, function) for ``pkg.mod.fn`` or ``pkg.mod:fn``, checked against ``kwargs``;
    else the Problem, loc relative to data.source."""
    target = options.target
    mod_name, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    importable = "make it importable (install your package, or add its folder to PYTHONPATH)"
    if not mod_name or not attr:
        msg = f"'{target}' is not a dotted path like pkg.module.func"
        return Problem("unknown_target", msg, LOC_T, fix=importable)
    try:
        module = importlib.import_module(mod_name)
    except Exception as exc:  # not found, or the user's module raised while importing
        missing = getattr(exc, "name", None)
        if isinstance(exc, ImportError) and missing and f"{mod_name}.".startswith(f"{missing}."):
            msg = f"cannot import module '{mod_name}' (no module named '{missing}')"
        else:
            msg = f"importing module '{mod_name}' failed: {type(exc).__name__}: {exc}"
        return Problem("unknown_target", msg, LOC_T, fix=importable)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = did_you_mean(part, [n for n in dir(obj) if not n.startswith("_")])
            fix = f"{hint or ''} check the name in data.source._target_".strip()
            return Problem(
                "unknown_target", f"'{mod_name}' has no attribute '{attr}'", LOC_T, fix=fix
            )
        obj = getattr(obj, part)
    if not callable(obj):
        return Problem("unknown_target", f"'{target}' is not callable", LOC_T)
    try:  # wrong kwargs are a spec error found before the call, not a TypeError inside it
        inspect.signature(obj).bind(**options.kwargs)
    except TypeError as exc:
        msg = f"'{target}' cannot be called with these kwargs: {exc}"
        return Problem("bad_kwargs", msg, ("kwargs",), fix=f"match the parameters of {target}")
    except ValueError:  # no introspectable signature: let the call decide
        pass
    return module, obj
