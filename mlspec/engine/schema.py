"""Infer a pandera schema from a data file: the starting point for ``data.schema``.

Behind ``mlspec schema infer``. The YAML is pandera's own io format (``DataFrameSchema.to_yaml``)
so that the validate stage, and pandera itself, load it with ``DataFrameSchema.from_yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlspec.errors import Problem, SpecError
from mlspec.store.objects import atomic_write

# Compression suffixes pandas handles by itself: the format is the suffix before them.
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")
_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

HEADER = """\
# pandera schema inferred by `mlspec schema infer` from {source} ({rows} rows).
# A starting point: review it before relying on it.
# - dtype and nullable are as observed; numeric columns carry the observed min/max as
#   greater_than_or_equal_to / less_than_or_equal_to checks: widen them to the real limits.
# - every column has coerce: true, so a value of the wrong type (e.g. "abc" in a float column)
#   fails coercion for its row only: a row-level failure that data.on_invalid: quarantine can
#   set aside, instead of failing the whole column's dtype.
"""


def data_format(path: Path) -> str:
    """csv, parquet or jsonl, from the file name (a compression suffix is looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise SpecError(
            Problem(
                code="unknown_format",
                message=f"cannot tell the format of '{path}' from its name",
                file=str(path),
                fix="name the file *.csv, *.tsv, *.parquet or *.jsonl",
            )
        )
    return fmt


def read_table(path: Path, *, sep: str | None = None, rows: int | None = None) -> Any:
    """The file as a DataFrame (the first ``rows`` rows when given); SpecError if it cannot be."""
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise SpecError(
            Problem(
                code="missing_file",
                message=f"data file '{path}' {what}",
                file=str(path),
                fix="give the path of a CSV, Parquet or JSON-lines file (relative to the"
                " current directory)",
            )
        )
    fmt = data_format(path)
    import pandas as pd

    try:
        if fmt == "csv":
            if sep is None:
                sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
            df = pd.read_csv(path, sep=sep, nrows=rows)
        elif fmt == "parquet":
            df = pd.read_parquet(path)
            df = df if rows is None else df.head(rows)
        else:
            df = pd.read_json(path, lines=True, nrows=rows)
    except Exception as exc:  # parser, encoding, permission and pyarrow errors alike
        hint = " (--sep for another delimiter)" if fmt == "csv" else ""
        raise SpecError(
            Problem(
                code="unreadable_data",
                message=f"cannot read '{path}' as {fmt}: {type(exc).__name__}: {exc}",
                file=str(path),
                fix=f"check that the file is valid {fmt}{hint}",
            )
        ) from exc
    if len(df) == 0 or df.shape[1] == 0:
        raise SpecError(
            Problem(
                code="empty_data",
                message=f"'{path}' has no rows to infer a schema from",
                file=str(path),
                fix="infer from a file with data in it",
            )
        )
    return df


def infer_schema_yaml(
    path: Path, *, sep: str | None = None, rows: int | None = None, source: str | None = None
) -> str:
    """A commented pandera YAML schema for the data in ``path`` (see HEADER for the choices)."""
    df = read_table(path, sep=sep, rows=rows)
    import pandera.pandas as pa

    try:
        schema: Any = pa.infer_schema(df)
        schema = schema.update_columns({name: {"coerce": True} for name in schema.columns})
        body = schema.to_yaml()
    except Exception as exc:  # e.g. a column pandera cannot describe
        raise SpecError(
            Problem(
                code="cannot_infer",
                message=f"pandera cannot infer a schema: {type(exc).__name__}: {exc}",
                file=str(path),
                fix="infer from fewer columns (e.g. a copy without the column named) or write"
                " the schema by hand",
            )
        ) from exc
    return HEADER.format(source=source or path.name, rows=len(df)) + str(body)


def write_new_file(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path``; an existing file is replaced only when ``force``."""
    ensure_writable(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The store's write: temp file in the same directory, fsync, rename; never half a schema.
    atomic_write(path, text.encode("utf-8"), path.parent)


def ensure_writable(path: Path, *, force: bool = False) -> None:
    """SpecError when ``path`` exists (and ``force`` is off) or is a directory."""
    if path.is_dir():
        raise SpecError(
            Problem(
                code="is_directory",
                message=f"output '{path}' is a directory",
                file=str(path),
                fix="give a file name, e.g. -o schemas/data.yaml",
            )
        )
    if path.exists() and not force:
        raise SpecError(
            Problem(
                code="file_exists",
                message=f"'{path}' already exists; not overwriting it",
                file=str(path),
                fix="pass --force to replace it, or choose another file with -o",
            )
        )
