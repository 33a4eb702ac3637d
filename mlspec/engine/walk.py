"""Walk a plan against the store: resolve each node's full cache key where it can be known.

Shared by `mlspec plan` (report only) and `mlspec run` (pre-flight checks, then execution).
A node's key can be known without running anything only when every upstream node is a hit,
since keys include the digests of upstream *outputs*.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem, SpecError
from mlspec.plan.keys import cache_key, explain_change, full_preimage
from mlspec.plan.model import Plan, StageNode
from mlspec.store import ActionRecord, ArtifactRef, Store
from mlspec.tracking import Tracker


@dataclass
class NodeStatus:
    node: str
    status: str  # hit | miss
    key: str | None  # None when an upstream node must run first
    reason: str
    preimage: dict[str, Any] | None
    record: ActionRecord | None = None


def external_digests(node: StageNode, store: Store, read_only: bool = False) -> dict[str, str]:
    cache = store.stat_cache(read_only=read_only)
    out: dict[str, str] = {}
    for name, path in node.external_files.items():
        try:
            out[name] = cache.digest(Path(path))
        except FileNotFoundError:
            loc = node.spec_loc + (("path",) if node.spec_loc == ("data", "source") else ())
            raise SpecError(
                Problem(
                    code="missing_file",
                    message=f"file '{path}' does not exist",
                    loc=loc,
                    fix="check the path (relative paths start at the project root)"
                    " or create the file",
                )
            ) from None
        except IsADirectoryError:
            raise SpecError(
                Problem("not_a_file", f"'{path}' is a directory, not a file", node.spec_loc)
            ) from None
    return out


def node_preimage(
    node: StageNode, outputs: dict[tuple[str, str], ArtifactRef], external: dict[str, str]
) -> dict[str, Any] | None:
    inputs: dict[str, str] = {}
    for name, ref in node.inputs.items():
        art = outputs.get((ref.node, ref.output))
        if art is None:
            return None
        inputs[name] = art.digest
    return full_preimage(node.static_preimage, inputs, external)


def walk_plan(plan: Plan, store: Store, tracker: Tracker) -> list[NodeStatus]:
    known: dict[tuple[str, str], ArtifactRef] = {}
    statuses: list[NodeStatus] = []
    missing_upstream: set[str] = set()
    for node in plan.nodes:
        external = external_digests(node, store, read_only=True)
        preimage = node_preimage(node, known, external)
        if preimage is None:
            blockers = sorted(node.upstream & missing_upstream)
            statuses.append(
                NodeStatus(
                    node.name,
                    "miss",
                    None,
                    f"upstream {', '.join(blockers)} will run"
                    " (may still hit if its output is unchanged)",
                    None,
                )
            )
            missing_upstream.add(node.name)
            continue
        key = cache_key(preimage)
        record = store.get_action(key) if store.exists() else None
        if record is not None and node.stage_cls.is_deterministic(node.params):
            statuses.append(NodeStatus(node.name, "hit", key, "cached", preimage, record))
            for out, art in record.outputs.items():
                known[(node.name, out)] = art
            continue
        if not node.stage_cls.is_deterministic(node.params):
            reason = "not deterministic: always runs"
        else:
            last = tracker.last_execution(plan.spec_name, node.name)
            reason = explain_change(last.preimage if last else None, preimage)
            if last is not None and last.key == key:
                reason = "results missing from the store"
        statuses.append(NodeStatus(node.name, "miss", key, reason, preimage))
        missing_upstream.add(node.name)
    return statuses


def preflight(plan: Plan, statuses: list[NodeStatus], project_root: Path) -> None:
    """Expensive validation of every stage that may run, before anything runs or is written."""
    problems: list[Problem] = []
    for node, status in zip(plan.nodes, statuses, strict=True):
        if status.status == "hit":
            continue
        for p in node.stage_cls.check(node.params, project_root):
            problems.append(Problem(p.code, p.message, node.spec_path(p.loc), p.file, p.fix))
    if problems:
        raise SpecError(problems)
