"""The train stage's ``report``: importances named by the transformed features, largest first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlspec.store import codecs

LGBM = {"_target_": "lightgbm.LGBMClassifier", "n_estimators": 20, "n_jobs": 1}


def test_tree_importances_are_named_by_the_transformed_features(mixed, fit):
    est, report = fit(mixed, LGBM)
    names = list(est.named_steps["features"].get_feature_names_out())
    assert "color_red" in names  # one-hot output names, not the raw columns
    values = est.named_steps["model"].feature_importances_
    expected = {n: float(v) for n, v in zip(names, values, strict=True)}
    assert report["feature_importances"] == expected
    assert report["feature_ranking"] == sorted(expected, key=lambda n: (-expected[n], n))
    assert list(report["feature_importances"]) == report["feature_ranking"]
    assert report["importance_source"] == "feature_importances_ (split)"
    assert report["n_features"] == len(names)


def test_xgboost_importances_say_gain(mixed, fit):
    _, report = fit(mixed, {"_target_": "xgboost.XGBClassifier", "n_estimators": 10, "n_jobs": 1})
    assert report["importance_source"] == "feature_importances_ (gain)"
    assert report["feature_ranking"][0] in ("x", "color_red")


def test_linear_models_use_abs_coef(mixed, wine, fit):
    est, report = fit(mixed, {"_target_": "sklearn.linear_model.LogisticRegression"})
    coef = est.named_steps["model"].coef_
    assert report["importance_source"] == "abs(coef_)"
    names = est.named_steps["features"].get_feature_names_out()
    assert report["feature_importances"] == {
        n: pytest.approx(abs(c)) for n, c in zip(names, coef[0], strict=True)
    }
    est, report = fit(wine, {"_target_": "sklearn.linear_model.LogisticRegression"})
    coef = est.named_steps["model"].coef_  # one row per class
    assert report["importance_source"] == "abs(coef_), mean over rows"
    top = report["feature_ranking"][0]
    assert report["feature_importances"][top] == pytest.approx(np.abs(coef).mean(axis=0).max())


def test_only_the_top_100_are_kept(fit):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(150, 130)), columns=[f"c{i:03d}" for i in range(130)])
    frame["target"] = frame.to_numpy() @ np.linspace(0, 1, 130) + rng.normal(size=150)
    splits = {"train": frame.iloc[:120], "valid": frame.iloc[120:]}
    est, report = fit(splits, {"_target_": "sklearn.linear_model.Ridge"})
    assert report["n_features"] == 130
    assert len(report["feature_importances"]) == len(report["feature_ranking"]) == 100
    coef = np.abs(est.named_steps["model"].coef_)
    kept = {f"c{i:03d}" for i in np.argsort(-coef)[:100]}
    assert set(report["feature_ranking"]) == kept


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_without_importances_record_none(cancer, fit):
    model = {"_target_": "sklearn.neural_network.MLPClassifier", "max_iter": 5}
    _, report = fit(cancer, model, early_stopping_rounds=0)
    assert report["importance_source"] is None
    assert report["feature_importances"] == {} and report["feature_ranking"] == []


def test_the_report_is_json_and_identical_across_fits(mixed, fit):
    _, first = fit(mixed, LGBM, seed=3)
    _, second = fit(mixed, LGBM, seed=3)
    data = codecs.encode("json", first)
    assert data == codecs.encode("json", second)  # the cache downstream can hit
    decoded = codecs.decode("json", data)
    assert decoded["estimator"] == "lightgbm.LGBMClassifier"
    assert decoded["task"] == "classification"
    assert set(decoded) >= {"n_features", "feature_importances", "early_stopping", "imbalance"}
