"""mlspec runs mirrored to a real MLflow SQLite store, read back with MLflow's own client."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlspec_mlflow.mirror import mirror_runs

from mlspec.errors import TrackingError

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mlspec project with two fluent runs (one nested in the other) and a logged file."""
    root = tmp_path_factory.mktemp("project")
    (root / "report.txt").write_text("hello mlflow")
    script = textwrap.dedent(
        """
        import mlspec.tracking as mlflow
        mlflow.set_experiment("churn")
        with mlflow.start_run(run_name="parent"):
            mlflow.log_params({"model": "lightgbm", "max_depth": 6, "long": "x" * 7000})
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metric("roc_auc", 0.93)
            mlflow.set_tags({"team": "fraud"})
            mlflow.log_artifact("report.txt", artifact_path="docs")
            with mlflow.start_run(run_name="child", nested=True):
                mlflow.log_metric("fold_auc", 0.9)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSPEC_")}
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, timeout=120)
    return root


@pytest.fixture(scope="module")
def mirrored(project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list]:
    where = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{where / 'mlflow.db'}"
    results = mirror_runs(
        uri,
        project / ".mlspec" / "mlspec.db",
        artifact_location=str(where / "artifacts"),
    )
    return uri, results


def _ids(project: Path) -> dict[str, str]:
    conn = sqlite3.connect(project / ".mlspec" / "mlspec.db")
    try:
        return dict(conn.execute("SELECT run_name, run_id FROM runs").fetchall())
    finally:
        conn.close()


def test_params_metrics_tags_and_status_arrive_in_mlflow(project: Path, mirrored) -> None:
    uri, results = mirrored
    ids = _ids(project)
    assert [(r.run_id, r.status) for r in results] == [
        (ids["parent"], "mirrored"),
        (ids["child"], "mirrored"),
    ]
    client = MlflowClient(uri)
    run = client.get_run(results[0].mlflow_run_id)
    assert client.get_experiment(run.info.experiment_id).name == "churn"
    assert run.info.run_name == "parent" and run.info.status == "FINISHED"
    assert run.data.params["model"] == "lightgbm" and run.data.params["max_depth"] == "6"
    assert len(run.data.params["long"]) == 6000  # MLflow's limit; the run says so
    assert run.data.tags["mlspec.truncated"].startswith("1 param")
    assert run.data.tags["team"] == "fraud"
    assert run.data.tags["mlspec.run_id"] == ids["parent"]
    assert run.data.metrics["roc_auc"] == 0.93
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert all(m.timestamp > 1_000_000_000_000 for m in history)  # milliseconds
    child = client.get_run(results[1].mlflow_run_id)
    assert child.data.tags["mlspec.parent_run_id"] == ids["parent"]
    assert child.data.metrics == {"fold_auc": 0.9}


def test_artifacts_and_lineage_are_copied(mirrored, tmp_path: Path) -> None:
    uri, results = mirrored
    client = MlflowClient(uri)
    run_id = results[0].mlflow_run_id
    report = client.download_artifacts(run_id, "docs/report.txt", str(tmp_path))
    assert Path(report).read_text() == "hello mlflow"
    lineage = json.loads(
        Path(client.download_artifacts(run_id, "mlspec/lineage.json", str(tmp_path))).read_text()
    )
    assert lineage["environment"]["python"] and "mlspec" in lineage["code"]


def test_mirroring_again_skips_then_force_replaces(project: Path, mirrored) -> None:
    uri, results = mirrored
    db = project / ".mlspec" / "mlspec.db"
    parent = results[0].run_id
    again = mirror_runs(uri, db, [parent[:-2]])
    assert [(r.status, r.mlflow_run_id) for r in again] == [("skipped", results[0].mlflow_run_id)]
    replaced = mirror_runs(uri, db, [parent], force=True, artifacts="none")
    assert replaced[0].status == "replaced" and replaced[0].artifacts == 0
    client = MlflowClient(uri)
    live = client.search_runs(
        [client.get_experiment_by_name("churn").experiment_id],
        f"tags.`mlspec.run_id` = '{parent}'",
    )
    assert [r.info.run_id for r in live] == [replaced[0].mlflow_run_id]
    with pytest.raises(TrackingError, match="no run 'nope'"):
        mirror_runs(uri, db, ["nope"])


def test_the_command_line(project: Path, mirrored) -> None:
    uri, _ = mirrored
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "mlspec_mlflow", "mirror", "--tracking-uri", uri]
    out = subprocess.run(
        [
            *command,
            "--project",
            str(project),
            "-f",
            "name = child",
            "--artifacts",
            "none",
            "--force",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("replaced ") and "1 of 1 runs mirrored" in out.stdout, out.stdout
    bad = subprocess.run(
        [*command, "--project", str(project), "--filter", "metrics.x > high"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "at position 12" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
