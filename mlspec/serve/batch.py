"""Batch scoring: a parquet or CSV file through ``ScoringPipeline`` in chunks, to parquet or CSV.

The whole input is checked before any row is scored (the file exists, its format is known, it
has the model's columns and the id column); then chunks are read, validated, scored and
appended to a temporary file next to the output, which is renamed over the output only when
every chunk succeeded. A failure at any point leaves no output file behind (and an existing one
untouched). Columns the model does not take are ignored, except the id column, which is carried
through as the first output column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem
from mlspec.serve.errors import RequestError
from mlspec.serve.pipeline import ScoringPipeline
from mlspec.serve.schema import csv_float_options, dtype_kind

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
DEFAULT_CHUNK_ROWS = 200_000


@dataclass
class BatchResult:
    rows: int
    chunks: int
    output: Path
    columns: list[str]


def file_format(path: Path, what: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in FORMATS:
            return FORMATS[s]
    raise RequestError(
        Problem(
            "unknown_format",
            f"cannot tell the format of the {what} file '{path}' from its name",
            file=str(path),
            fix="name it *.parquet or *.csv",
        )
    )


def _input_columns(path: Path, fmt: str) -> tuple[list[str], int | None]:
    """(column names, row count if known) without reading the data."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise RequestError(
                Problem(
                    "unreadable_input", f"'{path}' is not a parquet file: {exc}", file=str(path)
                )
            ) from None
        return list(meta.schema_arrow.names), meta.metadata.num_rows
    import pandas as pd

    try:
        header = pd.read_csv(path, nrows=0)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RequestError(
            Problem("unreadable_input", f"'{path}' is not a CSV table: {exc}", file=str(path))
        ) from None
    return [str(c) for c in header.columns], None


def _chunks(
    path: Path, fmt: str, columns: list[str], string_columns: list[str], chunk_rows: int
) -> Iterator[Any]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
        return
    import pandas as pd

    yield from pd.read_csv(
        path,
        usecols=columns,
        chunksize=chunk_rows,
        **csv_float_options(),
        dtype=dict.fromkeys(string_columns, "str"),
    )


class _Writer:
    """Appends chunks to a temporary file; ``commit`` renames it over the output."""

    def __init__(self, output: Path, fmt: str):
        self.output = output
        self.fmt = fmt
        self.tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
        self._parquet: Any = None
        self._csv: Any = None

    def write(self, frame: Any) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table)
        else:
            if self._csv is None:
                self._csv = self.tmp.open("w", newline="", encoding="utf-8")
                frame.to_csv(self._csv, index=False)
            else:
                frame.to_csv(self._csv, index=False, header=False)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._csv is not None:
            self._csv.flush()
            os.fsync(self._csv.fileno())
            self._csv.close()
            self._csv = None

    def commit(self, empty: Any) -> None:
        if self._parquet is None and self._csv is None:
            self.write(empty)  # no rows: still a valid file with the output columns
        self._close()
        os.replace(self.tmp, self.output)

    def abort(self) -> None:
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _in_file(exc: RequestError, path: Path) -> RequestError:
    """A chunk's problems, naming the file (their rows count from 1, after the header)."""
    return RequestError(
        [Problem(p.code, p.message, p.loc, file=str(path), fix=p.fix) for p in exc.problems]
    )


def score_file(
    pipe: ScoringPipeline,
    input_path: Path,
    output_path: Path,
    id_column: str | None = None,
    probabilities: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> BatchResult:
    """Score every row of ``input_path`` into ``output_path`` (all or nothing)."""
    import pandas as pd

    if not input_path.is_file():
        raise RequestError(
            Problem(
                "missing_input",
                f"input file '{input_path}' does not exist",
                file=str(input_path),
                fix="pass the path of a parquet or CSV file",
            )
        )
    in_fmt = file_format(input_path, "input")
    out_fmt = file_format(output_path, "output")
    if output_path.resolve() == input_path.resolve():
        raise RequestError(
            Problem(
                "output_is_input", "the output would overwrite the input", file=str(output_path)
            )
        )
    blocker = _not_a_directory(output_path.parent)
    if blocker is not None:
        raise RequestError(
            Problem(
                "output_dir_is_a_file",
                f"cannot create the output directory '{output_path.parent}': '{blocker}' is a file",
                file=str(output_path),
                fix="choose another output path, or move that file away",
            )
        )
    present, total = _input_columns(input_path, in_fmt)
    names = pipe.column_names
    missing = [c for c in names if c not in present]
    problems = [
        Problem(
            "missing_column",
            f"column '{c}' is missing from {input_path.name}",
            loc=(c,),
            file=str(input_path),
            fix="the model takes: " + ", ".join(names),
        )
        for c in missing
    ]
    if id_column is not None and id_column not in present:
        problems.append(
            Problem(
                "missing_id_column",
                f"id column '{id_column}' is not in {input_path.name}",
                loc=(id_column,),
                file=str(input_path),
                fix="columns present: " + ", ".join(present),
            )
        )
    if problems:
        raise RequestError(problems)
    wanted = list(dict.fromkeys([*([id_column] if id_column else []), *names]))
    strings = [c for c, d in pipe.input_columns if dtype_kind(d) == "s" and d != "category"]
    out_columns = [
        *([id_column] if id_column else []),
        "prediction",
        *(pipe.probability_columns if probabilities and pipe.has_proba else []),
    ]
    created = _make_dirs(output_path.parent)
    done = chunks = 0
    try:
        writer = _Writer(output_path, out_fmt)
    except BaseException:
        _remove_dirs(created)
        raise
    try:
        for chunk in _chunks(input_path, in_fmt, wanted, strings, chunk_rows):
            try:
                scored = pipe.score_frame(chunk[names], probabilities, first_row=done + 1)
            except RequestError as exc:
                raise _in_file(exc, input_path) from None
            if id_column:
                scored.insert(0, id_column, chunk[id_column].to_numpy())
            writer.write(scored.reset_index(drop=True))
            done += len(chunk)
            chunks += 1
            if on_progress is not None:
                on_progress(done, total)
        writer.commit(pd.DataFrame({c: [] for c in out_columns}))
    except BaseException:
        writer.abort()
        _remove_dirs(created)
        raise
    return BatchResult(done, chunks, output_path, out_columns)


def _not_a_directory(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` (itself included) that is not a directory."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents, like ``mkdir -p``; the ones created, outermost
    first, so a failed scoring can remove them again and leave nothing behind."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _remove_dirs(created: list[Path]) -> None:
    for directory in reversed(created):  # innermost first; only if still empty
        try:
            directory.rmdir()
        except OSError:
            break
