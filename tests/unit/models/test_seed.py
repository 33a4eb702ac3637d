"""The spec's seed reaches every estimator: same seed, same model; the user's setting wins."""

from __future__ import annotations

import numpy as np
import pytest

MODELS = [
    {
        "_target_": "lightgbm.LGBMClassifier",
        "n_estimators": 20,
        "subsample": 0.5,
        "subsample_freq": 1,
        "colsample_bytree": 0.5,
        "n_jobs": 1,
    },
    {
        "_target_": "xgboost.XGBClassifier",
        "n_estimators": 20,
        "subsample": 0.5,
        "colsample_bytree": 0.5,
        "n_jobs": 1,
    },
    {"_target_": "sklearn.neural_network.MLPClassifier", "hidden_layer_sizes": [8], "max_iter": 30},
    {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 10, "n_jobs": 1},
]
IDS = ["lightgbm", "xgboost", "mlp", "random_forest"]


def _proba(est, splits):
    return est.predict_proba(splits["test"].drop(columns="target"))


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_same_seed_same_predictions(cancer, fit, model):
    a, report = fit(cancer, model, seed=11)
    b, _ = fit(cancer, model, seed=11)
    np.testing.assert_array_equal(_proba(a, cancer), _proba(b, cancer))
    assert report["seed"] == {"param": "random_state", "value": 11, "source": "seed"}
    assert a.named_steps["model"].get_params()["random_state"] == 11


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_the_seed_matters(cancer, fit, model):
    a, _ = fit(cancer, model, seed=1)
    b, _ = fit(cancer, model, seed=2)
    assert not np.array_equal(_proba(a, cancer), _proba(b, cancer))


def test_the_users_random_state_wins(cancer, fit):
    model = {**MODELS[2], "random_state": 5}
    est, report = fit(cancer, model, seed=11)
    assert est.named_steps["model"].random_state == 5
    assert report["seed"] == {"param": "random_state", "value": 5, "source": "model"}
    assert "random_state" not in report["params_set"]


def test_nested_estimators_get_the_seed_too(cancer, fit):
    from sklearn.tree import DecisionTreeClassifier

    model = {
        "_target_": "sklearn.ensemble.BaggingClassifier",
        "estimator": DecisionTreeClassifier(),
        "n_estimators": 3,
    }
    est, report = fit(cancer, model, seed=4)
    bagging = est.named_steps["model"]
    assert bagging.random_state == 4 and bagging.estimator.random_state == 4
    assert report["params_set"] == {"random_state": 4, "estimator__random_state": 4}


def test_estimators_without_a_seed_say_so(cancer, fit):
    _, report = fit(cancer, {"_target_": "sklearn.neighbors.KNeighborsClassifier"})
    assert report["seed"] == {"param": None, "value": None, "source": "none"}
