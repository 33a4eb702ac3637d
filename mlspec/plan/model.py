"""Plan data structures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.stages.api import Stage, StageParams


@dataclass(frozen=True)
class InputRef:
    node: str
    output: str

    def __str__(self) -> str:
        return f"{self.node}.{self.output}"


@dataclass(frozen=True)
class StageNode:
    name: str  # unique within the plan
    stage_cls: type[Stage]
    params: StageParams
    inputs: dict[str, InputRef]
    spec_loc: tuple[Any, ...]  # where the params live in the spec, for error messages
    static_preimage: dict[str, Any]  # every key component known before running anything
    external_files: dict[str, Path] = field(default_factory=dict)
    # params field -> spec key path, where a field does not live at spec_loc + (field,)
    param_locs: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def spec_path(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """Map a location inside this node's params onto the spec the user wrote."""
        if loc and loc[0] in self.param_locs:
            return self.param_locs[str(loc[0])] + tuple(loc[1:])
        return self.spec_loc + tuple(loc)

    @property
    def stage_id(self) -> str:
        return f"{self.stage_cls.name}@{self.stage_cls.version}"

    @property
    def upstream(self) -> set[str]:
        return {ref.node for ref in self.inputs.values()}


@dataclass(frozen=True)
class Plan:
    spec_name: str
    nodes: tuple[StageNode, ...]  # topological order
    objective: str | None = None

    def node(self, name: str) -> StageNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def downstream_of(self, name: str) -> set[str]:
        out: set[str] = set()
        frontier = {name}
        while frontier:
            nxt = {n.name for n in self.nodes if n.upstream & frontier} - out
            out |= nxt
            frontier = nxt
        return out
