"""``monitor.retrain_when``: when a monitoring result calls for a retrain. Data, never code.

Accepted forms (all validated, unknown keys rejected)::

    retrain_when: dataset_drift                       # one condition
    retrain_when: [dataset_drift, {metric_drop: {metric: roc_auc, max: 0.05}}]   # any of them
    retrain_when: {all: [prediction_drift, {share_drifted: 0.3}]}                # all of them
    retrain_when: {any: [...]}

Conditions:

- ``dataset_drift`` — the dataset-level rule of ``monitor.drift`` fired;
- ``prediction_drift`` — the model's prediction distribution drifted;
- ``any_drift`` — any column, or the prediction, drifted;
- ``never`` — monitor only;
- ``{share_drifted: X}`` — at least the share X (0..1) of the columns drifted;
- ``{columns: [a, b]}`` — any of these columns drifted;
- ``{psi: X}`` — some column's PSI is at least X (0.1 notable, 0.25 large, by convention);
- ``{metric_drop: {metric: roc_auc, max: 0.05, relative: false}}`` — with labels in the current
  data, the metric is worse than at training (the model's test split) by more than ``max``
  (a fraction of the training value with ``relative: true``). Without labels it does not hold,
  and says so.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAMED = ("dataset_drift", "prediction_drift", "any_drift", "never")
KEYED = ("share_drifted", "columns", "psi", "metric_drop")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricDrop(_Model):
    metric: str
    max: float = Field(ge=0)
    relative: bool = False


class Condition(_Model):
    """Exactly one of the fields is set (the before-validator turns the YAML forms into it)."""

    named: Literal["dataset_drift", "prediction_drift", "any_drift", "never"] | None = None
    share_drifted: float | None = Field(None, ge=0, le=1)
    columns: list[str] | None = None
    psi: float | None = Field(None, ge=0)
    metric_drop: MetricDrop | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in NAMED:
                from mlspec.errors import choices_hint

                raise ValueError(
                    f"unknown condition '{value}'; "
                    + choices_hint(value, [*NAMED, *(f"{{{k}: ...}}" for k in KEYED)])
                )
            return {"named": value}
        if isinstance(value, dict):
            if len(value) != 1:
                raise ValueError(
                    "a condition has exactly one key, one of: "
                    + ", ".join([*NAMED, *KEYED])
                    + f"; got {sorted(value) or 'none'}"
                )
            (key,) = value
            if key not in KEYED and key != "named":
                from mlspec.errors import choices_hint

                raise ValueError(f"unknown condition '{key}'; " + choices_hint(key, KEYED))
        return value

    def describe(self) -> str:
        if self.named:
            return self.named
        if self.share_drifted is not None:
            return f"share of drifted columns >= {self.share_drifted:g}"
        if self.columns is not None:
            return "any of " + ", ".join(self.columns) + " drifted"
        if self.psi is not None:
            return f"some column's PSI >= {self.psi:g}"
        assert self.metric_drop is not None
        m = self.metric_drop
        return f"{m.metric} drops by more than {m.max:g}{' (relative)' if m.relative else ''}"

    def evaluate(self, result: dict[str, Any]) -> tuple[bool, str]:
        """(holds, why) against a monitoring result document (its ``drift`` and
        ``performance`` parts)."""
        drift = result["drift"]
        columns = drift.get("columns") or []
        drifted = [c["column"] for c in columns if c.get("drifted")]
        prediction = drift.get("prediction") or {}
        if self.named == "never":
            return False, "never (monitor only)"
        if self.named == "dataset_drift":
            holds = bool(drift.get("dataset_drift"))
            share = drift.get("share_drifted") or 0.0
            return holds, f"dataset drift: {'yes' if holds else 'no'} ({share:.0%} of columns)"
        if self.named == "prediction_drift":
            holds = bool(prediction.get("drifted"))
            return holds, f"prediction drift: {'yes' if holds else 'no'}"
        if self.named == "any_drift":
            holds = bool(drifted) or bool(prediction.get("drifted"))
            what = ", ".join(drifted + (["prediction"] if prediction.get("drifted") else []))
            return holds, f"drifted: {what}" if holds else "nothing drifted"
        if self.share_drifted is not None:
            share = float(drift.get("share_drifted") or 0.0)
            holds = share >= self.share_drifted
            return (
                holds,
                f"share drifted {share:.0%} {'>=' if holds else '<'} {self.share_drifted:.0%}",
            )
        if self.columns is not None:
            hit = [c for c in self.columns if c in drifted]
            return bool(hit), ("drifted: " + ", ".join(hit)) if hit else "none of them drifted"
        if self.psi is not None:
            worst = max(
                ((c["column"], c.get("psi")) for c in columns if c.get("psi") is not None),
                key=lambda t: t[1],
                default=None,
            )
            if worst is None:
                return False, "no PSI computed"
            holds = worst[1] >= self.psi
            return (
                holds,
                f"largest PSI {worst[1]:.3f} ({worst[0]}) {'>=' if holds else '<'} {self.psi:g}",
            )
        assert self.metric_drop is not None
        return _metric_drop(self.metric_drop, result.get("performance"))


def _metric_drop(rule: MetricDrop, performance: dict[str, Any] | None) -> tuple[bool, str]:
    if not performance or not performance.get("metrics"):
        return False, f"{rule.metric}: no labels in the current data"
    entry = performance["metrics"].get(rule.metric)
    if entry is None or entry.get("current") is None or entry.get("training") is None:
        return False, f"{rule.metric} was not computed (not a metric of this model's evaluation)"
    drop = entry.get("drop")
    if drop is None:
        return False, f"{rule.metric}: undefined on the current data"
    training = float(entry["training"])
    value = drop / abs(training) if rule.relative and training else drop
    holds = value > rule.max
    unit = " (relative)" if rule.relative else ""
    return holds, (
        f"{rule.metric} {entry['current']:.4f} vs {training:.4f} at training:"
        f" drop {value:+.4f}{unit} {'>' if holds else '<='} {rule.max:g}"
    )


class RetrainWhen(_Model):
    """The rule: ``any`` (default for a list) or ``all`` of the conditions."""

    mode: Literal["any", "all"] = "any"
    conditions: list[Condition] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"mode": "any", "conditions": [value]}
        if isinstance(value, list):
            return {"mode": "any", "conditions": value}
        if isinstance(value, dict) and set(value) in ({"any"}, {"all"}):
            (mode,) = value
            items = value[mode]
            return {"mode": mode, "conditions": items if isinstance(items, list) else [items]}
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) not in ("mode",):
            return {"mode": "any", "conditions": [value]}  # one keyed condition
        return value

    def describe(self) -> str:
        parts = [c.describe() for c in self.conditions]
        return parts[0] if len(parts) == 1 else f"{self.mode} of: " + "; ".join(parts)

    def evaluate(self, result: dict[str, Any]) -> dict[str, Any]:
        """``{"rule", "holds", "conditions": [{"condition", "holds", "why"}]}``."""
        checks = [(c, *c.evaluate(result)) for c in self.conditions]
        flags = [h for _, h, _ in checks]
        holds = all(flags) if self.mode == "all" else any(flags)
        return {
            "rule": self.describe(),
            "holds": holds,
            "conditions": [
                {"condition": c.describe(), "holds": h, "why": why} for c, h, why in checks
            ],
        }

    def metrics_needed(self) -> list[str]:
        return [c.metric_drop.metric for c in self.conditions if c.metric_drop is not None]
