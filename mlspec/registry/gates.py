"""Gates: whether a run's model is good enough to register ("blessed").

Two kinds, declared under ``evaluate.gates``:

- absolute: ``{metric: roc_auc, min: 0.9}`` or ``{metric: log_loss, max: 0.3}``;
- comparison with the current champion of the registered name: ``{metric: roc_auc,
  max_drop: 0.01}`` (the candidate may be at most this much worse) or ``{metric: f1,
  min_gain: 0.0}`` (it must be at least this much better); ``relative: true`` reads both as a
  fraction of the champion's value. "Worse" follows the metric's direction (log loss, RMSE, ...
  are lower-is-better).

``per_slice: true`` applies the gate to every slice in the metrics artifact's ``slices.<split>``
(instead of the whole split); a comparison gate then matches the champion's slice with the same
slice values. Without a champion, comparison gates pass ("no champion yet").
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from mlspec.evaluation.names import MINIMIZE

# Metrics where a smaller value is better (the evaluate stage's list); every other metric is
# higher-is-better.
LOWER_IS_BETTER = frozenset(MINIMIZE | {"mse"})


class GateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    split: Literal["valid", "test"] = "test"
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    min_gain: float | None = None
    relative: bool = False
    per_slice: bool = False

    @model_validator(mode="after")
    def _one_rule(self) -> GateSpec:
        given = [k for k in ("min", "max", "max_drop", "min_gain") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a gate needs exactly one of min, max (absolute thresholds), max_drop or"
                f" min_gain (comparison with the champion); got {given or 'none'}"
            )
        if self.relative and self.kind == "absolute":
            raise ValueError("'relative' applies to max_drop/min_gain only")
        return self

    @property
    def kind(self) -> Literal["absolute", "comparison"]:
        return "absolute" if self.min is not None or self.max is not None else "comparison"

    @property
    def rule(self) -> str:
        """The gate in words, e.g. 'roc_auc >= 0.9' or 'roc_auc drop <= 0.01 vs champion'."""
        if self.min is not None:
            return f"{self.metric} >= {self.min:g}"
        if self.max is not None:
            return f"{self.metric} <= {self.max:g}"
        pct = " (relative)" if self.relative else ""
        if self.max_drop is not None:
            return f"{self.metric} drop <= {self.max_drop:g}{pct} vs champion"
        return f"{self.metric} gain >= {self.min_gain:g}{pct} vs champion"


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def _result(
    gate: GateSpec,
    passed: bool,
    reason: str,
    value: float | None = None,
    threshold: float | None = None,
    champion: float | None = None,
    slice_: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "gate": gate.rule,
        "metric": gate.metric,
        "split": gate.split,
        "slice": slice_,
        "value": value,
        "threshold": threshold,
        "champion_value": champion,
        "passed": passed,
        "reason": reason,
    }


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out


def _check(
    gate: GateSpec,
    value: float | None,
    champion: dict[str, Any] | None,
    champion_value: float | None,
    slice_: dict[str, Any] | None,
    champion_label: str,
) -> dict[str, Any]:
    where = f" on slice {slice_}" if slice_ else ""
    if value is None:
        return _result(
            gate,
            False,
            f"{gate.metric} was not computed on {gate.split}{where}; add it to evaluate.metrics",
            slice_=slice_,
        )
    if math.isnan(value):
        why = f"{gate.metric} is undefined (NaN){where}"
        return _result(gate, False, why, value, slice_=slice_)
    if gate.kind == "absolute":
        if gate.min is not None:
            ok = value >= gate.min
            why = f"{value:.4f} {'>=' if ok else '<'} min {gate.min:g}"
            return _result(gate, ok, why, value, gate.min, slice_=slice_)
        assert gate.max is not None
        ok = value <= gate.max
        why = f"{value:.4f} {'<=' if ok else '>'} max {gate.max:g}"
        return _result(gate, ok, why, value, gate.max, slice_=slice_)
    if champion is None:
        return _result(gate, True, "no champion yet", value, slice_=slice_)
    if champion_value is None or math.isnan(champion_value):
        return _result(
            gate,
            True,
            f"{champion_label} has no {gate.metric} on {gate.split}{where}: nothing to compare",
            value,
            slice_=slice_,
        )
    # How much worse the candidate is (negative: better), in the metric's own direction.
    worse = champion_value - value if higher_is_better(gate.metric) else value - champion_value
    if gate.relative:
        if champion_value:
            worse = worse / abs(champion_value)
        else:  # a zero champion: any change is infinitely large relative to it
            worse = math.copysign(math.inf, worse) if worse else 0.0
    unit = " (relative)" if gate.relative else ""
    if gate.max_drop is not None:
        ok = worse <= gate.max_drop + 1e-12
        why = (
            f"drop {worse:+.4f}{unit} vs {champion_label} ({champion_value:.4f});"
            f" allowed {gate.max_drop:g}"
        )
        return _result(gate, ok, why, value, gate.max_drop, champion_value, slice_)
    assert gate.min_gain is not None
    gain = -worse
    ok = gain >= gate.min_gain - 1e-12
    why = (
        f"gain {gain:+.4f}{unit} vs {champion_label} ({champion_value:.4f});"
        f" required {gate.min_gain:g}"
    )
    return _result(gate, ok, why, value, gate.min_gain, champion_value, slice_)


def evaluate_gates(
    gates: list[GateSpec],
    metrics: dict[str, Any],
    champion: dict[str, Any] | None,
    champion_label: str = "champion",
) -> list[dict[str, Any]]:
    """One result per gate (per slice for ``per_slice`` gates), in declaration order.

    ``metrics`` and ``champion`` are evaluate-stage metrics artifacts (``champion`` is None when
    the registered name has no champion yet).
    """
    results: list[dict[str, Any]] = []
    for gate in gates:
        if not gate.per_slice:
            value = _num((metrics.get(gate.split) or {}).get(gate.metric))
            champ = _num(((champion or {}).get(gate.split) or {}).get(gate.metric))
            results.append(_check(gate, value, champion, champ, None, champion_label))
            continue
        slices = ((metrics.get("slices") or {}).get(gate.split)) or []
        if not slices:
            results.append(
                _result(
                    gate,
                    False,
                    f"per_slice gate but the metrics hold no slices for {gate.split};"
                    " declare slice columns under evaluate",
                )
            )
            continue
        champion_slices = ((champion or {}).get("slices") or {}).get(gate.split) or []
        for item in slices:
            key = item.get("slice") or {}
            value = _num((item.get("metrics") or {}).get(gate.metric))
            match = next((c for c in champion_slices if c.get("slice") == key), None)
            champ = _num((match.get("metrics") or {}).get(gate.metric)) if match else None
            results.append(_check(gate, value, champion, champ, key, champion_label))
    return results


def blessed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for r in results)
