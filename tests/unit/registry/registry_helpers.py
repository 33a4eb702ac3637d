"""Small fitted pipelines and a throw-away store for the registry's unit tests (imported by
conftest.py and the test modules under a unique module name)."""

from __future__ import annotations

from typing import Any


def make_frame(n: int = 120, seed: int = 0) -> Any:
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=5, random_state=seed)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    df["target"] = y
    return df


def fit_pipeline(df: Any, estimator: Any = None) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    est = estimator if estimator is not None else LogisticRegression(max_iter=500)
    pipe = Pipeline([("scale", StandardScaler()), ("model", est)])
    return pipe.fit(df.drop(columns=["target"]), df["target"])


METRICS = {"task": "classification", "valid": {"roc_auc": 0.9}, "test": {"roc_auc": 0.91}}


def register(registry: Any, pipeline: Any, frame: Any, name: str = "clf", run: str = "r1") -> int:
    """Store a bundle of ``pipeline`` and add it as a version of ``name``; returns the version."""
    from mlspec.registry.bundle import build_bundle

    payload = build_bundle(pipeline, frame, "target", {"run_id": run, "metrics": METRICS})
    digest = registry.store_bundle(payload)
    version, _ = registry.db.add_version(
        name,
        digest,
        payload.model_digest,
        payload.manifest["model"]["format"],
        run,
        "spec",
        METRICS,
        {"team": "a"},
    )
    return version
