"""mlspec.tracking.db: runs, stage executions, params and metrics in SQLite (WAL)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from mlspec.tracking import RunRecord, StageExecution, Tracker
from mlspec.tracking.db import SCHEMA_VERSION, flatten


@pytest.fixture
def tracker(tmp_path) -> Tracker:
    t = Tracker(tmp_path / "mlspec.db")
    t.ensure_schema()
    return t


def _exec(run_id: str, node: str, status: str = "miss", key: str = "k", **kw) -> StageExecution:
    return StageExecution(
        run_id=run_id,
        node=node,
        stage=kw.pop("stage", f"{node}@1"),
        key=key,
        status=status,
        started_at=kw.pop("started_at", time.time()),
        duration_s=kw.pop("duration_s", 0.5),
        outputs=kw.pop("outputs", {"data": {"digest": "blake3:aa", "codec": "frame", "size": 3}}),
        preimage=kw.pop("preimage", {"params": {"seed": 7}}),
    )


SPEC = {"name": "demo", "seed": 7, "model": {"_target_": "a.B", "lr": 0.1}, "data": {}}


def _start(t: Tracker, run_id: str, spec_name: str = "demo", **kw) -> None:
    t.start_run(
        run_id=run_id,
        spec_name=spec_name,
        spec=kw.pop("spec", SPEC),
        overrides=kw.pop("overrides", ["model.lr=0.1"]),
        git_commit=kw.pop("git_commit", "abc123"),
        output_dir=kw.pop("output_dir", "/out/1"),
        **kw,
    )


def test_ensure_schema_sets_wal(tmp_path):
    t = Tracker(tmp_path / "mlspec.db")
    assert not t.exists()
    t.ensure_schema()
    assert t.exists()
    conn = sqlite3.connect(t.db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)
    finally:
        conn.close()


def test_ensure_schema_is_idempotent(tracker):
    _start(tracker, "r1")
    tracker.ensure_schema()
    assert [r.run_id for r in tracker.list_runs()] == ["r1"]


def test_reads_before_db_exists(tmp_path):
    t = Tracker(tmp_path / "none.db")
    assert t.list_runs() == []
    assert t.get_run("x") is None
    assert t.last_execution("demo", "train") is None
    assert not (tmp_path / "none.db").exists()


def test_run_roundtrip(tracker):
    _start(tracker, "run-0001", sweep_dir="/sweep", job_num=3, mlspec_version="0.1.0")
    run = tracker.get_run("run-0001")
    assert isinstance(run, RunRecord)
    assert run.status == "running"
    assert run.finished_at is None
    assert run.spec == SPEC
    assert run.overrides == ["model.lr=0.1"]
    assert run.git_commit == "abc123"
    assert run.output_dir == "/out/1"
    assert run.sweep_dir == "/sweep"
    assert run.job_num == 3

    e1 = _exec("run-0001", "load", "hit", key="k1")
    e2 = _exec("run-0001", "train", "miss", key="k2", preimage={"params": {"lr": 0.1}})
    tracker.record_stage(e1, "demo")
    tracker.record_stage(e2, "demo")
    tracker.log_metrics("run-0001", {"valid": {"auc": 0.9, "f1": 0.8}, "test": {"auc": 0.85}})
    tracker.finish_run("run-0001", "completed", objective_name="auc", objective=0.9)

    run = tracker.get_run("run-0001")
    assert run.status == "completed"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.objective_name == "auc"
    assert run.objective == pytest.approx(0.9)
    assert run.error is None

    assert tracker.stage_executions("run-0001") == [e1, e2]
    assert tracker.metrics("run-0001") == {
        "test": {"auc": 0.85},
        "valid": {"auc": 0.9, "f1": 0.8},
    }
    assert [r.run_id for r in tracker.list_runs()] == ["run-0001"]


def test_failed_run_keeps_error(tracker):
    _start(tracker, "r-fail")
    tracker.finish_run("r-fail", "failed", error="boom")
    run = tracker.get_run("r-fail")
    assert (run.status, run.error) == ("failed", "boom")


def test_params_are_flattened(tracker):
    _start(tracker, "r1")
    conn = sqlite3.connect(tracker.db_path)
    try:
        rows = dict(conn.execute("SELECT key, value FROM params WHERE run_id='r1'").fetchall())
    finally:
        conn.close()
    assert rows["model.lr"] == "0.1"
    assert rows["model._target_"] == "a.B"  # strings as they are: filters compare text
    assert rows["seed"] == "7"
    assert rows["data"] == "{}"  # empty mappings stay values


def test_flatten():
    assert flatten({"a": {"b": {"c": 1}}, "d": [1, 2], "e": {}}) == {
        "a.b.c": 1,
        "d": [1, 2],
        "e": {},
    }


def test_metrics_none_and_overwrite(tracker):
    _start(tracker, "r1")
    tracker.log_metrics("r1", {"valid": {"auc": None, "f1": 1}})
    tracker.log_metrics("r1", {"valid": {"f1": 0.5}})
    assert tracker.metrics("r1") == {"valid": {"auc": None, "f1": 0.5}}
    assert tracker.metrics("unknown") == {}


def test_get_run_by_prefix(tracker):
    _start(tracker, "20240101-abcdef")
    _start(tracker, "20240202-123456")
    assert tracker.get_run("20240101").run_id == "20240101-abcdef"
    assert tracker.get_run("20240202-12").run_id == "20240202-123456"
    assert tracker.get_run("2099") is None


def test_get_run_exact_match_beats_prefix(tracker):
    # a run whose id is a prefix of a newer run's id must still be found by its full id
    _start(tracker, "abc")
    time.sleep(0.01)
    _start(tracker, "abcdef")
    assert tracker.get_run("abc").run_id == "abc"


def test_get_run_prefix_is_literal(tracker):
    """LIKE wildcards in the argument must not match other runs."""
    _start(tracker, "run-1")
    assert tracker.get_run("%") is None
    assert tracker.get_run("run_") is None


def test_list_runs_order_limit_and_filter(tracker):
    for i in range(5):
        _start(tracker, f"r{i}", spec_name="a" if i % 2 == 0 else "b")
        time.sleep(0.002)
    assert [r.run_id for r in tracker.list_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in tracker.list_runs(limit=2)] == ["r4", "r3"]
    assert [r.run_id for r in tracker.list_runs(spec_name="b")] == ["r3", "r1"]


def test_last_execution(tracker):
    _start(tracker, "r1")
    _start(tracker, "r2")
    tracker.record_stage(_exec("r1", "train", "miss", key="k-old"), "demo")
    tracker.record_stage(_exec("r1", "split", "miss", key="k-split"), "demo")
    tracker.record_stage(_exec("r2", "train", "hit", key="k-new"), "demo")
    tracker.record_stage(_exec("r2", "train", "failed", key="k-failed"), "demo")
    tracker.record_stage(_exec("r2", "train", "miss", key="k-other-spec"), "other")

    last = tracker.last_execution("demo", "train")
    assert last is not None
    assert (last.run_id, last.key, last.status) == ("r2", "k-new", "hit")
    assert tracker.last_execution("demo", "split").key == "k-split"
    assert tracker.last_execution("other", "train").key == "k-other-spec"
    assert tracker.last_execution("demo", "evaluate") is None


def test_last_execution_only_failures(tracker):
    _start(tracker, "r1")
    tracker.record_stage(_exec("r1", "train", "failed"), "demo")
    assert tracker.last_execution("demo", "train") is None


def _writer(db_path: str, worker: int, n: int) -> None:
    t = Tracker(Path(db_path))
    run_id = f"run-{worker}"
    _start(t, run_id)
    for i in range(n):
        t.record_stage(_exec(run_id, f"node{i}", key=f"{worker}-{i}"), "demo")
    t.log_metrics(run_id, {"valid": {"auc": worker / 10}})
    t.finish_run(run_id, "completed")


def test_concurrent_writers_from_processes(tracker):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tracker.db_path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]

    conn = sqlite3.connect(tracker.db_path)
    try:
        (count,) = conn.execute("SELECT COUNT(*) FROM stage_runs").fetchone()
        (distinct,) = conn.execute("SELECT COUNT(DISTINCT key) FROM stage_runs").fetchone()
    finally:
        conn.close()
    assert count == 100
    assert distinct == 100
    runs = tracker.list_runs()
    assert sorted(r.run_id for r in runs) == [f"run-{w}" for w in range(4)]
    assert all(r.status == "completed" for r in runs)
    for w in range(4):
        assert len(tracker.stage_executions(f"run-{w}")) == 25
