"""Record a run's lineage at its start (see :mod:`mlspec.tracking.lineage` for the document).

The engine-specific parts: the external files the plan reads (by content digest, through the
store's stat cache, so unchanged files are not read again), the library versions the stages
declare (already resolved in the plan's environment fingerprints: no extra look-ups), and the
Hydra group choices, which are also recorded as params (``model=lightgbm`` makes
``params.model = lightgbm`` a filter that works).
"""

from __future__ import annotations

import sys
from typing import Any

from mlspec.config.load import LoadedSpec
from mlspec.engine.walk import external_digests
from mlspec.plan import Plan
from mlspec.store import Store
from mlspec.tracking import Tracker
from mlspec.tracking import lineage as tracking_lineage

# mlspec's own core dependencies, already imported by the time a run starts (module -> dist).
_CORE = {"hydra": "hydra-core", "omegaconf": "omegaconf", "pydantic": "pydantic"}


def collect(loaded: LoadedSpec, plan: Plan, store: Store) -> dict[str, Any]:
    libraries: dict[str, str] = {}
    for node in plan.nodes:
        env = node.static_preimage.get("env", {})
        libraries.update(
            {k: v for k, v in env.get("libraries", {}).items() if v != "not-installed"}
        )
    for module, dist in _CORE.items():
        version = getattr(sys.modules.get(module), "__version__", None)
        if version:
            libraries.setdefault(dist, str(version))
    files: dict[str, dict[str, str]] = {}
    for node in plan.nodes:
        digests = external_digests(node, store, read_only=True)
        for name, digest in digests.items():
            files[f"{node.name}.{name}"] = {
                "path": str(node.external_files[name]),
                "digest": digest,
            }
    return {
        "code": tracking_lineage.code(loaded.source.project_root),
        "environment": tracking_lineage.environment(libraries),
        "data": {"files": files},
        "config": {"choices": dict(loaded.choices), "overrides": list(loaded.overrides)},
    }


def record(
    tracker: Tracker,
    run_id: str,
    loaded: LoadedSpec,
    plan: Plan,
    store: Store,
    trigger: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect and store the lineage of ``run_id``; also sets the run's git commit and records
    the Hydra group choices as params. ``trigger``: what started the run (``{"kind":
    "monitor", "monitoring_result": ID, ...}`` for a drift-triggered retrain), kept as the
    lineage's ``trigger`` section and as a tag (``monitoring_result``) that filters can use."""
    lineage = collect(loaded, plan, store)
    if trigger is not None:
        lineage["trigger"] = trigger
        if trigger.get("monitoring_result"):
            tracker.set_tags(run_id, {"monitoring_result": trigger["monitoring_result"]})
    tracker.record_lineage(run_id, lineage, git_commit=lineage["code"]["commit"])
    if loaded.choices:
        tracker.log_params(run_id, loaded.choices)
    return lineage
