"""Rebuild a registered model from its recorded lineage and compare it with the registered one.

The resolved spec is read from the run record of the run that registered the version; the plan
runs in a fresh scratch store (so no cached artifact can stand in for a recomputation), without
the register node (nothing is registered). Then the bundle is rebuilt from the new model, exactly
as the register stage builds it, and compared:

- **model digest** — over every bundle file but ``metadata.json`` (model.skops, the schemas,
  requirements.txt); each file's digest is shown too;
- **metrics** — the evaluate stage's metrics, value by value (exact equality; NaN equals NaN);
- data digests of the run's tables are reported for information (a changed source explains a
  mismatch).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec import __version__
from mlspec.config.spec import Spec
from mlspec.engine.console import ConsoleReporter
from mlspec.engine.runner import Runner
from mlspec.engine.walk import preflight, walk_plan
from mlspec.errors import Problem, SpecError
from mlspec.plan import Plan, compile_plan
from mlspec.registry.bundle import METADATA, REFERENCE_PROFILE, build_bundle
from mlspec.registry.errors import RegistryError
from mlspec.registry.register import data_digests
from mlspec.registry.registry import Registry
from mlspec.stages.registry import default_registry
from mlspec.store import Store
from mlspec.tracking import Tracker


@dataclass
class ReproduceReport:
    ref: str
    run_id: str
    rebuild_run_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # kind, item, recorded, rebuilt, match
    digest_match: bool = False
    metrics_match: bool = False
    scratch: str | None = None

    @property
    def ok(self) -> bool:
        return self.digest_match and self.metrics_match


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("valid", "test"):
        for name, value in (metrics.get(split) or {}).items():
            out[f"{split} {name}"] = value
    for key, value in metrics.items():
        if key not in ("valid", "test", "task"):
            # slices, intervals, confusion matrices...: compared as a whole, shown as one row
            out[key] = json.dumps(value, sort_keys=True, default=str)
    return out


def reproduce(
    ref: str, project_root: Path, console: Any, keep: Path | None = None
) -> ReproduceReport:
    registry = Registry.for_project(project_root)
    version = registry.resolve(ref)
    manifest, files = registry.read_bundle(version)
    metadata = json.loads(files[METADATA])
    label = f"{version.name}:{version.version}"
    tracker = Tracker(registry.store.db_path)
    run = tracker.get_run(version.run_id) if version.run_id else None
    if run is None:
        raise RegistryError(
            Problem(
                "no_lineage",
                f"{label} was registered by run '{version.run_id}', which is not in this"
                " project's run database",
                fix="reproduce from the project (and .mlspec store) that registered it",
            )
        )
    try:
        spec = Spec.model_validate(run.spec)
        full = compile_plan(spec, default_registry(), project_root)
    except SpecError as exc:
        raise SpecError(
            [
                Problem(
                    p.code, f"recorded spec of run {run.run_id}: {p.message}", p.loc, None, p.fix
                )
                for p in exc.problems
            ]
        ) from None
    except ValueError as exc:  # pydantic: the recorded spec no longer validates
        raise SpecError(
            Problem(
                "stale_spec",
                f"the recorded spec of run {run.run_id} no longer validates: {exc}",
                fix="reproduce with the mlspec version that registered it",
            )
        ) from None
    kept = tuple(n for n in full.nodes if n.name != "register")  # rebuild, never register
    plan = Plan(full.spec_name, kept, full.objective)
    scratch = keep or Path(tempfile.mkdtemp(prefix="mlspec-reproduce-"))
    store = Store(scratch / ".mlspec")
    store.ensure()
    scratch_tracker = Tracker(store.db_path)
    scratch_tracker.ensure_schema()
    rebuild_id = f"reproduce-{run.run_id}"
    try:
        preflight(plan, walk_plan(plan, store, scratch_tracker), project_root)
        scratch_tracker.start_run(
            rebuild_id, plan.spec_name, run.spec, [], None, None, mlspec_version=__version__
        )
        runner = Runner(
            plan, store, scratch_tracker, rebuild_id, project_root, spec.seed,
            ConsoleReporter(console, "[dim]rebuild[/] "),
        )  # fmt: skip
        outcome = runner.execute()
        model = runner.load_output(outcome.artifacts[("train", "model")])
        train = runner.load_output(outcome.artifacts[("split", "train")])
        metrics = runner.load_output(outcome.artifacts[("evaluate", "metrics")])
        valid = runner.load_output(outcome.artifacts[("split", "valid")])
        rebuilt = build_bundle(  # a bundle from before reference profiles is rebuilt without one
            model, train, spec.data.target, {}, valid=valid,
            with_profile=REFERENCE_PROFILE in manifest.get("files", {}),
        )  # fmt: skip
        rebuilt_data = data_digests(scratch_tracker, rebuild_id)
        scratch_tracker.finish_run(rebuild_id, "completed")
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    report = ReproduceReport(label, run.run_id, rebuild_id, scratch=str(keep) if keep else None)
    compare(
        report,
        manifest,
        version.metrics,
        metadata.get("data_digests") or {},
        rebuilt.manifest,
        metrics,
        rebuilt_data,
    )
    return report


def compare(
    report: ReproduceReport,
    manifest: dict[str, Any],
    recorded_metrics: dict[str, Any],
    recorded_data: dict[str, str],
    rebuilt_manifest: dict[str, Any],
    rebuilt_metrics: dict[str, Any],
    rebuilt_data: dict[str, str],
) -> None:
    """Fill ``report``: the model digest and each file it covers, every metric, the data."""
    report.digest_match = manifest["model_digest"] == rebuilt_manifest["model_digest"]
    report.rows.append(
        {
            "kind": "digest",
            "item": "model digest",
            "recorded": manifest["model_digest"],
            "rebuilt": rebuilt_manifest["model_digest"],
            "match": report.digest_match,
        }
    )
    for name in manifest.get("model_digest_covers", []):
        old = manifest["files"].get(name, {}).get("digest")
        new = rebuilt_manifest["files"].get(name, {}).get("digest")
        report.rows.append(
            {"kind": "file", "item": name, "recorded": old, "rebuilt": new, "match": old == new}
        )
    before, after = _flat_metrics(recorded_metrics), _flat_metrics(rebuilt_metrics)
    report.metrics_match = True
    for key in sorted(set(before) | set(after)):
        same = _same(before.get(key), after.get(key))
        report.metrics_match &= same
        report.rows.append(
            {
                "kind": "metric",
                "item": key,
                "recorded": before.get(key),
                "rebuilt": after.get(key),
                "match": same,
            }
        )
    for key in sorted(set(recorded_data) | set(rebuilt_data)):
        old, new = recorded_data.get(key), rebuilt_data.get(key)
        report.rows.append(
            {"kind": "data", "item": key, "recorded": old, "rebuilt": new, "match": old == new}
        )
