"""Bundles: contents, skops with explicit trusted types, deterministic model digest, fallback."""

from __future__ import annotations

import io
import json
import zipfile

import joblib
import numpy as np
from registry_helpers import fit_pipeline, make_frame
from sklearn.base import BaseEstimator, TransformerMixin

from mlspec.registry.bundle import METADATA, build_bundle, normalise_skops


def _joblib_roundtrip(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    buf.seek(0)
    return joblib.load(buf)


def test_bundle_holds_schemas_requirements_and_a_skops_model(pipeline, frame) -> None:
    payload = build_bundle(pipeline, frame, "target", {"run_id": "r1"})
    files, manifest = payload.files, payload.manifest
    assert set(files) == {
        "model.skops",
        "input_schema.json",
        "output_schema.json",
        "requirements.txt",
        "reference_profile.json",
        METADATA,
    }
    assert manifest["model"]["format"] == "skops"
    assert isinstance(manifest["model"]["trusted_types"], list)
    inputs = json.loads(files["input_schema.json"])
    assert [c["name"] for c in inputs["columns"]] == [f"x{i}" for i in range(5)]
    assert {c["dtype"] for c in inputs["columns"]} == {"float64"}
    out = json.loads(files["output_schema.json"])
    assert out["classes"] == [0, 1] and out["probability_columns"] == ["proba_0", "proba_1"]
    reqs = files["requirements.txt"].decode().split()
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert any(r.startswith("skops==") for r in reqs)
    assert manifest["model_digest_covers"] == sorted(set(files) - {METADATA})
    for name, entry in manifest["files"].items():
        assert entry["size"] == len(files[name])


def test_model_digest_ignores_metadata_and_object_identity(pipeline, frame) -> None:
    a = build_bundle(pipeline, frame, "target", {"run_id": "r1", "created_at": "t1"})
    # The same model as the cache hands it over (joblib round trip: arrays no longer shared)
    b = build_bundle(_joblib_roundtrip(pipeline), frame, "target", {"run_id": "r2"})
    assert a.files["model.skops"] == b.files["model.skops"]
    assert a.model_digest == b.model_digest
    assert a.files[METADATA] != b.files[METADATA]
    # A different model gives a different digest.
    other = fit_pipeline(make_frame(seed=1))
    assert build_bundle(other, frame, "target", {}).model_digest != a.model_digest


def test_normalised_skops_has_fixed_timestamps_and_loads(pipeline, frame) -> None:
    import skops.io as sio

    data = normalise_skops(sio.dumps(pipeline))
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    X = frame.drop(columns=["target"])
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert np.array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))


def test_lightgbm_pipeline_uses_skops_with_its_types_trusted(frame) -> None:
    import lightgbm

    pipe = fit_pipeline(frame, lightgbm.LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1))
    payload = build_bundle(pipe, frame, "target", {})
    assert payload.manifest["model"]["format"] == "skops"
    assert "lightgbm.basic.Booster" in payload.manifest["model"]["trusted_types"]
    reqs = payload.files["requirements.txt"].decode().split()
    assert any(r.startswith("lightgbm==") for r in reqs)


class Doubler(TransformerMixin, BaseEstimator):
    """A project-local transformer: its module is not one a bundle may ask skops to trust."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2


def test_types_skops_may_not_trust_fall_back_to_joblib_and_say_why(frame) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("f", Doubler()), ("m", LogisticRegression(max_iter=500))])
    pipe.fit(frame.drop(columns=["target"]), frame["target"])
    payload = build_bundle(pipe, frame, "target", {})
    model = payload.manifest["model"]
    assert model["format"] == "joblib"
    assert "types outside the trustable modules" in model["fallback_reason"]
    assert "test_model_bundle.Doubler" in model["fallback_reason"]
    assert set(payload.files) >= {"model.joblib"} and "model.skops" not in payload.files
