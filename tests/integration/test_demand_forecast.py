"""The demand-forecast example runs end to end: lags, rolling windows and datetime parts per
store, a time split, LightGBM; bad feature columns stop the run before training (exit 2)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_cli, show


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for part in ("conf", "schemas", "examples"):
        if (REPO / part).exists():
            shutil.copytree(REPO / part, tmp_path / part)
    return tmp_path


def _metric(root: Path, split: str, name: str) -> list[float]:
    with sqlite3.connect(root / ".mlspec" / "mlspec.db") as db:
        rows = db.execute(
            "SELECT value FROM metrics WHERE split = ? AND name = ?", (split, name)
        ).fetchall()
    return [r[0] for r in rows]


def test_demand_forecast_example(project: Path) -> None:
    result = run_cli(["run", "conf=demand_forecast", "model.n_estimators=50"], cwd=project)
    assert result.returncode == 0, show(result)
    assert "5 lags" in result.stdout and "4 datetime" in result.stdout, show(result)
    (r2,) = _metric(project, "test", "r2")
    assert r2 > 0.5, show(result)
    assert _metric(project, "test", "rmse") and _metric(project, "test", "mae")

    # A misspelt lag column: a spec error at its key, before any training (data stages cached).
    bad = run_cli(
        [
            "run",
            "conf=demand_forecast",
            "model.n_estimators=50",
            "features.lags.columns=[custmers]",
        ],
        cwd=project,
    )
    assert bad.returncode == 2, show(bad)
    out = bad.stdout + bad.stderr
    assert "features.lags.columns" in out and "'custmers'" in out, show(bad)
    assert "columns present: date, store, promo, holiday, customers" in out, show(bad)
    assert "fitting" not in out, show(bad)
