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
from mlspec.registry.bundle import BundlePayload, build_bundle
from mlspec.registry.db import ModelVersion
from mlspec.registry.gates import GateSpec, blessed, evaluate_gates
from mlspec.registry.registry import Registry
from mlspec.tracking import Tracker


def run_outputs(tracker: Tracker, run_id: str) -> dict[str, dict[str, Any]]:
    """``node.output`` -> artifact ref (digest, codec) of everything the run produced so far."""
    out: dict[str, dict[str, Any]] = {}
    for execution in tracker.stage_executions(run_id):
        for name, ref in execution.outputs.items():
            if isinstance(ref, dict) and "digest" in ref:
                out[f"{execution.node}.{name}"] = ref
    return out


def data_digests(tracker: Tracker, run_id: str) -> dict[str, str]:
    """``node.output`` -> digest of every table the run produced so far (the data lineage)."""
    return {
        key: str(ref["digest"])
        for key, ref in run_outputs(tracker, run_id).items()
        if ref.get("codec") == "frame"
    }


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
    valid: Any = None,
) -> dict[str, Any]:
    """The registration record (JSON-able): gate results, blessing, version, alias move.

    A rerun served from cache hands over the very model artifact a version was built from
    (same ``train.model`` digest): that version is reused without serialising the model again
    (importing skops alone takes seconds). Otherwise the bundle is built and an identical model
    digest still finds the existing version.
    """
    champion = registry.champion(name, compare_to) if name else None
    payload: BundlePayload | None = None
    existing: ModelVersion | None = None
    source: str | None = None
    if name:
        outputs = run_outputs(Tracker(registry.store.db_path), run_id)
        source = str(outputs["train.model"]["digest"]) if "train.model" in outputs else None
        number = registry.db.find_by_source(name, source) if source else None
        existing = registry.db.get_version(name, number) if number is not None else None
        if existing is None:
            metadata = {
                "name": name,
                "run_id": run_id,
                "spec_name": spec_name,
                "metrics": metrics,
                "data_digests": {
                    k: str(r["digest"]) for k, r in outputs.items() if r.get("codec") == "frame"
                },
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "mlspec_version": __version__,
            }
            payload = build_bundle(model, train, target, metadata, valid=valid)
            number = registry.db.find_by_model_digest(name, payload.model_digest)
            existing = registry.db.get_version(name, number) if number is not None else None
    model_digest = payload.model_digest if payload else existing.model_digest if existing else None
    is_champion = bool(champion and model_digest and champion.model_digest == model_digest)
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
    model_entry = payload.manifest["model"] if payload else {}
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
        "model_digest": model_digest,
        "bundle_digest": None,
        "model_format": model_entry.get("format") or (existing.model_format if existing else None),
        "fallback_reason": model_entry.get("fallback_reason"),
    }
    if not ok or name is None:
        record["outcome"] = "refused" if name else "gates_only"
        registry.db.record_gates(run_id, results, ok, name, None, record["outcome"])
        return record
    if existing is not None:
        version, created, bundle_digest = existing.version, False, existing.bundle_digest
    else:
        assert payload is not None
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
            source_digest=source,
        )
        if not created:  # a parallel job registered the same model first
            found = registry.db.get_version(name, version)
            bundle_digest = found.bundle_digest if found else bundle_digest
    record.update(
        version=version,
        created=created,
        bundle_digest=bundle_digest,
        outcome="registered" if created else "already_registered",
    )
    if alias:
        previous = registry.db.set_alias(name, alias, version, reason=f"run {run_id}")
        record["alias_previous"] = previous
        record["alias_moved"] = previous != version
    if record["fallback_reason"]:
        log(f"saved with joblib: {record['fallback_reason']}")
    registry.db.record_gates(run_id, results, True, name, version, record["outcome"])
    return record
