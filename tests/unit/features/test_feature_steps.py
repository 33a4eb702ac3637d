"""Built-in steps, custom ``_target_`` steps and ``mlspec.transforms`` steps, with their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from feature_helpers import run_features
from pydantic import ValidationError

from mlspec.errors import SpecError
from mlspec.stages.builtin.features import FeaturesParams
from mlspec.stages.features import steps as steps_mod
from mlspec.stages.features.build import check_steps
from mlspec.stages.registry import PluginEntry


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, np.nan, 4.0, 100.0, 6.0],
            "z": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
            "c": ["a", "b", "a", "c", "a", "b"],
            "ts": pd.to_datetime(
                ["2024-01-06", "2024-02-29 13:00", None, "2024-12-31", "2025-03-01", "2025-03-02"],
                format="mixed",
            ),
            "y": [0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
        }
    )


def _X(frame):
    return frame.drop(columns="y")


def test_impute_with_missing_indicators(frame):
    steps = [{"impute": {"strategy": "median", "add_indicator": True}}]
    out = run_features(
        frame, numeric={"columns": ["x"], "steps": steps}, categorical={"columns": []}
    )
    assert out["feature_names"]["names"] == ["x", "missingindicator_x"]
    X = out["transformer"].transform(_X(frame))
    np.testing.assert_array_equal(X[:, 1], [0, 0, 1, 0, 0, 0])
    assert X[2, 0] == 4.0  # the median of the training values


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_impute_strategies(frame, strategy):
    out = run_features(
        frame,
        numeric={"columns": ["x"], "steps": [{"impute": strategy}]},
        categorical={"columns": []},
    )
    assert not np.isnan(out["transformer"].transform(_X(frame))).any()


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust"])
def test_scalers(frame, kind):
    out = run_features(
        frame, numeric={"columns": ["z"], "steps": [{"scale": kind}]}, categorical={"columns": []}
    )
    col = out["transformer"].transform(_X(frame))[:, 0]
    assert {"standard": abs(col.mean()) < 1e-9, "minmax": col.min() == 0 and col.max() == 1}.get(
        kind, np.median(col) == 0
    )


def test_clip_fixed_and_quantile(frame):
    fixed = run_features(
        frame,
        numeric={"columns": ["x"], "steps": ["impute", {"clip": {"lower": 2, "upper": 5}}]},
        categorical={"columns": []},
    )
    np.testing.assert_array_equal(
        fixed["transformer"].transform(_X(frame))[:, 0], [2, 2, 4, 4, 5, 5]
    )
    q = run_features(
        frame,
        numeric={"columns": ["x"], "steps": [{"clip": {"quantiles": [0.0, 0.75]}}]},
        categorical={"columns": []},
    )
    col = q["transformer"].transform(_X(frame))[:, 0]
    assert np.nanmax(col) == 6.0 and np.isnan(col[2])  # clipping keeps missing values missing


def test_log1p_bin_and_names(frame):
    out = run_features(
        frame,
        numeric={"columns": ["z"], "steps": ["log1p", {"bin": {"n_bins": 3}}]},
        categorical={"columns": []},
    )
    col = out["transformer"].transform(_X(frame))[:, 0]
    assert set(col) == {0.0, 1.0, 2.0} and out["feature_names"]["names"] == ["z"]


def test_onehot_min_frequency_and_unknowns(frame):
    out = run_features(
        frame,
        numeric={"columns": []},
        categorical={"columns": ["c"], "steps": [{"onehot": {"min_frequency": 2}}]},
    )
    assert out["feature_names"]["names"] == ["c_a", "c_b", "c_infrequent_sklearn"]
    new = pd.DataFrame({"x": [1.0], "z": [1.0], "c": ["never-seen"], "ts": [pd.NaT]})
    np.testing.assert_array_equal(out["transformer"].transform(new), [[0, 0, 0]])


def test_datetime_parts(frame):
    parts = ["year", "month", "dayofweek", "hour", "dayofyear", "is_weekend"]
    out = run_features(
        frame,
        numeric={"columns": []},
        categorical={"columns": []},
        datetime={"columns": ["ts"], "steps": [{"parts": parts}]},
    )
    assert out["feature_names"]["names"] == [f"ts_{p}" for p in parts]
    X = out["transformer"].transform(_X(frame))
    np.testing.assert_array_equal(X[0], [2024, 1, 5, 0, 6, 1])  # a Saturday
    np.testing.assert_array_equal(X[1], [2024, 2, 3, 13, 60, 0])
    assert np.isnan(X[2]).all()  # missing time: every part missing


def test_datetime_parts_parse_text_and_default_parts(frame):
    text = frame.assign(ts=["2024-01-06", "2024-01-07", None, "2024-01-09", "x", "2024-01-11"])
    out = run_features(
        text, numeric={"columns": []}, categorical={"columns": []}, datetime={"columns": ["ts"]}
    )
    assert out["feature_names"]["names"] == ["ts_year", "ts_month", "ts_day", "ts_dayofweek"]
    X = out["transformer"].transform(_X(text))
    assert X[0].tolist() == [2024, 1, 6, 5] and np.isnan(X[4]).all()


def test_interactions(frame):
    out = run_features(
        frame,
        numeric={"columns": ["z"], "steps": []},
        categorical={"columns": []},
        interactions=[["x", "z"]],
    )
    assert out["feature_names"]["names"] == ["z", "x_x_z"]
    X = out["transformer"].transform(_X(frame))
    np.testing.assert_allclose(X[:, 1], [0.5, 3.0, 4.0 * 2.5, 14.0, 450.0, 33.0])  # x: median 4


def test_custom_target_step(frame):
    step = {"_target_": "sklearn.preprocessing.PolynomialFeatures", "degree": 2}
    out = run_features(
        frame, numeric={"columns": ["z"], "steps": [step]}, categorical={"columns": []}
    )
    assert out["feature_names"]["names"] == ["1", "z", "z^2"]


def test_custom_target_errors(frame):
    with pytest.raises(SpecError) as err:
        run_features(
            frame, numeric={"steps": [{"_target_": "sklearn.preprocessing.PolynomalFeatures"}]}
        )
    p = err.value.problems[0]
    assert p.loc == ("features", "numeric", "steps", 0, "_target_")
    assert "PolynomialFeatures" in p.fix
    with pytest.raises(SpecError) as err:
        run_features(
            frame,
            numeric={
                "steps": [{"_target_": "sklearn.preprocessing.PolynomialFeatures", "degre": 2}]
            },
        )
    p = err.value.problems[0]
    assert p.loc == ("features", "numeric", "steps", 0, "degre")
    assert "did you mean 'degree'" in p.fix
    with pytest.raises(SpecError, match="no fit/transform"):
        run_features(frame, numeric={"steps": [{"_target_": "sklearn.linear_model.Ridge"}]})


def test_third_party_step_from_the_entry_point_group(frame, monkeypatch):
    registry = steps_mod.TransformRegistry()
    registry._entries = {
        "normalize": [PluginEntry("normalize", "sklearn.preprocessing:Normalizer", "acme-steps")]
    }
    monkeypatch.setattr(steps_mod, "transform_registry", lambda: registry)
    out = run_features(
        frame,
        numeric={"columns": ["z"], "steps": [{"normalize": {"norm": "max"}}]},
        categorical={"columns": []},
    )
    np.testing.assert_array_equal(out["transformer"].transform(_X(frame))[:, 0], 1.0)
    params = FeaturesParams(target="y", numeric={"steps": ["normalize"]})
    from mlspec.stages.builtin.features import FeaturesStage

    assert "acme-steps" in FeaturesStage.libraries_for(params)
    with pytest.raises(ValidationError, match="did you mean 'normalize'"):
        FeaturesParams(target="y", numeric={"steps": ["normalise"]})


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("imputee", "did you mean 'impute'"),
        ({"scale": "robustt"}, "did you mean 'robust'"),
        ({"parts": {"year": 1}}, "takes one of year"),
        ({"onehot": 3}, "takes a mapping"),
        ({"a": 1, "b": 2}, "one-key mapping"),
        ({"_target_": "nodots"}, "import path"),
    ],
)
def test_step_shapes_are_checked_when_the_spec_is_validated(step, words):
    with pytest.raises(ValidationError, match=words):
        FeaturesParams(target="y", numeric={"steps": [step]})


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"clip": {"quantiles": [0.9, 0.1]}}, "low < high"),
        ({"clip": {"lower": 1, "upper": 0}}, "above upper"),
        ({"clip": {"lowr": 1}}, "unknown option"),
        ("clip", "clip needs"),
        ({"bin": {"n_bins": 1}}, "n_bins"),
        ({"target_encode": {"cv": 1}}, "cv must be"),
        ({"target_encode": {"smooth": "lots"}}, "smooth"),
        ({"parts": ["yaer"]}, "did you mean 'year'"),
        ({"impute": {"strategy": "mode"}}, "strategy"),
    ],
)
def test_bad_options_are_found_before_anything_runs(step, words):
    problems = check_steps(FeaturesParams(target="y", numeric={"steps": ["impute", step]}))
    assert len(problems) == 1
    assert problems[0].loc == ("numeric", "steps", 1)  # the engine prefixes 'features'
    assert words in problems[0].message


def test_named_groups_take_their_own_steps(frame):
    out = run_features(
        frame,
        numeric={"columns": ["z"]},
        categorical={"columns": ["c"], "steps": ["onehot"]},
        groups={"codes": {"columns": ["c"], "steps": ["ordinal"]}},
    )
    assert out["feature_names"]["groups"] == {"codes": ["c"]}
    assert out["feature_names"]["outputs"]["codes"] == ["c"]
    with pytest.raises(ValidationError, match="reserved"):
        FeaturesParams(target="y", groups={"lags": {"columns": ["c"]}})
