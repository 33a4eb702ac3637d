"""The fast path is bit-identical to the pipeline or off (never approximately right), and the
request log (Interface 2) writes one JSON line per scored row, rolls files, drops when full."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlspec.serve.fastpath import compile_fast
from mlspec.serve.requestlog import RequestLog


def _data(n_classes: int = 2) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame["x5"] = np.round(frame["x5"] * 3).astype("int64")
    return frame, y


def _pipeline(estimator: Any, scaler: Any = None) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from mlspec.stages.features.transformers import FeatureTransformer

    frame, y = _data(3 if "multi" in str(estimator) else 2)
    steps = Pipeline([("impute", SimpleImputer()), ("scale", scaler or StandardScaler())])
    features = FeatureTransformer(
        [("numeric", steps, list(frame.columns))],
        remainder="drop",
        verbose_feature_names_out=False,
        sparse_threshold=0.0,
    )
    return Pipeline([("features", features), ("model", estimator)]).fit(frame, y), frame


def _reference(model: Any, frame: Any) -> Any:
    columns = frame.columns

    def ref(X: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
        df = pd.DataFrame(X, columns=columns).astype(frame.dtypes.to_dict())
        return model.predict(df), model.predict_proba(df) if probabilities else None

    return ref


def _lgbm() -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(n_estimators=15, verbose=-1, n_jobs=1)


def _xgb() -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(n_estimators=15, n_jobs=2)


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def _robust() -> Any:
    from sklearn.preprocessing import RobustScaler

    return RobustScaler()


def _minmax() -> Any:
    from sklearn.preprocessing import MinMaxScaler

    return MinMaxScaler(clip=True)


@pytest.mark.parametrize(
    ("make", "scaler"),
    [(_lgbm, None), (_lgbm, _robust), (_lgbm, _minmax), (_xgb, None), (_logistic, _robust)],
)
def test_fast_path_is_bit_identical(make: Any, scaler: Any) -> None:
    model, frame = _pipeline(make(), scaler() if scaler else None)
    columns = [(c, str(t)) for c, t in frame.dtypes.items()]
    ref = _reference(model, frame)
    kernel, status = compile_fast(model, columns, "classification", ref)
    assert kernel is not None, status
    rows = frame.to_numpy(dtype=float)
    rows[::7, 1] = np.nan
    for i in range(0, len(rows), 37):  # one row at a time (the single-row routes) ...
        want, got = ref(rows[i : i + 1], True), kernel(rows[i : i + 1], True)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])
    want, got = ref(rows, True), kernel(rows, True)  # ... and all at once
    assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])


def test_fast_path_off_for_what_it_does_not_compile() -> None:
    from sklearn.preprocessing import QuantileTransformer

    model, frame = _pipeline(_lgbm(), QuantileTransformer(n_quantiles=50))
    columns = [(c, str(t)) for c, t in frame.dtypes.items()]
    kernel, status = compile_fast(model, columns, "classification", _reference(model, frame))
    assert kernel is None and status == "off: transformer QuantileTransformer is not compiled"
    kernel, status = compile_fast(model, [*columns[:-1], ("x5", "object")], "classification", None)  # type: ignore[arg-type]
    assert kernel is None and "non-numeric" in status

    def liar(X: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
        preds, proba = _reference(model2, frame)(X, probabilities)
        return preds, proba + 1e-12

    model2, _ = _pipeline(_lgbm())
    kernel, status = compile_fast(model2, columns, "classification", liar)
    assert kernel is None and "disagrees" in status


def _lines(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(x) for f in sorted(directory.glob("*.jsonl")) for x in f.read_text().splitlines()
    ]


def test_request_log_lines_rolling_and_drops(tmp_path: Path) -> None:
    log = RequestLog(tmp_path, "m", max_bytes=400, max_files=3)
    log.start()
    for i in range(10):
        log.submit(
            "m",
            2,
            f"r{i}",
            {"a": [1.5, float(i)], "b": ["x", None]},
            np.array([0, 1]),
            np.array([[0.9, 0.1], [0.2, 0.8]]),
        )
    log.close()
    files = sorted((tmp_path / "m").glob("requests-*-*.jsonl"))
    assert len(files) == 3  # rolled past 400 bytes, oldest deleted beyond 3 files
    lines = _lines(tmp_path / "m")
    assert lines[-1] == {
        "ts": lines[-1]["ts"],
        "model": "m",
        "version": 2,
        "request_id": "r9",
        "inputs": {"a": 9.0, "b": None},
        "prediction": 1,
        "probabilities": [0.2, 0.8],
    }
    assert time.strptime(lines[-1]["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert log.written == 20 and log.dropped == 0

    full = RequestLog(tmp_path, "full", queue_size=1)  # not started: the queue fills up
    dropped: list[int] = []
    full.on_drop = dropped.append
    assert full.submit("full", 1, "a", {"a": [1]}, [0], None)
    assert not full.submit("full", 1, "b", {"a": [1, 2]}, [0, 1], None)
    assert full.dropped == 2 and dropped == [2]
