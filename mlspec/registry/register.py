"""Gate a run's model and, when blessed, register it as a new version of a named model.

What a rerun means: the bundle's *model digest* excludes the run's metadata, so registering a
model identical to an existing version of the same name creates nothing and reports "already
registered as version N" (DVC/MLflow users expect that); the gates are still evaluated (they
may have changed), and a comparison gate against a champion that *is* this model passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mlspec import __version__
from mlspec.registry.bundle import build_bundle
from mlspec.registry.gates import GateSpec, blessed, evaluate_gates
from mlspec.registry.registry import Registry
from mlspec.tracking import Tracker


def data_digests(tracker: Tracker, run_id: str) -> dict[str, str]:
    """``node.output`` -> digest of every table the run produced so far (the data lineage)."""
    out: dict[str, str] = {}
    for execution in tracker.stage_executions(run_id):
        for name, ref in execution.outputs.items():
            if isinstance(ref, dict) and ref.get("codec") == "frame":
                out[f"{execution.node}.{name}"] = str(ref["digest"])
    return out


def gate_and_register(
    registry: Registry,
    *,
    run_id: str,
    spec_name: str,
    name: str | None,
    alias: str | None,
    tags: dict[str, str],
    compare_to: str,
    gates: list[GateSpec],
    model: Any,
    train: Any,
    target: str,
    metrics: dict[str, Any],
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The registration record (JSON-able): gate results, blessing, version, alias move."""
    champion = registry.champion(name, compare_to) if name else None
    payload = None
    if name:
        tracker = Tracker(registry.store.db_path)
        metadata = {
            "name": name,
            "run_id": run_id,
            "spec_name": spec_name,
            "metrics": metrics,
            "data_digests": data_digests(tracker, run_id),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "mlspec_version": __version__,
        }
        payload = build_bundle(model, train, target, metadata)
    is_champion = bool(champion and payload and champion.model_digest == payload.model_digest)
    label = f"{compare_to} (version {champion.version})" if champion else compare_to
    results = evaluate_gates(
        gates, metrics, None if champion is None or is_champion else champion.metrics, label
    )
    if is_champion:
        assert champion is not None
        for r in results:
            if r["reason"] == "no champion yet":
                r["reason"] = f"this model is the {compare_to} (version {champion.version})"
    ok = blessed(results)
    record: dict[str, Any] = {
        "blessed": ok,
        "gates": results,
        "name": name,
        "version": None,
        "created": False,
        "alias": alias,
        "alias_previous": None,
        "alias_moved": False,
        "champion_version": champion.version if champion else None,
        "model_digest": payload.model_digest if payload else None,
        "bundle_digest": None,
        "model_format": payload.manifest["model"]["format"] if payload else None,
        "fallback_reason": payload.manifest["model"].get("fallback_reason") if payload else None,
    }
    if not ok:
        record["outcome"] = "refused" if name else "gates_only"
        registry.db.record_gates(run_id, results, False, name, None, record["outcome"])
        return record
    if payload is None or name is None:
        record["outcome"] = "gates_only"
        registry.db.record_gates(run_id, results, True, None, None, "gates_only")
        return record
    existing = registry.db.find_by_model_digest(name, payload.model_digest)
    if existing is None:
        bundle_digest = registry.store_bundle(payload)
        version, created = registry.db.add_version(
            name,
            bundle_digest,
            payload.model_digest,
            payload.manifest["model"]["format"],
            run_id,
            spec_name,
            metrics,
            tags,
        )
    else:
        version, created = existing, False
    found = registry.db.get_version(name, version)
    record.update(
        version=version,
        created=created,
        bundle_digest=found.bundle_digest if found else None,
        outcome="registered" if created else "already_registered",
    )
    if alias:
        previous = registry.db.set_alias(name, alias, version, reason=f"run {run_id}")
        record["alias_previous"] = previous
        record["alias_moved"] = previous != version
    if payload.manifest["model"]["format"] != "skops":
        log(f"saved with joblib: {payload.manifest['model'].get('fallback_reason')}")
    registry.db.record_gates(run_id, results, True, name, version, record["outcome"])
    return record
