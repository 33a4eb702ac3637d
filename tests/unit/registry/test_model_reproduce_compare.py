"""mlspec reproduce's verdict: digest and metrics decide, data digests explain."""

from __future__ import annotations

import math

from mlspec.engine.reproduce import ReproduceReport, compare


def manifest(model_digest: str, skops: str) -> dict:
    return {
        "model_digest": model_digest,
        "model_digest_covers": ["model.skops", "requirements.txt"],
        "files": {
            "model.skops": {"digest": skops},
            "requirements.txt": {"digest": "r"},
            "metadata.json": {"digest": "m"},
        },
    }


METRICS = {"task": "classification", "valid": {"f1": 0.5, "ll": math.nan}, "test": {"f1": 0.6}}


def verdict(rebuilt_manifest: dict, rebuilt_metrics: dict, data: dict | None = None):
    report = ReproduceReport("m:1", "run", "rebuild")
    compare(
        report,
        manifest("d1", "s1"),
        METRICS,
        {"load.data": "x"},
        rebuilt_manifest,
        rebuilt_metrics,
        data or {"load.data": "x"},
    )
    return report


def test_identical_model_and_metrics_reproduce() -> None:
    report = verdict(manifest("d1", "s1"), {**METRICS, "valid": {"f1": 0.5, "ll": math.nan}})
    assert report.ok  # NaN equals NaN here
    assert all(row["match"] for row in report.rows)
    kinds = [row["kind"] for row in report.rows]
    assert kinds == ["digest", "file", "file", "metric", "metric", "metric", "data"]


def test_a_different_model_file_fails_and_names_it() -> None:
    report = verdict(manifest("d2", "s2"), METRICS)
    assert not report.ok and not report.digest_match and report.metrics_match
    bad = [row["item"] for row in report.rows if not row["match"]]
    assert bad == ["model digest", "model.skops"]


def test_a_different_metric_fails_even_with_the_same_digest() -> None:
    report = verdict(manifest("d1", "s1"), {**METRICS, "test": {"f1": 0.6000000001}})
    assert report.digest_match and not report.metrics_match and not report.ok
    assert [row["item"] for row in report.rows if not row["match"]] == ["test f1"]


def test_changed_data_is_reported_but_does_not_decide() -> None:
    report = verdict(manifest("d1", "s1"), METRICS, {"load.data": "y"})
    assert report.ok
    assert [row["item"] for row in report.rows if not row["match"]] == ["load.data"]
