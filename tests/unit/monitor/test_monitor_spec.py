"""The `monitor:` spec section: defaults, validation errors at the right key, performance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from mlspec.config.errors import problems_from_validation
from mlspec.config.spec import MonitorSpec, Spec
from mlspec.monitor.performance import labelled, performance

BASE: dict[str, Any] = {
    "name": "fraud",
    "data": {"source": {"kind": "sklearn", "name": "breast_cancer"}, "target": "target"},
    "model": {"_target_": "lightgbm.LGBMClassifier"},
}


def _problems(monitor: Any) -> list[Any]:
    with pytest.raises(ValidationError) as info:
        Spec.model_validate({**BASE, "monitor": monitor})
    return problems_from_validation(info.value, Spec)


def test_defaults() -> None:
    spec = Spec.model_validate({**BASE, "monitor": {}})
    assert spec.monitor == MonitorSpec()
    assert spec.monitor.retrain_when.describe() == "dataset_drift"
    assert spec.monitor.window.kind == "append"
    assert spec.monitor.drift.drift_share == 0.5
    assert Spec.model_validate(BASE).monitor is None


@pytest.mark.parametrize(
    ("monitor", "loc", "text"),
    [
        ({"retrain_when": "datset_drift"}, ("monitor", "retrain_when"), "dataset_drift"),
        ({"window": {"kind": "sliding"}}, ("monitor", "window"), "needs its size"),
        ({"serving_log": {"dir": "logs", "last": "yesterday"}}, ("monitor", "serving_log"), "24h"),
        ({"model": "fraud detector@champion"}, ("monitor", "model"), "NAME@ALIAS"),
        ({"drift": {"drift_shar": 0.3}}, ("monitor", "drift", "drift_shar"), "drift_share"),
        ({"retrian_when": "never"}, ("monitor", "retrian_when"), "retrain_when"),
    ],
)
def test_mistakes_are_reported_at_their_key(monitor: Any, loc: tuple, text: str) -> None:
    problems = _problems(monitor)
    assert any(p.loc[: len(loc)] == loc for p in problems), problems
    assert any(text in (p.message + " " + (p.fix or "")) for p in problems), problems


def test_performance_direction_and_threshold() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45], [0.8, 0.2], [0.2, 0.8]])
    training = {
        "test": {"roc_auc": 0.95, "log_loss": 0.2, "recall": 1.0},
        "threshold": {"value": 0.42},
    }
    out = performance(y, proba.argmax(1), proba, "classification", [0, 1], training)
    m = out["metrics"]
    assert m["roc_auc"]["current"] == 1.0  # every positive outscores every negative
    assert m["roc_auc"]["drop"] == pytest.approx(-0.05)  # higher is better: better < 0
    assert m["log_loss"]["drop"] == pytest.approx(m["log_loss"]["current"] - 0.2)  # lower is better
    assert out["threshold"] == 0.42
    assert m["recall"]["current"] == 1.0  # 0.45 >= 0.42: the tuned threshold applies
    assert labelled(__import__("pandas").DataFrame({"t": [None, 1]}), "t")
    assert not labelled(__import__("pandas").DataFrame({"t": [None, None]}), "t")
