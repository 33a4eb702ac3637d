"""Reading runs back: search with a filter and sort, one run's details, metric histories, export.

Metric keys as users see them: a metric logged through the fluent API under its own name
(``accuracy``), the evaluate stage's metrics as ``valid.roc_auc`` / ``test.roc_auc``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mlspec.tracking.db import RUN_COLS, RunRecord, Tracker, run_from_row
from mlspec.tracking.filter import Key, compile_filter, compile_order

_CHUNK = 500


@dataclass
class RunRow:
    """A run with its params, latest metrics and tags (what a search returns). ``run.spec`` is
    left empty (the spec is in ``params``, flattened); ``Tracker.get_run`` has it."""

    run: RunRecord
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def to_json(self) -> dict[str, Any]:
        # Shallow (asdict deep-copies): listing 10,000 runs should not copy them all.
        record = {f: getattr(self.run, f) for f in _RUN_FIELDS if f != "spec"}
        return {**record, "params": self.params, "metrics": self.metrics, "tags": self.tags}


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


def dumps_lines(items: Sequence[Any]) -> str:
    """A JSON array with one item per line: readable, and written by json's C encoder (an
    indented dump goes through the pure-Python one, seconds for 10,000 runs)."""
    if not items:
        return "[]"
    body = ",\n".join(json.dumps(item, default=str) for item in items)
    return f"[\n{body}\n]"


def metric_key(split: str, name: str) -> str:
    return f"{split}.{name}" if split else name


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def search(
    tracker: Tracker,
    filter_string: str | None = None,
    order_by: str | list[str] | None = None,
    max_results: int | None = 1000,
    details: bool = True,
) -> tuple[list[RunRow], tuple[Key, ...]]:
    """Runs matching the filter, sorted (default: newest first), with their params, metrics
    and tags when ``details``; also the keys the filter and sort named (for display)."""
    where = compile_filter(filter_string)
    order_sql, order_params, order_keys = compile_order(order_by)
    if not tracker.exists():
        return [], where.keys + order_keys
    # The resolved spec is not decoded for each match (it is in params, flattened): RunRow.run.spec
    # is {} here; Tracker.get_run gives the whole record.
    columns = RUN_COLS.replace("spec_json", "'{}'")
    sql = f"SELECT {columns} FROM runs AS r WHERE {where.sql} ORDER BY {order_sql}"
    params: tuple[Any, ...] = (*where.params, *order_params)
    if max_results is not None:
        sql += " LIMIT ?"
        params = (*params, int(max_results))
    with tracker.reader() as conn:
        conn.execute("PRAGMA case_sensitive_like = ON")
        rows = [RunRow(run_from_row(r)) for r in conn.execute(sql, params)]
        if details and rows:
            _load_details(conn, rows)
    return rows, where.keys + order_keys


_DETAIL_QUERIES = (
    ("params", "SELECT run_id, key, value FROM params"),
    (
        "metrics",
        "SELECT run_id, CASE split WHEN '' THEN name ELSE split || '.' || name END, value"
        " FROM metrics",
    ),
    ("tags", "SELECT run_id, key, value FROM tags"),
)


def _load_details(conn: sqlite3.Connection, rows: list[RunRow]) -> None:
    """Params, metrics and tags of every row. For a large share of the runs one scan of each
    table is cheaper than looking the runs up; for a few, look them up in chunks."""
    by_id = {r.run_id: r for r in rows}
    (total,) = conn.execute("SELECT COUNT(*) FROM runs").fetchone()
    if len(rows) * 4 >= total:
        batches: list[tuple[str, Sequence[str]]] = [("", ())]
    else:
        batches = [
            (f" WHERE run_id IN ({', '.join('?' for _ in chunk)})", chunk)
            for chunk in _chunks(list(by_id))
        ]
    for attribute, query in _DETAIL_QUERIES:
        targets = {run_id: getattr(row, attribute) for run_id, row in by_id.items()}
        for where, args in batches:
            for run_id, key, value in conn.execute(query + where, args):
                target = targets.get(run_id)
                if target is not None:
                    target[key] = value


def search_runs(
    filter_string: str | None = None,
    order_by: str | list[str] | None = None,
    max_results: int | None = 1000,
    db: Path | str | None = None,
) -> list[RunRow]:
    """The fluent API's search (``mlspec.tracking.search_runs``): like MLflow's, it returns
    runs with params, metrics and tags; a list of :class:`RunRow` rather than a DataFrame."""
    from mlspec.tracking.fluent import db_path, flush

    flush()  # see what this process logged
    path = Path(db) if db is not None else db_path()
    rows, _ = search(Tracker(path), filter_string, order_by, max_results)
    return rows


def stage_counts(tracker: Tracker, run_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """run_id -> (stages computed, stages served from cache), in chunks."""
    out: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(list(run_ids)):
        out.update(tracker.stage_counts(list(chunk)))
    return out


@dataclass
class RunDetails:
    """Everything `mlspec runs show` prints about one run."""

    run: RunRecord
    params: dict[str, str]
    metrics: dict[str, dict[str, Any]]  # key -> value, step, timestamp, history (count)
    tags: dict[str, str]
    lineage: dict[str, Any]
    artifacts: list[dict[str, Any]]  # logged with log_artifact
    outputs: dict[str, str]  # node.output -> digest, from the stage executions
    output_refs: dict[str, dict[str, Any]] = field(default_factory=dict)  # + codec and size

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "logged_metrics": {k: v for k, v in self.metrics.items() if v["logged"]},
            "tags": self.tags,
            "lineage": self.lineage,
            "artifacts": self.artifacts,
        }


def run_details(tracker: Tracker, run: RunRecord) -> RunDetails:
    with tracker.reader() as conn:
        params = dict(
            conn.execute(
                "SELECT key, value FROM params WHERE run_id = ? ORDER BY key", (run.run_id,)
            ).fetchall()
        )
        counts = dict(
            conn.execute(
                "SELECT name, COUNT(*) FROM metric_history WHERE run_id = ? GROUP BY name",
                (run.run_id,),
            ).fetchall()
        )
        metrics: dict[str, dict[str, Any]] = {}
        for split, name, value, step, ts in conn.execute(
            "SELECT split, name, value, step, timestamp FROM metrics WHERE run_id = ?"
            " ORDER BY split != '', split, name",
            (run.run_id,),
        ):
            metrics[metric_key(split, name)] = {
                "value": value,
                "step": step,
                "timestamp": ts,
                "history": counts.get(name, 0) if not split else 0,
                "logged": not split,
            }
        tags = dict(
            conn.execute(
                "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", (run.run_id,)
            ).fetchall()
        )
        row = conn.execute(
            "SELECT lineage_json FROM lineage WHERE run_id = ?", (run.run_id,)
        ).fetchone()
        artifacts = [
            {"path": p, "digest": d, "size": s, "logged_at": t}
            for p, d, s, t in conn.execute(
                "SELECT path, digest, size, logged_at FROM run_artifacts WHERE run_id = ?"
                " ORDER BY path",
                (run.run_id,),
            )
        ]
        refs: dict[str, dict[str, Any]] = {}
        for node, outputs_json in conn.execute(
            "SELECT node, outputs_json FROM stage_runs WHERE run_id = ? ORDER BY id",
            (run.run_id,),
        ):
            for name, ref in json.loads(outputs_json).items():
                refs[f"{node}.{name}"] = ref
    return RunDetails(
        run,
        params,
        metrics,
        tags,
        json.loads(row[0]) if row else {},
        artifacts,
        {name: ref.get("digest", "") for name, ref in refs.items()},
        refs,
    )


def metric_history(tracker: Tracker, run_id: str, name: str) -> list[dict[str, Any]]:
    """Every logged value of one metric, by step then time (MLflow's get_metric_history)."""
    with tracker.reader() as conn:
        return [
            {"step": step, "value": value, "timestamp": ts}
            for step, value, ts in conn.execute(
                "SELECT step, value, timestamp FROM metric_history WHERE run_id = ? AND name = ?"
                " ORDER BY step, timestamp, rowid",
                (run_id, name),
            )
        ]


def export_rows(rows: Sequence[RunRow]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and flat rows (``metrics.X``, ``params.X``, ``tags.X``), the shape of MLflow's
    search_runs DataFrame: one row per run, a column per key any of the runs has."""
    base = [
        "run_id",
        "run_name",
        "spec",
        "status",
        "started_at",
        "finished_at",
        "source",
        "parent_run_id",
        "objective_name",
        "objective",
        "git_commit",
        "sweep_dir",
        "job_num",
    ]
    metric_keys = sorted({k for r in rows for k in r.metrics})
    param_keys = sorted({k for r in rows for k in r.params})
    tag_keys = sorted({k for r in rows for k in r.tags})
    columns = [
        *base,
        *(f"metrics.{k}" for k in metric_keys),
        *(f"params.{k}" for k in param_keys),
        *(f"tags.{k}" for k in tag_keys),
    ]
    out = []
    for row in rows:
        run = row.run
        flat: dict[str, Any] = {
            "run_id": run.run_id,
            "run_name": run.run_name,
            "spec": run.spec_name,
            "status": run.status,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "source": run.source,
            "parent_run_id": run.parent_run_id,
            "objective_name": run.objective_name,
            "objective": run.objective,
            "git_commit": run.git_commit,
            "sweep_dir": run.sweep_dir,
            "job_num": run.job_num,
        }
        flat.update({f"metrics.{k}": v for k, v in row.metrics.items()})
        flat.update({f"params.{k}": v for k, v in row.params.items()})
        flat.update({f"tags.{k}": v for k, v in row.tags.items()})
        out.append(flat)
    return columns, out
