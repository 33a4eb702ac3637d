"""Property tests: on any frame and any chain of steps, every row is accounted for."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.clean import CleanStage
from mlspec.store.codecs import encode

CTX = StageContext(node="clean", run_id="t", project_root=Path("."), log=lambda m: None)

STEPS = [
    "drop_duplicates",
    {"drop_duplicates": {"subset": ["b"], "keep": "none"}},
    {"drop_duplicates": {"subset": ["s"], "keep": "last"}},
    "dropna",
    {"dropna": "all"},
    {"dropna": {"columns": ["a"], "thresh": 1}},
    {"fillna": {"columns": ["a"], "value": 0}},
    {"fillna": {"strategy": "median"}},
    {"fillna": {"strategy": "ffill"}},
    {"fillna": {"value": "?"}},
    {"cast": {"b": "float64"}},
    {"cast": {"b": "Int64"}},
    "normalize_text",
    {"normalize_text": {"lower": False}},
    {"clip_outliers": {}},
    {"clip_outliers": {"method": "quantile", "lower": 0.1, "upper": 0.9, "action": "drop"}},
    {"filter": {"where": {"column": "b", "op": ">", "value": 0}}},
    {"filter": {"any": [{"column": "s", "op": "isna"}, {"column": "a", "op": "<=", "value": 1}]}},
    {"filter": {"where": {"column": "s", "op": "matches", "value": "\\s*[a-z]+\\s*"}}},
]

floats = st.one_of(st.none(), st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 1)))
texts = st.one_of(
    st.none(), st.sampled_from(["a", " A", "b ", "B", "1", " 2 ", "x  y", "\uff38\uff39", ""])
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    return pd.DataFrame(
        {
            "a": pd.Series(draw(st.lists(floats, min_size=n, max_size=n)), dtype="float64"),
            "b": pd.Series(
                draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype="int64"
            ),
            "s": pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
        }
    )


def run(df: pd.DataFrame, steps: list) -> dict:
    return CleanStage().run(CleanStage.Params(steps=steps), {"data": df}, CTX)


@settings(max_examples=60, deadline=None)
@given(df=frames(), steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=5))
def test_every_row_is_accounted_for_and_inputs_are_untouched(df, steps):
    before = df.copy(deep=True)
    out = run(df, steps)
    acc, data = out["accounting"], out["data"]
    records = acc["steps"]
    assert acc["rows_in"] == len(df)
    assert acc["rows_out"] == len(data)
    assert acc["rows_in"] == acc["rows_out"] + sum(r["removed"] for r in records)
    assert records[0]["rows_in"] == len(df)
    for prev, rec in itertools.pairwise(records):
        assert rec["rows_in"] == prev["rows_out"]
    for rec in records:
        assert rec["removed"] == rec["rows_in"] - rec["rows_out"] >= 0
        assert 0 <= rec["changed"] <= rec["rows_out"]
    pd.testing.assert_frame_equal(df, before)
    assert encode("frame", data) == encode("frame", run(df, steps)["data"])


@settings(max_examples=40, deadline=None)
@given(df=frames())
def test_counts_match_independent_oracles(df):
    acc = run(df, ["dropna"])["accounting"]
    assert acc["rows_out"] == int(df.notna().all(axis=1).sum())

    acc = run(df, [{"fillna": {"columns": ["a"], "value": 0}}])["accounting"]
    assert acc["steps"][0]["changed"] == int(df["a"].isna().sum())

    acc = run(df, [{"drop_duplicates": {"subset": ["b"], "keep": "none"}}])["accounting"]
    assert acc["rows_out"] == int((df["b"].value_counts() == 1).sum())

    out = run(df, ["normalize_text"])
    changed = [
        isinstance(v, str) and v != " ".join(v.split()).lower().replace("\uff58\uff59", "xy")
        for v in df["s"]
    ]
    assert out["accounting"]["steps"][0]["changed"] == sum(changed)

    acc = run(df, [{"cast": {"s": "float64", "errors": "coerce"}}])["accounting"]
    numeric = pd.to_numeric(df["s"], errors="coerce")
    assert acc["steps"][0]["changed"] == int((df["s"].notna() & numeric.isna()).sum())

    where = {"column": "a", "op": "between", "value": [-10, 10]}
    acc = run(df, [{"filter": {"where": where}}])["accounting"]
    assert acc["rows_out"] == int(np.sum(df["a"].between(-10, 10).to_numpy()))
