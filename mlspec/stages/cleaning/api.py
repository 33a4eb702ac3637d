"""The cleaning-step contract, and its registry."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from mlspec.stages.api import NoParams, StageParams
from mlspec.stages.registry import CLEANERS_GROUP, PluginRegistry


@dataclass
class StepResult:
    """A step's output frame and how many of the rows it kept it modified."""

    frame: Any  # pandas DataFrame
    rows_changed: int = 0
    note: str = ""


class CleaningStep(abc.ABC):
    """Subclass this for a new cleaning step; register it under ``mlspec.cleaners``.

    ``apply`` is pure: it returns a new frame (never mutates its input) and reports how many of
    the kept rows it changed; the clean stage counts rows in and out itself.
    """

    name: ClassVar[str]
    Params: ClassVar[type[StageParams]] = NoParams
    # A bare string value in the spec ({dropna: any}) fills this field of Params, if set.
    shorthand: ClassVar[str | None] = None

    @abc.abstractmethod
    def apply(self, df: Any, params: Any) -> StepResult: ...


def validate_cleaner_class(cls: Any, name: str) -> list[str]:
    if not (isinstance(cls, type) and issubclass(cls, CleaningStep)):
        return [f"{cls!r} is not a subclass of mlspec.stages.cleaning.CleaningStep"]
    problems = []
    if getattr(cls, "name", None) != name:
        said = getattr(cls, "name", None)
        problems.append(f"its class says name '{said}' but it is registered as '{name}'")
    if not (isinstance(cls.Params, type) and issubclass(cls.Params, StageParams)):
        problems.append("'Params' must subclass mlspec.stages.api.StageParams")
    if getattr(cls.apply, "__isabstractmethod__", False):
        problems.append("method 'apply' is not implemented")
    return problems


class CleanerRegistry(PluginRegistry):
    kind = "cleaning step"
    default_group = CLEANERS_GROUP

    def validate(self, cls: Any, name: str) -> list[str]:
        return validate_cleaner_class(cls, name)

    def get(self, name: str) -> type[CleaningStep]:
        cls: type[CleaningStep] = super().get(name)
        return cls


@lru_cache(maxsize=1)
def cleaner_registry() -> CleanerRegistry:
    return CleanerRegistry()


def parse_step(raw: Any) -> tuple[str, Any]:
    """``"name"`` or ``{name: params}`` -> (name, params-or-None). Raises ValueError on shape."""
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict) and len(raw) == 1:
        name, value = next(iter(raw.items()))
        return str(name), value
    raise ValueError("each step must be a name or a one-key mapping like {dropna: {how: any}}")
