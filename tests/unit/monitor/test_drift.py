"""compare(): test choice, options, missing values, unseen categories, BH, the dataset rule,
insufficient data, prediction drift, and clear errors for bad current data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.monitor.drift import compare
from mlspec.monitor.options import ColumnTest, DriftOptions, ProfileOptions
from mlspec.monitor.profile import build_reference_profile


def _frame(n: int, seed: int, shift: float = 0.0, new_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = np.array(["a", "b", "c", "new"])
    shares = np.array([0.5, 0.3, 0.2, 0.0]) * (1 - new_share) + np.array([0, 0, 0, new_share])
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "k": rng.integers(0, 50, n),
            "c": pd.Series(cats[rng.choice(4, n, p=shares)], dtype="str"),
        }
    )


def test_small_references_get_p_value_tests_large_ones_distances():
    small = compare(build_reference_profile(_frame(1000, 0)), _frame(500, 1))
    assert [(c.column, c.test) for c in small.columns] == [
        ("x", "ks"),
        ("k", "ks"),
        ("c", "chisquare"),
    ]
    assert all(c.p_value is not None and c.threshold == 0.05 for c in small.columns)
    large = compare(build_reference_profile(_frame(1001, 0)), _frame(500, 1))
    assert [c.test for c in large.columns] == ["wasserstein", "wasserstein", "jensenshannon"]
    assert all(c.p_value is None and c.threshold == 0.1 for c in large.columns)
    assert all(c.psi is not None for c in small.columns + large.columns)


def test_clear_shift_drifts_and_the_result_is_plain_json():
    prof = build_reference_profile(_frame(5000, 0), predictions=np.linspace(0, 1, 5000))
    res = compare(prof, _frame(3000, 1, shift=1.0), current_predictions=np.linspace(0.3, 1, 3000))
    x = res.column("x")
    assert x.drifted and x.status == "drift" and x.statistic == pytest.approx(1.0, abs=0.1)
    assert not res.column("k").drifted and not res.column("c").drifted
    assert res.n_drifted == 1 and res.n_tested == 3 and res.share_drifted == pytest.approx(1 / 3)
    assert not res.dataset_drift and res.status == "ok"  # one column in three: below 0.5
    assert res.prediction is not None and res.prediction.drifted
    assert res.prediction.column == "prediction" and res.prediction.test == "wasserstein"
    data = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert data["columns"][0]["histogram"]["edges"] == prof.columns["x"]["edges"]
    assert sum(data["columns"][0]["histogram"]["current"]) == pytest.approx(1.0)
    strict = compare(prof, _frame(3000, 1, shift=1.0), DriftOptions(drift_share=0.3))
    assert strict.dataset_drift and strict.status == "drift"
    assert strict.prediction is None  # no current predictions given


def test_bins_stay_the_reference_ones():
    prof = build_reference_profile(_frame(3000, 0))
    res = compare(prof, _frame(3000, 1, shift=5.0))
    hist = res.column("x").histogram
    assert hist["edges"] == prof.columns["x"]["edges"]
    assert hist["current"][-1] > 0.99  # everything above the reference lands in the top bin


def test_per_column_overrides_and_global_tests():
    prof = build_reference_profile(_frame(5000, 0))
    opts = DriftOptions(
        columns={"x": ColumnTest(test="ks", threshold=0.01), "c": ColumnTest(threshold=0.5)},
        numeric_test="psi",
    )
    res = compare(prof, _frame(4000, 1), opts)
    assert (res.column("x").test, res.column("x").threshold) == ("ks", 0.01)
    assert res.column("k").test == "psi" and res.column("k").statistic == res.column("k").psi
    assert (res.column("c").test, res.column("c").threshold) == ("jensenshannon", 0.5)
    binned = compare(prof, _frame(4000, 1), DriftOptions(numeric_test="chisquare")).column("x")
    assert binned.test == "chisquare" and binned.p_value is not None


def test_bad_options_name_the_column_and_the_fix():
    prof = build_reference_profile(_frame(200, 0))
    with pytest.raises(SpecError) as err:
        compare(prof, _frame(200, 1), DriftOptions(columns={"xx": ColumnTest(test="ks")}))
    assert "column 'xx'" in str(err.value) and "did you mean 'x'" in err.value.render()
    with pytest.raises(SpecError) as err:
        compare(prof, _frame(200, 1), DriftOptions(columns={"c": ColumnTest(test="ks")}))
    assert "column 'c' is categorical" in str(err.value)
    assert err.value.problems[0].loc == ("columns", "c", "test")
    with pytest.raises(ValueError, match="extra"):
        DriftOptions.model_validate({"alfa": 0.1})
    with pytest.raises(ValueError, match="p-value level"):
        ColumnTest(test="ks", threshold=2)


def test_bad_current_data_is_a_data_error_per_column():
    prof = build_reference_profile(_frame(200, 0))
    with pytest.raises(DataError) as err:
        compare(prof, _frame(200, 1).drop(columns=["x", "c"]))
    assert [p.loc for p in err.value.problems] == [("x",), ("c",)]
    assert "lacks column 'x'" in str(err.value) and err.value.problems[0].code == "missing_column"
    wrong = _frame(200, 1).assign(x=lambda d: d["x"].astype(str))
    with pytest.raises(DataError) as err:
        compare(prof, wrong)
    problem = err.value.problems[0]
    assert problem.code == "wrong_dtype" and problem.loc == ("x",)
    assert "column 'x' is str in the current data but float64 in the reference" in problem.message
    with pytest.raises(DataError, match="no rows"):
        compare(prof, _frame(200, 1).iloc[:0])


def test_too_few_rows_is_insufficient_data_not_ok():
    prof = build_reference_profile(_frame(500, 0))
    res = compare(prof, _frame(10, 1))
    assert {c.status for c in res.columns} == {"insufficient_data"}
    assert all(not c.drifted and c.statistic is None for c in res.columns)
    assert res.status == "insufficient_data" and not res.dataset_drift and res.n_tested == 0
    few = compare(prof, _frame(10, 1), DriftOptions(min_rows=5))
    assert few.status in ("ok", "drift") and few.n_tested == 3


def test_missing_values_drift_on_their_own():
    prof = build_reference_profile(_frame(5000, 0))
    cur = _frame(5000, 1)
    cur.loc[cur.sample(frac=0.1, random_state=0).index, "x"] = np.nan
    x = compare(prof, cur).column("x")
    assert x.missing_rate_ref == 0 and x.missing_rate_cur == pytest.approx(0.1)
    assert x.missing_test == "jensenshannon" and x.missing_drifted and x.drifted
    assert x.statistic < x.threshold  # the values themselves did not move
    small = compare(build_reference_profile(_frame(800, 0)), cur).column("x")
    assert small.missing_test == "fisher" and small.missing_p_value < 1e-10 and small.drifted
    off = compare(prof, cur, DriftOptions(missing=False)).column("x")
    assert off.missing_test is None and not off.drifted
    empty = cur.assign(x=np.nan)  # all missing now: nothing to test, but drift all the same
    gone = compare(prof, empty).column("x")
    assert gone.count_cur == 0 and gone.missing_drifted and gone.status == "drift"


def test_unseen_categories_are_listed_unless_the_reference_was_pooled():
    prof = build_reference_profile(_frame(3000, 0))
    c = compare(prof, _frame(3000, 1, new_share=0.1)).column("c")
    assert c.unseen_categories == ["new"] and c.drifted
    assert c.histogram["labels"] == ["a", "b", "c", "new"]
    assert c.histogram["reference"][-1] == 0 and c.histogram["current"][-1] > 0.05
    pooled = build_reference_profile(_frame(3000, 0), options=ProfileOptions(max_categories=2))
    c = compare(pooled, _frame(3000, 1, new_share=0.1)).column("c")
    assert c.unseen_categories == [] and c.histogram["labels"] == ["a", "b", "(other)"]


def test_benjamini_hochberg_adjusts_across_columns():
    prof = build_reference_profile(_frame(600, 0))
    cur = _frame(600, 1, shift=0.2)
    bh = compare(prof, cur)
    raw = compare(prof, cur, DriftOptions(correction="none"))
    for a, b in zip(bh.columns, raw.columns, strict=True):
        assert a.p_value == b.p_value and b.p_adjusted == b.p_value
        assert a.p_adjusted >= a.p_value
    ordered = sorted(c.p_value for c in bh.columns)
    assert min(c.p_adjusted for c in bh.columns) == pytest.approx(
        min(p * 3 / (i + 1) for i, p in enumerate(ordered))
    )


def test_bh_keeps_the_familywise_false_alarm_rate_of_many_null_columns():
    rng = np.random.default_rng(11)
    alarms = {"bh": 0, "none": 0}
    for _ in range(40):
        ref = pd.DataFrame(rng.normal(size=(200, 20)), columns=[f"v{i}" for i in range(20)])
        cur = pd.DataFrame(rng.normal(size=(200, 20)), columns=ref.columns)
        prof = build_reference_profile(ref)
        for mode in alarms:
            alarms[mode] += compare(prof, cur, DriftOptions(correction=mode)).n_drifted > 0
    assert alarms["bh"] <= 6  # ~2 expected (5 %): the global null is rejected at alpha
    assert alarms["none"] >= 18  # ~26 expected (64 %): 1 - 0.95 ** 20


def test_numeric_categories_compare_by_value():
    ref = pd.DataFrame({"g": np.tile([1, 2, 3], 400)})
    cur = pd.DataFrame({"g": np.tile([1.0, 2.0, 3.0, 4.0, np.nan], 240)})
    g = compare(build_reference_profile(ref), cur).column("g")
    assert g.kind == "categorical" and g.unseen_categories == [4]
    assert g.histogram["labels"] == ["1", "2", "3", "4"] and g.drifted


def test_current_predictions_are_checked_like_a_column():
    prof = build_reference_profile(_frame(500, 0), predictions=np.linspace(0, 1, 500))
    with pytest.raises(DataError, match="one score per row") as err:
        compare(prof, _frame(500, 1), current_predictions=np.ones((500, 2)))
    assert err.value.problems[0].loc == ("prediction",)
    with pytest.raises(DataError, match="column 'prediction' is") as err:
        compare(prof, _frame(500, 1), current_predictions=np.array(["a", "b"] * 250))
    assert err.value.problems[0].code == "wrong_dtype"
