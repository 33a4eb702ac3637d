"""SQLite-backed tracking. One short transaction per write, so parallel sweep jobs interleave.

WAL mode lets readers (``mlspec runs``, ``mlspec plan``) work while a run writes; the busy timeout
makes concurrent writers from a joblib sweep wait for each other instead of failing.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    spec_name TEXT NOT NULL,
    status TEXT NOT NULL,             -- running | completed | failed
    started_at REAL NOT NULL,
    finished_at REAL,
    spec_json TEXT NOT NULL,          -- the resolved spec
    overrides_json TEXT NOT NULL,     -- the task overrides as typed
    git_commit TEXT,
    output_dir TEXT,
    sweep_dir TEXT,
    job_num INTEGER,
    objective_name TEXT,
    objective REAL,
    error TEXT,
    mlspec_version TEXT,
    pid INTEGER,                      -- to tell a run that is still going from one that was killed
    host TEXT,
    sweep_best INTEGER                -- 1: the best member of its sweep (sweep_dir), else 0/NULL
);
CREATE TABLE IF NOT EXISTS stage_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    spec_name TEXT NOT NULL,
    node TEXT NOT NULL,
    stage TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,             -- hit | miss | failed
    started_at REAL NOT NULL,
    duration_s REAL NOT NULL,
    outputs_json TEXT NOT NULL,
    preimage_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stage_runs_by_node ON stage_runs (spec_name, node, id);
CREATE TABLE IF NOT EXISTS params (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS row_accounting (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, step TEXT NOT NULL, rows_in INTEGER,
    rows_out INTEGER, removed INTEGER, changed INTEGER, PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, split TEXT NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, split, name)
);
"""


# Columns added after the first release of a table: (table, column, type). Applied in order.
_MIGRATIONS = [
    ("runs", "pid", "INTEGER"),
    ("runs", "host", "TEXT"),
    ("runs", "sweep_best", "INTEGER"),
]


def _migrate(conn: sqlite3.Connection) -> None:
    for table, column, sql_type in _MIGRATIONS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            except sqlite3.OperationalError as exc:
                # Parallel sweep jobs migrate an old database at the same time: one of them wins.
                if "duplicate column" not in str(exc):
                    raise


@dataclass
class StageExecution:
    run_id: str
    node: str
    stage: str
    key: str
    status: str
    started_at: float
    duration_s: float
    outputs: dict[str, Any]
    preimage: dict[str, Any]


@dataclass
class RunRecord:
    run_id: str
    spec_name: str
    status: str
    started_at: float
    finished_at: float | None
    spec: dict[str, Any]
    overrides: list[str]
    git_commit: str | None
    output_dir: str | None
    sweep_dir: str | None
    job_num: int | None
    objective_name: str | None
    objective: float | None
    error: str | None
    sweep_best: bool = False


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"lr": 0.1}} -> {"model.lr": 0.1}; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


class Tracker:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._columns_checked = False

    def _ready(self, conn: sqlite3.Connection) -> None:
        """Readers of a database written by an older mlspec see the columns added since."""
        if not self._columns_checked:
            _migrate(conn)
            self._columns_checked = True

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=120, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=120000")
            yield conn
        finally:
            conn.close()

    def ensure_schema(self) -> None:
        with self._conn() as conn:
            conn.executescript(_DDL)
            _migrate(conn)
            self._columns_checked = True
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def exists(self) -> bool:
        return self.db_path.is_file()

    # -- writes --------------------------------------------------------------------------------
    def start_run(
        self,
        run_id: str,
        spec_name: str,
        spec: Mapping[str, Any],
        overrides: list[str],
        git_commit: str | None,
        output_dir: str | None,
        sweep_dir: str | None = None,
        job_num: int | None = None,
        mlspec_version: str | None = None,
    ) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, spec_name, status, started_at, spec_json,"
                " overrides_json, git_commit, output_dir, sweep_dir, job_num, mlspec_version,"
                " pid, host) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    spec_name,
                    time.time(),
                    json.dumps(spec, sort_keys=True, default=str),
                    json.dumps(overrides),
                    git_commit,
                    output_dir,
                    sweep_dir,
                    job_num,
                    mlspec_version,
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            rows = [(run_id, k, json.dumps(v, default=str)) for k, v in flatten(dict(spec)).items()]
            conn.executemany("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", rows)

    def record_stage(self, execution: StageExecution, spec_name: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO stage_runs (run_id, spec_name, node, stage, key, status, started_at,"
                " duration_s, outputs_json, preimage_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.run_id,
                    spec_name,
                    execution.node,
                    execution.stage,
                    execution.key,
                    execution.status,
                    execution.started_at,
                    execution.duration_s,
                    json.dumps(execution.outputs, sort_keys=True),
                    json.dumps(execution.preimage, sort_keys=True),
                ),
            )

    def log_metrics(self, run_id: str, metrics: Mapping[str, Mapping[str, float]]) -> None:
        rows = [
            (run_id, split, name, float(value) if value is not None else None)
            for split, values in metrics.items()
            for name, value in values.items()
        ]
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)", rows)

    def log_accounting(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        values = [
            (run_id, i, r["step"], r["rows_in"], r["rows_out"], r["removed"], r["changed"])
            for i, r in enumerate(rows)
        ]
        with self._conn() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO row_accounting VALUES (?, ?, ?, ?, ?, ?, ?)", values
            )

    def accounting(self, run_id: str) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT step, rows_in, rows_out, removed, changed FROM row_accounting"
                " WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        keys = ("step", "rows_in", "rows_out", "removed", "changed")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def finish_run(
        self,
        run_id: str,
        status: str,
        error: str | None = None,
        objective_name: str | None = None,
        objective: float | None = None,
    ) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, error = ?, objective_name = ?,"
                " objective = ? WHERE run_id = ?",
                (status, time.time(), error, objective_name, objective, run_id),
            )

    # -- reads ---------------------------------------------------------------------------------
    def last_execution(self, spec_name: str, node: str) -> StageExecution | None:
        """The latest execution of ``node`` that computed something (for `plan` diffs)."""
        if not self.exists():
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT run_id, node, stage, key, status, started_at, duration_s, outputs_json,"
                " preimage_json FROM stage_runs WHERE spec_name = ? AND node = ?"
                " AND status IN ('hit', 'miss') ORDER BY id DESC LIMIT 1",
                (spec_name, node),
            ).fetchone()
        return _execution(row) if row else None

    def list_runs(self, limit: int = 50, spec_name: str | None = None) -> list[RunRecord]:
        if not self.exists():
            return []
        query = f"SELECT {_RUN_COLS} FROM runs"
        args: tuple[Any, ...] = ()
        if spec_name:
            query += " WHERE spec_name = ?"
            args = (spec_name,)
        query += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        with self._conn() as conn:
            self._ready(conn)
            rows = conn.execute(query, (*args, limit)).fetchall()
        return [_run(r) for r in rows]

    def get_run(self, run_id: str) -> RunRecord | None:
        if not self.exists():
            return None
        with self._conn() as conn:
            self._ready(conn)
            row = conn.execute(
                f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ? OR substr(run_id, 1, ?) = ?"
                " ORDER BY run_id = ? DESC, started_at DESC LIMIT 1",
                (run_id, len(run_id), run_id, run_id),
            ).fetchone()
        return _run(row) if row else None

    def stage_executions(self, run_id: str) -> list[StageExecution]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT run_id, node, stage, key, status, started_at, duration_s, outputs_json,"
                " preimage_json FROM stage_runs WHERE run_id = ? ORDER BY id",
                (run_id,),
            ).fetchall()
        return [_execution(r) for r in rows]

    def metrics(self, run_id: str) -> dict[str, dict[str, float | None]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT split, name, value FROM metrics WHERE run_id = ? ORDER BY split, name",
                (run_id,),
            ).fetchall()
        out: dict[str, dict[str, float | None]] = {}
        for split, name, value in rows:
            out.setdefault(split, {})[name] = value
        return out

    # -- sweeps --------------------------------------------------------------------------------
    def sweep_dirs(self) -> list[tuple[str, int]]:
        """Every sweep directory with its number of runs, the latest sweep first."""
        if not self.exists():
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT sweep_dir, COUNT(*) FROM runs WHERE sweep_dir IS NOT NULL"
                " GROUP BY sweep_dir ORDER BY MAX(started_at) DESC, MAX(rowid) DESC"
            ).fetchall()
        return [(str(d), int(n)) for d, n in rows]

    def sweep_runs(self, sweep_dir: str) -> list[RunRecord]:
        """The members of one sweep (runs recorded with this sweep_dir), by job number."""
        if not self.exists():
            return []
        with self._conn() as conn:
            self._ready(conn)
            rows = conn.execute(
                f"SELECT {_RUN_COLS} FROM runs WHERE sweep_dir = ?"
                " ORDER BY job_num, started_at, rowid",
                (sweep_dir,),
            ).fetchall()
        return [_run(r) for r in rows]

    def mark_sweep_best(self, sweep_dir: str, run_id: str | None) -> None:
        """Flag ``run_id`` as the best member of its sweep (and no other member of it)."""
        with self._conn() as conn:
            self._ready(conn)
            conn.execute(
                "UPDATE runs SET sweep_best = CASE WHEN run_id = ? THEN 1 ELSE 0 END"
                " WHERE sweep_dir = ?",
                (run_id, sweep_dir),
            )

    def stage_counts(self, run_ids: list[str]) -> dict[str, tuple[int, int]]:
        """run_id -> (stages computed, stages served from cache)."""
        if not run_ids or not self.exists():
            return {}
        marks = ", ".join("?" for _ in run_ids)
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT run_id, SUM(status = 'miss'), SUM(status = 'hit') FROM stage_runs"
                f" WHERE run_id IN ({marks}) GROUP BY run_id",
                tuple(run_ids),
            ).fetchall()
        return {r: (int(ran or 0), int(cached or 0)) for r, ran, cached in rows}


_RUN_COLS = (
    "run_id, spec_name, status, started_at, finished_at, spec_json, overrides_json, git_commit,"
    " output_dir, sweep_dir, job_num, objective_name, objective, error, pid, host, sweep_best"
)


def _effective_status(status: str, pid: int | None, host: str | None) -> str:
    """A 'running' run whose process is gone (killed, machine crash) is shown as interrupted."""
    if status != "running" or pid is None or host != socket.gethostname():
        return status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "interrupted"
    except PermissionError:
        return status
    return status


def _run(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        spec_name=row[1],
        status=_effective_status(row[2], row[14], row[15]),
        started_at=row[3],
        finished_at=row[4],
        spec=json.loads(row[5]),
        overrides=json.loads(row[6]),
        git_commit=row[7],
        output_dir=row[8],
        sweep_dir=row[9],
        job_num=row[10],
        objective_name=row[11],
        objective=row[12],
        error=row[13],
        sweep_best=bool(row[16]),
    )


def _execution(row: tuple[Any, ...]) -> StageExecution:
    return StageExecution(
        run_id=row[0],
        node=row[1],
        stage=row[2],
        key=row[3],
        status=row[4],
        started_at=row[5],
        duration_s=row[6],
        outputs=json.loads(row[7]),
        preimage=json.loads(row[8]),
    )
