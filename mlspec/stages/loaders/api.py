"""The loader contract, and its registry."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from mlspec.errors import Problem
from mlspec.stages.api import StageParams
from mlspec.stages.registry import LOADERS_GROUP, PluginRegistry


class LoaderOptions(StageParams):
    """Base of every loader's options model: unknown keys are errors."""


@dataclass(frozen=True)
class CommonOptions:
    """Options every loader honours; the load stage applies them again after loading, so a
    loader that cannot push them into its reader still gives the same result."""

    columns: list[str] | None = None
    dtypes: dict[str, str] = field(default_factory=dict)
    parse_dates: list[str] = field(default_factory=list)


class Loader(abc.ABC):
    """Subclass this to read a new kind of source; register it under ``mlspec.loaders``."""

    kind: ClassVar[str]
    Options: ClassVar[type[LoaderOptions]] = LoaderOptions
    libraries: ClassVar[tuple[str, ...]] = ()  # their versions enter the load stage's cache key

    @classmethod
    def files(cls, options: Any, project_root: Path) -> list[Path]:
        """Files whose *content* is the data: hashed (with a stat cache) into the cache key."""
        return []

    @classmethod
    def deterministic(cls, options: Any) -> bool:
        """False when the data can change with no file changing (a live database): the load stage
        then always runs, and downstream stages stay cached if it returns identical bytes."""
        return True

    @classmethod
    def code_objects(cls, options: Any) -> tuple[type | ModuleType, ...]:
        """Code besides the loader class whose edits should invalidate (e.g. a user callable)."""
        return ()

    @classmethod
    def check(cls, options: Any, project_root: Path) -> list[Problem]:
        """Pre-flight checks (missing files, bad URLs); locs relative to ``data.source``."""
        return []

    @abc.abstractmethod
    def load(
        self,
        options: Any,
        common: CommonOptions,
        project_root: Path,
        log: Callable[[str], None],
    ) -> Any:
        """Return a pandas DataFrame. Raise DataError/SpecError with a loc under data.source."""


def validate_loader_class(cls: Any, name: str) -> list[str]:
    if not (isinstance(cls, type) and issubclass(cls, Loader)):
        return [f"{cls!r} is not a subclass of mlspec.stages.loaders.Loader"]
    problems = []
    if getattr(cls, "kind", None) != name:
        said = getattr(cls, "kind", None)
        problems.append(f"its class says kind '{said}' but it is registered as '{name}'")
    if not (isinstance(cls.Options, type) and issubclass(cls.Options, StageParams)):
        problems.append("'Options' must subclass mlspec.stages.loaders.LoaderOptions")
    if getattr(cls.load, "__isabstractmethod__", False):
        problems.append("method 'load' is not implemented")
    return problems


class LoaderRegistry(PluginRegistry):
    kind = "loader"
    default_group = LOADERS_GROUP

    def validate(self, cls: Any, name: str) -> list[str]:
        return validate_loader_class(cls, name)

    def get(self, name: str) -> type[Loader]:
        cls: type[Loader] = super().get(name)
        return cls


@lru_cache(maxsize=1)
def loader_registry() -> LoaderRegistry:
    return LoaderRegistry()
