"""`register:` and `evaluate.gates` in the spec, and the register node of the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mlspec.config.spec import Spec
from mlspec.errors import SpecError
from mlspec.plan import InputRef, compile_plan
from mlspec.stages.registry import StageRegistry


def spec(**extra: Any) -> Spec:
    base: dict[str, Any] = {
        "name": "bc",
        "data": {"source": {"kind": "sklearn", "name": "breast_cancer"}, "target": "target"},
        "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
        "evaluate": {"metrics": ["roc_auc", "log_loss"]},
    }
    for key, value in extra.items():
        base[key] = value if key != "evaluate" else {**base["evaluate"], **value}
    return Spec.model_validate(base)


def compile_(s: Spec):
    return compile_plan(s, StageRegistry(), Path.cwd())


def test_no_register_section_no_register_node() -> None:
    assert [n.name for n in compile_(spec()).nodes][-1] == "evaluate"


def test_register_node_reads_model_train_split_and_metrics() -> None:
    plan = compile_(
        spec(
            register={"name": "bc_clf", "alias": "champion", "tags": {"team": "x"}},
            evaluate={"gates": [{"metric": "roc_auc", "min": 0.9}]},
        )
    )
    node = plan.node("register")
    assert node.inputs == {
        "model": InputRef("train", "model"),
        "train": InputRef("split", "train"),
        "valid": InputRef("split", "valid"),  # scores for the reference profile
        "metrics": InputRef("evaluate", "metrics"),
    }
    assert node.params.name == "bc_clf" and node.params.alias == "champion"
    assert node.params.gates[0].min == 0.9
    assert not node.stage_cls.is_deterministic(node.params)  # never a silent cache hit


def test_gates_alone_add_a_gates_only_register_node() -> None:
    plan = compile_(spec(evaluate={"gates": [{"metric": "roc_auc", "min": 0.9}]}))
    assert plan.node("register").params.name is None


def test_comparison_gate_needs_a_register_section() -> None:
    with pytest.raises(SpecError) as err:
        compile_(spec(evaluate={"gates": [{"metric": "roc_auc", "max_drop": 0.01}]}))
    (problem,) = err.value.problems
    assert problem.code == "gate_without_register"
    assert problem.loc == ("evaluate", "gates", 0)
    assert "add register: {name: MODEL_NAME}" in (problem.fix or "")


def test_gate_on_a_metric_that_is_never_computed() -> None:
    with pytest.raises(SpecError) as err:
        compile_(spec(evaluate={"gates": [{"metric": "roc_acu", "min": 0.9}]}))
    (problem,) = err.value.problems
    assert problem.loc == ("evaluate", "gates", 0, "metric")
    assert "did you mean 'roc_auc'?" in (problem.fix or "")


def test_register_name_must_be_a_slug_and_keys_are_checked() -> None:
    with pytest.raises(ValidationError, match="is not a slug"):
        spec(register={"name": "my model"})
    with pytest.raises(ValidationError, match="alais"):
        spec(register={"name": "m", "alais": "champion"})
