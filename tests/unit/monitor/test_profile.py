"""The reference profile: fixed quantile bins, exact values or a bounded sketch, categories,
missing values, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlspec.monitor.options import ProfileOptions
from mlspec.monitor.profile import (
    ReferenceProfile,
    build_reference_profile,
    prediction_scores,
    quantile_sketch,
)


def test_numeric_column_small_reference_keeps_its_sorted_values():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, 500)
    x[:10] = np.nan
    x[10] = np.inf
    entry = build_reference_profile(pd.DataFrame({"x": x})).columns["x"]
    finite = np.sort(x[np.isfinite(x)])
    assert entry["kind"] == "numeric" and entry["dtype"] == "float64"
    assert (entry["rows"], entry["missing"], entry["infinite"], entry["count"]) == (500, 10, 1, 489)
    assert entry["values"] == finite.tolist()
    assert entry["mean"] == pytest.approx(finite.mean()) and entry["std"] == pytest.approx(
        finite.std()
    )
    expected_edges = np.unique(np.quantile(finite, np.linspace(0, 1, 11)))
    assert np.allclose(entry["edges"], expected_edges)
    counts, _ = np.histogram(finite, expected_edges)
    assert entry["bin_counts"] == counts.tolist()
    assert "sketch" not in entry


def test_large_reference_keeps_a_sketch_whose_cdf_error_is_at_most_half_a_step():
    rng = np.random.default_rng(1)
    x = np.round(rng.exponential(1.0, 20_000), 2)  # skewed, with ties
    opts = ProfileOptions(sketch_size=200)
    entry = build_reference_profile(pd.DataFrame({"x": x}), options=opts).columns["x"]
    sketch = np.asarray(entry["sketch"])
    assert "values" not in entry and sketch.size == 200 and entry["sketch_ks"] == 0.0025
    grid = np.unique(x)
    f_true = np.searchsorted(np.sort(x), grid, side="right") / x.size
    f_sketch = np.searchsorted(sketch, grid, side="right") / sketch.size
    assert np.max(np.abs(f_true - f_sketch)) <= 0.5 / 200 + 1e-12
    assert np.array_equal(quantile_sketch(np.sort(x), 200), sketch)
    assert 0 < entry["sketch_w1"] < 0.01 * entry["std"]


def test_few_distinct_numbers_and_bools_are_categorical():
    df = pd.DataFrame(
        {
            "flag": [True, False, True, None] * 25,
            "grade": [1, 2, 2, 3] * 25,
            "many": np.arange(100),
        }
    )
    prof = build_reference_profile(df)
    grade = prof.columns["grade"]
    assert grade["kind"] == "categorical" and grade["numeric_values"] is True
    assert grade["categories"] == [2, 1, 3] and grade["counts"] == [50, 25, 25]
    flag = prof.columns["flag"]
    assert flag["kind"] == "categorical" and flag["numeric_values"] is False
    assert flag["missing"] == 25 and dict(zip(flag["categories"], flag["counts"], strict=True)) == {
        "True": 50,
        "False": 25,
    }
    assert prof.columns["many"]["kind"] == "numeric"


def test_categories_beyond_the_limit_are_pooled_ties_broken_by_text():
    s = pd.Series(["b", "a", "c", "d", "d", None, "e", "e", "e"])
    entry = build_reference_profile(
        pd.DataFrame({"c": s}), options=ProfileOptions(max_categories=3)
    ).columns["c"]
    assert entry["categories"] == ["e", "d", "a"] and entry["counts"] == [3, 2, 1]
    assert entry["other_count"] == 2 and entry["distinct"] == 5
    assert (entry["rows"], entry["missing"], entry["count"]) == (9, 1, 8)


def test_datetimes_are_numeric_seconds():
    ts = pd.Series(pd.date_range("2026-01-01", periods=50, freq="h", tz="UTC"))
    entry = build_reference_profile(pd.DataFrame({"t": ts})).columns["t"]
    assert entry["kind"] == "numeric"
    assert entry["min"] == pd.Timestamp("2026-01-01", tz="UTC").timestamp()
    assert entry["values"][1] - entry["values"][0] == 3600


def test_json_round_trip_is_plain_and_compact():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"z": rng.normal(size=3000), "c": rng.choice(["u", "v"], 3000)})
    prof = build_reference_profile(df, predictions=rng.random(400), target=df["c"])
    data = prof.to_bytes()
    assert b" " not in data and b"NaN" not in data
    back = ReferenceProfile.from_json(json.loads(data))
    assert back.to_json() == prof.to_json()
    assert list(back.columns) == ["z", "c"]  # frame order survives
    assert back.prediction is not None and back.prediction["name"] == "prediction"
    with pytest.raises(ValueError, match="reference profile"):
        ReferenceProfile.from_json({"format": "something else"})


def test_all_missing_column_has_nothing_to_test():
    entry = build_reference_profile(pd.DataFrame({"x": [np.nan] * 5})).columns["x"]
    assert entry["count"] == 0 and entry["missing"] == 5


def test_prediction_scores():
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    scores, name = prediction_scores([0, 1], proba, ["no", "yes"])
    assert name == "proba_yes" and scores.tolist() == [0.1, 0.8]
    labels, name = prediction_scores(["a", "c"], np.ones((2, 3)) / 3)
    assert name == "prediction" and labels.tolist() == ["a", "c"]
    values, name = prediction_scores([1.5, 2.5])
    assert name == "prediction" and values.tolist() == [1.5, 2.5]
