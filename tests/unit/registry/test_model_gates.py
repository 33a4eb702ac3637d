"""Gate logic against hand-built metrics artifacts (the contract's shape, slices included)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from mlspec.registry.gates import GateSpec, blessed, evaluate_gates


def metrics(test: dict[str, float], slices: list[dict] | None = None) -> dict:
    out = {"task": "classification", "valid": dict(test), "test": dict(test)}
    if slices is not None:
        out["slices"] = {"test": slices, "valid": []}
    return out


def gate(**kw) -> GateSpec:
    return GateSpec(**kw)


def test_absolute_min_and_max() -> None:
    m = metrics({"roc_auc": 0.93, "log_loss": 0.4})
    results = evaluate_gates(
        [gate(metric="roc_auc", min=0.9), gate(metric="log_loss", max=0.3)], m, None
    )
    assert [r["passed"] for r in results] == [True, False]
    assert results[1]["reason"] == "0.4000 > max 0.3"
    assert results[1]["threshold"] == 0.3 and results[1]["value"] == 0.4
    assert not blessed(results)


def test_impossible_threshold_fails() -> None:
    (r,) = evaluate_gates([gate(metric="roc_auc", min=1.01)], metrics({"roc_auc": 1.0}), None)
    assert not r["passed"] and r["reason"] == "1.0000 < min 1.01"


def test_comparison_without_champion_passes() -> None:
    (r,) = evaluate_gates([gate(metric="roc_auc", max_drop=0.0)], metrics({"roc_auc": 0.5}), None)
    assert r["passed"] and r["reason"] == "no champion yet"


@pytest.mark.parametrize(
    ("metric", "candidate", "champion", "max_drop", "passed"),
    [
        ("roc_auc", 0.95, 0.955, 0.01, True),  # higher is better: 0.005 worse, allowed 0.01
        ("roc_auc", 0.94, 0.955, 0.01, False),  # 0.015 worse
        ("log_loss", 0.31, 0.30, 0.02, True),  # lower is better: 0.01 worse
        ("log_loss", 0.35, 0.30, 0.02, False),  # 0.05 worse
        ("log_loss", 0.10, 0.30, 0.0, True),  # better
    ],
)
def test_max_drop_follows_metric_direction(metric, candidate, champion, max_drop, passed) -> None:
    (r,) = evaluate_gates(
        [gate(metric=metric, max_drop=max_drop)],
        metrics({metric: candidate}),
        metrics({metric: champion}),
        "champion (version 3)",
    )
    assert r["passed"] is passed, r
    assert r["champion_value"] == champion
    assert "champion (version 3)" in r["reason"]


def test_min_gain_and_relative() -> None:
    champ = metrics({"f1": 0.80, "rmse": 10.0})
    results = evaluate_gates(
        [
            gate(metric="f1", min_gain=0.01),  # +0.02: pass
            gate(metric="f1", min_gain=0.05, relative=True),  # +2.5% < 5%: fail
            gate(metric="rmse", max_drop=0.05, relative=True),  # 10 -> 10.4: 4% worse: pass
            gate(metric="rmse", min_gain=0.1, relative=True),  # -4% gain: fail
        ],
        metrics({"f1": 0.82, "rmse": 10.4}),
        champ,
    )
    assert [r["passed"] for r in results] == [True, False, True, False]


def test_missing_and_nan_metrics_fail_with_reasons() -> None:
    results = evaluate_gates(
        [gate(metric="pr_auc", min=0.5), gate(metric="roc_auc", min=0.5)],
        metrics({"roc_auc": math.nan}),
        None,
    )
    assert not any(r["passed"] for r in results)
    assert "not computed on test" in results[0]["reason"]
    assert "undefined (NaN)" in results[1]["reason"]


def test_per_slice_gates_check_every_slice_against_the_matching_champion_slice() -> None:
    cand = metrics(
        {"roc_auc": 0.9},
        [
            {"slice": {"sex": "f"}, "rows": 50, "metrics": {"roc_auc": 0.95}},
            {"slice": {"sex": "m"}, "rows": 50, "metrics": {"roc_auc": 0.80}},
            {"slice": {"sex": "x"}, "rows": 40, "metrics": {"roc_auc": 0.70}},
        ],
    )
    champ = metrics(
        {"roc_auc": 0.9},
        [
            {"slice": {"sex": "f"}, "rows": 50, "metrics": {"roc_auc": 0.90}},
            {"slice": {"sex": "m"}, "rows": 50, "metrics": {"roc_auc": 0.90}},
        ],
    )
    results = evaluate_gates(
        [
            gate(metric="roc_auc", min=0.75, per_slice=True),
            gate(metric="roc_auc", max_drop=0.05, per_slice=True),
        ],
        cand,
        champ,
    )
    by = [(r["slice"]["sex"], r["passed"]) for r in results]
    assert by == [
        ("f", True),
        ("m", True),
        ("x", False),  # 0.70 < 0.75
        ("f", True),  # better than the champion's slice
        ("m", False),  # 0.10 worse than the champion's slice
        ("x", True),  # the champion has no such slice: nothing to compare
    ]
    assert "nothing to compare" in results[-1]["reason"]


def test_per_slice_gate_without_slices_fails() -> None:
    (r,) = evaluate_gates(
        [gate(metric="roc_auc", min=0.5, per_slice=True)], metrics({"roc_auc": 0.9}), None
    )
    assert not r["passed"] and "no slices" in r["reason"]


@pytest.mark.parametrize(
    "kw",
    [
        {"metric": "roc_auc"},
        {"metric": "roc_auc", "min": 0.9, "max_drop": 0.1},
        {"metric": "roc_auc", "min": 0.9, "relative": True},
        {"metric": "roc_auc", "min": 0.9, "split": "train"},
        {"metric": "roc_auc", "min": 0.9, "mni": 0.9},
    ],
)
def test_gate_spec_rejects_ambiguous_or_unknown_rules(kw) -> None:
    with pytest.raises(ValidationError):
        GateSpec(**kw)
