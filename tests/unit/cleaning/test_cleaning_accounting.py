"""Row accounting of every step through the clean stage: rows in / out / removed / changed.

"changed" counts the rows a step kept and modified; a removed row is never also "changed".
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mlspec.store.codecs import encode


def test_drop_duplicates_accounting(clean, counts):
    df = pd.DataFrame({"id": [1, 1, 2, 2, 2, 3], "v": ["a", "a", "b", "c", "b", "d"]})
    out, acc = clean(df, [{"drop_duplicates": {"subset": ["id"]}}])
    assert counts(acc) == (6, 3, 3, 0)
    assert out["v"].tolist() == ["a", "b", "d"]

    out, acc = clean(df, [{"drop_duplicates": {"subset": ["id"], "keep": "last"}}])
    assert counts(acc) == (6, 3, 3, 0)
    assert out["v"].tolist() == ["a", "b", "d"]  # id 2's last copy is 'b' too
    assert out["id"].tolist() == [1, 2, 3]

    out, acc = clean(df, [{"drop_duplicates": {"subset": ["id"], "keep": "none"}}])
    assert counts(acc) == (6, 1, 5, 0)
    assert out["id"].tolist() == [3]

    out, acc = clean(df, ["drop_duplicates"])  # every column
    assert counts(acc) == (6, 4, 2, 0)
    assert out.values.tolist() == [[1, "a"], [2, "b"], [2, "c"], [3, "d"]]


def test_dropna_accounting(clean, counts):
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan], "b": ["x", "y", None, None]})
    cases = [
        ("dropna", (4, 1, 3, 0), [0]),
        ({"dropna": "all"}, (4, 3, 1, 0), [0, 1, 2]),
        ({"dropna": {"columns": ["a"]}}, (4, 2, 2, 0), [0, 2]),
        ({"dropna": {"columns": ["a", "b"], "how": "all"}}, (4, 3, 1, 0), [0, 1, 2]),
        ({"dropna": {"thresh": 2}}, (4, 1, 3, 0), [0]),
        ({"dropna": {"thresh": 1}}, (4, 3, 1, 0), [0, 1, 2]),
    ]
    for step, expected, kept in cases:
        out, acc = clean(df, [step])
        assert counts(acc) == expected, step
        pd.testing.assert_frame_equal(out, df.iloc[kept].reset_index(drop=True))


def test_fillna_accounting_counts_rows_not_cells(clean, counts):
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan], "b": ["x", None, "z", None]})
    # rows 1 and 3 each get two cells filled: two rows changed, not four
    out, acc = clean(df, [{"fillna": {"strategy": "ffill"}}])
    assert counts(acc) == (4, 4, 0, 2)
    assert out["a"].tolist() == [1.0, 1.0, 3.0, 3.0]
    assert out["b"].tolist() == ["x", "x", "z", "z"]

    out, acc = clean(df, [{"fillna": {"columns": ["a"], "value": 0}}])
    assert counts(acc) == (4, 4, 0, 2)
    assert out["a"].tolist() == [1.0, 0.0, 3.0, 0.0]
    assert out["b"].isna().sum() == 2

    out, acc = clean(df, [{"fillna": {"strategy": "mean"}}])  # numeric columns only
    assert counts(acc) == (4, 4, 0, 2)
    assert out["a"].tolist() == [1.0, 2.0, 3.0, 2.0]

    out, acc = clean(df, [{"fillna": {"value": "?"}}])  # only columns that can hold text
    assert counts(acc) == (4, 4, 0, 2)
    assert out["b"].tolist() == ["x", "?", "z", "?"]
    assert out["a"].isna().sum() == 2
    assert "skipped a" in acc["steps"][0]["note"]


def test_cast_accounting_counts_coerced_values_only(clean, counts):
    df = pd.DataFrame({"amount": ["1", "2", "x", " 4 ", None], "n": [1, 2, 3, 4, 5]})
    out, acc = clean(df, [{"cast": {"dtypes": {"amount": "float64"}, "errors": "coerce"}}])
    # "x" became missing: 1 row changed; "1" -> 1.0 is a conversion, not a change; None stays
    assert counts(acc) == (5, 5, 0, 1)
    assert out["amount"].tolist()[:2] == [1.0, 2.0]
    assert out["amount"].isna().tolist() == [False, False, True, False, True]
    assert out["amount"].dtype == "float64"

    out, acc = clean(df, [{"cast": {"n": "float32"}}])
    assert counts(acc) == (5, 5, 0, 0)
    assert out["n"].dtype == "float32"


def test_normalize_text_accounting(clean, counts):
    df = pd.DataFrame(
        {"name": ["  Alice ", "bob", "BOB", None, "ﬁne\u00a0 day"], "n": [1, 2, 3, 4, 5]}
    )
    out, acc = clean(df, ["normalize_text"])
    assert counts(acc) == (5, 5, 0, 3)  # rows 0 (strip), 2 (lower), 4 (NFKC, whitespace)
    assert out["name"].tolist()[:3] == ["alice", "bob", "bob"]
    assert out["name"].tolist()[4] == "fine day"
    assert out["name"].isna().tolist() == [False, False, False, True, False]


def test_rename_accounting(clean, counts):
    df = pd.DataFrame({"amt": [1, 2, 3], "x": [4, 5, 6]})
    out, acc = clean(df, [{"rename": {"amt": "amount"}}])
    assert counts(acc) == (3, 3, 0, 0)
    assert list(out.columns) == ["amount", "x"]
    assert out["amount"].tolist() == [1, 2, 3]


def test_filter_accounting(clean, counts):
    df = pd.DataFrame({"amount": [5.0, -1.0, np.nan, 10.0], "c": ["de", "fr", "de", "us"]})
    out, acc = clean(df, [{"filter": {"where": {"column": "amount", "op": ">", "value": 0}}}])
    assert counts(acc) == (4, 2, 2, 0)
    assert out["amount"].tolist() == [5.0, 10.0]


def test_clip_outliers_accounting(clean, counts):
    df = pd.DataFrame({"x": [1, 2, 3, 4, 100], "y": [0.0, 0.0, 0.0, 0.0, 0.0]})
    # iqr: q1=2, q3=4 -> bounds [-1, 7]; only 100 is outside
    out, acc = clean(df, [{"clip_outliers": {"columns": ["x"]}}])
    assert counts(acc) == (5, 5, 0, 1)
    assert out["x"].tolist() == [1, 2, 3, 4, 7]
    assert out["x"].dtype == "int64"

    out, acc = clean(df, [{"clip_outliers": {"columns": ["x"], "action": "drop"}}])
    assert counts(acc) == (5, 4, 1, 0)
    assert out["x"].tolist() == [1, 2, 3, 4]

    step = {"clip_outliers": {"method": "quantile", "lower": 0.25, "upper": 0.75}}
    out, acc = clean(df, [step])  # numeric columns; x bounds [2, 4]: 1 and 100 clipped
    assert counts(acc) == (5, 5, 0, 2)
    assert out["x"].tolist() == [2, 2, 3, 4, 4]
    assert out["y"].tolist() == [0.0] * 5


def test_parse_dates_accounting(clean, counts):
    df = pd.DataFrame({"ts": ["2024-01-01", "2024-01-02", "nope", None, ""]})
    out, acc = clean(df, [{"parse_dates": {"columns": ["ts"], "errors": "coerce"}}])
    assert counts(acc) == (5, 5, 0, 2)  # "nope" and "" became missing; None already was
    assert out["ts"].iloc[0] == pd.Timestamp("2024-01-01")
    assert out["ts"].isna().tolist() == [False, False, True, True, True]
    assert acc["steps"][0]["note"] == "became missing: ts (2)"

    out, acc = clean(df.iloc[[0, 1, 3, 4]], [{"parse_dates": "ts"}])  # blank is not an error
    assert counts(acc) == (4, 4, 0, 1)


@pytest.fixture
def messy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "txn_id": [1, 1, 2, 3, 4, 5, 6, 7],
            "amount": ["10", "10", "20", "oops", None, "1e3", "15", "12"],
            "country": [" DE", " DE", "fr", "FR ", "de", None, "us", "DE"],
            "ts": ["2024-01-0" + str(d) for d in range(1, 9)],
            "score": [0.1, 0.1, np.nan, 0.5, 0.7, 0.9, 50.0, 0.3],
        }
    )


CHAIN = [
    {"drop_duplicates": {"subset": ["txn_id"]}},
    {"cast": {"amount": "float64", "errors": "coerce"}},
    {"dropna": {"columns": ["amount"]}},
    "normalize_text",
    {"fillna": {"columns": ["score"], "strategy": "median"}},
    {"clip_outliers": {"columns": ["score"], "method": "iqr"}},
    {"parse_dates": "ts"},
    {"filter": {"where": [{"column": "country", "op": "in", "value": ["de", "fr"]}]}},
    {"rename": {"amount": "amount_eur"}},
]


def test_chain_accounts_for_every_row(clean, counts, messy):
    out, acc = clean(messy, CHAIN)
    steps = acc["steps"]
    assert [s["step"] for s in steps] == [
        next(iter(s)) if isinstance(s, dict) else s for s in CHAIN
    ]
    assert acc["rows_in"] == len(messy) == 8
    assert acc["rows_out"] == len(out)
    assert acc["rows_in"] == acc["rows_out"] + sum(s["removed"] for s in steps)
    for before, after in itertools.pairwise(steps):
        assert after["rows_in"] == before["rows_out"]
    assert [counts(acc, i) for i in range(len(steps))] == [
        (8, 7, 1, 0),  # duplicate txn 1
        (7, 7, 0, 1),  # "oops" coerced
        (7, 5, 2, 0),  # oops and None amounts
        (5, 5, 0, 2),  # " DE" and "DE" became "de"; "fr", None and "us" stay as they were
        (5, 5, 0, 1),  # txn 2's missing score gets the median
        (5, 5, 0, 1),  # 50.0 clipped
        (5, 5, 0, 0),
        (5, 3, 2, 0),  # None country (txn 5) and "us" (txn 6) removed
        (3, 3, 0, 0),
    ]
    assert out["txn_id"].tolist() == [1, 2, 7]
    assert list(out.index) == [0, 1, 2]


def test_steps_never_mutate_their_input(clean, messy):
    before = messy.copy(deep=True)
    clean(messy, CHAIN)
    pd.testing.assert_frame_equal(messy, before)


def test_clean_is_deterministic_to_the_byte(clean, messy):
    first, acc1 = clean(messy, CHAIN)
    second, acc2 = clean(messy.copy(), CHAIN)
    assert encode("frame", first) == encode("frame", second)
    assert encode("json", acc1) == encode("json", acc2)
