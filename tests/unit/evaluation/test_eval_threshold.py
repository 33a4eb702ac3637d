"""Decision threshold: chosen on valid (checked by brute force with scikit-learn), applied to
the label metrics of valid and test, recorded; fixed values; refusals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from test_eval_metrics import sklearn_classification

from mlspec.errors import SpecError
from mlspec.evaluation.threshold import choose


def _scores(case, frame):
    X = case.X(frame)
    return case.model.predict_proba(X)[:, 1], frame["target"].to_numpy()


@pytest.mark.parametrize(
    ("criterion", "fn"),
    [
        ("f1", lambda y, p: skm.f1_score(y, p)),
        ("accuracy", skm.accuracy_score),
        ("balanced_accuracy", skm.balanced_accuracy_score),
        ("youden", lambda y, p: skm.recall_score(y, p) + skm.recall_score(1 - y, 1 - p) - 1),
    ],
)
def test_chosen_threshold_maximises_the_criterion(binary, criterion, fn):
    score, y = _scores(binary, binary.valid)
    value, achieved = choose(y == 1, score, criterion)
    brute = {t: fn(y, (score >= t).astype(int)) for t in np.unique(score)}
    best = max(brute.values())
    assert achieved == pytest.approx(best)
    assert brute[value] == pytest.approx(best)
    assert value == max(t for t, v in brute.items() if v == pytest.approx(best))


def test_threshold_applies_to_label_metrics_of_both_splits(binary):
    out = binary.evaluate(threshold={"choose_by": "f1", "split": "valid"})
    m = out["metrics"]
    t = m["threshold"]
    assert t["chosen_by"] == "f1" and t["split"] == "valid"
    score, y = _scores(binary, binary.valid)
    assert t["value"] == choose(y == 1, score, "f1")[0]
    assert t["value"] != 0.5  # the test would not show the threshold was applied otherwise
    for split, frame in (("valid", binary.valid), ("test", binary.test)):
        score, y = _scores(binary, frame)
        pred = np.where(score >= t["value"], 1, 0)
        expected = sklearn_classification(y, pred, score, binary.model.classes_)
        for name, value in expected.items():
            assert m[split][name] == pytest.approx(value, rel=1e-12), name
        cm = skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
        assert m["confusion_matrix"][split]["matrix"] == cm
    rows = out["predictions"]
    assert (rows["y_pred"] == (rows["score"] >= t["value"]).astype(int)).all()


def test_fixed_threshold(binary):
    m = binary.evaluate(threshold=0.9)["metrics"]
    assert m["threshold"] == {"value": 0.9, "chosen_by": "fixed", "split": None}
    score, y = _scores(binary, binary.test)
    assert m["test"]["recall"] == pytest.approx(skm.recall_score(y, (score >= 0.9).astype(int)))


def test_threshold_refused_for_multiclass_and_regression(multiclass, regression):
    for case in (multiclass, regression):
        with pytest.raises(SpecError) as err:
            case.evaluate(threshold={"choose_by": "f1"})
        assert err.value.problems[0].loc == ("evaluate", "threshold")
        assert "binary classification" in err.value.problems[0].message


def test_choosing_needs_a_validation_split(binary):
    import copy

    c = copy.copy(binary)
    c.valid = c.valid.head(0)
    with pytest.raises(SpecError, match="needs a validation split"):
        c.evaluate(threshold={"choose_by": "youden"})
    assert c.evaluate(threshold=0.5)["metrics"]["threshold"]["value"] == 0.5
