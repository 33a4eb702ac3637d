"""mlspec runs mirrored to a real MLflow SQLite store, read back with MLflow's own client."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlspec_mlflow.cli import main
from mlspec_mlflow.mirror import mirror_runs

from mlspec.errors import TrackingError
from mlspec.store import Store
from mlspec.tracking import StageExecution, Tracker

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
    _engine_run(root)
    return root


def _engine_run(root: Path) -> None:
    """A run recorded the way the engine records one: a spec, a stage execution whose outputs
    are in the store, evaluate metrics by split (without training anything)."""
    store = Store(root / ".mlspec")
    store.ensure()
    report = store.save({"task": "classification", "valid": {"roc_auc": 0.97}}, "json")
    frame_ref = store.save({"not": "a frame, but stored with another codec"}, "json")
    tracker = Tracker(store.db_path)
    spec = {"name": "bc", "model": {"_target_": "lightgbm.LGBMClassifier", "n_estimators": 20}}
    tracker.start_run("engine-run", "bc", spec, ["model.n_estimators=20"], "abc123", None)
    outputs = {"metrics": asdict(report), "data": asdict(frame_ref) | {"codec": "frame"}}
    tracker.record_stage(
        StageExecution("engine-run", "evaluate", "evaluate@1", "k", "miss", 1.0, 0.1, outputs, {}),
        "bc",
    )
    tracker.log_metrics("engine-run", {"valid": {"roc_auc": 0.97}, "test": {"roc_auc": 0.95}})
    tracker.finish_run("engine-run", "completed")


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
    assert sorted((r.run_id, r.status) for r in results) == sorted(
        [(ids["parent"], "mirrored"), (ids["child"], "mirrored"), ("engine-run", "mirrored")]
    )
    results = [r for r in results if r.run_id != "engine-run"]
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


def test_an_engine_run_brings_its_spec_split_metrics_and_json_outputs(
    mirrored, tmp_path: Path
) -> None:
    uri, results = mirrored
    [result] = [r for r in results if r.run_id == "engine-run"]
    client = MlflowClient(uri)
    run = client.get_run(result.mlflow_run_id)
    assert client.get_experiment(run.info.experiment_id).name == "bc"
    assert run.data.params["model._target_"] == "lightgbm.LGBMClassifier"
    assert run.data.params["model.n_estimators"] == "20"
    assert run.data.metrics == {"valid.roc_auc": 0.97, "test.roc_auc": 0.95}
    assert run.data.tags["mlflow.source.git.commit"] == "abc123"
    names = {a.path for a in client.list_artifacts(run.info.run_id, "mlspec/evaluate")}
    assert names == {"mlspec/evaluate/metrics.json"}  # the frame output only with --artifacts all
    metrics = client.download_artifacts(
        run.info.run_id, "mlspec/evaluate/metrics.json", str(tmp_path)
    )
    assert json.loads(Path(metrics).read_text())["valid"] == {"roc_auc": 0.97}


def test_artifacts_and_lineage_are_copied(mirrored, tmp_path: Path) -> None:
    uri, results = mirrored
    results = [r for r in results if r.run_id != "engine-run"]
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


def test_the_command_line(project: Path, mirrored, capsys: pytest.CaptureFixture[str]) -> None:
    uri, _ = mirrored
    args = ["mirror", "--tracking-uri", uri, "--project", str(project)]
    main([*args, "-f", "name = child", "--artifacts", "none", "--force"])
    out = capsys.readouterr().out
    assert out.startswith("replaced ") and "1 of 1 runs mirrored" in out, out

    with pytest.raises(SystemExit) as exited:
        main([*args, "--filter", "metrics.x > high"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "at position 12" in err and "fix:" in err and "Traceback" not in err, err

    # The module runs as a program (the console script `mlspec-mlflow` calls the same main).
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    helped = subprocess.run(
        [sys.executable, "-m", "mlspec_mlflow", "mirror", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0 and "--tracking-uri" in helped.stdout, helped.stderr
