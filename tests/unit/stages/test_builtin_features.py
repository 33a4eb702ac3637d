from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage


def _run(train, **params):
    params.setdefault("target", "y")
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)
    return FeaturesStage().run(FeaturesParams(**params), {"train": train}, ctx)


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "age": [20.0, np.nan, 40.0, 60.0],
            "income": [1, 2, 3, 100],
            "city": ["oslo", "rome", None, "oslo"],
            "member": [True, False, True, True],
            "note": pd.Categorical(["a", "b", "a", "a"]),
            "seen": pd.to_datetime(["2024-01-01"] * 4),
            "row_id": [1, 2, 3, 4],
            "y": [0, 1, 0, 1],
        }
    )


def test_auto_columns_and_feature_names(train):
    out = _run(train, drop=["row_id"])
    names = out["feature_names"]
    assert names["numeric"] == ["age", "income"]
    assert names["categorical"] == ["city", "member", "note"]
    assert names["names"][:2] == ["age", "income"]
    assert "city_oslo" in names["names"] and "note_b" in names["names"]
    assert "y" not in names["names"] and "row_id" not in names["names"]
    X = out["transformer"].transform(train.drop(columns="y"))
    assert X.shape == (4, len(names["names"]))
    assert not np.isnan(X).any()  # imputed


def test_fitted_on_train_only(train):
    out = _run(
        train,
        drop=["row_id"],
        categorical={"columns": []},
        numeric={"steps": [{"scale": "standard"}]},
    )
    scaler = out["transformer"].named_transformers_["numeric"][-1]
    np.testing.assert_allclose(scaler.mean_, [40.0, 26.5])
    other = pd.DataFrame({"age": [40.0], "income": [26.5], "city": ["x"], "y": [0]})
    np.testing.assert_allclose(out["transformer"].transform(other), [[0.0, 0.0]])


def test_unseen_category_is_ignored(train):
    out = _run(train, numeric={"columns": []})
    test = train.drop(columns="y").assign(city="paris")
    assert np.isfinite(out["transformer"].transform(test)).all()


def test_explicit_columns_and_steps(train):
    out = _run(
        train,
        numeric={
            "columns": ["age", "income"],
            "steps": [{"impute": {"strategy": "constant", "fill_value": 0}}, "log1p", "scale"],
        },
        categorical={"columns": ["city"], "steps": ["impute", "ordinal"]},
    )
    t = out["transformer"]
    X = t.transform(train.drop(columns="y"))
    assert out["feature_names"]["names"] == ["age", "income", "city"]
    unseen = t.transform(train.drop(columns="y").assign(city="paris"))
    assert (unseen[:, 2] == -1).all()
    assert X.shape == (4, 3)


def test_scaler_options_and_passthrough(train):
    out = _run(
        train,
        numeric={"columns": ["income"], "steps": [{"scale": "minmax"}]},
        categorical={"columns": ["member"], "steps": []},
    )
    X = out["transformer"].transform(train.drop(columns="y"))
    np.testing.assert_allclose(X[:, 0].astype(float), [0, 1 / 99, 2 / 99, 1])


def test_deterministic(train):
    a, b = _run(train), _run(train)
    assert a["feature_names"] == b["feature_names"]
    X = train.drop(columns="y")
    np.testing.assert_array_equal(a["transformer"].transform(X), b["transformer"].transform(X))


def test_clashing_names_get_group_prefixes():
    train = pd.DataFrame({"c": ["1", "2"], "c_1": [1.0, 2.0], "y": [0, 1]})
    names = _run(train, categorical={"steps": ["onehot"]})["feature_names"]["names"]
    assert names == ["numeric__c_1", "categorical__c_1", "categorical__c_2"]


def test_named_columns_missing_from_train(train):
    with pytest.raises(SpecError) as err:
        _run(train, numeric={"columns": ["age", "hieght", "wieght"]})
    problem = err.value.problems[0]
    assert problem.loc == ("features", "numeric", "columns")
    assert "'hieght'" in problem.message and "'wieght'" in problem.message
    assert "income" in problem.fix


def test_dropped_column_missing(train):
    with pytest.raises(SpecError, match="'nope'"):
        _run(train, drop=["nope"])


def test_target_missing(train):
    with pytest.raises(SpecError, match="'label'"):
        _run(train, target="label")


def test_bad_step_options_are_spec_errors_at_the_step(train):
    with pytest.raises(SpecError) as err:
        _run(train, numeric={"steps": ["impute", {"scale": {"with_meen": False}}]})
    assert err.value.problems[0].loc == ("features", "numeric", "steps", 1)
    assert "with_meen" in err.value.problems[0].message
    with pytest.raises(SpecError) as err:
        _run(train, categorical={"steps": [{"onehot": {"handle_unknown": "sometimes"}}]})
    assert err.value.problems[0].loc == ("features", "categorical", "steps", 0)


def test_text_column_listed_as_numeric(train):
    with pytest.raises(DataError) as err:
        _run(train, numeric={"columns": ["age", "city"]})
    assert "'city'" in err.value.problems[0].message


def test_target_listed_as_a_feature(train):
    with pytest.raises(SpecError, match="'y'"):
        _run(train, numeric={"columns": ["age", "y"]})


def test_no_feature_columns():
    with pytest.raises(DataError, match="no feature columns"):
        _run(pd.DataFrame({"when": pd.to_datetime(["2024-01-01"]), "y": [1]}))


# -- lags, datetime, interactions, named groups: errors name the spec key ----------------------


@pytest.fixture
def sales():
    days = pd.date_range("2024-01-01", periods=10)
    return pd.DataFrame(
        {
            "store": ["s1"] * 10 + ["s2"] * 10,
            "date": list(days) * 2,
            "customers": np.arange(20, dtype=float),
            "promo": [0, 1] * 10,
            "y": np.arange(20, dtype=float) * 2,
        }
    )


LAGS = {"by": ["store"], "order": "date", "columns": ["customers"], "lags": [1, 7]}


@pytest.mark.parametrize(
    ("params", "loc", "missing"),
    [
        ({"lags": {**LAGS, "columns": ["custmers"]}}, ("features", "lags", "columns"), "custmers"),
        ({"lags": {**LAGS, "by": ["shop"]}}, ("features", "lags", "by"), "shop"),
        ({"lags": {**LAGS, "order": "day"}}, ("features", "lags", "order"), "day"),
        ({"lags": [LAGS, {**LAGS, "by": ["shop"]}]}, ("features", "lags", 1, "by"), "shop"),
        ({"interactions": [["promo", "prise"]]}, ("features", "interactions", 0), "prise"),
        ({"datetime": {"columns": ["dat"]}}, ("features", "datetime", "columns"), "dat"),
        (
            {"groups": {"te": {"columns": ["stor"]}}},
            ("features", "groups", "te", "columns"),
            "stor",
        ),
    ],
)
def test_columns_named_anywhere_must_exist(sales, params, loc, missing):
    with pytest.raises(SpecError) as err:
        _run(sales, **params)
    problem = err.value.problems[0]
    assert err.value.exit_code == 2
    assert problem.loc == loc and f"'{missing}'" in problem.message
    assert problem.fix == "columns present: store, date, customers, promo"


def test_the_target_cannot_be_lagged_or_multiplied(sales):
    with pytest.raises(SpecError) as err:
        _run(sales, lags={**LAGS, "columns": ["y"]})
    assert err.value.problems[0].loc == ("features", "lags", "columns")
    assert "not an input when the model predicts" in err.value.problems[0].message
    with pytest.raises(SpecError, match="interaction"):
        _run(sales, interactions=[["promo", "y"]])


def test_lags_datetime_and_interactions_are_recorded(sales):
    logs: list[str] = []
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=logs.append)
    params = FeaturesParams(
        target="y",
        lags={**LAGS, "windows": [3]},
        datetime={"columns": ["date"], "steps": [{"parts": ["dayofweek"]}]},
        interactions=[["promo", "customers"]],
    )
    out = FeaturesStage().run(params, {"train": sales}, ctx)
    names = out["feature_names"]
    assert names["numeric"] == ["promo"]  # the lag source is not used raw
    assert names["outputs"]["lags"] == [
        "customers_lag_1",
        "customers_lag_7",
        "customers_roll_mean_3",
    ]
    assert names["outputs"]["interactions"] == ["promo_x_customers"]
    assert names["names"] == [
        "promo",
        "store_s1",
        "store_s2",
        "date_dayofweek",
        "customers_lag_1",
        "customers_lag_7",
        "customers_roll_mean_3",
        "promo_x_customers",
    ]
    X = out["transformer"].transform(sales.drop(columns="y"))
    assert X.shape == (20, 8)
    assert X[1, 4] == 0.0 and X[11, 4] == 10.0 and np.isnan(X[10, 4])  # per store


def test_a_fitted_pipeline_gives_valid_rows_lags_from_train(sales):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    train, valid = sales[sales["date"] < "2024-01-08"], sales[sales["date"] >= "2024-01-08"]
    lags = {**LAGS, "lags": [1], "fill_value": -1}
    out = _run(train, lags=lags, numeric={"columns": []}, categorical={"columns": []})
    t = out["transformer"]
    Xt = t.transform(train.drop(columns="y"))
    assert Xt[0, 0] == -1 and Xt[1, 0] == 0  # no history yet: the fill value
    model = LinearRegression().fit(Xt, train["y"])
    pipe = Pipeline([("features", t), ("model", model)])
    Xv = t.transform(valid.drop(columns="y"))
    np.testing.assert_array_equal(Xv[:, 0], [6, 7, 8, 16, 17, 18])  # first rows: train history
    assert pipe.predict(valid.drop(columns="y")).shape == (6,)


def test_duplicate_times_are_reported(sales):
    logs: list[str] = []
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=logs.append)
    twice = pd.concat([sales, sales.iloc[:2]], ignore_index=True)
    FeaturesStage().run(FeaturesParams(target="y", lags=LAGS), {"train": twice}, ctx)
    assert any("2 rows share (store, date)" in m for m in logs)


# -- the code fingerprint covers the feature modules and custom steps --------------------------


def test_code_objects_cover_the_feature_modules_and_custom_steps(tmp_path, monkeypatch):
    from mlspec.hashing import code_fingerprint
    from mlspec.stages.features import MODULES

    pkg = tmp_path / "my_steps.py"
    pkg.write_text(
        "from sklearn.preprocessing import FunctionTransformer\n"
        "class Twice(FunctionTransformer):\n"
        "    def __init__(self):\n"
        "        super().__init__(lambda x: 2 * x)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    params = FeaturesParams(target="y", numeric={"steps": [{"_target_": "my_steps.Twice"}]})
    names = [m.__name__ for m in FeaturesStage.code_objects(params)]
    assert set(MODULES) <= set(names) and "my_steps" in names
    before = code_fingerprint(FeaturesStage, *FeaturesStage.code_objects(params))
    pkg.write_text(pkg.read_text().replace("2 * x", "3 * x"))
    after = code_fingerprint(FeaturesStage, *FeaturesStage.code_objects(params))
    assert before != after


def test_planning_a_features_node_imports_no_ml_library():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage\n"
        "from mlspec.hashing import code_fingerprint\n"
        "p = FeaturesParams(target='y', lags={'order': 'd', 'columns': ['c']},\n"
        "    numeric={'steps': [{'_target_': 'sklearn.preprocessing.PolynomialFeatures'}]})\n"
        "code_fingerprint(FeaturesStage, *FeaturesStage.code_objects(p))\n"
        "FeaturesStage.libraries_for(p)\n"
        "print(','.join(m for m in ('pandas', 'numpy', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
