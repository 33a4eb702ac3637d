"""The retrain window (mlspec.engine.retrain.build_window): append, sliding by rows or time."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mlspec.config.spec import MonitorSpec, Spec
from mlspec.engine.retrain import build_window
from mlspec.errors import SpecError
from mlspec.monitor.errors import MonitorInputError


def _spec(split: dict[str, Any] | None = None) -> Spec:
    data = {"source": {"kind": "parquet", "path": "x.parquet"}, "target": "y"}
    if split:
        data["split"] = split
    return Spec.model_validate(
        {"name": "t", "data": data, "model": {"_target_": "sklearn.linear_model.Ridge"}}
    )


def _days(first: int, last: int) -> pd.DataFrame:
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(range(first - 1, last), "D")
    return pd.DataFrame({"ts": ts, "x": [float(d) for d in range(first, last + 1)], "y": 0})


def test_append_keeps_everything_old_rows_first() -> None:
    out = build_window(_days(1, 10), _days(11, 12), MonitorSpec(), _spec())
    assert list(out["x"]) == [float(d) for d in range(1, 13)]


def test_sliding_by_time_uses_the_time_split_column_by_default() -> None:
    mon = MonitorSpec.model_validate({"window": {"kind": "sliding", "last": "5d"}})
    out = build_window(_days(1, 10), _days(11, 12), mon, _spec({"kind": "time", "column": "ts"}))
    assert list(out["x"]) == [8.0, 9.0, 10.0, 11.0, 12.0]


def test_sliding_by_rows_and_a_duration_without_time_column() -> None:
    mon = MonitorSpec.model_validate({"window": {"kind": "sliding", "last": 3}})
    assert list(build_window(_days(1, 10), _days(11, 12), mon, _spec())["x"]) == [10, 11, 12]
    mon = MonitorSpec.model_validate({"window": {"kind": "sliding", "last": "3d"}})
    with pytest.raises(SpecError, match="needs a time column"):
        build_window(_days(1, 10), _days(11, 12), mon, _spec())


def test_current_rows_must_have_the_training_columns_and_types() -> None:
    current = _days(11, 12).drop(columns=["y"])
    with pytest.raises(MonitorInputError, match="lacks column 'y'"):
        build_window(_days(1, 10), current, MonitorSpec(), _spec())
    current = _days(11, 12)
    current["x"] = ["a", "b"]
    with pytest.raises(MonitorInputError, match=r"column 'x' is .* does not convert"):
        build_window(_days(1, 10), current, MonitorSpec(), _spec())
    current = _days(11, 12)
    current["x"] = current["x"].astype("int64")  # converts: fine
    current["extra"] = 1  # not in the training data: left out
    out = build_window(_days(1, 10), current, MonitorSpec(), _spec())
    assert list(out.columns) == ["ts", "x", "y"] and out["x"].dtype == "float64"


def test_earlier_batches_come_between_training_data_and_current() -> None:
    mon = MonitorSpec.model_validate({"window": {"kind": "sliding", "last": "6d"}})
    spec = _spec({"kind": "time", "column": "ts"})
    out = build_window(_days(1, 10), _days(13, 13), mon, spec, [_days(11, 11), _days(12, 12)])
    assert list(out["x"]) == [8.0, 9.0, 10.0, 11.0, 12.0, 13.0]
