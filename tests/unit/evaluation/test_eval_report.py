"""The HTML report without a browser: its plots, ids, self-containment and curve points
(drawn with numpy so the report never imports scikit-learn; checked against scikit-learn)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from mlspec.evaluation.plots import calibration_points, curve_points
from mlspec.evaluation.report import plot_ids, render_html

RUN = {"run_id": "r1", "spec_name": "s", "status": "completed", "objective_name": "roc_auc"}


def test_curve_points_equal_sklearn_curves():
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.4
    score = np.round(rng.random(300) + truth * 0.4, 2)  # ties included
    tp, fp, positives = curve_points(truth, score)
    fpr, tpr, _ = roc_curve(truth, score, drop_intermediate=False)
    np.testing.assert_allclose(np.r_[0.0, fp / fp[-1]], fpr)
    np.testing.assert_allclose(np.r_[0.0, tp / positives], tpr)
    precision, recall, _ = precision_recall_curve(truth, score, drop_intermediate=False)
    np.testing.assert_allclose((tp / (tp + fp))[::-1], precision[:-1])
    np.testing.assert_allclose((tp / positives)[::-1], recall[:-1])


def test_calibration_points_equal_sklearn():
    rng = np.random.default_rng(1)
    score = rng.random(500)
    truth = rng.random(500) < score
    mean, frac = calibration_points(truth, score, bins=10)
    frac_sk, mean_sk = calibration_curve(truth, score, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(mean, mean_sk)
    np.testing.assert_allclose(frac, frac_sk)


# binary and multiclass reports are also rendered in Chromium (tests/integration).
@pytest.mark.parametrize("case", ["svc", "regression"])
def test_report_holds_every_plot_and_nothing_external(case, request):
    c = request.getfixturevalue(case)
    out = c.evaluate(slices=["group"], min_slice_size=5, threshold=None)
    metrics, preds = out["metrics"], out["predictions"]
    page = render_html(RUN, metrics, preds, {"feature_importances": {"a<b>": 2.0, "c": 1.0}})
    ids = plot_ids(metrics)
    assert ("plot-roc" in ids) == (case != "regression")
    assert "plot-slices" in ids and "plot-importance" in ids
    for pid in ids:
        img = r'<img alt="[^"]+" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+">'
        assert re.search(rf'<figure class="plot" id="{pid}">{img}', page), pid
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "<script src" not in page
    assert 'id="slices-test"' in page


def test_report_without_slices_or_importances_escapes_values(binary):
    out = binary.evaluate()
    run = {**RUN, "spec_name": "<script>alert(1)</script>"}
    page = render_html(run, out["metrics"], out["predictions"], None)
    assert "plot-slices" not in plot_ids(out["metrics"])
    assert 'id="plot-importance"' in page  # a figure saying the estimator reports none
    assert "<h2>Slices</h2>" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
