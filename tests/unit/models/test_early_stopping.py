"""Early stopping on the *valid* split for LightGBM, XGBoost and MLPs; others say why not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_squared_error

from mlspec.errors import SpecError

# n_jobs=1 everywhere: the boosters' default thread pools crawl on a shared CPU
LGBM = {
    "_target_": "lightgbm.LGBMClassifier",
    "n_estimators": 500,
    "learning_rate": 0.3,
    "n_jobs": 1,
}
XGB = {"_target_": "xgboost.XGBClassifier", "n_estimators": 500, "learning_rate": 0.3, "n_jobs": 1}
MLP = {
    "_target_": "sklearn.neural_network.MLPClassifier",
    "hidden_layer_sizes": [32],
    "learning_rate_init": 0.01,
    "max_iter": 200,
}
FAMILIES = [LGBM, XGB, MLP]
IDS = ["lightgbm", "xgboost", "mlp"]


def _flipped(frame):
    """The valid split with its labels swapped: its loss only worsens as training goes on."""
    return frame.assign(target=1 - frame["target"])


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_stops_before_the_cap_on_a_small_dataset(cancer, fit, model):
    _, report = fit(cancer, model, early_stopping_rounds=10)
    es = report["early_stopping"]
    cap = model.get("n_estimators", model.get("max_iter"))
    assert es["applied"] and es["stopped"]
    assert es["best_iteration"] < es["iterations_run"] < cap
    assert es["iterations_run"] == len(es["validation_scores"])
    assert es["max_iterations"] == cap and es["rounds"] == 10


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_the_recorded_scores_come_from_the_valid_split(cancer, fit, model):
    valid = cancer["valid"]
    est, report = fit(cancer, model, early_stopping_rounds=10)
    es = report["early_stopping"]
    assert es["n_valid_rows"] == len(valid)
    # the fitted model (at its best iteration/epoch) scores exactly the recorded best on valid
    loss = log_loss(valid["target"], est.predict_proba(valid.drop(columns="target")))
    assert es["best_score"] == pytest.approx(loss, rel=1e-5)
    assert es["best_score"] == pytest.approx(min(es["validation_scores"]), rel=1e-9)
    assert es["validation_scores"][es["best_iteration"] - 1] == es["best_score"]


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_a_valid_split_that_disagrees_with_train_stops_at_once(cancer, fit, model):
    """With flipped labels, only *our* valid split says 'stop now': no random fraction of train
    would; the best iteration is one of the very first."""
    _, honest = fit(cancer, model, early_stopping_rounds=10)
    _, flipped = fit(cancer, model, valid=_flipped(cancer["valid"]), early_stopping_rounds=10)
    assert flipped["early_stopping"]["best_iteration"] <= 2
    assert flipped["early_stopping"]["iterations_run"] <= 12
    assert honest["early_stopping"]["best_iteration"] > 5


def test_regressors_stop_early_on_valid(diabetes, fit):
    valid = diabetes["valid"]
    for model in (
        {
            "_target_": "lightgbm.LGBMRegressor",
            "n_estimators": 300,
            "learning_rate": 0.3,
            "n_jobs": 1,
        },
        {
            "_target_": "xgboost.XGBRegressor",
            "n_estimators": 300,
            "learning_rate": 0.3,
            "n_jobs": 1,
        },
    ):
        est, report = fit(diabetes, model, early_stopping_rounds=10)
        es = report["early_stopping"]
        assert es["applied"] and es["iterations_run"] < 300
        mse = mean_squared_error(valid["target"], est.predict(valid.drop(columns="target")))
        rmse_or_mse = es["best_score"] if es["metric"] == "l2" else es["best_score"] ** 2
        assert rmse_or_mse == pytest.approx(mse, rel=1e-4)


def test_mlp_regressor_keeps_the_best_epoch(diabetes, fit):
    model = {
        "_target_": "sklearn.neural_network.MLPRegressor",
        "hidden_layer_sizes": [16],
        "learning_rate_init": 0.05,
        "max_iter": 100,
    }
    est, report = fit(diabetes, model, early_stopping_rounds=5)
    es = report["early_stopping"]
    valid = diabetes["valid"]
    assert es["metric"] == "mean_squared_error"
    mse = mean_squared_error(valid["target"], est.predict(valid.drop(columns="target")))
    assert es["best_score"] == pytest.approx(mse, rel=1e-9)


def test_mlp_epochs_are_capped_by_max_iter(cancer, fit):
    est, report = fit(cancer, {**MLP, "max_iter": 3}, early_stopping_rounds=50)
    es = report["early_stopping"]
    assert es["iterations_run"] == 3 and not es["stopped"]
    assert es["max_iterations"] == 3
    assert est.named_steps["model"].random_state == 0  # the int seed is restored after the loop


@pytest.mark.parametrize("rounds", [0, None])
def test_disabled(cancer, fit, rounds):
    est, report = fit(cancer, {**LGBM, "n_estimators": 20}, early_stopping_rounds=rounds)
    assert report["early_stopping"] == {
        "applied": False,
        "reason": "disabled (train.early_stopping_rounds is 0 or null)",
    }
    assert est.named_steps["model"].booster_.num_trees() == 20


def test_empty_valid_split_trains_every_round(cancer, fit):
    est, report = fit(cancer, {**XGB, "n_estimators": 20}, valid=cancer["valid"].head(0))
    assert report["early_stopping"]["reason"] == "the validation split is empty"
    assert est.named_steps["model"].get_booster().num_boosted_rounds() == 20


def test_other_estimators_record_why_not(cancer, fit):
    _, report = fit(
        cancer, {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 5}
    )
    assert report["early_stopping"]["applied"] is False
    assert "RandomForestClassifier" in report["early_stopping"]["reason"]
    model = {"_target_": "xgboost.XGBRFClassifier", "n_estimators": 5, "n_jobs": 1}
    _, report = fit(cancer, model)  # XGBoost's forests refuse early stopping: not attempted
    assert "random forest" in report["early_stopping"]["reason"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_without_epochs_or_with_its_own_early_stopping(cancer, fit):
    _, report = fit(cancer, {**MLP, "solver": "lbfgs", "max_iter": 50})
    assert "solver 'lbfgs'" in report["early_stopping"]["reason"]
    _, report = fit(cancer, {**MLP, "early_stopping": True, "max_iter": 20})
    assert "validation_fraction" in report["early_stopping"]["reason"]


def test_xgboost_model_setting_wins_and_needs_a_valid_split(cancer, fit):
    _, report = fit(cancer, {**XGB, "early_stopping_rounds": 3}, early_stopping_rounds=50)
    assert report["early_stopping"]["rounds"] == 3
    assert "early_stopping_rounds" not in report["params_set"]
    with pytest.raises(SpecError) as err:
        fit(cancer, {**XGB, "early_stopping_rounds": 3}, valid=cancer["valid"].head(0))
    assert err.value.problems[0].loc == ("model", "early_stopping_rounds")


def test_valid_rows_with_labels_unseen_in_train_are_left_out(cancer, fit):
    valid = cancer["valid"].copy()
    valid.loc[valid.index[:5], "target"] = 7
    _, report = fit(cancer, {**LGBM, "n_estimators": 30}, valid=valid, early_stopping_rounds=5)
    assert report["early_stopping"]["n_valid_rows"] == len(valid) - 5


def test_xgboost_string_labels_are_a_clear_data_error(cancer, fit):
    from mlspec.errors import DataError

    labels = np.where(cancer["train"]["target"] == 1, "benign", "malignant")
    splits = {**cancer, "train": cancer["train"].assign(target=labels)}
    with pytest.raises(DataError, match=r"labels 0\.\.1"):
        fit(splits, {**XGB, "n_estimators": 5})
