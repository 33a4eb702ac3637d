"""Run filters (MLflow's search syntax) and sorting: parsing, errors, and the SQL's results."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from mlspec.errors import TrackingError
from mlspec.tracking.db import Tracker
from mlspec.tracking.filter import compile_filter, compile_order, tokenize
from mlspec.tracking.query import export_rows, search
from mlspec.tracking.writer import RunWriter


def _run(
    tracker: Tracker,
    run_id: str,
    *,
    spec: str = "fraud",
    model: str | None = None,
    valid: dict[str, float] | None = None,
    test: dict[str, float] | None = None,
    logged: dict[str, float] | None = None,
    params: dict[str, object] | None = None,
    tags: dict[str, str] | None = None,
    status: str = "completed",
    started: float | None = None,
) -> None:
    tracker.start_run(run_id, spec, {"seed": 7}, [], None, None, source="engine")
    if model:
        tracker.log_params(run_id, {"model": model})
    tracker.log_metrics(run_id, {"valid": valid or {}, "test": test or {}})
    writer = RunWriter(tracker.db_path, run_id)
    for name, value in (logged or {}).items():
        writer.metric(name, value, 0, time.time())
    writer.params(params or {})
    writer.tags(tags or {})
    writer.close()
    tracker.finish_run(run_id, status)
    if started is not None:
        conn = sqlite3.connect(tracker.db_path)
        conn.execute("UPDATE runs SET started_at = ? WHERE run_id = ?", (started, run_id))
        conn.commit()
        conn.close()


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Tracker:
    """Read-only for the tests that use it: built once."""
    t = Tracker(tmp_path_factory.mktemp("runs") / "mlspec.db")
    t.ensure_schema()
    day = time.mktime(time.strptime("2026-11-20", "%Y-%m-%d"))
    _run(t, "r1", model="lightgbm", valid={"roc_auc": 0.95}, test={"roc_auc": 0.91}, started=day)
    _run(t, "r2", model="xgboost", valid={"roc_auc": 0.97}, test={"roc_auc": 0.88}, started=day + 1)
    _run(
        t,
        "r3",
        model="lightgbm",
        valid={"roc_auc": 0.85},
        status="failed",
        tags={"team": "Fraud"},
        started=day + 86400 * 3,
    )
    _run(
        t,
        "r4",
        spec="notebook",
        logged={"roc_auc": 0.99, "loss": 0.2},
        params={"algorithm": "XGBoost", "depth": 12},
        tags={"team": "fraud ops"},
        started=day + 86400 * 5,
    )
    return t


def _ids(tracker: Tracker, flt: str | None, order: str | None = None) -> list[str]:
    rows, _ = search(tracker, flt, order, None, details=False)
    return [r.run_id for r in rows]


def test_the_issue_example_filters_engine_runs(tracker: Tracker) -> None:
    assert _ids(tracker, "metrics.roc_auc > 0.9 and params.model = lightgbm") == ["r1"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("metrics.roc_auc > 0.9", ["r4", "r2", "r1"]),  # r4: its logged roc_auc
        ("metrics.valid.roc_auc >= 0.95", ["r2", "r1"]),
        ("metrics.test.roc_auc < 0.9", ["r2"]),
        ("metrics.loss <= 0.2", ["r4"]),
        ("params.model != lightgbm", ["r2"]),  # runs without the param never match
        ("params.model IN ('xgboost', lightgbm) and status = completed", ["r2", "r1"]),
        ("params.model NOT IN (xgboost)", ["r3", "r1"]),
        ("params.depth > 10", ["r4"]),  # numeric comparison of a param
        ('params.algorithm = "XGBoost"', ["r4"]),
        ("tags.team LIKE 'fraud%'", ["r4"]),  # LIKE is case-sensitive, as in MLflow
        ("tags.team ILIKE 'fraud%'", ["r4", "r3"]),
        ("tags.team NOT LIKE 'fraud%'", ["r3"]),
        ("status = FAILED or spec = notebook", ["r4", "r3"]),
        ("attributes.status = 'FINISHED'", ["r4", "r2", "r1"]),  # MLflow's status words
        ("(params.model = xgboost or metrics.loss < 1) and spec LIKE '%o%'", ["r4"]),
        ("started >= '2026-11-23'", ["r4", "r3"]),
        ("started < '2026-11-20 00:00:01'", ["r1"]),
        ("run_id = r2", ["r2"]),
        ("metrics.`roc_auc` > 0.96", ["r4", "r2"]),
        ("", ["r4", "r3", "r2", "r1"]),
    ],
)
def test_filters(tracker: Tracker, flt: str, expected: list[str]) -> None:
    assert _ids(tracker, flt) == expected


def test_sort_puts_missing_values_last_in_either_direction(tracker: Tracker) -> None:
    assert _ids(tracker, None, "metrics.test.roc_auc desc") == ["r1", "r2", "r4", "r3"]
    assert _ids(tracker, None, "metrics.test.roc_auc") == ["r2", "r1", "r4", "r3"]
    assert _ids(tracker, None, "spec asc, metrics.roc_auc desc") == ["r2", "r1", "r3", "r4"]
    assert _ids(tracker, None, ["metrics.roc_auc DESC"]) == ["r4", "r2", "r1", "r3"]


def test_search_returns_params_metrics_and_tags(tracker: Tracker) -> None:
    rows, keys = search(tracker, "params.algorithm = XGBoost", "metrics.loss")
    [row] = rows
    assert row.metrics == {"roc_auc": 0.99, "loss": 0.2}
    assert row.params == {"seed": "7", "algorithm": "XGBoost", "depth": "12"}
    assert row.tags == {"team": "fraud ops"}
    assert [(k.entity, k.name) for k in keys] == [("param", "algorithm"), ("metric", "loss")]
    engine_row = search(tracker, "run_id = r1")[0][0]
    assert engine_row.metrics == {"test.roc_auc": 0.91, "valid.roc_auc": 0.95}
    columns, flat = export_rows([*rows, engine_row])
    assert "metrics.valid.roc_auc" in columns and "params.algorithm" in columns
    assert flat[1]["params.model"] == "lightgbm" and "params.algorithm" not in flat[1]


def test_values_are_bound_parameters_never_sql(tracker: Tracker) -> None:
    compiled = compile_filter('params.model = "x\' OR 1=1 --" and tags.a = b')
    assert "OR 1=1" not in compiled.sql
    assert "x' OR 1=1 --" in compiled.params
    assert _ids(tracker, 'params.model = "x\' OR 1=1 --"') == []


@pytest.mark.parametrize(
    ("flt", "position", "words"),
    [
        ("metrics.roc_auc 0.9", 16, "expected an operator"),
        ("metrics.roc_auc > high", 18, "'high' is not one"),
        ("roc_auc > 0.9", 0, "metrics.roc_auc, params.roc_auc or tags.roc_auc"),
        ("metrics.a > 1 and", 17, "expected a key"),
        ("metrics.a > 1 params.b = 2", 14, "expected 'and', 'or'"),
        ("params.a = 'open", 11, "unterminated string"),
        ("(metrics.a > 1", 14, "expected ')'"),
        ("metrics.a LIKE 'x%'", 15, "LIKE compares text"),
        ("started > yesterday", 10, "neither a date nor a number"),
        ("attributes.colour = red", 0, "unknown attribute 'colour'"),
        ("params. = 1", 0, "names no param"),
        ("metrics.a ; 1", 10, "found ';'"),
        ("metrics.a = 1 ` x", 14, "unexpected character '`'"),
        ("params.a IN (1 2)", 15, "expected ',' or ')'"),
    ],
)
def test_errors_name_the_position_and_the_fix(flt: str, position: int, words: str) -> None:
    with pytest.raises(TrackingError) as err:
        compile_filter(flt)
    text = err.value.render()
    assert f"at position {position}:" in text, text
    assert words in text, text
    assert "fix:" in text
    caret_line = text.splitlines()[2]
    assert caret_line.index("^") - 4 == position, text


def test_sort_errors() -> None:
    with pytest.raises(TrackingError, match="expected ASC, DESC or ','"):
        compile_order("metrics.a sideways")
    with pytest.raises(TrackingError, match="unknown key 'roc'"):
        compile_order("roc desc")


def test_tokenizer_keeps_dotted_names_and_dates_whole() -> None:
    tokens = tokenize("params.model.max_depth>=3 and started < 2026-11-26")
    assert [t.text for t in tokens][:4] == ["params.model.max_depth", ">=", "3", "and"]
    assert tokens[-2].text == "2026-11-26"


def test_version_1_databases_are_upgraded_in_place(tmp_path: Path) -> None:
    """A database written by the previous release: params JSON-encoded, no tags/lineage tables,
    no new run columns. Reading it upgrades it once."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, spec_name TEXT NOT NULL, status TEXT NOT NULL,
            started_at REAL NOT NULL, finished_at REAL, spec_json TEXT NOT NULL,
            overrides_json TEXT NOT NULL, git_commit TEXT, output_dir TEXT, sweep_dir TEXT,
            job_num INTEGER, objective_name TEXT, objective REAL, error TEXT,
            mlspec_version TEXT);
        CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE metrics (run_id TEXT NOT NULL, split TEXT NOT NULL, name TEXT NOT NULL,
            value REAL, PRIMARY KEY (run_id, split, name));
        INSERT INTO runs VALUES ('old', 'bc', 'completed', 1.0, 2.0, '{}', '[]', NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, '0.1.0');
        """
    )
    conn.executemany(
        "INSERT INTO params VALUES ('old', ?, ?)",
        [("model._target_", json.dumps("lightgbm.LGBMClassifier")), ("seed", "7")],
    )
    conn.execute("INSERT INTO metrics VALUES ('old', 'valid', 'roc_auc', 0.9)")
    conn.commit()
    conn.close()

    tracker = Tracker(db)
    rows, _ = search(tracker, "params.model._target_ LIKE 'lightgbm.%' and params.seed = 7")
    assert [r.run_id for r in rows] == ["old"]
    assert rows[0].metrics == {"valid.roc_auc": 0.9}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    assert conn.execute("SELECT COUNT(*) FROM tags").fetchone() == (0,)
    conn.close()
