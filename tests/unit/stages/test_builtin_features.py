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
