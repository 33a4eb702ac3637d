"""Small frames and a one-call train-stage runner for the model tests (kept fast on purpose)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage
from mlspec.stages.builtin.train import TrainParams, TrainStage

CTX = StageContext(node="t", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)


def _splits(frame: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n = len(shuffled)
    a, b = int(0.6 * n), int(0.8 * n)
    return {"train": shuffled.iloc[:a], "valid": shuffled.iloc[a:b], "test": shuffled.iloc[b:]}


@pytest.fixture(scope="session")
def cancer() -> dict[str, pd.DataFrame]:
    """breast_cancer: 569 rows, 30 numeric features, binary target."""
    from sklearn.datasets import load_breast_cancer

    return _splits(load_breast_cancer(as_frame=True).frame)


@pytest.fixture(scope="session")
def diabetes() -> dict[str, pd.DataFrame]:
    from sklearn.datasets import load_diabetes

    return _splits(load_diabetes(as_frame=True).frame)


@pytest.fixture(scope="session")
def wine() -> dict[str, pd.DataFrame]:
    """Three classes (labels 0, 1, 2)."""
    from sklearn.datasets import load_wine

    return _splits(load_wine(as_frame=True).frame)


@pytest.fixture(scope="session")
def mixed() -> dict[str, pd.DataFrame]:
    """Numeric and categorical columns: transformed names include one-hot names."""
    rng = np.random.default_rng(0)
    n = 300
    color = rng.choice(["red", "green", "blue"], n)
    x = rng.normal(size=n)
    noise = rng.normal(size=n)
    y = ((x + (color == "red") * 1.5 + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    frame = pd.DataFrame({"x": x, "noise": noise, "color": color, "target": y})
    return _splits(frame)


@pytest.fixture(scope="session")
def fit():
    """fit(splits, model, valid=None, **train_options) -> (fitted Pipeline, report)."""
    transformers: dict[int, Any] = {}

    def run(
        splits: dict[str, pd.DataFrame],
        model: dict[str, Any],
        valid: pd.DataFrame | None = None,
        **options: Any,
    ) -> tuple[Any, dict[str, Any]]:
        train = splits["train"]
        cached = transformers.get(id(train))
        if cached is None or cached[0] is not train:  # the frame is kept: ids stay unique
            params = FeaturesParams(target="target")
            transformer = FeaturesStage().run(params, {"train": train}, CTX)["transformer"]
            cached = transformers[id(train)] = (train, transformer)
        inputs = {
            "transformer": cached[1],
            "train": train,
            "valid": splits["valid"] if valid is None else valid,
        }
        params = TrainParams(model=model, target="target", **options)
        out = TrainStage().run(params, inputs, CTX)
        return out["model"], out["report"]

    return run
