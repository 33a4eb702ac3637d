"""Discovery of plugins through entry-point groups: one registry class, one group per kind.

Kinds: stages (``mlspec.stages``), data loaders (``mlspec.loaders``) and cleaning steps
(``mlspec.cleaners``). Only entry-point *metadata* is read up front; a plugin's module is imported
the first time a plan needs it. A plugin that fails to import is reported and skipped — it can
only fail runs that use it. Two distributions registering one name is an error that names both.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint
from typing import Any

from mlspec.errors import PluginError, Problem, choices_hint
from mlspec.installed import distribution_name, entry_points_of
from mlspec.stages.api import Stage, validate_stage_class

STAGES_GROUP = "mlspec.stages"
LOADERS_GROUP = "mlspec.loaders"
CLEANERS_GROUP = "mlspec.cleaners"


@dataclass(frozen=True)
class PluginEntry:
    name: str
    value: str  # "module:attr"
    distribution: str

    @classmethod
    def from_entry_point(cls, ep: EntryPoint) -> PluginEntry:
        dist = getattr(ep, "dist", None)
        name = distribution_name(dist) if dist is not None else "<unknown distribution>"
        return cls(ep.name, ep.value, name)


class PluginRegistry:
    """Plugins of one kind. Subclasses set the kind's words and its contract check."""

    kind = "plugin"  # used in messages ("no loader named ...") and error codes ("unknown_loader")
    default_group = ""

    def __init__(self, group: str | None = None):
        self.group = group or self.default_group
        by_name: dict[str, list[PluginEntry]] = {}
        seen: set[tuple[str, str, str]] = set()
        for ep in entry_points_of(self.group):
            entry = PluginEntry.from_entry_point(ep)
            ident = (entry.name, entry.value, entry.distribution)
            if ident in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(ident)
            by_name.setdefault(entry.name, []).append(entry)
        self._entries = by_name
        self._loaded: dict[str, Any] = {}
        self.broken: dict[str, str] = {}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self, name: str) -> list[PluginEntry]:
        return list(self._entries.get(name, []))

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def validate(self, cls: Any, name: str) -> list[str]:
        """Why ``cls`` breaks this kind's contract (empty when it does not)."""
        return []

    def get(self, name: str) -> Any:
        """The class registered as ``name``; loads its module on first use."""
        if name in self._loaded:
            return self._loaded[name]
        entries = self._entries.get(name)
        if not entries:
            raise PluginError(
                Problem(
                    code=f"unknown_{self.kind.replace(' ', '_')}",
                    message=f"no {self.kind} named '{name}' is installed",
                    fix=choices_hint(name, self._entries),
                )
            )
        if len({e.value for e in entries}) > 1 or len({e.distribution for e in entries}) > 1:
            listing = " and ".join(f"'{e.distribution}' ({e.value})" for e in entries)
            raise PluginError(
                Problem(
                    code=f"duplicate_{self.kind.replace(' ', '_')}",
                    message=f"{self.kind} name '{name}' is registered by {listing}",
                    fix="uninstall one of these packages, or rename the entry point in one of them",
                )
            )
        entry = entries[0]
        try:
            cls = EntryPoint(entry.name, entry.value, self.group).load()
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.broken[name] = detail
            raise PluginError(
                Problem(
                    code="broken_plugin",
                    message=(
                        f"{self.kind} '{name}' from package '{entry.distribution}' failed to load"
                        f" ({entry.value}): {detail}"
                    ),
                    fix=f"fix or reinstall '{entry.distribution}'",
                )
            ) from exc
        problems = self.validate(cls, name)
        if problems:
            self.broken[name] = "; ".join(problems)
            raise PluginError(
                Problem(
                    code="invalid_plugin",
                    message=f"{self.kind} '{name}' from package '{entry.distribution}' breaks"
                    f" the {self.kind} contract: {'; '.join(problems)}",
                    fix=f"fix '{entry.value}' in '{entry.distribution}'",
                )
            )
        self._loaded[name] = cls
        return cls

    def check_all(self) -> dict[str, str | None]:
        """Load every plugin; name -> problem (None when fine). For `mlspec plugins`."""
        status: dict[str, str | None] = {}
        for name in self.names():
            try:
                self.get(name)
                status[name] = None
            except PluginError as exc:
                status[name] = exc.problems[0].message
        return status


class StageRegistry(PluginRegistry):
    kind = "stage"
    default_group = STAGES_GROUP

    def validate(self, cls: Any, name: str) -> list[str]:
        problems = validate_stage_class(cls)
        if not problems and cls.name != name:
            problems.append(f"its class says name '{cls.name}' but it is registered as '{name}'")
        return problems

    def get(self, name: str) -> type[Stage]:
        cls: type[Stage] = super().get(name)
        return cls


@lru_cache(maxsize=1)
def default_registry() -> StageRegistry:
    return StageRegistry()
