"""train.imbalance: balanced -> class_weight, scale_pos_weight or sample weights; else an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlspec.errors import SpecError
from mlspec.stages.builtin.train import TrainParams, TrainStage


@pytest.fixture(scope="module")
def skewed(cancer):
    """The train split with three quarters of class 0 dropped (about 1 negative to 4 positives)."""
    train = cancer["train"]
    zeros = train[train["target"] == 0]
    keep = train.drop(index=zeros.index[: 3 * len(zeros) // 4])
    return {**cancer, "train": keep}


def _counts(splits):
    y = splits["train"]["target"].to_numpy()
    return int((y == 0).sum()), int((y == 1).sum())


@pytest.mark.parametrize(
    "model",
    [
        {"_target_": "sklearn.linear_model.LogisticRegression"},
        {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 5, "n_jobs": 1},
        {"_target_": "lightgbm.LGBMClassifier", "n_estimators": 5, "n_jobs": 1},
    ],
    ids=lambda m: m["_target_"].rsplit(".", 1)[1],
)
def test_class_weight_is_balanced(skewed, fit, model):
    est, report = fit(skewed, model, imbalance="balanced")
    assert est.named_steps["model"].get_params()["class_weight"] == "balanced"
    assert report["imbalance"]["strategy"] == "class_weight"
    assert report["params_set"]["class_weight"] == "balanced"
    neg, pos = _counts(skewed)
    assert report["imbalance"]["class_counts"] == {"0": neg, "1": pos}


def test_none_leaves_the_estimator_alone(skewed, fit):
    est, report = fit(skewed, {"_target_": "sklearn.linear_model.LogisticRegression"})
    assert est.named_steps["model"].class_weight is None
    assert report["imbalance"]["mode"] == "none" and "strategy" not in report["imbalance"]


def test_the_users_class_weight_wins(skewed, fit):
    model = {"_target_": "sklearn.linear_model.LogisticRegression", "class_weight": {0: 1, 1: 3}}
    est, report = fit(skewed, model, imbalance="balanced")
    assert est.named_steps["model"].class_weight == {0: 1, 1: 3}
    assert report["imbalance"]["source"] == "model"


def test_xgboost_binary_gets_scale_pos_weight_from_the_train_split(skewed, fit):
    model = {"_target_": "xgboost.XGBClassifier", "n_estimators": 5, "n_jobs": 1}
    est, report = fit(skewed, model, imbalance="balanced")
    neg, pos = _counts(skewed)
    assert neg < pos / 2  # really skewed
    assert est.named_steps["model"].get_params()["scale_pos_weight"] == pytest.approx(neg / pos)
    assert report["imbalance"]["strategy"] == "scale_pos_weight"
    assert report["imbalance"]["value"] == pytest.approx(neg / pos)


def test_xgboost_multiclass_gets_balanced_sample_weights(wine, fit):
    model = {"_target_": "xgboost.XGBClassifier", "n_estimators": 5, "n_jobs": 1}
    est, report = fit(wine, model, imbalance="balanced", early_stopping_rounds=0)
    plain, _ = fit(wine, model, early_stopping_rounds=0)
    assert est.named_steps["model"].get_params()["scale_pos_weight"] is None
    imbalance = report["imbalance"]
    assert imbalance["strategy"] == "sample_weight"
    y = wine["train"]["target"].to_numpy()
    for label, weight in imbalance["value"].items():  # n / (k * count): sklearn's "balanced"
        assert weight == pytest.approx(len(y) / (3 * (y == int(label)).sum()))
    X = wine["test"].drop(columns="target")
    assert not np.allclose(est.predict_proba(X), plain.predict_proba(X))  # the weights were used


def test_mlp_gets_sample_weights_also_with_early_stopping(skewed, fit):
    model = {
        "_target_": "sklearn.neural_network.MLPClassifier",
        "hidden_layer_sizes": [8],
        "max_iter": 20,
    }
    est, report = fit(skewed, model, imbalance="balanced", early_stopping_rounds=5)
    plain, _ = fit(skewed, model, early_stopping_rounds=5)
    assert report["imbalance"]["strategy"] == "sample_weight"
    assert report["early_stopping"]["applied"]
    X = skewed["test"].drop(columns="target")
    assert not np.allclose(est.predict_proba(X), plain.predict_proba(X))


def _check(model, **options):
    return TrainStage.check(TrainParams(model=model, target="target", **options), Path("."))


def test_an_estimator_without_any_weighting_is_refused(skewed, fit):
    knn = {"_target_": "sklearn.neighbors.KNeighborsClassifier"}
    [problem] = _check(knn, imbalance="balanced")
    assert (problem.code, problem.loc) == ("imbalance_unsupported", ("imbalance",))
    assert "KNeighborsClassifier" in problem.message and "train.imbalance" in problem.fix
    with pytest.raises(SpecError) as err:
        fit(skewed, knn, imbalance="balanced")
    assert err.value.problems[0].loc == ("train", "imbalance")
    assert _check(knn) == []


@pytest.mark.parametrize(
    ("model", "task"),
    [
        ({"_target_": "sklearn.linear_model.Ridge"}, "auto"),
        ({"_target_": "lightgbm.LGBMRegressor"}, "regression"),
    ],
)
def test_regression_with_balanced_is_a_spec_error(diabetes, fit, model, task):
    [problem] = _check(model, imbalance="balanced", task=task)
    assert (problem.code, problem.loc) == ("imbalance_needs_classification", ("imbalance",))
    with pytest.raises(SpecError) as err:
        fit(
            diabetes,
            {**model, "n_jobs": 1} if "lightgbm" in model["_target_"] else model,
            imbalance="balanced",
            task=task,
        )
    assert err.value.problems[0].loc == ("train", "imbalance")
