"""Registry tables in the project database (``.mlspec/mlspec.db``), next to the tracking tables.

Opened exactly like ``mlspec.tracking.db`` (WAL, busy timeout) and created with
``CREATE TABLE IF NOT EXISTS``, so the two modules share one file without sharing a schema. Every
write is one short transaction; version numbers are allocated under ``BEGIN IMMEDIATE`` so
parallel sweep jobs registering the same name get distinct versions.

Alias moves are appended to ``model_alias_history``; the alias's current version is kept in
``model_aliases``. Rollback replays the history as a stack (a promotion pushes, a rollback pops).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DDL = """
CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    bundle_digest TEXT NOT NULL,     -- digest of the manifest object in the store
    model_digest TEXT NOT NULL,      -- digest of the model files (not the metadata)
    model_format TEXT NOT NULL,      -- skops | joblib
    run_id TEXT,
    spec_name TEXT,
    created_at REAL NOT NULL,
    metrics_json TEXT NOT NULL,      -- the evaluate stage's metrics artifact
    source_digest TEXT,              -- digest of the train stage's model artifact it was built from
    PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS model_versions_by_digest ON model_versions (name, model_digest);
CREATE TABLE IF NOT EXISTS model_aliases (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (name, alias)
);
CREATE TABLE IF NOT EXISTS model_alias_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, alias TEXT NOT NULL,
    action TEXT NOT NULL,            -- set | rollback
    version INTEGER NOT NULL,        -- where the alias points after this change
    previous INTEGER,                -- where it pointed before
    changed_at REAL NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS model_tags (
    name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
);
CREATE TABLE IF NOT EXISTS run_gates (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, gate TEXT NOT NULL, metric TEXT NOT NULL,
    split TEXT NOT NULL, slice_json TEXT, value REAL, threshold REAL, champion_value REAL,
    passed INTEGER NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS run_blessings (
    run_id TEXT PRIMARY KEY, blessed INTEGER NOT NULL, model_name TEXT, version INTEGER,
    outcome TEXT NOT NULL,           -- registered | already_registered | refused | gates_only
    decided_at REAL NOT NULL
);
"""


@dataclass
class ModelVersion:
    name: str
    version: int
    bundle_digest: str
    model_digest: str
    model_format: str
    run_id: str | None
    spec_name: str | None
    created_at: float
    metrics: dict[str, Any]
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


_VERSION_COLS = (
    "name, version, bundle_digest, model_digest, model_format, run_id, spec_name, created_at,"
    " metrics_json"
)


def _version(row: tuple[Any, ...]) -> ModelVersion:
    name, version, bundle, model, fmt, run_id, spec_name, created_at, metrics = row
    return ModelVersion(
        name, int(version), bundle, model, fmt, run_id, spec_name, created_at, json.loads(metrics)
    )


class RegistryDB:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._schema_ready = False

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=120, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=120000")
            if not self._schema_ready:
                conn.executescript(_DDL)
                self._schema_ready = True
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def exists(self) -> bool:
        return self.db_path.is_file()

    # -- versions ------------------------------------------------------------------------------
    def add_version(
        self,
        name: str,
        bundle_digest: str,
        model_digest: str,
        model_format: str,
        run_id: str | None,
        spec_name: str | None,
        metrics: dict[str, Any],
        tags: dict[str, str],
        source_digest: str | None = None,
    ) -> tuple[int, bool]:
        """(version, created): an identical model already registered under ``name`` is reused."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT version FROM model_versions WHERE name = ? AND model_digest = ?"
                " ORDER BY version LIMIT 1",
                (name, model_digest),
            ).fetchone()
            if row is not None:
                return int(row[0]), False
            (latest,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE name = ?", (name,)
            ).fetchone()
            version = int(latest) + 1
            conn.execute(
                f"INSERT INTO model_versions ({_VERSION_COLS}, source_digest)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    version,
                    bundle_digest,
                    model_digest,
                    model_format,
                    run_id,
                    spec_name,
                    time.time(),
                    json.dumps(metrics, sort_keys=True, default=str),
                    source_digest,
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO model_tags VALUES (?, ?, ?, ?)",
                [(name, version, k, str(v)) for k, v in tags.items()],
            )
            return version, True

    def find_by_model_digest(self, name: str, model_digest: str) -> int | None:
        if not self.exists():
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT version FROM model_versions WHERE name = ? AND model_digest = ?"
                " ORDER BY version LIMIT 1",
                (name, model_digest),
            ).fetchone()
        return int(row[0]) if row else None

    def find_by_source(self, name: str, source_digest: str) -> int | None:
        """The version built from this very model artifact (a rerun served from cache)."""
        if not self.exists():
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT version FROM model_versions WHERE name = ? AND source_digest = ?"
                " ORDER BY version LIMIT 1",
                (name, source_digest),
            ).fetchone()
        return int(row[0]) if row else None

    def names(self) -> list[str]:
        if not self.exists():
            return []
        with self._conn() as conn:
            rows = conn.execute("SELECT DISTINCT name FROM model_versions ORDER BY name").fetchall()
        return [r[0] for r in rows]

    def versions(self, name: str) -> list[ModelVersion]:
        if not self.exists():
            return []
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_VERSION_COLS} FROM model_versions WHERE name = ? ORDER BY version",
                (name,),
            ).fetchall()
            out = [_version(r) for r in rows]
            aliases = self._aliases(conn, name)
            tags = conn.execute(
                "SELECT version, key, value FROM model_tags WHERE name = ? ORDER BY key", (name,)
            ).fetchall()
        for v in out:
            v.aliases = sorted(a for a, ver in aliases.items() if ver == v.version)
            v.tags = {k: val for ver, k, val in tags if ver == v.version}
        return out

    def get_version(self, name: str, version: int) -> ModelVersion | None:
        return next((v for v in self.versions(name) if v.version == version), None)

    # -- aliases -------------------------------------------------------------------------------
    @staticmethod
    def _aliases(conn: sqlite3.Connection, name: str) -> dict[str, int]:
        rows = conn.execute(
            "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", (name,)
        ).fetchall()
        return {a: int(v) for a, v in rows}

    def aliases(self, name: str) -> dict[str, int]:
        if not self.exists():
            return {}
        with self._conn() as conn:
            return self._aliases(conn, name)

    def set_alias(self, name: str, alias: str, version: int, reason: str) -> int | None:
        """Point ``alias`` at ``version``; returns the version it pointed at before (or None)."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT version FROM model_aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            previous = int(row[0]) if row else None
            if previous == version:
                return previous
            now = time.time()
            conn.execute(
                "INSERT OR REPLACE INTO model_aliases VALUES (?, ?, ?, ?)",
                (name, alias, version, now),
            )
            conn.execute(
                "INSERT INTO model_alias_history (name, alias, action, version, previous,"
                " changed_at, reason) VALUES (?, ?, 'set', ?, ?, ?, ?)",
                (name, alias, version, previous, now, reason),
            )
            return previous

    def rollback_alias(self, name: str, alias: str) -> tuple[int, int] | None:
        """Move ``alias`` back to where it pointed before its current assignment.

        Returns (from, to), or None when the history holds no earlier version.
        """
        with self._write() as conn:
            rows = conn.execute(
                "SELECT action, version FROM model_alias_history WHERE name = ? AND alias = ?"
                " ORDER BY id",
                (name, alias),
            ).fetchall()
            stack: list[int] = []
            for action, version in rows:
                if action == "set":
                    stack.append(int(version))
                elif stack:
                    stack.pop()
            if len(stack) < 2:
                return None
            current, target = stack[-1], stack[-2]
            now = time.time()
            conn.execute(
                "INSERT OR REPLACE INTO model_aliases VALUES (?, ?, ?, ?)",
                (name, alias, target, now),
            )
            conn.execute(
                "INSERT INTO model_alias_history (name, alias, action, version, previous,"
                " changed_at, reason) VALUES (?, ?, 'rollback', ?, ?, ?, 'rollback')",
                (name, alias, target, current, now),
            )
            return current, target

    def alias_history(self, name: str) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT alias, action, version, previous, changed_at, reason"
                " FROM model_alias_history WHERE name = ? ORDER BY id",
                (name,),
            ).fetchall()
        keys = ("alias", "action", "version", "previous", "changed_at", "reason")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- tags ----------------------------------------------------------------------------------
    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO model_tags VALUES (?, ?, ?, ?)",
                [(name, version, k, v) for k, v in tags.items()],
            )

    def remove_tags(self, name: str, version: int, keys: list[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM model_tags WHERE name = ? AND version = ? AND key = ?",
                [(name, version, k) for k in keys],
            )

    # -- gate outcomes of runs -----------------------------------------------------------------
    def record_gates(
        self,
        run_id: str,
        results: list[dict[str, Any]],
        blessed: bool,
        model_name: str | None,
        version: int | None,
        outcome: str,
    ) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM run_gates WHERE run_id = ?", (run_id,))
            conn.executemany(
                "INSERT INTO run_gates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        i,
                        r["gate"],
                        r["metric"],
                        r["split"],
                        json.dumps(r["slice"], sort_keys=True) if r.get("slice") else None,
                        r.get("value"),
                        r.get("threshold"),
                        r.get("champion_value"),
                        int(bool(r["passed"])),
                        r["reason"],
                    )
                    for i, r in enumerate(results)
                ],
            )
            conn.execute(
                "INSERT OR REPLACE INTO run_blessings VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, int(blessed), model_name, version, outcome, time.time()),
            )

    def run_gates(self, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(blessing row, gate rows) recorded for a run."""
        if not self.exists():
            return None, []
        with self._conn() as conn:
            blessing = conn.execute(
                "SELECT blessed, model_name, version, outcome FROM run_blessings WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            rows = conn.execute(
                "SELECT gate, metric, split, slice_json, value, threshold, champion_value,"
                " passed, reason FROM run_gates WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        keys = ("gate", "metric", "split", "slice", "value", "threshold", "champion_value")
        gates = []
        for r in rows:
            item = dict(zip(keys, r[:7], strict=True))
            item["slice"] = json.loads(item["slice"]) if item["slice"] else None
            item["passed"], item["reason"] = bool(r[7]), r[8]
            gates.append(item)
        head = None
        if blessing:
            head = dict(zip(("blessed", "model_name", "version", "outcome"), blessing, strict=True))
            head["blessed"] = bool(head["blessed"])
        return head, gates
