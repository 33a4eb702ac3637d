"""clean: apply the spec's ordered cleaning steps and account for every row.

The accounting output records, per step, rows in, rows out (so rows removed) and rows changed; the
engine prints it with the validation counts so that rows in = valid + quarantined + removed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from pydantic import Field, ValidationError, field_validator

from mlspec.errors import choices_hint
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.cleaning.api import CleaningStep, cleaner_registry, parse_step


def step_params(step_cls: type[CleaningStep], value: Any) -> StageParams:
    if value is None:
        return step_cls.Params()
    if not isinstance(value, dict):
        if step_cls.shorthand is None:
            raise ValueError(f"'{step_cls.name}' takes a mapping of options, got {value!r}")
        value = {step_cls.shorthand: value}
    return step_cls.Params.model_validate(value)


def resolved_steps(steps: list[Any]) -> list[tuple[type[CleaningStep], StageParams]]:
    registry = cleaner_registry()
    out = []
    for raw in steps:
        name, value = parse_step(raw)
        step_cls = registry.get(name)
        out.append((step_cls, step_params(step_cls, value)))
    return out


class CleanParams(StageParams):
    """Built from ``data.clean``."""

    steps: list[Any] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, steps: list[Any]) -> list[Any]:
        registry = cleaner_registry()
        for i, raw in enumerate(steps):
            name, value = parse_step(raw)
            if name not in registry:
                raise ValueError(
                    f"unknown cleaning step '{name}'; " + choices_hint(name, registry.names())
                )
            try:
                step_params(registry.get(name), value)
            except ValidationError as exc:
                what = _first_error(exc, registry.get(name))
                raise ValueError(f"step [{i}] {name}: {what}") from None
        return steps


def _first_error(exc: ValidationError, step_cls: type[CleaningStep]) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        hint = ""
        if len(err["loc"]) == 1:  # a top-level option: suggest the step's real ones
            hint = "; " + choices_hint(where, step_cls.Params.model_fields)
        return f"unknown option '{where}'{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{msg} '{where}'" if where else msg


class CleanStage(Stage):
    name = "clean"
    version = "1"
    Params = CleanParams
    inputs = ("data",)
    outputs = {"data": "frame", "accounting": "json"}
    libraries = ("pandas", "numpy")

    @classmethod
    def code_objects(cls, params: CleanParams) -> tuple[type | ModuleType, ...]:  # type: ignore[override]
        # A step's helper modules (its optional ``code_dependencies``) are part of its code too.
        objects: list[type | ModuleType] = list(super().code_objects(params))
        for step_cls, _ in resolved_steps(params.steps):
            objects.append(step_cls)
            deps = getattr(step_cls, "code_dependencies", ())
            objects.extend(importlib.import_module(m) for m in deps)
        return tuple(objects)

    def run(  # type: ignore[override]
        self, params: CleanParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        df = inputs["data"]
        rows_in = len(df)
        records = []
        for step_cls, step_params_ in resolved_steps(params.steps):
            before = len(df)
            result = step_cls().apply(df, step_params_)
            df = result.frame
            records.append(
                {
                    "step": step_cls.name,
                    "rows_in": before,
                    "rows_out": len(df),
                    "removed": before - len(df),
                    "changed": int(result.rows_changed),
                    "note": result.note,
                }
            )
            ctx.log(
                f"{step_cls.name}: {before} -> {len(df)} rows"
                f" ({before - len(df)} removed, {result.rows_changed} changed)"
            )
        df = df.reset_index(drop=True)
        return {
            "data": df,
            "accounting": {"rows_in": rows_in, "rows_out": len(df), "steps": records},
        }
