"""Acceptance (a): what the features stage learns comes from the training split only, and target
encoding is cross-fitted (a training row's encoding never uses its own target)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from feature_helpers import run_features

from mlspec.stages.builtin.split import SplitParams, SplitStage
from mlspec.stages.features.builtins import BUILTIN_STEPS


def _split(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    from pathlib import Path

    from mlspec.stages.api import StageContext

    ctx = StageContext(node="split", run_id="t", project_root=Path("."), log=lambda m: None)
    params = SplitParams(kind="time", column="t", valid=0.2, test=0.2, target="y")
    return SplitStage().run(params, {"data": df}, ctx)


@pytest.fixture
def drifting() -> pd.DataFrame:
    """A level that drifts over time: the train split's statistics differ from the whole's."""
    rng = np.random.default_rng(0)
    n = 500
    return pd.DataFrame(
        {
            "t": np.arange(n),
            "level": np.linspace(0, 100, n) + rng.normal(0, 1, n),
            "spread": rng.normal(0, 1, n) * np.linspace(1, 10, n),
            "y": rng.normal(size=n),
        }
    )


def test_scaler_statistics_are_the_train_splits(drifting):
    train = _split(drifting)["train"]
    assert len(train) < len(drifting)
    out = run_features(
        train, drop=["t"], numeric={"columns": ["level", "spread"], "steps": ["scale"]}
    )
    scaler = out["transformer"].named_transformers_["numeric"][-1]
    cols = ["level", "spread"]
    np.testing.assert_allclose(scaler.mean_, train[cols].mean().to_numpy())
    np.testing.assert_allclose(scaler.scale_, train[cols].std(ddof=0).to_numpy())
    whole = drifting[cols]
    assert not np.allclose(scaler.mean_, whole.mean().to_numpy(), rtol=0.05)
    assert not np.allclose(scaler.scale_, whole.std(ddof=0).to_numpy(), rtol=0.05)


def test_fitted_quantile_clip_and_bins_come_from_train(drifting):
    train = _split(drifting)["train"]
    out = run_features(
        train,
        drop=["t"],
        numeric={"columns": ["level"], "steps": [{"clip": {"quantiles": [0.1, 0.9]}}]},
        groups={"binned": {"columns": ["level"], "steps": [{"bin": 4}]}},
    )
    t = out["transformer"]
    clip = t.named_transformers_["numeric"][-1]
    np.testing.assert_allclose(
        [clip.lower_[0], clip.upper_[0]], train["level"].quantile([0.1, 0.9]).to_numpy()
    )
    edges = t.named_transformers_["binned"][-1].bin_edges_[0]
    assert edges.max() == pytest.approx(train["level"].max())
    assert edges.max() < drifting["level"].max()


def _cities() -> pd.DataFrame:
    """Category 'a': targets 0,0,0,0,10 -> plain mean 2, but the row with 10 must not see its
    own 10 (its out-of-fold mean is 0). A category's plain mean includes every row."""
    rows = [("a", 0.0)] * 4 + [("a", 10.0)] + [("b", 5.0), ("b", 6.0), ("b", 7.0), ("b", 4.0)]
    rows += [("c", float(v)) for v in (1, 2, 3, 2, 1)]
    return pd.DataFrame(rows, columns=["city", "y"])


def test_target_encoding_is_cross_fitted_on_train():
    train = _cities()
    steps = [{"target_encode": {"cv": 5, "smooth": 0.0}}]
    out = run_features(train, numeric={"columns": []}, categorical={"steps": steps})
    t = out["transformer"]
    X = train.drop(columns="y")
    # What the train stage gets for the training rows: the cross-fitted values ...
    on_train = t.transform(X)[:, 0]
    plain_means = train.groupby("city")["y"].transform("mean").to_numpy()
    assert not np.allclose(on_train, plain_means)
    # ... in particular the outlier row never sees its own target:
    assert on_train[4] < plain_means[4] == pytest.approx(2.0)
    # fit_transform (cross-fitted) differs from fit().transform (full-data encodings)
    options = {"cv": 5, "smooth": 0.0, "target_type": "continuous"}
    encoder = BUILTIN_STEPS["target_encode"].build(options, "categorical")
    cross = encoder.fit_transform(X, train["y"])[:, 0]
    full = encoder.fit(X, train["y"]).transform(X)[:, 0]
    assert not np.allclose(cross, full)
    np.testing.assert_allclose(full, plain_means)  # smooth=0: plain per-category means
    np.testing.assert_allclose(on_train, cross)  # the stage hands out the cross-fitted ones


def test_new_rows_get_the_full_training_encoding():
    train = _cities()
    out = run_features(
        train, numeric={"columns": []}, categorical={"steps": [{"target_encode": {"smooth": 0.0}}]}
    )
    new = pd.DataFrame({"city": ["a", "b", "zzz"]})
    got = out["transformer"].transform(new)[:, 0]
    np.testing.assert_allclose(got[:2], [2.0, 5.5])
    assert got[2] == pytest.approx(train["y"].mean())  # unseen: the global mean


def test_target_encoding_is_deterministic_for_the_cache():
    train = _cities()
    kw = {"numeric": {"columns": []}, "categorical": {"steps": ["target_encode"]}}
    a, b = run_features(train, **kw)["transformer"], run_features(train, **kw)["transformer"]
    X = train.drop(columns="y")
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_model_trained_through_the_train_stage_sees_cross_fitted_values():
    """The train stage transforms the train split with the fitted transformer: it must get the
    out-of-fold encodings, and a pickled transformer keeps that behaviour."""
    import pickle

    train = _cities()
    out = run_features(train, numeric={"columns": []}, categorical={"steps": ["target_encode"]})
    t = pickle.loads(pickle.dumps(out["transformer"]))
    X = train.drop(columns="y")
    encoder = BUILTIN_STEPS["target_encode"].build({"target_type": "continuous"}, "categorical")
    np.testing.assert_allclose(t.transform(X)[:, 0], encoder.fit_transform(X, train["y"])[:, 0])
    # a frame that differs from train in one value is transformed normally
    other = X.copy()
    other.loc[0, "city"] = "b"
    np.testing.assert_allclose(
        t.transform(other)[1:, 0], encoder.fit(X, train["y"]).transform(X)[1:, 0]
    )
