"""Read the serving request log (contract67 Interface 2) into a frame the monitor compares.

The log is JSON lines, one line per scored row, in files
``DIR/<model-name>/requests-<UTC yyyymmddTHHMMSS>-<seq>.jsonl``::

    {"ts": "2026-11-26T21:04:05.123456Z", "model": "fraud-detector", "version": 3,
     "request_id": "...", "inputs": {"amount": 12.5, ...}, "prediction": 0,
     "probabilities": [0.93, 0.07] | null}

``read_serving_log`` returns the input columns plus ``__ts`` (UTC timestamps), ``__version``,
``__prediction`` and, when the log holds probabilities, ``__proba_<class>`` (``classes``: the
model's class labels in the pipeline's order; without them ``__proba_0``, ``__proba_1``, ...).
Files are read in name order (their names sort by time); a line that is not valid JSON (a file
cut short by a crash of the writer) is skipped and counted, never fatal: the rest of the log is
still evidence. Filtering by time happens per line, so ``since`` and ``until`` are exact whatever
the file boundaries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlspec.errors import DataError, Problem

META_PREFIX = "__"
FILE_GLOB = "requests-*.jsonl"


@dataclass
class LogRead:
    """What was read: the frame, and how many lines were unreadable (per file)."""

    frame: Any
    files: list[str] = field(default_factory=list)
    bad_lines: dict[str, int] = field(default_factory=dict)


def log_files(directory: Path, model: str | None) -> list[Path]:
    """The log's files in time order: ``DIR/<model>/requests-*.jsonl`` (every model's
    subdirectory when ``model`` is None; a directory of files directly also works)."""
    if model is not None and (directory / model).is_dir():
        roots = [directory / model]
    elif model is None:
        roots = [directory, *sorted(p for p in directory.iterdir() if p.is_dir())]
    else:
        roots = [directory]
    files = [f for root in roots for f in root.glob(FILE_GLOB)]
    return sorted(files, key=lambda f: (f.name, str(f)))


def _parse_ts(value: Any) -> datetime | None:
    import pandas as pd

    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def read_serving_log(
    directory: str | Path,
    model: str | None = None,
    since: Any = None,
    until: Any = None,
    last: int | None = None,
    classes: list[Any] | None = None,
) -> Any:
    """The logged rows as a DataFrame (see the module docstring); ``since``/``until`` bound
    ``__ts`` (inclusive / exclusive; ISO text or timestamps, naive ones read as UTC), ``last``
    keeps the newest N rows. Rows of another model are left out when ``model`` is given."""
    return read_serving_log_detailed(directory, model, since, until, last, classes).frame


def read_serving_log_detailed(
    directory: str | Path,
    model: str | None = None,
    since: Any = None,
    until: Any = None,
    last: int | None = None,
    classes: list[Any] | None = None,
) -> LogRead:
    import pandas as pd

    root = Path(directory)
    if not root.is_dir():
        raise DataError(
            Problem(
                "missing_serving_log",
                f"serving log directory '{root}' does not exist",
                file=str(root),
                fix="point monitor.serving_log.dir at the DIR given to"
                " `mlspec serve ... --log-requests DIR`",
            )
        )
    files = log_files(root, model)
    start, end = _parse_ts(since), _parse_ts(until)
    inputs: list[dict[str, Any]] = []
    meta: list[tuple[Any, Any, Any, Any]] = []
    bad: dict[str, int] = {}
    for path in files:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    ts = _parse_ts(entry["ts"])
                    row_inputs = entry["inputs"]
                    if ts is None or not isinstance(row_inputs, dict):
                        raise TypeError("no timestamp, or inputs is not an object")
                except (ValueError, KeyError, TypeError):
                    bad[str(path)] = bad.get(str(path), 0) + 1
                    continue
                if model is not None and entry.get("model") not in (None, model):
                    continue
                if (start is not None and ts < start) or (end is not None and ts >= end):
                    continue
                inputs.append(row_inputs)
                meta.append(
                    (ts, entry.get("version"), entry.get("prediction"), entry.get("probabilities"))
                )
    frame = pd.DataFrame.from_records(inputs) if inputs else pd.DataFrame()
    frame["__ts"] = pd.to_datetime([m[0] for m in meta], utc=True)
    frame["__version"] = pd.array([m[1] for m in meta], dtype="Int64")
    frame["__prediction"] = [m[2] for m in meta]
    width = max((len(m[3]) for m in meta if isinstance(m[3], list)), default=0)
    for i in range(width):
        label = classes[i] if classes is not None and i < len(classes) else i
        frame[f"__proba_{label}"] = [
            float(m[3][i]) if isinstance(m[3], list) and len(m[3]) > i else float("nan")
            for m in meta
        ]
    frame = frame.sort_values("__ts", kind="mergesort").reset_index(drop=True)
    if last is not None and len(frame) > last:
        frame = frame.iloc[-last:].reset_index(drop=True)
    return LogRead(frame, [str(f) for f in files], bad)


def input_columns(frame: Any) -> list[str]:
    """The logged model inputs (every column but the ``__`` metadata)."""
    return [c for c in frame.columns if not str(c).startswith(META_PREFIX)]
