"""The current data of a monitoring run, from a file: parquet, CSV or JSON lines (globs too).

Only the reading and the checks that need no model happen here (the file exists, it parses, it
has rows); the columns are checked against the model by the scoring pipeline and ``compare``.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from mlspec.errors import Problem
from mlspec.monitor.errors import MonitorInputError

READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl"}


def resolve_paths(text: str, project_root: Path) -> list[Path]:
    pattern = Path(text).expanduser()
    pattern = pattern if pattern.is_absolute() else project_root / pattern
    if any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(str(pattern)))
        if not found:
            raise MonitorInputError(
                Problem(
                    "no_current_data",
                    f"no file matches '{text}'",
                    file=text,
                    fix="check the pattern; it is relative to the current directory",
                )
            )
        return found
    if not pattern.is_file():
        hint = ""
        if pattern.parent.is_dir():
            here = sorted(p.name for p in pattern.parent.iterdir() if p.suffix in READERS)[:8]
            hint = f" files there: {', '.join(here)}" if here else ""
        raise MonitorInputError(
            Problem(
                "no_current_data",
                f"current data file '{text}' does not exist",
                file=text,
                fix="pass current=PATH to a parquet, CSV or JSON-lines file, or"
                " current=serving-log" + (";" + hint if hint else ""),
            )
        )
    return [pattern]


def read_current(text: str, project_root: Path) -> Any:
    """The rows of ``text`` (a path or glob) as one DataFrame; an empty result is an error."""
    import pandas as pd

    frames = []
    for path in resolve_paths(text, project_root):
        kind = READERS.get(path.suffix.lower())
        if kind is None:
            raise MonitorInputError(
                Problem(
                    "unknown_format",
                    f"cannot read '{path.name}': unknown file type '{path.suffix}'",
                    file=str(path),
                    fix="use .parquet, .csv or .jsonl",
                )
            )
        try:
            if kind == "parquet":
                frames.append(pd.read_parquet(path))
            elif kind == "csv":
                frames.append(pd.read_csv(path))
            else:
                frames.append(pd.read_json(path, lines=True))
        except Exception as exc:  # pandas/pyarrow raise many types for a damaged file
            raise MonitorInputError(
                Problem(
                    "unreadable_current_data",
                    f"cannot read '{path.name}' as {kind}: {type(exc).__name__}: {exc}",
                    file=str(path),
                    fix=f"check that the file is valid {kind}",
                )
            ) from None
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    require_rows(df, text)
    return df


def require_rows(df: Any, where: str) -> None:
    if len(df) == 0:
        raise MonitorInputError(
            Problem(
                "no_rows",
                f"the current data ({where}) has no rows: there is nothing to compare",
                file=where,
                fix="monitor a window that holds data (a later file, a longer serving-log"
                " window: monitor.serving_log.last or --last)",
            )
        )
