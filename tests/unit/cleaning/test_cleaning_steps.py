"""Behaviour and errors of the built-in steps (filter has its own file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.stages.builtin.clean import CleanStage
from mlspec.stages.cleaning.builtin import (
    Cast,
    ClipOutliers,
    DropDuplicates,
    DropNa,
    FillNa,
    NormalizeText,
    ParseDates,
    Rename,
)

STEP_CLASSES = [
    DropDuplicates,
    DropNa,
    FillNa,
    Cast,
    NormalizeText,
    Rename,
    ClipOutliers,
    ParseDates,
]


def apply(step_cls, df, **params):
    return step_cls().apply(df, step_cls.Params(**params))


# --- missing columns: a spec error (exit 2) naming the column, with did-you-mean ---------------

MISSING = [
    {"drop_duplicates": {"subset": ["amuont"]}},
    {"dropna": {"columns": ["amuont"]}},
    {"fillna": {"columns": ["amuont"], "value": 0}},
    {"cast": {"amuont": "float"}},
    {"normalize_text": {"columns": ["amuont"]}},
    {"rename": {"amuont": "x"}},
    {"clip_outliers": {"columns": ["amuont"]}},
    {"parse_dates": "amuont"},
    {"filter": {"where": {"column": "amuont", "op": "notna"}}},
]


@pytest.mark.parametrize("step", MISSING, ids=lambda s: next(iter(s)))
def test_a_missing_column_is_a_spec_error_naming_it(clean, step):
    df = pd.DataFrame({"amount": [1.0], "country": ["de"]})
    with pytest.raises(SpecError) as info:
        clean(df, [step])
    assert info.value.exit_code == 2
    (problem,) = info.value.problems
    name = next(iter(step))
    assert problem.code == "missing_column"
    assert problem.message == f"column 'amuont' named by cleaning step '{name}' is not in the data"
    assert problem.loc == ()
    assert problem.fix == "did you mean 'amount'? columns present: amount, country"


def test_every_missing_column_is_reported():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(SpecError) as info:
        apply(DropNa, df, columns=["x", "a", "y"])
    assert [p.message.split("'")[1] for p in info.value.problems] == ["x", "y"]


# --- drop_duplicates / dropna -------------------------------------------------------------------


def test_dropna_thresh_above_the_column_count_is_a_spec_error():
    df = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(SpecError, match="thresh 3 exceeds the 2 columns"):
        apply(DropNa, df, thresh=3)


def test_dropna_treats_empty_strings_as_values():
    df = pd.DataFrame({"a": ["", None, "x"]})
    assert apply(DropNa, df).frame["a"].tolist() == ["", "x"]


# --- fillna -------------------------------------------------------------------------------------


def test_fillna_statistics_carry_the_leakage_note():
    df = pd.DataFrame({"a": [1.0, np.nan, 4.0]})
    for strategy in ("mean", "median", "mode"):
        note = apply(FillNa, df, strategy=strategy).note
        assert "before the split" in note and "leak" in note and "imputer" in note
    assert "leak" not in apply(FillNa, df, value=0).note
    assert "leak" in (FillNa.__doc__ or "")


def test_fillna_mode_takes_the_smallest_most_frequent_value():
    df = pd.DataFrame({"c": ["b", "a", None, "b", "a"]})
    res = apply(FillNa, df, strategy="mode")
    assert res.frame["c"].tolist() == ["b", "a", "a", "b", "a"]
    assert res.rows_changed == 1


def test_fillna_mean_on_a_nullable_integer_column_is_rounded():
    df = pd.DataFrame({"n": pd.array([1, None, 2], dtype="Int64")})
    res = apply(FillNa, df, strategy="mean")
    assert res.frame["n"].dtype == "Int64"
    assert res.frame["n"].tolist() == [1, 2, 2]  # 1.5 rounds half to even


def test_fillna_bfill_and_an_unfillable_edge():
    df = pd.DataFrame({"a": [np.nan, 1.0, np.nan]})
    res = apply(FillNa, df, strategy="bfill")
    assert res.frame["a"].isna().tolist() == [False, False, True]  # nothing after the last row
    assert res.rows_changed == 1
    assert "future" in res.note


def test_fillna_value_of_the_wrong_type_for_a_named_column_is_a_spec_error():
    df = pd.DataFrame({"a": [1.0, np.nan]})
    with pytest.raises(SpecError, match="needs a column that can hold 'unknown'") as info:
        apply(FillNa, df, columns=["a"], value="unknown")
    assert info.value.problems[0].code == "wrong_column_type"
    with pytest.raises(SpecError, match="needs numbers for strategy 'mean'"):
        apply(FillNa, pd.DataFrame({"s": ["x", None]}), columns=["s"], strategy="mean")


def test_fillna_fills_categories_and_dates():
    df = pd.DataFrame(
        {
            "c": pd.Categorical(["x", None]),
            "d": pd.to_datetime(["2024-01-01", None]),
        }
    )
    out = apply(FillNa, df, columns=["c"], value="missing").frame
    assert out["c"].tolist() == ["x", "missing"]
    out = apply(FillNa, df, columns=["d"], value="2000-01-01").frame
    assert out["d"].tolist()[1] == pd.Timestamp("2000-01-01")


# --- cast ---------------------------------------------------------------------------------------


def test_cast_raise_names_column_dtype_samples_and_fix():
    df = pd.DataFrame({"amount": ["1", "n/a", "2", "n/a", "x"]})
    with pytest.raises(DataError) as info:
        apply(Cast, df, dtypes={"amount": "float64"})
    assert info.value.exit_code == 1
    (problem,) = info.value.problems
    assert problem.code == "cast_failed"
    assert problem.loc == ("amount",)
    assert "column 'amount' has 3 value(s) that cannot be cast to float64: 'n/a', 'x'" in (
        problem.message
    )
    assert "errors: coerce" in (problem.fix or "") and "clean them first" in (problem.fix or "")


def test_cast_to_integers_refuses_fractions_and_missing_values():
    df = pd.DataFrame({"n": ["1", "2.5", "3"]})
    with pytest.raises(DataError, match=r"cast to int64: '2\.5'"):
        apply(Cast, df, dtypes={"n": "int"})
    with pytest.raises(DataError, match="cast to 'Int64'") as info:
        apply(Cast, df, dtypes={"n": "int64"}, errors="coerce")
    assert info.value.problems[0].code == "cast_missing"
    res = apply(Cast, df, dtypes={"n": "Int64"}, errors="coerce")
    assert res.frame["n"].dtype == "Int64"
    assert res.frame["n"].tolist()[::2] == [1, 3]
    assert res.rows_changed == 1
    with pytest.raises(DataError, match="cannot be cast to uint8: 300"):
        apply(Cast, pd.DataFrame({"n": [1, 300]}), dtypes={"n": "uint8"})


def test_cast_booleans_strings_and_categories():
    df = pd.DataFrame({"b": ["Yes", "no", " TRUE ", "0", None], "n": [1, 2, 3, 4, 5]})
    res = apply(Cast, df, dtypes={"b": "boolean", "n": "str"})
    assert res.frame["b"].tolist()[:4] == [True, False, True, False]
    assert res.frame["b"].isna().tolist()[4]
    assert res.frame["n"].tolist() == ["1", "2", "3", "4", "5"]
    assert res.rows_changed == 0
    with pytest.raises(DataError, match="cannot be cast to bool: 'maybe'"):
        apply(Cast, pd.DataFrame({"b": ["maybe"]}), dtypes={"b": "bool"})
    out = apply(Cast, df, dtypes={"b": "category"}).frame
    assert isinstance(out["b"].dtype, pd.CategoricalDtype)


def test_cast_to_str_keeps_missing_values_missing():
    out = apply(Cast, pd.DataFrame({"x": [1.5, np.nan]}), dtypes={"x": "str"}).frame
    assert out["x"].tolist()[0] == "1.5"
    assert out["x"].isna().tolist() == [False, True]


# --- normalize_text -----------------------------------------------------------------------------


def test_normalize_text_options_and_untouched_non_text():
    df = pd.DataFrame({"t": ["  A\t\tB  ", "\uff23"], "mixed": pd.Series([" X ", 3], dtype=object)})
    out = apply(NormalizeText, df).frame
    assert out["t"].tolist() == ["a b", "c"]
    assert out["mixed"].tolist() == ["x", 3]
    out = apply(NormalizeText, df, lower=False, collapse_whitespace=False, unicode_form=None).frame
    assert out["t"].tolist() == ["A\t\tB", "\uff23"]


def test_normalize_text_merges_categories_and_refuses_numbers():
    df = pd.DataFrame({"c": pd.Categorical(["DE", "de ", "fr"]), "n": [1, 2, 3]})
    res = apply(NormalizeText, df, columns=["c"])
    assert res.frame["c"].tolist() == ["de", "de", "fr"]
    assert list(res.frame["c"].cat.categories) == ["de", "fr"]
    assert res.rows_changed == 2
    with pytest.raises(SpecError, match="needs text, but column 'n' is int64"):
        apply(NormalizeText, df, columns=["n"])


# --- rename -------------------------------------------------------------------------------------


def test_rename_refuses_to_create_duplicate_columns():
    df = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(SpecError, match="several columns named 'b'") as info:
        apply(Rename, df, columns={"a": "b"})
    assert info.value.problems[0].code == "duplicate_column"
    swapped = apply(Rename, df, columns={"a": "b", "b": "a"}).frame
    assert list(swapped.columns) == ["b", "a"]


# --- clip_outliers ------------------------------------------------------------------------------


def test_clip_outliers_ignores_missing_values_and_notes_its_bounds():
    df = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 100.0], "s": list("abcde")})
    res = apply(ClipOutliers, df)  # numeric columns only: the text column is left alone
    assert res.frame["x"].isna().tolist() == [False, False, True, False, False]
    assert res.rows_changed == 1
    assert "x [" in res.note
    assert "before the split" in (ClipOutliers.__doc__ or "")
    with pytest.raises(SpecError, match="needs numbers, but column 's'"):
        apply(ClipOutliers, df, columns=["s"])


# --- parse_dates --------------------------------------------------------------------------------


def test_parse_dates_format_utc_and_errors():
    df = pd.DataFrame({"d": ["31/01/2024", "01/02/2024", "bad"]})
    with pytest.raises(DataError, match="cannot be parsed as dates: 'bad'") as info:
        apply(ParseDates, df, columns=["d"], format="%d/%m/%Y")
    assert info.value.problems[0].loc == ("d",)
    out = apply(ParseDates, df, columns=["d"], format="%d/%m/%Y", errors="coerce", utc=True).frame
    assert out["d"].iloc[1] == pd.Timestamp("2024-02-01", tz="UTC")
    with pytest.raises(SpecError, match="needs text dates"):
        apply(ParseDates, pd.DataFrame({"d": [20240131]}), columns=["d"])


# --- every step is pure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        "drop_duplicates",
        "dropna",
        {"fillna": {"strategy": "ffill"}},
        {"fillna": {"value": 0}},
        {"cast": {"n": "float64", "s": "str"}},
        "normalize_text",
        {"rename": {"n": "m"}},
        {"clip_outliers": {"method": "quantile", "lower": 0.2, "upper": 0.8}},
        {"parse_dates": {"columns": ["d"], "errors": "coerce"}},
        {"filter": {"where": {"column": "n", "op": ">", "value": 1}}},
    ],
    ids=lambda s: s if isinstance(s, str) else next(iter(s)),
)
def test_each_step_leaves_its_input_frame_alone(step):
    df = pd.DataFrame(
        {
            "n": [1.0, np.nan, 3.0, 3.0, 50.0],
            "s": [" A ", None, "b", "b", "c"],
            "d": ["2024-01-01", "x", None, None, "2024-01-05"],
        }
    )
    before = df.copy(deep=True)
    params = CleanStage.Params(steps=[step])
    from mlspec.stages.builtin.clean import resolved_steps

    ((step_cls, step_params),) = resolved_steps(params.steps)
    result = step_cls().apply(df, step_params)
    pd.testing.assert_frame_equal(df, before)
    assert result.frame is not df
