"""Action records: what a stage execution with a given cache key produced."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtifactRef:
    digest: str
    codec: str
    size: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactRef:
        return cls(digest=data["digest"], codec=data["codec"], size=int(data["size"]))


@dataclass
class ActionRecord:
    key: str
    stage: str  # "name@version"
    node: str
    outputs: dict[str, ArtifactRef]
    preimage: dict[str, Any]
    run_id: str
    started_at: float
    duration_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = asdict(self)
        return json.dumps(data, sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> ActionRecord:
        data = json.loads(raw)
        data["outputs"] = {k: ArtifactRef.from_dict(v) for k, v in data["outputs"].items()}
        return cls(**data)
