"""Windows over a table of rows in time order: the last N rows, or the rows of the last span of
time (``"24h"``, ``"7d"``, ``"90m"``), and the retrain window (append or sliding).

One syntax everywhere a window is given (``monitor.serving_log.last``, ``monitor.window.last``,
``--last``): an integer is a row count, a string with a unit is a duration. Time windows are
anchored at the newest timestamp in the data, not at the wall clock, so replaying an old log (or
the fraud example's stream) gives the same windows as watching it live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


@dataclass(frozen=True)
class Span:
    """A window's size: ``rows`` or ``duration`` (exactly one is set)."""

    rows: int | None = None
    duration: timedelta | None = None

    def __str__(self) -> str:
        if self.rows is not None:
            return f"last {self.rows} rows"
        assert self.duration is not None
        return f"last {_format_duration(self.duration)}"


def _format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_span(value: int | str) -> Span:
    """``5000`` or ``"5000"`` -> 5000 rows; ``"24h"``/``"7d"``/``"90m"``/``"2w"``/``"30s"`` -> a
    duration. Raises ValueError with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a window; write a row count (5000) or a duration (24h)")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        rows = int(value)
        if rows < 1:
            raise ValueError(f"a window of {rows} rows is empty; give at least 1 row")
        return Span(rows=rows)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(
            f"'{value}' is not a window; write a row count (e.g. 5000) or a duration with a"
            " unit s, m, h, d or w (e.g. 24h, 7d)"
        )
    amount = float(match.group(1))
    if amount <= 0:
        raise ValueError(f"a window of '{value}' is empty; give a positive duration")
    return Span(duration=timedelta(**{_UNITS[match.group(2)]: amount}))


def _checked_span(value: int | str | None) -> int | str | None:
    if value is not None:
        parse_span(value)
    return value


# A spec setting holding a span (``5000`` rows or ``"24h"``), checked where it is written.
SpanSetting = Annotated[int | str | None, AfterValidator(_checked_span)]


def take_last(df: Any, span: Span, time_column: str | None) -> Any:
    """The rows of ``df`` in ``span``: the last ``rows`` rows (in time order when ``time_column``
    is given, else in the frame's order), or the rows within ``duration`` of the newest
    timestamp (inclusive at the newest, exclusive at the far end)."""
    import pandas as pd

    ordered = df
    if time_column is not None:
        ordered = df.sort_values(time_column, kind="mergesort")
    if span.rows is not None:
        return ordered.iloc[-span.rows :] if len(ordered) > span.rows else ordered
    if time_column is None:
        raise ValueError("a window by duration needs a time column")
    ts = pd.to_datetime(ordered[time_column], utc=_is_aware(ordered[time_column]))
    if ts.isna().all():
        return ordered.iloc[0:0]
    newest = ts.max()
    assert span.duration is not None
    return ordered[ts > newest - span.duration]


def _is_aware(series: Any) -> bool:
    return getattr(getattr(series, "dt", None), "tz", None) is not None


def split_windows(df: Any, span: Span, time_column: str | None) -> list[Any]:
    """Consecutive, non-overlapping windows of ``span`` covering ``df`` (oldest first): blocks of
    ``rows`` rows, or blocks of ``duration`` counted back from the newest timestamp (so the last
    window is always a full one). Empty time blocks are left out."""
    import pandas as pd

    ordered = df if time_column is None else df.sort_values(time_column, kind="mergesort")
    if span.rows is not None:
        n = len(ordered)
        starts = range(n % span.rows if n % span.rows else 0, n, span.rows)
        head = [ordered.iloc[: n % span.rows]] if n % span.rows else []
        return head + [ordered.iloc[s : s + span.rows] for s in starts]
    if time_column is None:
        raise ValueError("windows by duration need a time column")
    assert span.duration is not None
    ts = pd.to_datetime(ordered[time_column], utc=_is_aware(ordered[time_column]))
    newest = ts.max()
    # Block k (0 = newest) holds newest - (k+1)*d < t <= newest - k*d.
    block = ((newest - ts) // span.duration).astype("int64")
    out = [ordered[block == k] for k in sorted(block.unique(), reverse=True)]
    return [w for w in out if len(w)]


class WindowSpec(BaseModel):
    """``monitor.window``: which rows a drift-triggered retrain trains on.

    - ``append``: everything the current champion was trained on plus the new data;
    - ``sliding``: the same, then only the ``last`` rows (a count) or the ``last`` span of time
      (by ``time_column``; default: the spec's time split column).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["append", "sliding"] = "append"
    last: SpanSetting = None
    time_column: str | None = None

    @model_validator(mode="after")
    def _sliding_needs_size(self) -> WindowSpec:
        if self.kind == "sliding" and self.last is None:
            raise ValueError(
                "a sliding window needs its size: set monitor.window.last to a row count"
                " (e.g. 20000) or a duration (e.g. 30d)"
            )
        if self.kind == "append" and self.last is not None:
            raise ValueError(
                "'last' applies to sliding windows; set kind: sliding, or remove 'last'"
            )
        return self

    @property
    def span(self) -> Span | None:
        return parse_span(self.last) if self.last is not None else None

    def describe(self) -> str:
        if self.kind == "append":
            return "append (training data + new data)"
        return f"sliding ({self.span} of training data + new data)"
