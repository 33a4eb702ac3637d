"""The evaluate section of the spec: errors at their key paths, options reach the stage."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlspec.config.errors import problems_from_validation
from mlspec.config.spec import Spec
from mlspec.plan import compile_plan
from mlspec.stages.registry import StageRegistry


def _spec(evaluate: dict[str, Any], seed: int = 7) -> dict[str, Any]:
    return {
        "name": "bc",
        "seed": seed,
        "data": {"source": {"kind": "sklearn", "name": "breast_cancer"}, "target": "target"},
        "model": {"_target_": "lightgbm.LGBMClassifier"},
        "evaluate": evaluate,
    }


def _problems(evaluate: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        Spec.model_validate(_spec(evaluate))
    return [
        (".".join(map(str, p.loc)), p.message + " | " + (p.fix or ""))
        for p in problems_from_validation(err.value, Spec)
    ]


@pytest.mark.parametrize(
    ("evaluate", "where", "text"),
    [
        ({"slices": [{"column": "age", "bin": 3}]}, "evaluate.slices.0.bin", "did you mean 'bins'"),
        ({"slices": [["a", {"column": "b", "bins": 1}]]}, "evaluate.slices.0.1.bins", ">= 2"),
        ({"bootstrap": {"samples": -1}}, "evaluate.bootstrap.samples", ">= 0"),
        ({"bootstrap": {"level": 1.5}}, "evaluate.bootstrap.level", "< 1"),
        ({"threshold": {"choose_by": "f2"}}, "evaluate.threshold.choose_by", "youden"),
        ({"threshold": {"choose_by": "f1", "split": "test"}}, "evaluate.threshold.split", "valid"),
        ({"min_slice_size": 0}, "evaluate.min_slice_size", ">= 1"),
    ],
)
def test_errors_name_the_key_path(evaluate, where, text):
    problems = _problems(evaluate)
    assert any(loc == where and text in msg for loc, msg in problems), problems


def test_options_reach_the_evaluate_stage(tmp_path):
    evaluate = {
        "metrics": ["roc_auc", "f1_weighted"],
        "slices": ["a", [{"column": "b", "bins": 4}, "a"]],
        "min_slice_size": 12,
        "threshold": {"choose_by": "youden"},
    }
    plan = compile_plan(Spec.model_validate(_spec(evaluate)), StageRegistry(), tmp_path)
    params = plan.node("evaluate").params
    assert params.min_slice_size == 12
    assert params.slices[1][0].bins == 4
    assert params.threshold.choose_by == "youden"
    assert params.bootstrap.seed == 7  # the spec's seed, unless evaluate.bootstrap.seed is set
    off = compile_plan(Spec.model_validate(_spec({"bootstrap": None})), StageRegistry(), tmp_path)
    assert off.node("evaluate").params.bootstrap is None
    fixed = _spec({"threshold": 0.3, "bootstrap": {"seed": 3}})
    params = (
        compile_plan(Spec.model_validate(fixed), StageRegistry(), tmp_path).node("evaluate").params
    )
    assert params.threshold == 0.3 and params.bootstrap.seed == 3
