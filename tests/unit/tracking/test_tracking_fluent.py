"""mlspec.tracking's fluent API: MLflow's calls, recorded in the project's SQLite database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlspec.tracking as mlflow
from mlspec.errors import TrackingError
from mlspec.hashing import digest_bytes
from mlspec.tracking import fluent
from mlspec.tracking.db import Tracker
from mlspec.tracking.query import metric_history, run_details


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory and fluent state for every test."""
    monkeypatch.chdir(tmp_path)
    for var in ("MLSPEC_STORE", "MLSPEC_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    mlflow.set_tracking_uri(None)
    fluent._experiment = None
    yield tmp_path
    while fluent._stack:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _rows(db: Path, sql: str, *args: object) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_the_seed_snippet_records_a_completed_run_in_the_project_db(project: Path) -> None:
    mlflow.start_run()
    mlflow.log_param("algorithm", "XGBoost")
    mlflow.log_metric("accuracy", 0.94)
    mlflow.end_run()

    db = project / ".mlspec" / "mlspec.db"
    [(run_id, status, source, finished)] = _rows(
        db, "SELECT run_id, status, source, finished_at FROM runs"
    )
    assert (status, source) == ("completed", "fluent") and finished is not None
    assert _rows(db, "SELECT key, value FROM params") == [("algorithm", "XGBoost")]
    assert _rows(db, "SELECT split, name, value, step FROM metrics") == [("", "accuracy", 0.94, 0)]
    assert (project / ".mlspec" / ".gitignore").is_file()
    assert mlflow.last_active_run().run_id == run_id
    assert mlflow.active_run() is None


def test_metric_history_keeps_every_step_and_the_latest_is_the_highest_step() -> None:
    with mlflow.start_run(run_name="curve") as run:
        for step in (0, 1, 2):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("loss", 9.0, step=1)  # a late value for an earlier step
        mlflow.log_metrics({"a": 1, "b": 2.5}, step=7)
        mlflow.log_metric("ts", 1.0, timestamp=1_700_000_000_000)
    tracker = Tracker(fluent.db_path())
    history = metric_history(tracker, run.run_id, "loss")
    assert [(h["step"], h["value"]) for h in history] == [(0, 1.0), (1, 0.5), (1, 9.0), (2, 1 / 3)]
    assert all(h["timestamp"] > 1e9 for h in history)
    details = run_details(tracker, tracker.get_run(run.run_id))
    assert details.metrics["loss"]["value"] == pytest.approx(1 / 3)
    assert details.metrics["loss"]["step"] == 2 and details.metrics["loss"]["history"] == 4
    assert details.metrics["a"]["step"] == 7 and details.metrics["b"]["value"] == 2.5
    assert details.metrics["ts"]["timestamp"] == pytest.approx(1_700_000_000.0)
    assert details.run.run_name == "curve" and details.run.status == "completed"


def test_context_manager_marks_the_run_failed_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        mlflow.log_metric("x", 1.0)
        raise RuntimeError("boom")
    record = Tracker(fluent.db_path()).get_run(run.run_id)
    assert record.status == "failed"
    assert mlflow.active_run() is None


def test_nested_runs_need_nested_true_and_record_their_parent() -> None:
    parent = mlflow.start_run(run_name="parent")
    with pytest.raises(TrackingError, match="already active"):
        mlflow.start_run()
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("fold", 1)
        assert mlflow.active_run() is child
    assert mlflow.active_run() is parent
    mlflow.end_run()
    tracker = Tracker(fluent.db_path())
    record = tracker.get_run(child.run_id)
    assert record.parent_run_id == parent.run_id
    assert run_details(tracker, record).tags["mlspec.parentRunId"] == parent.run_id


def test_params_are_fixed_once_logged_and_names_and_values_are_checked() -> None:
    mlflow.start_run()
    mlflow.log_param("lr", 0.1)
    mlflow.log_param("lr", 0.1)  # the same value again is fine
    with pytest.raises(TrackingError, match=r"already 0\.1") as err:
        mlflow.log_param("lr", 0.2)
    assert "start a new run" in err.value.render()
    with pytest.raises(TrackingError, match="not a number"):
        mlflow.log_metric("acc", "high")
    with pytest.raises(TrackingError, match="not allowed"):
        mlflow.log_metric("bad|name", 1.0)
    with pytest.raises(TrackingError, match="cannot end a run"):
        mlflow.end_run("running")
    mlflow.log_metric("nan_is_kept_as_missing", float("nan"))
    mlflow.end_run("FAILED")  # MLflow's spelling
    run = mlflow.last_active_run()
    record = Tracker(fluent.db_path()).get_run(run.run_id)
    assert record.status == "failed"
    params = _rows(fluent.db_path(), "SELECT value FROM params WHERE key = 'lr'")
    assert params == [("0.1",)]


def test_log_metric_without_a_run_starts_one_like_mlflow() -> None:
    mlflow.log_metric("auto", 3.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert Tracker(fluent.db_path()).get_run(run.run_id).status == "completed"


def test_log_artifact_puts_the_file_in_the_content_addressed_store(project: Path) -> None:
    report = project / "report.txt"
    report.write_bytes(b"hello artifact")
    (project / "plots").mkdir()
    (project / "plots" / "roc.png").write_bytes(b"\x89PNG fake")
    with mlflow.start_run() as run:
        digest = mlflow.log_artifact(report, artifact_path="docs")
        mlflow.log_artifacts(project / "plots", artifact_path="figures")
        with pytest.raises(TrackingError, match="is not a file"):
            mlflow.log_artifact(project / "missing.txt")
    assert digest == digest_bytes(b"hello artifact")
    store_object = project / ".mlspec" / "objects" / digest.split(":")[1][:2] / digest.split(":")[1]
    assert store_object.read_bytes() == b"hello artifact"
    tracker = Tracker(fluent.db_path())
    details = run_details(tracker, tracker.get_run(run.run_id))
    assert [(a["path"], a["size"]) for a in details.artifacts] == [
        ("docs/report.txt", 14),
        ("figures/roc.png", 9),
    ]


def test_the_database_is_found_upwards_or_set_explicitly(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".mlspec").mkdir()
    sub = project / "notebooks" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert fluent.db_path() == project / ".mlspec" / "mlspec.db"

    other = project / "elsewhere"
    mlflow.set_tracking_uri(other)
    assert fluent.db_path() == other / ".mlspec" / "mlspec.db"
    mlflow.set_tracking_uri(f"sqlite:///{project / 'x.db'}")
    assert fluent.db_path() == project / "x.db"
    assert mlflow.get_tracking_uri() == f"sqlite:///{project / 'x.db'}"
    with pytest.raises(TrackingError, match="not supported"):
        mlflow.set_tracking_uri("http://localhost:5000")
        fluent.db_path()
    mlflow.set_tracking_uri(None)
    monkeypatch.setenv("MLSPEC_TRACKING_URI", str(project / "env.db"))
    assert fluent.db_path() == project / "env.db"
    monkeypatch.delenv("MLSPEC_TRACKING_URI")
    monkeypatch.setenv("MLSPEC_STORE", str(project / "store"))
    assert fluent.db_path() == project / "store" / "mlspec.db"


def test_experiments_group_runs_under_their_name() -> None:
    mlflow.set_experiment("churn")
    with mlflow.start_run() as run:
        pass
    assert Tracker(fluent.db_path()).get_run(run.run_id).spec_name == "churn"


def test_resuming_a_run_by_id_appends_to_it() -> None:
    with mlflow.start_run() as first:
        mlflow.log_metric("m", 1.0, step=0)
    with mlflow.start_run(run_id=first.run_id[:-1]) as again:
        mlflow.log_metric("m", 2.0, step=1)
    assert again.run_id == first.run_id
    tracker = Tracker(fluent.db_path())
    assert [h["value"] for h in metric_history(tracker, first.run_id, "m")] == [1.0, 2.0]
    with pytest.raises(TrackingError, match="no run"):
        mlflow.start_run(run_id="nope")


def test_engine_run_is_the_active_run_inside_a_stage(project: Path) -> None:
    db = project / ".mlspec" / "mlspec.db"
    tracker = Tracker(db)
    db.parent.mkdir()
    tracker.ensure_schema()
    tracker.start_run("engine-1", "demo", {"seed": 1}, [], None, None)
    with fluent.engine_run(db, "engine-1", "demo"):
        mlflow.log_metric("inside", 1.0)  # no start_run needed
        run = mlflow.start_run()
        assert run.run_id == "engine-1"
        mlflow.end_run()  # only flushes: the engine finishes its run
        with mlflow.start_run(nested=True) as child:
            pass
    assert mlflow.active_run() is None
    record = tracker.get_run("engine-1")
    assert record.status == "running"  # left for the engine to finish
    assert run_details(tracker, record).metrics["inside"]["value"] == 1.0
    assert tracker.get_run(child.run_id).parent_run_id == "engine-1"


def test_buffered_values_are_written_when_the_interval_passes(project: Path) -> None:
    run = mlflow.start_run()
    run.writer.flush_interval_s = 0.0  # every call is past the deadline
    run.writer.flush()
    mlflow.log_metric("now", 1.0)
    seen = _rows(fluent.db_path(), "SELECT value FROM metric_history WHERE name = 'now'")
    assert seen == [(1.0,)]  # readable by another connection before end_run
    mlflow.end_run()


def _script(project: Path, body: str) -> subprocess.CompletedProcess[str]:
    path = project / "script.py"
    path.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(path)], cwd=project, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("tail", "status"),
    [("", "completed"), ("raise SystemExit(0)", "completed"), ("1 / 0", "failed")],
)
def test_a_script_that_never_calls_end_run_is_ended_at_exit(
    project: Path, tail: str, status: str
) -> None:
    _script(
        project,
        f"""
        import mlspec.tracking as mlflow
        mlflow.start_run()
        for i in range(100):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        {tail}
        """,
    )
    db = project / ".mlspec" / "mlspec.db"
    assert _rows(db, "SELECT status FROM runs") == [(status,)]
    assert _rows(db, "SELECT COUNT(*) FROM metric_history") == [(100,)]


def _child_logs(step: int) -> None:
    mlflow.log_metric("from_child", float(step), step=step)
    mlflow.flush()


def test_a_forked_worker_logs_to_the_parents_run_over_its_own_connection() -> None:
    import multiprocessing

    with mlflow.start_run() as run:
        mlflow.log_metric("from_parent", 1.0)  # still buffered when the worker forks
        ctx = multiprocessing.get_context("fork")
        workers = [ctx.Process(target=_child_logs, args=(i,)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
        assert [w.exitcode for w in workers] == [0, 0]
    tracker = Tracker(fluent.db_path())
    assert Tracker(fluent.db_path()).get_run(run.run_id).status == "completed"
    assert len(metric_history(tracker, run.run_id, "from_parent")) == 1  # not written twice
    assert sorted(h["step"] for h in metric_history(tracker, run.run_id, "from_child")) == [0, 1]


def test_both_import_forms_give_the_same_api() -> None:
    from mlspec import tracking as alias

    assert alias.start_run is mlflow.start_run and alias.log_metric is fluent.log_metric
    assert {"start_run", "log_param", "log_metric", "end_run", "search_runs"} <= set(alias.__all__)
