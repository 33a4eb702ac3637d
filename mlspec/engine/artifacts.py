"""Find and export a run's artifacts (e.g. the quarantined rows) by ``node.output``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem, SpecError, choices_hint
from mlspec.store import ArtifactRef, Store
from mlspec.tracking import RunRecord, Tracker


@dataclass(frozen=True)
class RunArtifact:
    name: str  # node.output
    ref: ArtifactRef
    status: str  # hit | miss of the execution that recorded it


def resolve_run(tracker: Tracker, run_id: str | None) -> RunRecord:
    if run_id in (None, "latest"):
        runs = tracker.list_runs(limit=1)
        if not runs:
            raise SpecError(Problem("no_runs", "no runs recorded here", fix="mlspec run conf=NAME"))
        return runs[0]
    run = tracker.get_run(run_id)
    if run is None:
        raise SpecError(
            Problem("unknown_run", f"no run '{run_id}'", fix="list runs with `mlspec runs ls`")
        )
    return run


def run_artifacts(tracker: Tracker, run: RunRecord) -> list[RunArtifact]:
    out = []
    for execution in tracker.stage_executions(run.run_id):
        for output, ref in execution.outputs.items():
            out.append(
                RunArtifact(
                    f"{execution.node}.{output}", ArtifactRef.from_dict(ref), execution.status
                )
            )
    return out


def export_artifact(store: Store, artifact: RunArtifact, target: Path) -> Path:
    """Write the artifact to ``target``: frames as CSV (``.csv``), Arrow IPC as stored
    (``.arrow``/``.feather``) or parquet (anything else); json as json; estimators as the stored
    joblib bytes. The digest is verified before anything is written."""
    data = store.objects.get(artifact.ref.digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    if artifact.ref.codec == "frame" and suffix not in (".arrow", ".feather"):
        value: Any = store.load(artifact.ref)
        if suffix == ".csv":
            value.to_csv(target, index=False)
        else:
            value.to_parquet(target, index=False)
    else:
        target.write_bytes(data)
    return target


def find_artifact(artifacts: list[RunArtifact], name: str) -> RunArtifact:
    for artifact in artifacts:
        if artifact.name == name:
            return artifact
    raise SpecError(
        Problem(
            "unknown_artifact",
            f"the run has no artifact '{name}'",
            fix=choices_hint(name, [a.name for a in artifacts]),
        )
    )
