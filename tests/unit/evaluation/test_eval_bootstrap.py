"""Bootstrap: each resample's vectorised metric equals scikit-learn's on the resampled rows,
intervals hold their point estimates, and the same seed gives the same intervals."""

from __future__ import annotations

import numpy as np
import pytest

from mlspec.evaluation import bootstrap
from mlspec.evaluation.metrics import Predictions, point_metrics
from mlspec.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS


def _predictions(case, proba: bool = True) -> Predictions:
    X, y = case.X(case.test), case.test["target"].to_numpy()
    model, pred = case.model, case.model.predict(X)
    if not hasattr(model, "classes_"):
        return Predictions("regression", y, pred)
    classes = model.classes_
    score = model.predict_proba(X) if proba else model.decision_function(X)
    if len(classes) == 2 and score.ndim == 2:
        score = score[:, 1]
    return Predictions("classification", y, pred, classes, score, proba)


def _check_replicates(p: Predictions, names: list[str], samples: int = 12) -> None:
    counts = bootstrap.resample_counts(len(p.y), samples, np.random.default_rng(3))
    assert (counts.sum(axis=1) == len(p.y)).all()
    reps = bootstrap.replicates(p, names, counts)
    for b in range(samples):
        rows = np.repeat(np.arange(len(p.y)), counts[b])  # the resample, expanded
        expected = point_metrics(p.take(rows), names)  # scikit-learn on those rows
        for name in names:
            assert reps[name][b] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), (
                name,
                b,
            )


def test_binary_replicates_equal_sklearn(binary):
    _check_replicates(_predictions(binary), list(CLASSIFICATION_METRICS))


def test_multiclass_replicates_equal_sklearn(multiclass):
    _check_replicates(_predictions(multiclass), list(CLASSIFICATION_METRICS))


def test_decision_function_replicates_equal_sklearn(svc):
    names = [m for m in CLASSIFICATION_METRICS if m not in ("log_loss", "brier")]
    _check_replicates(_predictions(svc, proba=False), names)


def test_regression_replicates_equal_sklearn(regression):
    _check_replicates(_predictions(regression), list(REGRESSION_METRICS))


def test_ties_in_scores_count_like_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.random(300) * 0.5 + y * 0.3, 1)  # few distinct values: many ties
    p = Predictions("classification", y, (score > 0.5).astype(int), np.array([0, 1]), score, True)
    _check_replicates(p, ["roc_auc", "pr_auc", "brier", "log_loss", "f1"], samples=20)


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression"])
def test_intervals_contain_point_estimates(case, request):
    m = request.getfixturevalue(case).evaluate(slices=["group"], min_slice_size=10)["metrics"]
    checked = 0
    pairs = [(m[s], m["intervals"][s]) for s in ("valid", "test")]
    pairs += [(e["metrics"], e["intervals"]) for s in ("valid", "test") for e in m["slices"][s]]
    for points, intervals in pairs:
        for name, value in points.items():
            interval = intervals[name]
            if interval is None or value != value:
                continue
            lo, hi = interval
            assert lo <= value <= hi, (name, value, interval)
            checked += 1
    assert checked > 30


def test_intervals_are_seeded(binary):
    a = binary.evaluate(bootstrap={"seed": 1})["metrics"]["intervals"]
    b = binary.evaluate(bootstrap={"seed": 1})["metrics"]["intervals"]
    c = binary.evaluate(bootstrap={"seed": 2})["metrics"]["intervals"]
    assert a == b
    assert a != c


def test_level_widens_intervals(binary):
    narrow = binary.evaluate(bootstrap={"level": 0.5})["metrics"]["intervals"]["test"]["roc_auc"]
    wide = binary.evaluate(bootstrap={"level": 0.99})["metrics"]["intervals"]["test"]["roc_auc"]
    assert wide[0] <= narrow[0] and narrow[1] <= wide[1]
    assert (wide[1] - wide[0]) > (narrow[1] - narrow[0])


def test_mostly_undefined_metric_has_no_interval():
    y = np.array([0] * 99 + [1])  # one positive: ~37% of resamples have none
    score = np.linspace(0, 1, 100)
    p = Predictions("classification", y, (score > 0.5).astype(int), np.array([0, 1]), score, True)
    out = bootstrap.intervals(p, ["roc_auc", "accuracy"], {}, 200, 0.95, np.random.default_rng(0))
    assert out["roc_auc"] is None
    assert out["accuracy"] is not None
