"""Fitted small models and a one-call evaluate-stage runner for the evaluation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.evaluate import EvaluateParams, EvaluateStage

CTX = StageContext(node="e", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)


class Case:
    """A fitted model with its valid and test frames (a ``group`` column to slice by)."""

    def __init__(self, loader: Any, estimator: Any):
        df = loader(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
        rng = np.random.default_rng(0)
        df["group"] = rng.choice(["a", "b", "c"], size=len(df), p=[0.5, 0.3, 0.2])
        n = len(df)
        self.features = [c for c in df.columns if c not in ("target", "group")]
        train = df.iloc[: n // 2]
        self.valid, self.test = df.iloc[n // 2 : 3 * n // 4], df.iloc[3 * n // 4 :]
        # Like mlspec's own models: the feature transformer picks its columns (drops ``group``).
        features = ColumnTransformer([("numeric", StandardScaler(), self.features)])
        self.model = Pipeline([("features", features), ("model", estimator)])
        self.model.fit(train.drop(columns="target"), train["target"])

    def X(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.drop(columns="target")

    def evaluate(self, **params: Any) -> dict[str, Any]:
        params.setdefault("target", "target")
        inputs = {"model": self.model, "valid": self.valid, "test": self.test}
        return EvaluateStage().run(EvaluateParams(**params), inputs, CTX)


@pytest.fixture(scope="session")
def binary() -> Case:
    return Case(load_breast_cancer, LogisticRegression(max_iter=2000))


@pytest.fixture(scope="session")
def multiclass() -> Case:
    return Case(load_iris, LogisticRegression(max_iter=2000))


@pytest.fixture(scope="session")
def svc() -> Case:
    return Case(load_breast_cancer, LinearSVC())


@pytest.fixture(scope="session")
def regression() -> Case:
    return Case(load_diabetes, LinearRegression())
