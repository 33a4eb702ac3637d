"""Monitoring results in SQLite: saved whole, followed per column, retrain outcome added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlspec.monitor.records import PREDICTION_COLUMN, MonitorRecords


def _result(rid: str, created: float, amount_stat: float, drifted: bool) -> dict[str, Any]:
    def col(name: str, stat: float, d: bool) -> dict[str, Any]:
        return {
            "column": name, "kind": "numeric", "test": "wasserstein", "statistic": stat,
            "p_value": None, "p_adjusted": None, "threshold": 0.1, "psi": stat / 2,
            "missing_rate_ref": 0.0, "missing_rate_cur": 0.0, "drifted": d,
            "status": "drift" if d else "ok",
        }  # fmt: skip

    return {
        "id": rid,
        "created_at": created,
        "spec": "fraud-detector",
        "model": {"ref": "fraud-detector@champion", "name": "fraud-detector", "version": 1},
        "current": {"source": "day.parquet", "rows": 700},
        "status": "drift" if drifted else "ok",
        "drift": {
            "dataset_drift": drifted,
            "share_drifted": 0.5 if drifted else 0.0,
            "columns": [col("amount", amount_stat, drifted), col("hour", 0.02, False)],
            "prediction": col("proba_1", 0.05, False),
        },
        "retrain_when": {"holds": drifted},
        "retrain": None,
    }


def test_save_history_and_retrain(tmp_path: Path) -> None:
    records = MonitorRecords(tmp_path / ".mlspec" / "mlspec.db")
    assert records.results() == [] and records.get("x") is None
    records.save(_result("mon-1", 1.0, 0.03, False))
    records.save(_result("mon-2", 2.0, 0.30, True))
    rows = records.results("fraud-detector")
    assert [r.id for r in rows] == ["mon-2", "mon-1"]  # newest first
    assert rows[0].dataset_drift and rows[0].retrain_holds and rows[0].prediction_drift is False
    assert records.results("other") == []
    history = records.column_history(["mon-1", "mon-2"], "amount")
    assert [h["statistic"] for h in (history["mon-1"] + history["mon-2"])] == [0.03, 0.30]
    assert [h["drifted"] for h in history["mon-2"]] == [True]
    everything = records.column_history(["mon-1"])
    assert [c["column"] for c in everything["mon-1"]] == ["amount", "hour", PREDICTION_COLUMN]
    assert records.labelled_batches("fraud-detector", since=0.0) == []  # no labelled frames
    labelled = _result("mon-3", 3.0, 0.3, True)
    labelled["current"]["frame"] = {"digest": "blake3:ab", "size": 10}
    again = _result("mon-4", 4.0, 0.3, True)  # the same batch monitored twice: once
    again["current"]["frame"] = {"digest": "blake3:ab", "size": 10}
    records.save(labelled)
    records.save(again)
    batches = records.labelled_batches("fraud-detector", since=2.5)
    assert batches == [{"id": "mon-3", "digest": "blake3:ab", "size": 10, "rows": 700}]
    assert records.labelled_batches("fraud-detector", since=3.5) == [
        {"id": "mon-4", "digest": "blake3:ab", "size": 10, "rows": 700}
    ]
    records.set_retrain("mon-2", {"run_id": "run-9", "outcome": "promoted"})
    assert records.get("mon-2")["retrain"] == {"run_id": "run-9", "outcome": "promoted"}
    assert records.results()[2].retrain_outcome == "promoted"
