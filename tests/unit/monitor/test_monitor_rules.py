"""monitor.retrain_when: forms, evaluation, errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlspec.monitor.rules import RetrainWhen


def _result(
    dataset: bool = False,
    share: float = 0.0,
    drifted: tuple[str, ...] = (),
    prediction: bool = False,
    psi: float = 0.01,
    performance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    columns = [
        {"column": c, "drifted": c in drifted, "psi": psi if c == "a" else 0.0} for c in "abc"
    ]
    return {
        "drift": {
            "dataset_drift": dataset,
            "share_drifted": share,
            "columns": columns,
            "prediction": {"column": "proba_1", "drifted": prediction},
        },
        "performance": performance,
    }


def test_forms_normalise_to_one_rule() -> None:
    assert RetrainWhen.model_validate("dataset_drift").describe() == "dataset_drift"
    rule = RetrainWhen.model_validate(["prediction_drift", {"share_drifted": 0.3}])
    assert rule.mode == "any" and len(rule.conditions) == 2
    rule = RetrainWhen.model_validate({"all": ["prediction_drift", {"psi": 0.2}]})
    assert rule.mode == "all"
    assert RetrainWhen.model_validate({"columns": ["a"]}).conditions[0].columns == ["a"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("datset_drift", "did you mean 'dataset_drift'"),
        ({"share_drifted": 2}, "less than or equal to 1"),
        ({"metric_drop": {"metric": "roc_auc"}}, "max"),
        ([{"psi": 0.1, "columns": ["a"]}], "exactly one key"),
        ({"sometimes": 1}, "unknown condition 'sometimes'"),
        ([], "at least 1"),
    ],
)
def test_bad_rules_say_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RetrainWhen.model_validate(value)


def test_evaluate_any_and_all() -> None:
    rule = RetrainWhen.model_validate(["dataset_drift", "prediction_drift"])
    assert rule.evaluate(_result())["holds"] is False
    assert rule.evaluate(_result(prediction=True))["holds"] is True
    both = RetrainWhen.model_validate({"all": ["dataset_drift", "prediction_drift"]})
    assert both.evaluate(_result(prediction=True))["holds"] is False
    assert both.evaluate(_result(dataset=True, share=0.6, prediction=True))["holds"] is True


def test_share_columns_psi_and_any_drift() -> None:
    r = _result(share=0.34, drifted=("b",), psi=0.3)
    assert RetrainWhen.model_validate({"share_drifted": 0.3}).evaluate(r)["holds"]
    assert not RetrainWhen.model_validate({"share_drifted": 0.5}).evaluate(r)["holds"]
    assert RetrainWhen.model_validate({"columns": ["b", "z"]}).evaluate(r)["holds"]
    assert not RetrainWhen.model_validate({"columns": ["a"]}).evaluate(r)["holds"]
    out = RetrainWhen.model_validate({"psi": 0.25}).evaluate(r)
    assert out["holds"] and "(a)" in out["conditions"][0]["why"]
    assert RetrainWhen.model_validate("any_drift").evaluate(r)["holds"]
    assert not RetrainWhen.model_validate("never").evaluate(r)["holds"]


def test_metric_drop_needs_labels_and_follows_the_threshold() -> None:
    rule = RetrainWhen.model_validate({"metric_drop": {"metric": "roc_auc", "max": 0.05}})
    out = rule.evaluate(_result())
    assert not out["holds"] and "no labels" in out["conditions"][0]["why"]
    perf = {"metrics": {"roc_auc": {"training": 0.9, "current": 0.8, "drop": 0.1}}}
    assert rule.evaluate(_result(performance=perf))["holds"]
    perf = {"metrics": {"roc_auc": {"training": 0.9, "current": 0.87, "drop": 0.03}}}
    assert not rule.evaluate(_result(performance=perf))["holds"]
    relative = RetrainWhen.model_validate(
        {"metric_drop": {"metric": "roc_auc", "max": 0.02, "relative": True}}
    )
    assert relative.evaluate(_result(performance=perf))["holds"]  # 0.03 / 0.9 = 0.033
