"""A run's evaluation outside the run: the HTML report (``mlspec runs show RUN --html``) and
the intervals and slices of ``mlspec runs show RUN``.

Reads the artifacts the run recorded (``evaluate.metrics``, ``evaluate.predictions``,
``train.report``) from the store, digest-verified; nothing is recomputed (see the evaluate
stage's docstring for why the predictions are stored).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.engine.artifacts import RunArtifact, run_artifacts
from mlspec.errors import Problem, SpecError
from mlspec.store import Store
from mlspec.store.objects import atomic_write
from mlspec.tracking import RunRecord, Tracker

REPORTS_DIR = "reports"  # under the store: .mlspec/reports/<run_id>.html by default


@dataclass
class RunEvaluation:
    run: RunRecord
    metrics: dict[str, Any] | None
    predictions: Any  # DataFrame, or None when not loaded / not recorded
    train_report: dict[str, Any] | None


def load_evaluation(
    store: Store, tracker: Tracker, run: RunRecord, with_predictions: bool = True
) -> RunEvaluation:
    artifacts = {a.name: a for a in run_artifacts(tracker, run)}

    def load(name: str) -> Any:
        artifact: RunArtifact | None = artifacts.get(name)
        return store.load(artifact.ref) if artifact is not None else None

    return RunEvaluation(
        run,
        load("evaluate.metrics"),
        load("evaluate.predictions") if with_predictions else None,
        load("train.report") if with_predictions else None,
    )


def write_html_report(
    project_root: Path, tracker: Tracker, run: RunRecord, output: Path | None = None
) -> Path:
    """Render the run's report and write it atomically; returns its path."""
    from mlspec.evaluation.report import render_html

    store = Store.for_project(project_root)
    evaluation = load_evaluation(store, tracker, run)
    if evaluation.metrics is None:
        raise SpecError(
            Problem(
                "no_evaluation",
                f"run {run.run_id} recorded no evaluation (status {run.status})",
                fix="report a run whose evaluate stage completed (`mlspec runs ls`)",
            )
        )
    if evaluation.predictions is None:
        raise SpecError(
            Problem(
                "no_predictions",
                f"run {run.run_id} was evaluated by an older mlspec that did not store the"
                " predictions the report plots",
                fix=f"run its spec again (`mlspec run conf=...`; spec '{run.spec_name}')"
                " and report the new run",
            )
        )
    info = {
        "run_id": run.run_id,
        "spec_name": run.spec_name,
        "status": run.status,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started_at)),
        "git_commit": run.git_commit,
        "overrides": run.overrides,
        "objective_name": run.objective_name,
        "objective": run.objective,
    }
    page = render_html(info, evaluation.metrics, evaluation.predictions, evaluation.train_report)
    target = (output or store.root / REPORTS_DIR / f"{run.run_id}.html").resolve()
    # The temp file sits next to the target: a rename never crosses file systems.
    atomic_write(target, page.encode("utf-8"), target.parent)
    umask = os.umask(0)
    os.umask(umask)
    target.chmod(0o666 & ~umask)  # an ordinary file (the temp file was private)
    return target


def evaluation_details(project_root: Path, tracker: Tracker, run: RunRecord) -> list[Any]:
    """Rich renderables for ``runs show``: metrics with intervals and the slices table, when
    the run's evaluation has either (older runs: nothing, their metrics are printed already)."""
    from mlspec.evaluation.tables import metrics_table, slices_table

    store = Store.for_project(project_root)
    metrics = load_evaluation(store, tracker, run, False).metrics
    out: list[Any] = []
    if metrics:
        if any((metrics.get("intervals") or {}).get(s) for s in ("valid", "test")):
            out.append(metrics_table(metrics))
        for split in ("valid", "test"):
            table = slices_table(metrics, split=split)
            if table is not None:
                out.append(table)
    return out + _registration_details(store, tracker, run)


def _registration_details(store: Store, tracker: Tracker, run: RunRecord) -> list[Any]:
    """The gates' outcomes and what was registered, as the run's own summary showed them."""
    artifact = next(
        (a for a in run_artifacts(tracker, run) if a.name == "register.registration"), None
    )
    if artifact is None:
        return []
    from mlspec.registry.report import registration_report

    return registration_report(store.load(artifact.ref))
