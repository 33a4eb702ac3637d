"""Reading the serving request log (contract67 Interface 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlspec.errors import DataError
from mlspec.monitor.serving_log import input_columns, read_serving_log, read_serving_log_detailed


def _line(ts: str, amount: float, version: int = 3, model: str = "fraud-detector") -> str:
    return json.dumps(
        {
            "ts": ts,
            "model": model,
            "version": version,
            "request_id": "ab" * 16,
            "inputs": {"amount": amount, "merchant": "m1"},
            "prediction": 0,
            "probabilities": [0.9, 0.1],
        }
    )


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs" / "fraud-detector"
    d.mkdir(parents=True)
    # Two files, named by time; the second one was cut short by a crash (last line broken).
    (d / "requests-20261126T100000-0001.jsonl").write_text(
        "\n".join(_line(f"2026-11-26T10:0{i}:00Z", float(i)) for i in range(5)) + "\n"
    )
    (d / "requests-20261126T110000-0002.jsonl").write_text(
        "\n".join(_line(f"2026-11-26T11:0{i}:00.5Z", 10.0 + i, version=4) for i in range(5))
        + '\n{"ts": "2026-11-26T11:09'
    )
    other = tmp_path / "logs" / "other-model"
    other.mkdir()
    (other / "requests-20261126T100000-0001.jsonl").write_text(
        _line("2026-11-26T10:30:00Z", 99.0, model="other-model") + "\n"
    )
    return tmp_path / "logs"


def test_reads_every_row_of_a_model_in_time_order(log_dir: Path) -> None:
    read = read_serving_log_detailed(log_dir, model="fraud-detector", classes=[0, 1])
    df = read.frame
    assert list(df["amount"]) == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]
    assert input_columns(df) == ["amount", "merchant"]
    assert list(df["__version"]) == [3] * 5 + [4] * 5
    assert str(df["__ts"].dt.tz) == "UTC"
    assert list(df["__proba_1"]) == [0.1] * 10
    assert list(read.bad_lines.values()) == [1]  # the truncated line: skipped, counted


def test_since_until_and_last(log_dir: Path) -> None:
    df = read_serving_log(log_dir, "fraud-detector", since="2026-11-26T10:03:00Z")
    assert list(df["amount"]) == [3, 4, 10, 11, 12, 13, 14]
    df = read_serving_log(log_dir, "fraud-detector", until="2026-11-26 11:00:00")  # naive: UTC
    assert list(df["amount"]) == [0, 1, 2, 3, 4]
    df = read_serving_log(log_dir, "fraud-detector", last=3)
    assert list(df["amount"]) == [12, 13, 14]


def test_proba_columns_by_position_without_classes(log_dir: Path) -> None:
    df = read_serving_log(log_dir, "fraud-detector")
    assert {"__proba_0", "__proba_1"} <= set(df.columns)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"serving log directory .* does not exist") as info:
        read_serving_log(tmp_path / "nope")
    assert "--log-requests" in info.value.problems[0].fix


def test_an_empty_log_reads_as_no_rows(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    df = read_serving_log(tmp_path, "m")
    assert len(df) == 0 and "__ts" in df.columns
