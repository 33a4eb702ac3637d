import json
import math
from pathlib import Path

import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_squared_error, precision_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from mlspec.errors import DataError, SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.evaluate import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    EvaluateParams,
    EvaluateStage,
)

CTX = StageContext(node="x", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)


def _fit(df, estimator):
    features = [c for c in df.columns if c != "target"]
    ct = ColumnTransformer([("numeric", StandardScaler(), features)])
    return Pipeline([("features", ct), ("model", estimator)]).fit(df[features], df["target"])


def _split(loader):
    df = loader(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    n = len(df)
    return df.iloc[: n // 2], df.iloc[n // 2 : 3 * n // 4], df.iloc[3 * n // 4 :]


def _evaluate(model, valid, test, **params):
    params.setdefault("target", "target")
    inputs = {"model": model, "valid": valid, "test": test}
    return EvaluateStage().run(EvaluateParams(**params), inputs, CTX)["metrics"]


def _plain_floats(metrics):
    json.dumps(metrics, allow_nan=False)
    for split in ("valid", "test"):
        assert all(type(v) is float for v in metrics[split].values())


def test_binary_classification():
    train, valid, test = _split(load_breast_cancer)
    model = _fit(train, LogisticRegression())
    m = _evaluate(model, valid, test)
    assert m["task"] == "classification"
    assert m["rows"] == {"valid": len(valid), "test": len(test)}
    assert list(m["test"]) == list(CLASSIFICATION_METRICS)
    assert all(0.0 <= v <= 1.0 for k, v in m["test"].items() if k != "log_loss")
    assert m["test"]["roc_auc"] > 0.95
    _plain_floats(m)


def test_binary_positive_class_is_the_larger_label():
    train, valid, test = _split(load_breast_cancer)
    relabel = {0: "a_malignant", 1: "b_benign"}
    train, valid, test = (d.assign(target=d["target"].map(relabel)) for d in (train, valid, test))
    model = _fit(train, LogisticRegression(C=0.01))
    m = _evaluate(model, valid, test, metrics=["precision", "recall"])
    pred = model.predict(test.drop(columns="target"))
    expected = precision_score(test["target"], pred, pos_label="b_benign")
    assert m["test"]["precision"] == pytest.approx(expected)
    assert list(m["test"]) == ["precision", "recall"]


def test_multiclass_uses_macro_averages_and_ovr_auc():
    train, valid, test = _split(load_iris)
    m = _evaluate(_fit(train, LogisticRegression()), valid, test)
    assert set(m["test"]) == set(CLASSIFICATION_METRICS)
    assert m["test"]["roc_auc"] > 0.9
    _plain_floats(m)


def test_regression():
    train, valid, test = _split(load_diabetes)
    model = _fit(train, LinearRegression())
    m = _evaluate(model, valid, test)
    assert m["task"] == "regression"
    assert list(m["valid"]) == list(REGRESSION_METRICS)
    pred = model.predict(test.drop(columns="target"))
    assert m["test"]["rmse"] == pytest.approx(math.sqrt(mean_squared_error(test["target"], pred)))
    _plain_floats(m)


def test_empty_valid_is_skipped():
    train, _, test = _split(load_diabetes)
    m = _evaluate(_fit(train, LinearRegression()), test.head(0), test)
    assert m["valid"] == {}
    assert m["rows"]["valid"] == 0
    assert m["test"]


def test_metric_of_the_other_task_is_a_spec_error():
    train, valid, test = _split(load_diabetes)
    with pytest.raises(SpecError) as err:
        _evaluate(_fit(train, LinearRegression()), valid, test, metrics=["rmse", "roc_auc"])
    problem = err.value.problems[0]
    assert problem.loc == ("evaluate", "metrics")
    assert "roc_auc" in problem.message
    assert "rmse" in problem.fix and "median_ae" in problem.fix


def test_explicit_task_overrides_auto():
    train, valid, test = _split(load_breast_cancer)
    model = _fit(train, LinearRegression())
    assert _evaluate(model, valid, test)["task"] == "regression"
    with pytest.raises(SpecError):
        _evaluate(model, valid, test, task="regression", metrics=["accuracy"])


def test_model_without_probabilities():
    train, valid, test = _split(load_breast_cancer)
    model = _fit(train, LinearSVC())
    m = _evaluate(model, valid, test)
    assert "log_loss" not in m["test"]
    assert m["test"]["roc_auc"] > 0.9  # from the decision function
    with pytest.raises(SpecError, match="log_loss"):
        _evaluate(model, valid, test, metrics=["log_loss"])


def test_undefined_metric_is_nan():
    train, valid, test = _split(load_breast_cancer)
    one_class = test[test["target"] == 1]
    m = _evaluate(_fit(train, LogisticRegression()), valid, one_class)
    assert math.isnan(m["test"]["roc_auc"])
    assert m["test"]["accuracy"] > 0.9


def test_missing_target():
    train, valid, test = _split(load_diabetes)
    with pytest.raises(DataError, match="'target'"):
        _evaluate(_fit(train, LinearRegression()), valid, test.drop(columns="target"))


def test_deterministic():
    train, valid, test = _split(load_iris)
    model = _fit(train, LogisticRegression())
    assert _evaluate(model, valid, test) == _evaluate(model, valid, test)
