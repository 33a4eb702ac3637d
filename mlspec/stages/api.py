"""The stage contract.

A stage is pure as far as the store is concerned: ``run`` receives its inputs as Python objects and
returns its outputs as Python objects; the runner loads inputs and saves outputs through codecs,
computes cache keys and records executions. That is what lets any stage be cached, resumed after a
crash and shared between concurrent sweep jobs without the stage author doing anything.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from mlspec.errors import Problem

# Codec names a stage may declare for its outputs; the store knows how to (de)serialise each.
CODECS = ("frame", "estimator", "json")


class StageParams(BaseModel):
    """Base for every stage's params model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NoParams(StageParams):
    """For stages that read nothing from the spec."""


@dataclass
class StageContext:
    """What a running stage may know about its surroundings. No store handle on purpose."""

    node: str  # the node's name in the plan (a stage class can appear under several names)
    run_id: str
    project_root: Path
    seed: int = 0
    log: Callable[[str], None] = field(default=print)


class Stage(abc.ABC):
    """Subclass this to write a stage.

    Class attributes declare everything the engine needs to plan and cache the stage without
    running it: ``name`` and ``version`` (bump the version to invalidate every cached result by
    hand), the ``Params`` model, named ``inputs`` and ``outputs`` (output name -> codec), whether
    it is ``deterministic`` (non-deterministic stages are never served from cache) and the
    distributions whose versions enter the environment fingerprint (``libraries``).
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Params: ClassVar[type[StageParams]] = NoParams
    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[Mapping[str, str]] = {}
    deterministic: ClassVar[bool] = True
    libraries: ClassVar[tuple[str, ...]] = ()
    # Extra modules whose source is part of the code fingerprint (helpers the stage calls).
    code_dependencies: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def libraries_for(cls, params: StageParams) -> tuple[str, ...]:
        """Distributions whose versions matter for these params (e.g. the estimator's package)."""
        return cls.libraries

    @classmethod
    def is_deterministic(cls, params: StageParams) -> bool:
        """Whether these params make the stage cacheable (default: the class attribute)."""
        return cls.deterministic

    @classmethod
    def code_objects(cls, params: StageParams) -> tuple[type | ModuleType, ...]:
        """Classes/modules whose code enters the fingerprint besides the stage's own module."""
        import importlib

        return tuple(importlib.import_module(m) for m in cls.code_dependencies)

    @classmethod
    def external_files(cls, params: StageParams, project_root: Path) -> dict[str, Path]:
        """Files read from outside the store; their *content* digests enter the cache key."""
        return {}

    @classmethod
    def check(cls, params: StageParams, project_root: Path) -> list[Problem]:
        """Expensive validation (may import heavy libraries), run only for stages about to run.

        Problems' ``loc`` are relative to the stage's params; the engine prefixes the spec path.
        """
        return []

    @abc.abstractmethod
    def run(
        self, params: StageParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        """Compute the outputs from the inputs. No store I/O, no global state."""


def validate_stage_class(cls: Any) -> list[str]:
    """Why ``cls`` does not satisfy the contract (empty when it does)."""
    problems: list[str] = []
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        return [f"{cls!r} is not a subclass of mlspec.stages.Stage"]
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        problems.append("class attribute 'name' must be a non-empty string")
    if not isinstance(cls.version, str):
        problems.append("class attribute 'version' must be a string")
    if not (isinstance(cls.Params, type) and issubclass(cls.Params, BaseModel)):
        problems.append("class attribute 'Params' must be a pydantic model class")
    for out, codec in dict(cls.outputs).items():
        if codec not in CODECS:
            problems.append(f"output '{out}' uses unknown codec '{codec}' (one of {CODECS})")
    if not cls.outputs:
        problems.append("a stage must declare at least one output")
    if getattr(cls.run, "__isabstractmethod__", False):
        problems.append("method 'run' is not implemented")
    return problems
