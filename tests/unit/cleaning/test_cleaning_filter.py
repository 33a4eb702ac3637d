"""filter: declared conditions only — never code — with SQL-like handling of missing values."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mlspec.errors import SpecError
from mlspec.stages.builtin.clean import CleanStage
from mlspec.stages.cleaning.filter import MAX_PATTERN, Filter, FilterParams


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "amount": [5.0, -1.0, np.nan, 10.0, 0.0],
            "country": ["de", "fr", None, "us", "de"],
            "ts": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", None, "2024-05-01"]),
            "flag": [True, False, True, False, True],
        }
    )


def kept(df, **params):
    return Filter().apply(df, FilterParams.model_validate(params)).frame["id"].tolist()


def cond(column, op, *value):
    return {"column": column, "op": op, **({"value": value[0]} if value else {})}


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        (cond("amount", "==", 5), [1]),
        (cond("amount", "!=", 5), [2, 4, 5]),  # the missing amount (id 3) is unknown: dropped
        (cond("amount", "<", 0), [2]),
        (cond("amount", "<=", 0), [2, 5]),
        (cond("amount", ">", 0), [1, 4]),
        (cond("amount", ">=", 0), [1, 4, 5]),
        (cond("country", "in", ["de", "fr"]), [1, 2, 5]),
        (cond("country", "not_in", ["de"]), [2, 4]),  # missing country dropped
        (cond("amount", "between", [0, 5]), [1, 5]),
        (cond("amount", "isna"), [3]),
        (cond("country", "notna"), [1, 2, 4, 5]),
        (cond("country", "matches", "d."), [1, 5]),
        (cond("country", "matches", "d"), []),  # a full match, not a search
        (cond("ts", ">=", "2024-02-01"), [2, 3, 5]),
        (cond("flag", "==", True), [1, 3, 5]),
    ],
    ids=lambda v: str(v),
)
def test_each_op(df, condition, ids):
    assert kept(df, where=condition) == ids


def test_where_is_and_any_is_or(df):
    where = [cond("amount", ">=", 0), cond("country", "notna")]
    assert kept(df, where=where) == [1, 4, 5]
    any_ = [cond("country", "==", "us"), cond("amount", "<", 0)]
    assert kept(df, any=any_) == [2, 4]
    assert kept(df, where=cond("amount", ">=", 0), any=any_) == [4]
    # a missing cell fails its condition but another 'any' condition can still keep the row
    assert kept(df, any=[cond("amount", ">", 100), cond("country", "isna")]) == [3]


def test_note_describes_the_conditions(df):
    params = FilterParams.model_validate(
        {"where": cond("amount", ">", 0), "any": [cond("country", "isna"), cond("id", "==", 1)]}
    )
    note = Filter().apply(df, params).note
    assert note == "kept rows where amount > 0 and (country is missing or id == 1)"


def test_values_are_never_evaluated_as_code(df, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("filter must not evaluate code")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(pd, "eval", forbidden)
    monkeypatch.setattr(pd.DataFrame, "query", forbidden)
    monkeypatch.setattr(pd.DataFrame, "eval", forbidden)
    payload = "__import__('os').system('touch pwned')"
    frame = df.assign(country=["de", payload, None, "us", "de"])
    assert kept(frame, where=cond("country", "==", payload)) == [2]
    assert kept(frame, where=cond("country", "in", [payload, "us"])) == [2, 4]
    assert kept(frame, where=cond("country", "==", "1 or 1")) == []
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(SpecError, match="missing_column"):
        kept(frame, where=cond(payload, "notna"))


def test_regex_is_matched_not_executed_and_is_capped():
    with pytest.raises(ValidationError, match=f"longer than {MAX_PATTERN}"):
        FilterParams.model_validate({"where": cond("c", "matches", "a" * (MAX_PATTERN + 1))})
    with pytest.raises(ValidationError, match="invalid regular expression"):
        FilterParams.model_validate({"where": cond("c", "matches", "(")})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (cond("a", "between", [1]), "needs \\[low, high\\]"),
        (cond("a", "between", [5, 1]), "needs low <= high"),
        (cond("a", "between", [1, "x"]), "do not compare"),
        (cond("a", "in", "de"), "needs a non-empty list"),
        (cond("a", "in", []), "needs a non-empty list"),
        (cond("a", "in", [["nested"]]), "compares with text, numbers or booleans"),
        (cond("a", "isna", 1), "takes no value"),
        (cond("a", "=="), "needs a value"),
        (cond("a", "==", None), "use op: isna"),
        (cond("a", ">", {"x": 1}), "compares with text"),
        (cond("a", "matches", 3), "regular expression string"),
        (cond("a", "like", "x"), "Input should be"),
        ({"column": "a", "op": "==", "value": 1, "extra": 2}, "Extra inputs"),
    ],
)
def test_condition_shapes_are_validated(condition, message):
    with pytest.raises(ValidationError, match=message):
        FilterParams.model_validate({"where": [condition]})


def test_filter_needs_a_condition():
    with pytest.raises(ValidationError, match="give 'where'"):
        FilterParams.model_validate({})


def test_shape_errors_reach_the_spec_with_their_location():
    with pytest.raises(ValidationError) as info:
        CleanStage.Params(steps=[{"filter": {"where": [cond("a", "between", 3)]}}])
    assert "step [0] filter: op 'between' needs [low, high], got 3 'where.0'" in str(info.value)


def test_values_of_the_wrong_type_are_spec_errors(df):
    with pytest.raises(SpecError, match="write the value as a number") as info:
        kept(df, where=cond("amount", ">", "5"))
    assert info.value.problems[0].code == "wrong_value_type"
    with pytest.raises(SpecError, match="quote the value"):
        kept(df, where=cond("country", "==", 1))
    with pytest.raises(SpecError, match="date as text"):
        kept(df, where=cond("ts", ">", "not a date"))
    with pytest.raises(SpecError, match="needs text for op 'matches'"):
        kept(df, where=cond("amount", "matches", "5.*"))
    unordered = df.assign(country=df["country"].astype("category"))
    with pytest.raises(SpecError, match="cannot be evaluated"):
        kept(unordered, where=cond("country", "<", "x"))


def test_filter_changes_no_rows(clean, counts, df):
    _, acc = clean(df, [{"filter": {"where": cond("amount", "notna")}}])
    assert counts(acc) == (5, 4, 1, 0)
