"""`mlspec monitor` end to end, on the fraud example (small): acceptance c, d, e of issue 7.

One model is trained once per module (days 1-30 of the stream, 3000 rows); each test works on
a copy of that project. Current data: single days of the same seeded stream — day 10 (before
the shift: no drift) and days 31/32 (after it: drift).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from e2e_helpers import REPO, run_cli, show

SMALL = ("data.source.kwargs.n_rows=3000", "model.n_estimators=20")
ROWS_PER_DAY = 400


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fraud_monitor")
    for part in ("conf", "schemas", "examples"):
        shutil.copytree(REPO / part, root / part)
    result = run_cli(["run", "conf=fraud", *SMALL], cwd=root)
    assert result.returncode == 0, show(result)
    assert "registered fraud-detector:1" in result.stdout, show(result)
    # The repository's copy of the generator, loaded by path: `pytest` (unlike `python -m
    # pytest`) does not put the repository root on sys.path.
    import importlib.util

    spec = importlib.util.spec_from_file_location("fraud_data", REPO / "examples" / "fraud_data.py")
    assert spec is not None and spec.loader is not None
    fraud_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fraud_data)
    fraud_data.write_stream(root / "data" / "stream", [10, 31, 32], rows=ROWS_PER_DAY)
    return root


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(trained, root)
    return root


def monitor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["monitor", "conf=fraud", *args], cwd=root)


def results(root: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(root / ".mlspec" / "mlspec.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM monitor_results ORDER BY rowid")]
    except sqlite3.OperationalError:  # no table: nothing was ever recorded
        return []
    finally:
        conn.close()


def champion(root: Path) -> int:
    conn = sqlite3.connect(root / ".mlspec" / "mlspec.db")
    try:
        (version,) = conn.execute(
            "SELECT version FROM model_aliases WHERE name = 'fraud-detector' AND alias = 'champion'"
        ).fetchone()
        return int(version)
    finally:
        conn.close()


def test_no_drift_exits_0_drift_exits_1_and_both_are_recorded(project: Path) -> None:
    calm = monitor(project, "current=data/stream/day-10.parquet", "--json")
    assert calm.returncode == 0, show(calm)
    result = json.loads(calm.stdout)
    assert result["status"] == "ok" and result["exit_code"] == 0
    assert result["model"] == {**result["model"], "name": "fraud-detector", "version": 1}
    assert result["current"]["rows"] == ROWS_PER_DAY
    compared = [c["column"] for c in result["drift"]["columns"]]
    assert compared == ["merchant", "country", "amount", "age_days", "hour"]
    assert result["ignored"] == ["txn_id", "ts"]
    assert result["drift"]["prediction"]["column"] == "proba_1"
    assert result["performance"]["target"] == "is_fraud"
    assert "roc_auc" in result["performance"]["metrics"]

    shifted = monitor(project, "current=data/stream/day-31.parquet")
    assert shifted.returncode == 1, show(shifted)
    assert re.search(r"amount\s.*drift", shifted.stdout), show(shifted)
    assert "dataset drift yes" in shifted.stdout
    assert "retrain rule holds" in shifted.stdout

    rows = results(project)
    assert [r["status"] for r in rows] == ["ok", "drift"]
    assert [r["retrain_holds"] for r in rows] == [0, 1]
    history = run_cli(["monitor", "history", "fraud-detector", "--json"], cwd=project)
    assert history.returncode == 0, show(history)
    listed = json.loads(history.stdout)
    assert [r["id"] for r in listed] == [rows[1]["id"], rows[0]["id"]]  # newest first
    amount = [c for c in listed[0]["columns"] if c["column"] == "amount"]
    assert amount and amount[0]["drifted"] is True
    text = run_cli(["monitor", "history", "fraud-detector", "--column", "amount"], cwd=project)
    assert text.returncode == 0 and "amount" in text.stdout, show(text)
    again = run_cli(["monitor", "show", rows[1]["id"], "--json"], cwd=project)
    assert json.loads(again.stdout)["id"] == rows[1]["id"]


@pytest.mark.parametrize(
    ("damage", "column", "message"),
    [
        ("drop_amount", "amount", "lacks column 'amount'"),
        ("amount_as_text", "amount", "amount"),
        ("no_rows", None, "has no rows"),
    ],
)
def test_bad_current_data_is_a_clear_error_with_exit_2(
    trained: Path, tmp_path: Path, damage: str, column: str | None, message: str
) -> None:
    day = pd.read_parquet(trained / "data" / "stream" / "day-10.parquet")
    if damage == "drop_amount":
        day = day.drop(columns=["amount"])
    elif damage == "amount_as_text":
        day["amount"] = day["amount"].map(lambda v: f"{v:.2f} EUR")
    else:
        day = day.iloc[0:0]
    bad = tmp_path / f"{damage}.parquet"
    day.to_parquet(bad)
    before = len(results(trained))
    result = monitor(trained, f"current={bad}")
    assert result.returncode == 2, show(result)
    assert message in result.stderr, show(result)
    if column:
        assert f"'{column}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(results(trained)) == before  # nothing recorded


def test_missing_file_and_missing_current_exit_2(trained: Path) -> None:
    result = monitor(trained, "current=data/stream/day-99.parquet")
    assert result.returncode == 2 and "does not exist" in result.stderr, show(result)
    assert "day-10.parquet" in result.stderr  # lists what is there
    result = monitor(trained)
    assert result.returncode == 2 and "current=PATH" in result.stderr, show(result)


def test_serving_log_window_by_count(project: Path) -> None:
    """current=serving-log reads the request log (Interface 2) and keeps the last N rows."""
    day = pd.read_parquet(project / "data" / "stream" / "day-31.parquet")
    logs = project / "logs" / "requests" / "fraud-detector"
    logs.mkdir(parents=True)
    inputs = day.drop(columns=["is_fraud"])
    lines = []
    for i, row in enumerate(inputs.to_dict(orient="records")):
        row["ts"] = row["ts"].isoformat()
        lines.append(
            json.dumps(
                {
                    "ts": f"2026-11-26T10:{i // 60:02d}:{i % 60:02d}.000000Z",
                    "model": "fraud-detector",
                    "version": 1,
                    "request_id": f"{i:032x}",
                    "inputs": row,
                    "prediction": 0,
                    "probabilities": [0.9, 0.1],
                }
            )
        )
    (logs / "requests-20261126T100000-000001.jsonl").write_text("\n".join(lines) + "\n")
    result = monitor(project, "current=serving-log", "--last", "300", "--json")
    assert result.returncode == 1, show(result)
    out = json.loads(result.stdout)
    assert out["current"]["rows"] == 300
    assert out["current"]["source"] == "serving-log:logs/requests"
    assert out["performance"] is None  # no labels in a request log
    retrain = monitor(project, "current=serving-log", "--retrain")
    assert retrain.returncode == 2, show(retrain)
    assert "--retrain needs labelled data" in retrain.stderr


@pytest.mark.slow
@pytest.mark.parametrize("gates_pass", [True, False])
def test_retrain_promotes_only_when_gates_pass_and_names_the_trigger(
    project: Path, gates_pass: bool
) -> None:
    """Acceptance d: drift -> exit 1; --retrain runs the spec on the new window through the
    engine; a new version becomes champion only if every gate passes; lineage names the
    monitoring result."""
    gate = "{metric:roc_auc,min:0.5}" if gates_pass else "{metric:roc_auc,min:0.999}"
    if gates_pass:  # a labelled day monitored earlier joins the window
        assert monitor(project, "current=data/stream/day-31.parquet").returncode == 1
    result = monitor(
        project,
        f"current=data/stream/day-{32 if gates_pass else 31}.parquet",
        "--retrain",
        "--json",
        *SMALL,
        f"evaluate.gates=[{gate}]",
    )
    assert result.returncode == 1, show(result)
    out = json.loads(result.stdout)
    retrain = out["retrain"]
    assert retrain is not None, show(result)
    window = retrain["window"]
    assert window["rows_current"] == ROWS_PER_DAY and window["kind"] == "sliding"
    assert window["rows_earlier"] == (ROWS_PER_DAY if gates_pass else 0)
    assert (project / window["path"]).is_file()
    if gates_pass:
        assert retrain["outcome"] == "promoted" and retrain["version"] == 2, show(result)
        assert champion(project) == 2
    else:
        assert retrain["outcome"] == "not_blessed", show(result)
        assert retrain["version"] is None
        assert champion(project) == 1
    recorded = results(project)[-1]
    assert recorded["retrain_run_id"] == retrain["run_id"]
    assert recorded["retrain_outcome"] == retrain["outcome"]
    shown = run_cli(["runs", "show", retrain["run_id"], "--json"], cwd=project)
    assert shown.returncode == 0, show(shown)
    lineage = json.loads(shown.stdout)["lineage"]
    assert lineage["trigger"]["monitoring_result"] == out["id"]
    assert lineage["trigger"]["model"] == "fraud-detector:1"
    text = run_cli(["runs", "show", retrain["run_id"]], cwd=project)
    assert f"triggered by monitor: model fraud-detector:1, monitoring_result {out['id']}" in (
        text.stdout
    ), show(text)
    assert f"monitoring_result={out['id']}" in text.stdout


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian's 'chromium')")
def test_html_report_renders_in_headless_chromium_with_every_column(
    project: Path, tmp_path: Path
) -> None:
    """Acceptance c: the report is self-contained, every compared column (and the prediction)
    has its histogram, all of them decode in a real browser, and the console stays silent."""
    from test_eval_report_chromium import check_in_browser

    page = tmp_path / "drift.html"
    result = monitor(project, "current=data/stream/day-31.parquet", "--html", str(page))
    assert result.returncode == 1, show(result)
    assert f"report: {page.resolve()}" in result.stdout
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "<script src" not in html
    columns = ["merchant", "country", "amount", "age_days", "hour", "proba_1"]
    ids = [f"hist-{i}" for i in range(len(columns))]
    seen = check_in_browser(page, tmp_path, ids, screenshot=True)
    assert seen["title"].startswith("mlspec monitor report OK"), seen["title"]
    assert 'data-report-status="ok"' in seen["body"], seen["body"]
    assert f'data-plots-loaded="{len(ids)}"' in seen["body"], seen["body"]
    assert seen["present"] == ids
    assert seen["console"] == []
    for i, column in enumerate(columns):  # each histogram is labelled with its column
        assert f'<figure class="plot" id="hist-{i}" data-column="{column}">' in html
        assert f'<tr data-column="{column}">' in html  # and has its row in the table
    assert seen["screenshot"] is not None and seen["screenshot"].stat().st_size > 30_000
