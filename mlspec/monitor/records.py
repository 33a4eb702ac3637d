"""Monitoring results in the project database (``.mlspec/mlspec.db``), next to runs and models.

Opened the way :mod:`mlspec.tracking.db` opens it (WAL, busy timeout) and created with
``CREATE TABLE IF NOT EXISTS``. Two tables:

- ``monitor_results``: one row per ``mlspec monitor`` run — the model version it watched, the
  data it read, the dataset-level outcome, the retrain decision, the run a retrain started, and
  the whole result document (what ``--json`` prints; the HTML report is redrawn from it);
- ``monitor_columns``: one row per (result, column), so drift of a column can be followed
  across runs (``mlspec monitor history NAME``) with one indexed query.

A result is written once, complete, in one transaction; the retrain outcome is added to the same
row afterwards (the retrain's run names the result id in its lineage, so the id must exist first).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.tracking.db import connect

_DDL = """
CREATE TABLE IF NOT EXISTS monitor_results (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    spec_name TEXT,
    model_name TEXT NOT NULL,
    model_version INTEGER,
    model_ref TEXT NOT NULL,
    source TEXT NOT NULL,            -- the current data: a path, or serving-log:DIR
    rows_current INTEGER NOT NULL,
    status TEXT NOT NULL,            -- ok | drift | insufficient_data
    dataset_drift INTEGER NOT NULL,
    share_drifted REAL,
    prediction_drift INTEGER,
    retrain_holds INTEGER NOT NULL,
    retrain_run_id TEXT,
    retrain_outcome TEXT,            -- promoted | not_blessed | failed | (null: no retrain)
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_results_by_model ON monitor_results (model_name, created_at);
CREATE TABLE IF NOT EXISTS monitor_columns (
    result_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    kind TEXT,
    test TEXT,
    statistic REAL,
    p_value REAL,
    p_adjusted REAL,
    threshold REAL,
    psi REAL,
    missing_ref REAL,
    missing_cur REAL,
    drifted INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (result_id, position)
);
CREATE INDEX IF NOT EXISTS monitor_columns_by_name ON monitor_columns (column_name, result_id);
"""

PREDICTION_COLUMN = "(prediction)"


def new_result_id() -> str:
    return "mon-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass
class ResultRow:
    id: str
    created_at: float
    spec_name: str | None
    model_name: str
    model_version: int | None
    model_ref: str
    source: str
    rows_current: int
    status: str
    dataset_drift: bool
    share_drifted: float | None
    prediction_drift: bool | None
    retrain_holds: bool
    retrain_run_id: str | None
    retrain_outcome: str | None


_COLUMNS = (
    "id, created_at, spec_name, model_name, model_version, model_ref, source, rows_current,"
    " status, dataset_drift, share_drifted, prediction_drift, retrain_holds, retrain_run_id,"
    " retrain_outcome"
)


def _row(r: tuple[Any, ...]) -> ResultRow:
    return ResultRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10],
        None if r[11] is None else bool(r[11]), bool(r[12]), r[13], r[14],
    )  # fmt: skip


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class MonitorRecords:
    def __init__(self, db_path: Path):
        self.db_path = db_path

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.db_path)
        try:
            conn.executescript(_DDL)
            yield conn
        finally:
            conn.close()

    def save(self, result: dict[str, Any]) -> None:
        """Write a result document (``mlspec.engine.monitoring`` builds it) and its columns."""
        drift = result["drift"]
        model = result["model"]
        columns = list(drift.get("columns") or [])
        if drift.get("prediction"):
            columns.append({**drift["prediction"], "column": PREDICTION_COLUMN})
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    f"INSERT INTO monitor_results ({_COLUMNS}, result_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result["id"],
                        result["created_at"],
                        result.get("spec"),
                        model["name"],
                        model.get("version"),
                        model["ref"],
                        result["current"]["source"],
                        int(result["current"]["rows"]),
                        result["status"],
                        int(bool(drift.get("dataset_drift"))),
                        _num(drift.get("share_drifted")),
                        None
                        if drift.get("prediction") is None
                        else int(bool(drift["prediction"].get("drifted"))),
                        int(bool(result["retrain_when"]["holds"])),
                        None,
                        None,
                        json.dumps(result, sort_keys=True, default=str),
                    ),
                )
                conn.executemany(
                    "INSERT INTO monitor_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            result["id"],
                            i,
                            str(c["column"]),
                            c.get("kind"),
                            c.get("test"),
                            _num(c.get("statistic")),
                            _num(c.get("p_value")),
                            _num(c.get("p_adjusted")),
                            _num(c.get("threshold")),
                            _num(c.get("psi")),
                            _num(c.get("missing_rate_ref")),
                            _num(c.get("missing_rate_cur")),
                            int(bool(c.get("drifted"))),
                            str(c.get("status") or ("drift" if c.get("drifted") else "ok")),
                        )
                        for i, c in enumerate(columns)
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def set_retrain(self, result_id: str, retrain: dict[str, Any]) -> None:
        """Record what the retrain this result triggered did (run id, outcome) in its row and in
        its document."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                (doc,) = conn.execute(
                    "SELECT result_json FROM monitor_results WHERE id = ?", (result_id,)
                ).fetchone()
                data = json.loads(doc)
                data["retrain"] = retrain
                conn.execute(
                    "UPDATE monitor_results SET retrain_run_id = ?, retrain_outcome = ?,"
                    " result_json = ? WHERE id = ?",
                    (
                        retrain.get("run_id"),
                        retrain.get("outcome"),
                        json.dumps(data, sort_keys=True, default=str),
                        result_id,
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def results(self, model_name: str | None = None, limit: int = 50) -> list[ResultRow]:
        """Newest first."""
        if not self.db_path.is_file():
            return []
        where, args = ("WHERE model_name = ?", [model_name]) if model_name else ("", [])
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM monitor_results {where}"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def get(self, result_id: str) -> dict[str, Any] | None:
        """The full result document, or None."""
        if not self.db_path.is_file():
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT result_json FROM monitor_results WHERE id = ?", (result_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def labelled_batches(self, model_name: str, since: float) -> list[dict[str, Any]]:
        """``{"id", "digest", "size", "rows"}`` of the labelled current data of every result for
        ``model_name`` recorded after ``since`` (oldest first; a batch monitored twice once)."""
        if not self.db_path.is_file():
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, result_json FROM monitor_results WHERE model_name = ?"
                " AND created_at > ? ORDER BY created_at, rowid",
                (model_name, since),
            ).fetchall()
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for rid, doc in rows:
            current = json.loads(doc).get("current") or {}
            frame = current.get("frame")
            if frame and frame["digest"] not in seen:
                seen.add(frame["digest"])
                out.append({"id": rid, **frame, "rows": current.get("rows")})
        return out

    def ids(self) -> list[str]:
        if not self.db_path.is_file():
            return []
        with self._conn() as conn:
            return [r[0] for r in conn.execute("SELECT id FROM monitor_results ORDER BY rowid")]

    def column_history(
        self, result_ids: list[str], column: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """result id -> its columns (one column when ``column`` is given), in stored order."""
        if not result_ids:
            return {}
        marks = ",".join("?" * len(result_ids))
        extra, args = (" AND column_name = ?", [column]) if column else ("", [])
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT result_id, column_name, kind, test, statistic, p_value, p_adjusted,"
                " threshold, psi, missing_ref, missing_cur, drifted, status FROM monitor_columns"
                f" WHERE result_id IN ({marks}){extra} ORDER BY result_id, position",
                (*result_ids, *args),
            ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {rid: [] for rid in result_ids}
        keys = (
            "column", "kind", "test", "statistic", "p_value", "p_adjusted", "threshold", "psi",
            "missing_rate_ref", "missing_rate_cur", "drifted", "status",
        )  # fmt: skip
        for r in rows:
            item = dict(zip(keys, r[1:], strict=True))
            item["drifted"] = bool(item["drifted"])
            out[r[0]].append(item)
        return out
