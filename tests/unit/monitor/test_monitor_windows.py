"""Windows by row count and by time (mlspec.monitor.windows)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from pydantic import ValidationError

from mlspec.monitor.windows import Span, WindowSpec, parse_span, split_windows, take_last


@pytest.mark.parametrize(
    ("text", "span"),
    [
        (5000, Span(rows=5000)),
        ("12", Span(rows=12)),
        ("24h", Span(duration=timedelta(hours=24))),
        ("7d", Span(duration=timedelta(days=7))),
        ("90m", Span(duration=timedelta(minutes=90))),
        ("2w", Span(duration=timedelta(weeks=2))),
        ("1.5h", Span(duration=timedelta(minutes=90))),
    ],
)
def test_parse_span(text, span) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize("text", ["0", 0, "-3h", "3 parsecs", "h", True, "24hours"])
def test_parse_span_refuses_with_the_accepted_forms(text) -> None:
    with pytest.raises(ValueError, match=r"row count|empty|positive"):
        parse_span(text)


def _frame() -> pd.DataFrame:
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(range(0, 100), "h")
    # Shuffled on purpose: windows follow time, not the frame's order.
    return pd.DataFrame({"ts": ts, "x": range(100)}).sample(frac=1.0, random_state=0)


def test_take_last_rows_in_time_order() -> None:
    out = take_last(_frame(), Span(rows=10), "ts")
    assert list(out["x"]) == list(range(90, 100))


def test_take_last_duration_is_anchored_at_the_newest_row() -> None:
    out = take_last(_frame(), parse_span("24h"), "ts")
    # newest is hour 99; (99-24, 99] holds hours 76..99
    assert sorted(out["x"]) == list(range(76, 100))


def test_take_last_duration_needs_a_time_column() -> None:
    with pytest.raises(ValueError, match="time column"):
        take_last(_frame(), parse_span("1d"), None)


def test_take_last_more_rows_than_present_keeps_everything() -> None:
    assert len(take_last(_frame(), Span(rows=1000), "ts")) == 100


def test_split_windows_by_rows_and_by_time_cover_every_row_once() -> None:
    df = _frame()
    by_rows = split_windows(df, Span(rows=30), "ts")
    assert [len(w) for w in by_rows] == [10, 30, 30, 30]  # the oldest is the partial one
    assert sorted(pd.concat(by_rows)["x"]) == list(range(100))
    by_day = split_windows(df, parse_span("1d"), "ts")
    assert [len(w) for w in by_day] == [4, 24, 24, 24, 24]
    assert list(pd.concat(by_day)["x"]) == list(range(100))


def test_window_spec_rules() -> None:
    assert WindowSpec().kind == "append"
    assert WindowSpec(kind="sliding", last="30d").span == Span(duration=timedelta(days=30))
    with pytest.raises(ValidationError, match="sliding window needs its size"):
        WindowSpec(kind="sliding")
    with pytest.raises(ValidationError, match="applies to sliding windows"):
        WindowSpec(kind="append", last=100)
    with pytest.raises(ValidationError, match="not a window"):
        WindowSpec(kind="sliding", last="soon")
    with pytest.raises(ValidationError, match="Extra inputs"):
        WindowSpec(kind="sliding", last=10, size=3)
