import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import Pipeline

from mlspec.errors import DataError, SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage
from mlspec.stages.builtin.train import TrainParams, TrainStage

CTX = StageContext(node="x", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)


def _data(loader):
    df = loader(as_frame=True).frame
    return df.iloc[::2].reset_index(drop=True), df.iloc[1::2].reset_index(drop=True)


@pytest.fixture(scope="module")
def cancer():
    return _data(load_breast_cancer)


@pytest.fixture(scope="module")
def diabetes():
    return _data(load_diabetes)


def _train(train, model, **params):
    transformer = FeaturesStage().run(FeaturesParams(target="target"), {"train": train}, CTX)
    params = TrainParams(model=model, target="target", **params)
    inputs = {"transformer": transformer["transformer"], "train": train, "valid": train.head(0)}
    return TrainStage().run(params, inputs, CTX)["model"]


def _check(model):
    return TrainStage.check(TrainParams(model=model, target="target"), Path("."))


def test_libraries_include_the_estimators_distribution():
    libs = TrainStage.libraries_for(
        TrainParams(model={"_target_": "lightgbm.LGBMClassifier"}, target="t")
    )
    assert libs[: len(TrainStage.libraries)] == TrainStage.libraries
    assert "lightgbm" in libs
    libs = TrainStage.libraries_for(
        TrainParams(model={"_target_": "sklearn.linear_model.Ridge"}, target="t")
    )
    assert libs.count("scikit-learn") == 1
    unknown = TrainParams(model={"_target_": "nosuchpkg.Model"}, target="t")
    assert TrainStage.libraries_for(unknown) == TrainStage.libraries


def test_check_accepts_a_valid_model():
    assert _check({"_target_": "lightgbm.LGBMClassifier", "n_estimators": 5, "verbose": -1}) == []
    assert _check({"_target_": "sklearn.linear_model.LogisticRegression", "C": 0.5}) == []


def test_check_suggests_the_class_for_a_typo():
    [problem] = _check({"_target_": "lightgbm.LGBMClassifer"})
    assert problem.code == "unknown_target"
    assert problem.loc == ("model", "_target_")
    assert "did you mean 'LGBMClassifier'" in problem.fix


def test_check_unknown_module():
    [problem] = _check({"_target_": "sklearn.linear_modle.Ridge"})
    assert problem.code == "unknown_target"
    assert "sklearn.linear_model" in problem.fix


def test_check_unknown_param_suggests_the_right_one():
    [problem] = _check({"_target_": "lightgbm.LGBMClassifier", "n_estimator": 10})
    assert problem.code == "unknown_param"
    assert problem.loc == ("model", "n_estimator")
    assert "did you mean 'n_estimators'" in problem.fix


def test_check_not_an_estimator():
    [problem] = _check({"_target_": "collections.OrderedDict"})
    assert problem.code == "not_an_estimator"


def test_run_returns_a_pipeline_predicting_from_raw_frames(cancer):
    train, test = cancer
    model = _train(train, {"_target_": "sklearn.linear_model.LogisticRegression", "C": 0.1})
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["features", "model"]
    assert model.named_steps["model"].C == 0.1
    accuracy = (model.predict(test.drop(columns="target")) == test["target"]).mean()
    assert accuracy > 0.9
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(test), model.predict(test))


def test_transformer_is_not_refitted(cancer):
    train, _ = cancer
    transformer = FeaturesStage().run(FeaturesParams(target="target"), {"train": train}, CTX)
    t = transformer["transformer"]
    mean = t.named_transformers_["numeric"][-1].mean_.copy()
    inputs = {"transformer": t, "train": train.iloc[:100], "valid": train.head(0)}
    params = TrainParams(model={"_target_": "sklearn.linear_model.Ridge"}, target="target")
    model = TrainStage().run(params, inputs, CTX)["model"]
    assert model.named_steps["features"] is t
    np.testing.assert_array_equal(t.named_transformers_["numeric"][-1].mean_, mean)


def test_seed_defaults_and_user_settings(diabetes):
    train, _ = diabetes
    est = _train(train, {"_target_": "lightgbm.LGBMRegressor", "n_estimators": 5}, seed=7)
    params = est.named_steps["model"].get_params()
    assert params["random_state"] == 7
    assert params["verbose"] == -1
    assert params["n_jobs"] is None  # left as the user (did not) set it
    est = _train(
        train,
        {"_target_": "lightgbm.LGBMRegressor", "random_state": 3, "n_jobs": 1, "verbose": 0},
        seed=7,
    )
    params = est.named_steps["model"].get_params()
    assert (params["random_state"], params["n_jobs"], params["verbose"]) == (3, 1, 0)


@pytest.mark.parametrize(
    "model",
    [
        {
            "_target_": "lightgbm.LGBMClassifier",
            "n_estimators": 10,
            "subsample": 0.5,
            "subsample_freq": 1,
        },
        {"_target_": "xgboost.XGBClassifier", "n_estimators": 10, "subsample": 0.5},
        {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 10},
    ],
    ids=lambda m: m["_target_"],
)
def test_deterministic(cancer, model):
    train, test = cancer
    a, b = _train(train, model), _train(train, model)
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))


def test_task_mismatch_is_a_spec_error(diabetes):
    train, _ = diabetes
    with pytest.raises(SpecError) as err:
        _train(train, {"_target_": "sklearn.linear_model.Ridge"}, task="classification")
    assert err.value.problems[0].loc == ("task",)


def test_missing_target(cancer):
    train, _ = cancer
    transformer = FeaturesStage().run(FeaturesParams(target="target"), {"train": train}, CTX)
    inputs = {"transformer": transformer["transformer"], "train": train, "valid": train}
    params = TrainParams(model={"_target_": "sklearn.linear_model.Ridge"}, target="label")
    with pytest.raises(SpecError, match="'label'"):
        TrainStage().run(params, inputs, CTX)


def test_missing_target_values(cancer):
    train, _ = cancer
    train = train.assign(target=train["target"].astype(float))
    train.loc[3, "target"] = np.nan
    with pytest.raises(DataError, match="1 missing"):
        _train(train, {"_target_": "sklearn.linear_model.Ridge"})


def test_unknown_class_at_run_time_is_a_spec_error(cancer):
    train, _ = cancer
    with pytest.raises(SpecError, match="LGBMClassifier"):
        _train(train, {"_target_": "lightgbm.LGBMClassifer"})


def test_string_labels(cancer):
    train, test = cancer
    labels = np.where(train["target"] == 1, "benign", "malignant")
    model = _train(train.assign(target=pd.Series(labels)), {"_target_": "lightgbm.LGBMClassifier"})
    assert set(model.predict(test)) <= {"benign", "malignant"}


def test_check_reads_the_signature_when_the_class_needs_arguments():
    [problem] = _check({"_target_": "sklearn.multiclass.OneVsRestClassifier", "estimatr": None})
    assert problem.code == "unknown_param"
    assert "did you mean 'estimator'" in problem.fix


def test_outputs_are_the_model_and_a_report(cancer):
    assert TrainStage.version == "2"
    assert dict(TrainStage.outputs) == {"model": "estimator", "report": "json"}
    # editing the fitting helpers invalidates cached trainings
    params = TrainParams(model={"_target_": "sklearn.linear_model.Ridge"}, target="t")
    assert [m.__name__ for m in TrainStage.code_objects(params)] == ["mlspec.stages.builtin._fit"]
    train, _ = cancer
    transformer = FeaturesStage().run(FeaturesParams(target="target"), {"train": train}, CTX)
    inputs = {"transformer": transformer["transformer"], "train": train, "valid": train.head(0)}
    model = {"_target_": "sklearn.linear_model.LogisticRegression"}
    out = TrainStage().run(TrainParams(model=model, target="target", seed=2), inputs, CTX)
    assert set(out) == {"model", "report"}
    report = out["report"]
    assert report["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert (report["task"], report["n_features"], report["n_train_rows"]) == (
        "classification",
        30,
        len(train),
    )
    assert report["early_stopping"]["applied"] is False
    assert report["imbalance"]["mode"] == "none"


def test_check_validates_the_train_options_against_the_estimator():
    ridge = {"_target_": "sklearn.linear_model.Ridge"}
    params = TrainParams(model=ridge, target="t", imbalance="balanced")
    [problem] = TrainStage.check(params, Path("."))
    assert problem.loc == ("imbalance",)  # the engine prefixes train.
    params = TrainParams(model=ridge, target="t", task="classification")
    [problem] = TrainStage.check(params, Path("."))
    assert (problem.code, problem.loc) == ("task_mismatch", ("task",))
