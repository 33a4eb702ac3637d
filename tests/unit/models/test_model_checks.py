"""Packaged presets load, pass check() and fit; bad estimator input and bad ``train:`` options are
reported before anything runs (acceptance f, estimator parts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

import mlspec
from mlspec.config.spec import Spec
from mlspec.engine.walk import NodeStatus, preflight
from mlspec.errors import SpecError
from mlspec.plan import compile_plan
from mlspec.stages.builtin.train import TrainParams, TrainStage
from mlspec.stages.registry import StageRegistry

PRESET_DIR = Path(mlspec.__file__).parent / "conf" / "model"
PRESETS = sorted(PRESET_DIR.glob("*.yaml"))


def _model(path: Path) -> dict:
    model = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(model, dict)
    return model


def _check(model: dict, **options) -> list:
    return TrainStage.check(TrainParams(model=model, target="target", **options), Path("."))


def test_the_issue_presets_are_shipped():
    names = {p.stem for p in PRESETS}
    assert {"random_forest", "xgboost", "lightgbm", "mlp", "logistic"} <= names  # classifiers
    assert {"random_forest_regressor", "xgboost_regressor", "lightgbm_regressor"} <= names
    assert {"mlp_regressor", "ridge"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_checks_and_fits(path, cancer, diabetes, fit):
    import importlib

    from sklearn.base import is_classifier

    model = _model(path)
    assert _check(model) == []
    if "n_jobs" in model or "lightgbm" in model["_target_"] or "xgboost" in model["_target_"]:
        assert model.get("n_jobs") == 1  # presets stay polite on shared machines
    module, _, name = model["_target_"].rpartition(".")
    splits = cancer if is_classifier(getattr(importlib.import_module(module), name)()) else diabetes
    est, report = fit(splits, model)
    predictions = est.predict(splits["test"].drop(columns="target"))
    assert len(predictions) == len(splits["test"])
    assert report["estimator"] == model["_target_"]
    iterative = any(k in model["_target_"] for k in ("lightgbm", "xgboost", "neural_network"))
    assert report["early_stopping"]["applied"] == iterative


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_a_misspelt_preset_argument_gets_did_you_mean(path):
    model = _model(path)
    key = max((k for k in model if k != "_target_"), key=len)
    typo = key[:-1] if key.endswith("s") else key + "s"
    del model[key]
    [problem] = _check({**model, typo: 1})
    assert problem.code == "unknown_param" and problem.loc == ("model", typo)
    assert f"did you mean '{key}'?" in problem.fix


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_a_misspelt_preset_class_gets_did_you_mean(path):
    model = _model(path)
    module, _, name = model["_target_"].rpartition(".")
    typo = name[:3] + name[4:]  # drop one letter
    [problem] = _check({**model, "_target_": f"{module}.{typo}"})
    assert problem.code == "unknown_target" and problem.loc == ("model", "_target_")
    assert f"did you mean '{name}'?" in problem.fix


# -- the spec's ``train:`` section ---------------------------------------------------------------


def _spec(**train) -> Spec:
    return Spec.model_validate(
        {
            "name": "bc",
            "data": {"source": {"kind": "sklearn", "name": "breast_cancer"}, "target": "target"},
            "model": {"_target_": "sklearn.linear_model.Ridge"},
            "train": train,
        }
    )


@pytest.fixture(scope="module")
def registry() -> StageRegistry:
    return StageRegistry()


def test_train_options_reach_the_train_node(registry, tmp_path):
    plan = compile_plan(_spec(early_stopping_rounds=7, imbalance="none"), registry, tmp_path)
    params = plan.node("train").params
    assert (params.early_stopping_rounds, params.imbalance) == (7, "none")
    assert plan.node("train").stage_id == "train@2"


def test_an_unknown_train_key_gets_did_you_mean(registry, tmp_path):
    with pytest.raises(SpecError) as err:
        compile_plan(_spec(early_stoping_rounds=7), registry, tmp_path)
    [problem] = err.value.problems
    assert problem.loc == ("train", "early_stoping_rounds")
    assert "did you mean 'early_stopping_rounds'?" in problem.fix


@pytest.mark.parametrize(
    ("options", "loc"),
    [
        ({"imbalance": "balancd"}, ("train", "imbalance")),
        ({"early_stopping_rounds": -1}, ("train", "early_stopping_rounds")),
        ({"early_stopping_rounds": "many"}, ("train", "early_stopping_rounds")),
    ],
)
def test_bad_train_values_are_spec_errors(registry, tmp_path, options, loc):
    with pytest.raises(SpecError) as err:
        compile_plan(_spec(**options), registry, tmp_path)
    assert [p.loc for p in err.value.problems] == [loc]


def test_balanced_regression_fails_the_preflight_before_any_stage(registry, tmp_path):
    plan = compile_plan(_spec(imbalance="balanced"), registry, tmp_path)
    statuses = [NodeStatus(n.name, "miss", None, "new", None) for n in plan.nodes]
    with pytest.raises(SpecError) as err:
        preflight(plan, statuses, tmp_path)
    [problem] = err.value.problems
    assert problem.loc == ("train", "imbalance")
    assert problem.code == "imbalance_needs_classification"
    assert err.value.exit_code == 2
