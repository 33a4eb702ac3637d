"""Mirror mlspec runs to an MLflow tracking URI (a server, a SQLite store, a file store).

Each mlspec run becomes one MLflow run in the experiment named after its spec (fluent runs: their
experiment), with:

- params: every mlspec param (the flattened resolved spec and Hydra choices for engine runs);
  values longer than MLflow's limit are cut, and the run says how many in ``mlspec.truncated``;
- metrics: every logged metric with its whole history (steps and timestamps), and the evaluate
  stage's metrics as ``valid.NAME`` / ``test.NAME``;
- tags: the run's tags, plus ``mlspec.run_id``, ``mlspec.spec``, ``mlspec.source`` and the git
  commit as ``mlflow.source.git.commit``;
- artifacts: ``mlspec/lineage.json`` (the run's lineage), files logged with ``log_artifact``
  (digest-verified from the store), and the engine's stage outputs: JSON ones by default
  (``small``), every output with ``all`` (frames as the Arrow IPC files the store holds,
  estimators as joblib), none with ``none``;
- status and start/end times.

Mirroring is idempotent: a run already in the experiment (tag ``mlspec.run_id``) is skipped, or
replaced with ``force=True``.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem, TrackingError
from mlspec.store import Store
from mlspec.tracking import RunRecord, Tracker
from mlspec.tracking.query import RunDetails, metric_history, run_details, search

STATUS = {
    "completed": "FINISHED",
    "failed": "FAILED",
    "running": "RUNNING",
    "killed": "KILLED",
    "interrupted": "KILLED",
}
EXTENSIONS = {"json": ".json", "frame": ".arrow", "estimator": ".joblib"}


def _extension(codec: str, data: bytes) -> str:
    """Frames are Arrow IPC files (stores written before mlspec 0.2: parquet), as stored."""
    if codec == "frame" and data[:4] == b"PAR1":
        return ".parquet"
    return EXTENSIONS.get(codec, "")


ARTIFACT_MODES = ("none", "small", "all")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-. /:]")


@dataclass
class MirrorResult:
    run_id: str  # mlspec's
    mlflow_run_id: str
    experiment: str
    status: str  # mirrored | skipped | replaced
    params: int = 0
    metric_values: int = 0
    artifacts: int = 0


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _name(key: str) -> str:
    """An MLflow-legal param/metric/tag name (it allows fewer characters than SQLite does)."""
    return _BAD_NAME_CHARS.sub("_", key)[:250] or "_"


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def select_runs(
    tracker: Tracker, run_ids: Sequence[str] = (), filter_string: str | None = None
) -> list[RunRecord]:
    """The runs named (ids or prefixes), or those matching the filter, or every run."""
    if run_ids:
        runs = []
        for wanted in run_ids:
            run = tracker.get_run(wanted)
            if run is None:
                raise TrackingError(
                    Problem(
                        "unknown_run",
                        f"no run '{wanted}' in {tracker.db_path}",
                        fix="list runs with `mlspec runs ls`",
                    )
                )
            runs.append(run)
        return runs
    rows, _ = search(tracker, filter_string, "started asc", None, details=False)
    return [r.run for r in rows]


def mirror_runs(
    tracking_uri: str,
    db_path: Path,
    run_ids: Sequence[str] = (),
    filter_string: str | None = None,
    artifacts: str = "small",
    artifact_location: str | None = None,
    force: bool = False,
) -> list[MirrorResult]:
    """Copy the selected mlspec runs of the database at ``db_path`` to MLflow."""
    from mlflow import MlflowClient

    if artifacts not in ARTIFACT_MODES:
        raise TrackingError(
            Problem("bad_option", f"artifacts '{artifacts}'", fix=f"one of {ARTIFACT_MODES}")
        )
    tracker = Tracker(db_path)
    if not tracker.exists():
        raise TrackingError(
            Problem(
                "no_database",
                f"no mlspec database at {db_path}",
                fix="run it in an mlspec project (or pass --project DIR)",
            )
        )
    client = MlflowClient(tracking_uri)
    store = Store(db_path.parent)
    results = []
    for run in select_runs(tracker, run_ids, filter_string):
        experiment_id = _experiment(client, run.spec_name, artifact_location)
        existing = client.search_runs(
            [experiment_id], f"tags.`mlspec.run_id` = '{run.run_id}'", max_results=1
        )
        if existing and not force:
            results.append(
                MirrorResult(run.run_id, existing[0].info.run_id, run.spec_name, "skipped")
            )
            continue
        for old in existing:
            client.delete_run(old.info.run_id)
        result = _mirror_one(client, experiment_id, tracker, store, run, artifacts)
        result.status = "replaced" if existing else "mirrored"
        results.append(result)
    return results


def _experiment(client: Any, name: str, artifact_location: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = f"{artifact_location.rstrip('/')}/{name}" if artifact_location else None
    return str(client.create_experiment(name, artifact_location=location))


def _mirror_one(
    client: Any, experiment_id: str, tracker: Tracker, store: Store, run: RunRecord, mode: str
) -> MirrorResult:
    from mlflow.entities import Metric, Param, RunTag

    details = run_details(tracker, run)
    tags = {
        "mlspec.run_id": run.run_id,
        "mlspec.spec": run.spec_name,
        "mlspec.source": run.source or "engine",
    }
    if run.git_commit:
        tags["mlflow.source.git.commit"] = run.git_commit
    if run.parent_run_id:
        tags["mlspec.parent_run_id"] = run.parent_run_id
    created = client.create_run(
        experiment_id,
        start_time=_ms(run.started_at),
        tags=tags,
        run_name=run.run_name or run.run_id,
    )
    mlflow_id = created.info.run_id
    result = MirrorResult(run.run_id, mlflow_id, run.spec_name, "mirrored")

    params, truncated = [], 0
    for key, value in details.params.items():
        if len(value) > 6000:
            value, truncated = value[:5999] + "…", truncated + 1
        params.append(Param(_name(key), value))
    run_tags = [RunTag(_name(k), str(v)[:8000]) for k, v in details.tags.items()]
    if truncated:
        run_tags.append(RunTag("mlspec.truncated", f"{truncated} param values cut to 6000 chars"))
    metrics = _metrics(tracker, run, details)
    for chunk in _chunks(params, 100):
        client.log_batch(mlflow_id, params=[*chunk])
    for chunk in _chunks(run_tags, 100):
        client.log_batch(mlflow_id, tags=[*chunk])
    for chunk in _chunks(metrics, 1000):
        client.log_batch(mlflow_id, metrics=[Metric(*m) for m in chunk])
    result.params, result.metric_values = len(params), len(metrics)
    if mode != "none":
        result.artifacts = _artifacts(client, mlflow_id, store, details, mode)
    client.set_terminated(
        mlflow_id, STATUS.get(run.status, "FINISHED"), end_time=_ms(run.finished_at)
    )
    return result


def _metrics(
    tracker: Tracker, run: RunRecord, details: RunDetails
) -> list[tuple[str, float, int, int]]:
    """(key, value, timestamp ms, step) for every value: histories of logged metrics, the
    latest value of the evaluate stage's."""
    out = []
    for key, latest in details.metrics.items():
        if latest["logged"]:
            for point in metric_history(tracker, run.run_id, key):
                value = math.nan if point["value"] is None else float(point["value"])
                out.append((_name(key), value, _ms(point["timestamp"]) or 0, int(point["step"])))
        else:
            value = math.nan if latest["value"] is None else float(latest["value"])
            stamp = _ms(run.finished_at or run.started_at) or 0
            out.append((_name(key), value, stamp, 0))
    return out


def _artifacts(client: Any, mlflow_id: str, store: Store, details: RunDetails, mode: str) -> int:
    count = 0
    with tempfile.TemporaryDirectory(prefix="mlspec-mlflow-") as tmp:
        root = Path(tmp)

        def put(relative: str, data: bytes) -> None:
            nonlocal count
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            parent = str(Path(relative).parent)
            client.log_artifact(mlflow_id, str(target), None if parent == "." else parent)
            count += 1

        lineage = details.lineage | {"artifacts": details.outputs}
        put("mlspec/lineage.json", json.dumps(lineage, indent=2, sort_keys=True).encode())
        for art in details.artifacts:
            put(art["path"], store.objects.get(art["digest"]))  # verified against its digest
        for node_output, codec, digest in _outputs(details):
            if mode == "all" or codec == "json":
                node, output = node_output.split(".", 1)
                data = store.objects.get(digest)
                put(f"mlspec/{node}/{output}{_extension(codec, data)}", data)
    return count


def _outputs(details: RunDetails) -> list[tuple[str, str, str]]:
    """(node.output, codec, digest) of the stage outputs, each digest once."""
    seen: set[str] = set()
    out = []
    for name, ref in details.output_refs.items():
        if ref["digest"] in seen:
            continue
        seen.add(ref["digest"])
        out.append((name, ref.get("codec", ""), ref["digest"]))
    return out
