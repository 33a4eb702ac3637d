"""Slices use exactly their rows: metrics recomputed with scikit-learn on the filtered rows."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from test_eval_metrics import sklearn_classification, sklearn_regression

from mlspec.errors import SpecError
from mlspec.evaluation.options import EvaluateOptions


def _expected(case, rows: pd.DataFrame) -> dict[str, float]:
    X, y = case.X(rows), rows["target"].to_numpy()
    pred = case.model.predict(X)
    if not hasattr(case.model, "classes_"):
        return sklearn_regression(y, pred)
    classes = case.model.classes_
    proba = case.model.predict_proba(X)
    score = proba[:, 1] if len(classes) == 2 else proba
    return sklearn_classification(y, pred, score, classes)


def _same(ours: dict[str, float], theirs: dict[str, float]) -> None:
    for name, value in theirs.items():
        if value != value:
            assert ours[name] != ours[name], name
        else:
            assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression"])
def test_category_slices_use_exactly_their_rows(case, request):
    c = request.getfixturevalue(case)
    m = c.evaluate(slices=["group"], min_slice_size=1)["metrics"]
    for split, frame in (("valid", c.valid), ("test", c.test)):
        entries = m["slices"][split]
        assert [e["slice"]["group"] for e in entries] == sorted(frame["group"].unique())
        assert sum(e["rows"] for e in entries) == len(frame)
        for e in entries:
            rows = frame[frame["group"] == e["slice"]["group"]]
            assert e["rows"] == len(rows)
            _same(e["metrics"], _expected(c, rows))


def test_binned_and_crossed_slices_use_exactly_their_rows(regression):
    c = regression
    m = c.evaluate(slices=[[{"column": "bmi", "bins": 3}, "group"]], min_slice_size=1)["metrics"]
    both = pd.concat([c.valid["bmi"], c.test["bmi"]])
    edges = np.quantile(both, [0, 1 / 3, 2 / 3, 1])  # computed here independently
    bins = {f"{'[' if i == 0 else '('}{edges[i]:.4g}, {edges[i + 1]:.4g}]": i for i in range(3)}
    for split, frame in (("valid", c.valid), ("test", c.test)):
        entries = m["slices"][split]
        assert sum(e["rows"] for e in entries) == len(frame)
        for e in entries:
            i = bins[e["slice"]["bmi"]]
            low = frame["bmi"] >= edges[0] if i == 0 else frame["bmi"] > edges[i]
            inside = low & (frame["bmi"] <= edges[i + 1]) & (frame["group"] == e["slice"]["group"])
            rows = frame[inside]
            assert e["rows"] == len(rows) > 0
            _same(e["metrics"], _expected(c, rows))


def test_small_slices_are_skipped_and_listed(binary):
    c = binary
    sizes = c.test["group"].value_counts()
    cut = int(sizes.min()) + 1
    m = c.evaluate(slices=["group"], min_slice_size=cut)["metrics"]
    skipped = m["skipped_slices"]["test"]
    assert [s["slice"]["group"] for s in skipped] == [sizes.idxmin()]
    assert skipped[0]["rows"] == sizes.min()
    assert skipped[0]["reason"] == f"below min_slice_size {cut}"
    assert sizes.idxmin() not in [e["slice"]["group"] for e in m["slices"]["test"]]


def test_missing_values_are_a_slice(regression):
    c = copy.copy(regression)
    c.test = c.test.assign(group=c.test["group"].where(c.test["bmi"] > 0))
    m = c.evaluate(slices=["group"], min_slice_size=1)["metrics"]
    last = m["slices"]["test"][-1]
    assert last["slice"] == {"group": None}
    rows = c.test[c.test["group"].isna()]
    assert last["rows"] == len(rows)
    _same(last["metrics"], sklearn_regression(rows["target"], c.model.predict(c.X(rows))))


def test_unknown_slice_column_names_the_column_and_the_columns_present(binary):
    with pytest.raises(SpecError) as err:
        binary.evaluate(slices=["group", ["group", "mean radiuss"]])
    problem = err.value.problems[0]
    assert problem.loc == ("evaluate", "slices", 1, 1)
    assert "'mean radiuss'" in problem.message
    assert problem.fix.startswith("did you mean 'mean radius'? columns present: ")
    assert "columns present: " in problem.fix and "worst area" in problem.fix


def test_bins_on_text_column_is_an_error(binary):
    with pytest.raises(SpecError) as err:
        binary.evaluate(slices=[{"column": "group", "bins": 3}])
    assert err.value.problems[0].loc == ("evaluate", "slices", 0, "bins")
    assert "not numeric" in err.value.problems[0].message


def test_many_valued_column_needs_bins(binary):
    with pytest.raises(SpecError) as err:
        binary.evaluate(slices=["mean radius"])
    assert "{column: mean radius, bins: 4}" in err.value.problems[0].fix


def test_options_reject_a_column_crossed_with_itself():
    with pytest.raises(ValueError, match="crosses column 'a' with itself"):
        EvaluateOptions(slices=[["a", {"column": "a", "bins": 2}]])
