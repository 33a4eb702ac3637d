"""Buffered, batched writes for one run: what makes ``log_metric`` cost microseconds.

A :class:`RunWriter` keeps one SQLite connection open for the run and appends every logged
value to an in-memory buffer. The buffer is written in one transaction when it is older than
``flush_interval_s`` (checked on each call: no thread), when it holds ``max_pending`` rows, and
always on :meth:`flush` / :meth:`close` (``end_run``, leaving a ``with`` block, the end of an
engine stage, interpreter exit).

Durability, honestly: what has been flushed survives a crash of the process (WAL with
``synchronous=NORMAL``: a committed transaction is in the WAL file before ``COMMIT`` returns; an
OS crash or power loss can lose the last commits, never corrupt the database). What is still in
the buffer — at most ``flush_interval_s`` seconds or ``max_pending`` values — is lost if the
process is killed (SIGKILL, OOM killer, ``os._exit``); a normal exit or an uncaught exception
flushes it through ``atexit``.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlspec.tracking.db import connect, param_text

FLUSH_INTERVAL_S = 1.0
MAX_PENDING = 20_000


class RunWriter:
    """Buffered writes of params, metrics (with history) and tags for one run."""

    def __init__(
        self,
        db_path: Path,
        run_id: str,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        max_pending: int = MAX_PENDING,
        shared: sqlite3.Connection | None = None,
    ):
        self.db_path = db_path
        self.run_id = run_id
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        # A connection owned by someone else (the fluent API keeps one per database and
        # process: closing the last connection of a WAL database checkpoints it, which costs
        # milliseconds) is used but never closed here.
        self._shared = shared
        self._conn: sqlite3.Connection | None = shared
        self._history: list[tuple[str, str, float | None, int, float]] = []
        # name -> (step, timestamp, value): the value the 'metrics' table shows as latest.
        self._latest: dict[str, tuple[int, float, float | None]] = {}
        self._dirty_latest: set[str] = set()
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._pending = 0
        self._deadline = time.monotonic() + flush_interval_s

    # -- buffering (the hot path: no I/O unless a flush is due) --------------------------------
    def metric(self, name: str, value: float, step: int, timestamp: float) -> None:
        stored = None if math.isnan(value) else value  # SQLite has no NaN: stored as NULL
        self._history.append((self.run_id, name, stored, step, timestamp))
        latest = self._latest.get(name)
        # MLflow's rule for the latest value: the highest step, then the latest timestamp.
        if latest is None or (step, timestamp) >= (latest[0], latest[1]):
            self._latest[name] = (step, timestamp, stored)
            self._dirty_latest.add(name)
        self._pending += 1
        if self._pending >= self.max_pending or time.monotonic() >= self._deadline:
            self.flush()

    def params(self, params: Mapping[str, Any]) -> None:
        for key, value in params.items():
            self._params[key] = param_text(value)
        self._pending += len(params)
        self._maybe_flush()

    def tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self._tags[key] = str(value)
        self._pending += len(tags)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._pending >= self.max_pending or time.monotonic() >= self._deadline:
            self.flush()

    # -- writing -------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._shared or connect(self.db_path)
        return self._conn

    def flush(self, extra: Sequence[tuple[str, tuple[Any, ...]]] = ()) -> None:
        """Write everything buffered in one transaction, with the ``extra`` statements (ending
        a run: its status goes in the same commit as its last values)."""
        self._deadline = time.monotonic() + self.flush_interval_s
        if not self._pending and not self._dirty_latest and not extra:
            return
        conn = self.connection()
        run_id = self.run_id
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self._history:
                conn.executemany("INSERT INTO metric_history VALUES (?, ?, ?, ?, ?)", self._history)
            if self._dirty_latest:
                conn.executemany(
                    "INSERT OR REPLACE INTO metrics (run_id, split, name, value, step, timestamp)"
                    " VALUES (?, '', ?, ?, ?, ?)",
                    [
                        (run_id, name, self._latest[name][2], *self._latest[name][:2])
                        for name in self._dirty_latest
                    ],
                )
            if self._params:
                conn.executemany(
                    "INSERT OR REPLACE INTO params VALUES (?, ?, ?)",
                    [(run_id, k, v) for k, v in self._params.items()],
                )
            if self._tags:
                conn.executemany(
                    "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)",
                    [(run_id, k, v) for k, v in self._tags.items()],
                )
            for sql, args in extra:
                conn.execute(sql, args)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._history.clear()
        self._dirty_latest.clear()
        self._params.clear()
        self._tags.clear()
        self._pending = 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._conn is not None and self._conn is not self._shared:
                self._conn.close()
            self._conn = None
