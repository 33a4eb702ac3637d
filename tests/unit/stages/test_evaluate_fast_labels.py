"""evaluate derives LightGBM/XGBoost labels from predict_proba: they must equal predict()'s."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlspec.stages.builtin.evaluate import _predict


def _estimator(kind: str) -> object:
    if kind == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_estimators=15, verbose=-1, random_state=0)
    if kind == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(n_estimators=15, random_state=0)
    from xgboost import XGBRFClassifier

    return XGBRFClassifier(n_estimators=15, random_state=0)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost", "xgboost_rf"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_labels_from_probabilities_equal_predict(kind: str, n_classes: int) -> None:
    X, y = make_classification(
        n_samples=3000, n_features=8, n_informative=5, n_classes=n_classes, random_state=1
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]).assign(y=y)
    model = Pipeline([("features", StandardScaler()), ("model", _estimator(kind))])
    model.fit(frame.drop(columns=["y"]), y)
    got = _predict(model, frame, "y", "classification", ["accuracy"], "test")
    X_only = frame.drop(columns=["y"])
    assert np.array_equal(got.pred, model.predict(X_only))
    proba = model.predict_proba(X_only)
    assert np.array_equal(got.score, proba[:, 1] if n_classes == 2 else proba)
