"""register: gate the evaluated model and register it as a new version of a named model.

Added to the plan after ``evaluate`` when the spec has a ``register:`` section (or only
``evaluate.gates``: then it decides blessed / not blessed and registers nothing).

This stage is the one place a plan writes outside its own artifacts (the registry's tables and
bundle objects), and its outcome depends on the registry's state (the champion to compare with),
so it is **not deterministic**: it is never served from cache. Reruns are idempotent by content
instead — an identical model is "already registered as version N" (see mlspec.registry.register).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from mlspec.registry.gates import GateSpec
from mlspec.stages.api import Stage, StageContext, StageParams


class RegisterParams(StageParams):
    """Built from ``register``, ``evaluate.gates``, ``data.target`` and ``name``."""

    name: str | None = None  # the registered model's name; None: gates only
    alias: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    compare_to: str = "champion"
    gates: list[GateSpec] = Field(default_factory=list)
    target: str
    spec_name: str


class RegisterStage(Stage):
    name = "register"
    version = "2"  # 2: the valid split feeds the bundle's reference profile
    Params = RegisterParams
    inputs = ("model", "train", "valid", "metrics")
    outputs = {"registration": "json"}
    deterministic = False
    libraries = ("scikit-learn", "numpy", "pandas", "skops")
    code_dependencies = (
        "mlspec.registry.bundle",
        "mlspec.registry.gates",
        "mlspec.registry.register",
        "mlspec.monitor.profile",
        "mlspec.monitor.stats",
        "mlspec.monitor.options",
    )

    def run(  # type: ignore[override]
        self, params: RegisterParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        from mlspec.registry.register import gate_and_register
        from mlspec.registry.registry import Registry

        record = gate_and_register(
            Registry.for_project(ctx.project_root),
            run_id=ctx.run_id,
            spec_name=params.spec_name,
            name=params.name,
            alias=params.alias,
            tags=dict(params.tags),
            compare_to=params.compare_to,
            gates=list(params.gates),
            model=inputs["model"],
            train=inputs["train"],
            valid=inputs.get("valid"),
            target=params.target,
            metrics=inputs["metrics"],
            log=ctx.log,
        )
        return {"registration": record}
