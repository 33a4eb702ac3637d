"""The built-in stages pass the same contract suite that plugin authors subclass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.evaluate import EvaluateStage
from mlspec.stages.builtin.features import FeaturesStage
from mlspec.stages.builtin.load import LoadStage
from mlspec.stages.builtin.split import SplitStage
from mlspec.stages.builtin.train import TrainStage
from mlspec.stages.builtin.validate import ValidateStage
from mlspec.testing import StageContract

MODEL = {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 500}


def _frame() -> Any:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.iloc[:200].reset_index(drop=True)


def _run(stage: Any, params: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    ctx = StageContext("t", "t", Path.cwd(), log=lambda m: None)
    return stage().run(stage.Params.model_validate(params), inputs, ctx)


class TestLoadContract(StageContract):
    stage_class = LoadStage
    params = {"kind": "sklearn", "name": "wine"}


class TestValidateContract(StageContract):
    stage_class = ValidateStage
    params = {
        "columns": {"target": {"dtype": "int64", "checks": {"isin": [0, 1]}}},
        "target": "target",
    }

    def make_inputs(self) -> dict[str, Any]:
        return {"data": _frame()}


class TestSplitContract(StageContract):
    stage_class = SplitStage
    params = {"kind": "stratified", "target": "target", "seed": 1}

    def make_inputs(self) -> dict[str, Any]:
        return {"data": _frame()}


class TestFeaturesContract(StageContract):
    stage_class = FeaturesStage
    params = {"target": "target"}

    def make_inputs(self) -> dict[str, Any]:
        return {"train": _run(SplitStage, TestSplitContract.params, {"data": _frame()})["train"]}


def _split() -> dict[str, Any]:
    return _run(SplitStage, TestSplitContract.params, {"data": _frame()})


class TestTrainContract(StageContract):
    stage_class = TrainStage
    params = {"model": MODEL, "target": "target", "seed": 1}

    def make_inputs(self) -> dict[str, Any]:
        parts = _split()
        transformer = _run(FeaturesStage, {"target": "target"}, {"train": parts["train"]})
        return {
            "transformer": transformer["transformer"],
            "train": parts["train"],
            "valid": parts["valid"],
        }


class TestEvaluateContract(StageContract):
    stage_class = EvaluateStage
    params = {"target": "target", "metrics": ["roc_auc", "accuracy"]}

    def make_inputs(self) -> dict[str, Any]:
        train_inputs = TestTrainContract().make_inputs()
        model = _run(TrainStage, TestTrainContract.params, train_inputs)["model"]
        parts = _split()
        return {"model": model, "valid": parts["valid"], "test": parts["test"]}
