"""Helpers for the serving tests: small models registered through the registry API, and the
real app on uvicorn in a background thread (a real socket, real HTTP).

Models (fitted in-process, the same Pipeline(features=FeatureTransformer, model=...) shape the
train stage builds, saved as real bundles with skops):

- ``bc_clf``: breast cancer, LightGBM classifier, numeric only (the fast path compiles it);
- ``diab_reg``: diabetes plus a string column ``region``, LightGBM regressor with one-hot
  encoding (the fast path does not compile it: DataFrame route);
- ``swap_clf``: two versions (different tree counts), @champion on version 1 (hot swap test).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLF_ROWS = 40  # rows the equality tests send (the first rows of the breast cancer data)


def bc_frame() -> Any:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def diab_frame() -> Any:
    import numpy as np
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    regions = np.array(["north", "south", "east", "west"])
    frame.insert(2, "region", regions[np.arange(len(frame)) % 4])
    return frame


def fit(frame: Any, target: str, estimator: Any, categorical: tuple[str, ...] = ()) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from mlspec.stages.features.transformers import FeatureTransformer

    X = frame.drop(columns=[target])
    numeric = [c for c in X.columns if c not in categorical]
    blocks: list[tuple[str, Any, list[str]]] = [
        (
            "numeric",
            Pipeline(
                [("0_impute", SimpleImputer(strategy="median")), ("1_scale", StandardScaler())]
            ),
            numeric,
        )
    ]
    if categorical:
        blocks.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(categorical),
            )
        )
    features = FeatureTransformer(
        blocks, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0.0
    )
    model = Pipeline([("features", features), ("model", estimator)])
    return model.fit(X, frame[target])


def register(root: Path, name: str, model: Any, train: Any, target: str, alias: str | None) -> int:
    from mlspec.registry.bundle import build_bundle
    from mlspec.registry.registry import Registry

    registry = Registry.for_project(root)
    payload = build_bundle(model, train, target, {"name": name, "run_id": None})
    digest = registry.store_bundle(payload)
    version, _ = registry.db.add_version(
        name,
        digest,
        payload.model_digest,
        payload.manifest["model"]["format"],
        None,
        "test",
        {},
        {},
    )
    if alias:
        registry.db.set_alias(name, alias, version, reason="test")
    return version


def build_project(root: Path) -> Path:
    from lightgbm import LGBMClassifier, LGBMRegressor

    root.mkdir(parents=True, exist_ok=True)
    bc = bc_frame()
    lgbm = {"verbose": -1, "random_state": 7, "n_jobs": 1}
    register(
        root,
        "bc_clf",
        fit(bc, "target", LGBMClassifier(n_estimators=30, **lgbm)),
        bc,
        "target",
        "champion",
    )
    diab = diab_frame()
    reg = fit(diab, "target", LGBMRegressor(n_estimators=30, **lgbm), categorical=("region",))
    register(root, "diab_reg", reg, diab, "target", "champion")
    register(
        root,
        "swap_clf",
        fit(bc, "target", LGBMClassifier(n_estimators=5, **lgbm)),
        bc,
        "target",
        "champion",
    )
    register(
        root,
        "swap_clf",
        fit(bc, "target", LGBMClassifier(n_estimators=15, **lgbm)),
        bc,
        "target",
        None,
    )
    return root


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port in a daemon thread."""

    def __init__(self, app: Any):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        with contextlib.suppress(OSError):
            self.sock.close()


@contextlib.contextmanager
def serving(ref: str, root: Path, **settings: Any) -> Iterator[ServerThread]:
    from mlspec.serve.app import ServeSettings, create_app
    from mlspec.serve.hotswap import ModelHolder
    from mlspec.serve.pipeline import ScoringPipeline

    pipe = ScoringPipeline.load(ref, root)
    app = create_app(ModelHolder(pipe, root), ServeSettings(**settings))
    with ServerThread(app) as server:
        yield server
