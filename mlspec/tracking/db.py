"""SQLite-backed tracking: the schema, its migrations, and the run records the engine writes.

WAL mode lets readers (``mlspec runs``, ``mlspec plan``) work while a run writes; the busy timeout
makes concurrent writers from a joblib sweep wait for each other instead of failing. The engine's
writes are one short transaction each (a handful per run); the fluent API's high-rate writes
(``log_metric`` in a training loop) go through :mod:`mlspec.tracking.writer`, which batches them.

Other packages that keep tables in the same file (the model registry) open it with
:func:`connect` and create their tables with ``CREATE TABLE IF NOT EXISTS``.
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

# 1: runs, stage_runs, params (JSON-encoded values), metrics, row_accounting.
# 2: params hold display text (strings unquoted); tags, metric_history, lineage, run_artifacts;
#    runs.run_name/parent_run_id/source; metrics.step/timestamp; search indexes.
SCHEMA_VERSION = 2

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    spec_name TEXT NOT NULL,          -- the spec's name; for fluent runs, the experiment
    status TEXT NOT NULL,             -- running | completed | failed | killed
    started_at REAL NOT NULL,
    finished_at REAL,
    spec_json TEXT NOT NULL,          -- the resolved spec ({} for fluent runs)
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
    sweep_best INTEGER,               -- 1: the best member of its sweep (sweep_dir), else 0/NULL
    run_name TEXT,
    parent_run_id TEXT,               -- nested fluent runs
    source TEXT                       -- engine | fluent
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
CREATE INDEX IF NOT EXISTS stage_runs_by_run ON stage_runs (run_id);
CREATE TABLE IF NOT EXISTS params (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS row_accounting (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, step TEXT NOT NULL, rows_in INTEGER,
    rows_out INTEGER, removed INTEGER, changed INTEGER, PRIMARY KEY (run_id, position)
);
-- The latest value of each metric. split: 'valid' | 'test' (the evaluate stage), '' (logged).
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, split TEXT NOT NULL, name TEXT NOT NULL, value REAL,
    step INTEGER, timestamp REAL,
    PRIMARY KEY (run_id, split, name)
);
-- Every logged value, with its step and time (what MLflow calls the metric history).
CREATE TABLE IF NOT EXISTS metric_history (
    run_id TEXT NOT NULL, name TEXT NOT NULL, value REAL, step INTEGER NOT NULL,
    timestamp REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_history_by_run ON metric_history (run_id, name, step);
CREATE TABLE IF NOT EXISTS tags (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS lineage (run_id TEXT PRIMARY KEY, lineage_json TEXT NOT NULL);
-- Files logged with log_artifact: content in the store's objects, recorded against the run.
CREATE TABLE IF NOT EXISTS run_artifacts (
    run_id TEXT NOT NULL, path TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
    logged_at REAL NOT NULL, PRIMARY KEY (run_id, path)
);
"""

# Indexes that need the columns the migrations add (so they run after them).
_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_by_started ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_by_spec ON runs (spec_name, started_at);
CREATE INDEX IF NOT EXISTS params_by_key ON params (key, value);
CREATE INDEX IF NOT EXISTS metrics_by_name ON metrics (name, split, value);
CREATE INDEX IF NOT EXISTS tags_by_key ON tags (key, value);
"""

# Columns added after the first release of a table: (table, column, type). Applied in order.
_MIGRATIONS = [
    ("runs", "pid", "INTEGER"),
    ("runs", "host", "TEXT"),
    ("runs", "sweep_best", "INTEGER"),
    ("runs", "run_name", "TEXT"),
    ("runs", "parent_run_id", "TEXT"),
    ("runs", "source", "TEXT"),
    ("metrics", "step", "INTEGER"),
    ("metrics", "timestamp", "REAL"),
]


def connect(
    db_path: Path | str, timeout: float = 120.0, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection to the project database the way every mlspec module opens it: autocommit
    (explicit BEGIN for batches), WAL, ``synchronous=NORMAL``, a long busy timeout."""
    conn = sqlite3.connect(
        db_path, timeout=timeout, isolation_level=None, check_same_thread=check_same_thread
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    present: dict[str, set[str]] = {}
    for table, column, sql_type in _MIGRATIONS:
        if table not in present:
            present[table] = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present[table]:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            except sqlite3.OperationalError as exc:
                # Parallel sweep jobs migrate an old database at the same time: one of them wins.
                if "duplicate column" not in str(exc):
                    raise
            present[table].add(column)


def _stored_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table: a database older than any release
        return 0
    return int(row[0]) if row else 0


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database of any earlier schema version to the current one (idempotent, and safe
    when several processes do it at once: every statement is IF NOT EXISTS or tolerant)."""
    conn.executescript(_DDL)
    _migrate(conn)
    conn.executescript(_INDEXES)
    version = _stored_version(conn)
    if version < 2:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _stored_version(conn) < 2:  # another process may have done it while we waited
                # Version 1 stored every param JSON-encoded ('"lightgbm"'); filters compare text.
                conn.execute(
                    "UPDATE params SET value = json_extract(value, '$')"
                    " WHERE json_valid(value) AND json_type(value) = 'text'"
                )
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def param_text(value: Any) -> str:
    """How a param value is stored and compared: strings as they are, anything else as JSON
    (``0.1``, ``true``, ``null``, ``[1, 2]``) — what a filter such as ``params.lr = 0.1`` or
    ``params.model = lightgbm`` is written against."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


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
    run_name: str | None = None
    parent_run_id: str | None = None
    source: str | None = None  # engine | fluent (None: recorded before mlspec 0.1 tracked it)
    mlspec_version: str | None = None


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
        self._upgraded = False
        self._session: sqlite3.Connection | None = None

    def _ready(self, conn: sqlite3.Connection) -> None:
        """Readers of a database written by an older mlspec see the tables and columns added
        since (one look at the schema version per Tracker)."""
        if not self._upgraded:
            if _stored_version(conn) < SCHEMA_VERSION:
                upgrade(conn)
            else:
                _migrate(conn)  # columns, whatever the recorded version says
            self._upgraded = True

    @contextmanager
    def _conn(self, reuse: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """A new connection closed after use, or ``reuse`` left open (a caller that keeps one
        connection per run, like the fluent API, saves the connect and PRAGMAs)."""
        if reuse is not None or self._session is not None:
            yield reuse if reuse is not None else self._session  # type: ignore[misc]
            return
        conn = connect(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Every call inside uses one connection (a run's dozen writes).

        Closing the last connection to a WAL database checkpoints it (and syncs): per write,
        that was most of the ~7 ms each record took, ~0.1 s of a cached run's 1.5 s.
        """
        if self._session is not None:  # nested: the outer session's connection serves
            yield
            return
        self._session = connect(self.db_path)
        try:
            yield
        finally:
            conn, self._session = self._session, None
            conn.close()

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A connection for queries, on a database upgraded to the current schema."""
        with self._conn() as conn:
            self._ready(conn)
            yield conn

    def ensure_schema(self) -> None:
        with self._conn() as conn:
            upgrade(conn)
            self._upgraded = True

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
        run_name: str | None = None,
        source: str = "engine",
        parent_run_id: str | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        with self._conn(conn) as conn:
            conn.execute(
                "INSERT INTO runs (run_id, spec_name, status, started_at, spec_json,"
                " overrides_json, git_commit, output_dir, sweep_dir, job_num, mlspec_version,"
                " pid, host, run_name, source, parent_run_id)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    run_name,
                    source,
                    parent_run_id,
                ),
            )
            rows = [(run_id, k, param_text(v)) for k, v in flatten(dict(spec)).items()]
            conn.executemany("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", rows)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Params besides the flattened spec (e.g. the Hydra group choices: ``model=lightgbm``)."""
        rows = [(run_id, str(k), param_text(v)) for k, v in params.items()]
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", rows)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        rows = [(run_id, str(k), str(v)) for k, v in tags.items()]
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", rows)

    def record_lineage(
        self,
        run_id: str,
        lineage: Mapping[str, Any],
        git_commit: str | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """What the run was made from (data digests, code version, environment); see
        :mod:`mlspec.tracking.lineage`. One JSON document per run, written at run start."""
        with self._conn(conn) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO lineage VALUES (?, ?)",
                (run_id, json.dumps(lineage, sort_keys=True, default=str)),
            )
            if git_commit is not None:
                conn.execute(
                    "UPDATE runs SET git_commit = ? WHERE run_id = ?", (git_commit, run_id)
                )

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
            conn.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, split, name, value) VALUES (?, ?, ?, ?)",
                rows,
            )

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
        """The evaluate stage's metrics by split (``valid``, ``test``). Metrics logged through
        the fluent API are in :func:`mlspec.tracking.query.run_details`."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT split, name, value FROM metrics WHERE run_id = ? AND split != ''"
                " ORDER BY split, name",
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


RUN_COLS = (
    "run_id, spec_name, status, started_at, finished_at, spec_json, overrides_json, git_commit,"
    " output_dir, sweep_dir, job_num, objective_name, objective, error, pid, host, sweep_best,"
    " run_name, parent_run_id, source, mlspec_version"
)
_RUN_COLS = RUN_COLS


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


def run_from_row(row: tuple[Any, ...]) -> RunRecord:
    """A RunRecord from a row of ``SELECT {RUN_COLS} FROM runs``."""
    return RunRecord(
        run_id=row[0],
        spec_name=row[1],
        status=_effective_status(row[2], row[14], row[15]),
        started_at=row[3],
        finished_at=row[4],
        spec=json.loads(row[5]) if row[5] != "{}" else {},
        overrides=json.loads(row[6]) if row[6] != "[]" else [],
        git_commit=row[7],
        output_dir=row[8],
        sweep_dir=row[9],
        job_num=row[10],
        objective_name=row[11],
        objective=row[12],
        error=row[13],
        sweep_best=bool(row[16]),
        run_name=row[17],
        parent_run_id=row[18],
        source=row[19],
        mlspec_version=row[20],
    )


_run = run_from_row


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
