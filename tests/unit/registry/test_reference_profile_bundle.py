"""The bundle's reference_profile.json: built by the register path, under the model digest,
exposed by load_bundle, absent (and harmless) in bundles registered before it existed."""

from __future__ import annotations

import json

import numpy as np
from registry_helpers import METRICS, fit_pipeline, make_frame

from mlspec.monitor.profile import ReferenceProfile
from mlspec.registry.bundle import METADATA, REFERENCE_PROFILE, build_bundle, model_digest_of
from mlspec.registry.loader import load_bundle


def _store(registry, payload, name="clf", run="r1") -> int:
    digest = registry.store_bundle(payload)
    version, _ = registry.db.add_version(
        name, digest, payload.model_digest, payload.manifest["model"]["format"], run, "spec",
        METRICS, {},
    )  # fmt: skip
    return version


def test_profile_covers_train_features_target_and_held_out_scores(pipeline, frame):
    valid = make_frame(n=80, seed=3)
    payload = build_bundle(pipeline, frame, "target", {"run_id": "r1"}, valid=valid)
    assert REFERENCE_PROFILE in payload.manifest["model_digest_covers"]
    entry = payload.manifest["files"][REFERENCE_PROFILE]
    assert entry["size"] == len(payload.files[REFERENCE_PROFILE])
    digests = {n: e["digest"] for n, e in payload.manifest["files"].items()}
    assert payload.model_digest == model_digest_of(digests)
    profile = ReferenceProfile.from_json(json.loads(payload.files[REFERENCE_PROFILE]))
    assert profile.rows == len(frame)
    assert list(profile.columns) == [f"x{i}" for i in range(5)]  # the target is not a feature
    x0 = profile.columns["x0"]
    assert x0["kind"] == "numeric" and x0["count"] == len(frame)
    assert np.allclose(x0["values"], np.sort(frame["x0"].to_numpy()))
    assert profile.target is not None and profile.target["categories"] in ([0, 1], [1, 0])
    # held-out scores: the probability of the positive class on the valid rows
    assert profile.prediction is not None and profile.prediction["name"] == "proba_1"
    scores = pipeline.predict_proba(valid.drop(columns=["target"]))[:, 1]
    assert np.allclose(profile.prediction["values"], np.sort(scores))


def test_profile_is_deterministic_so_the_model_digest_is_stable(pipeline, frame):
    valid = make_frame(n=80, seed=3)
    a = build_bundle(pipeline, frame, "target", {"run_id": "r1"}, valid=valid)
    b = build_bundle(pipeline, frame, "target", {"run_id": "r2"}, valid=valid)
    assert a.files[REFERENCE_PROFILE] == b.files[REFERENCE_PROFILE]
    assert a.model_digest == b.model_digest
    c = build_bundle(pipeline, frame.iloc[:100], "target", {"run_id": "r3"}, valid=valid)
    assert c.model_digest != a.model_digest  # other reference data, other bundle


def test_load_bundle_exposes_the_profile(registry, pipeline, frame):
    valid = make_frame(n=80, seed=3)
    _store(registry, build_bundle(pipeline, frame, "target", {"run_id": "r1"}, valid=valid))
    bundle = load_bundle("clf:1", registry.store.root.parent)
    profile = bundle.reference_profile
    assert isinstance(profile, ReferenceProfile)
    assert set(profile.columns) == set(bundle.feature_names)


def test_bundles_without_a_profile_still_load(registry, pipeline, frame):
    payload = build_bundle(pipeline, frame, "target", {"run_id": "r1"}, with_profile=False)
    assert REFERENCE_PROFILE not in payload.files
    assert sorted(payload.files) == sorted(
        {"model.skops", "input_schema.json", "output_schema.json", "requirements.txt", METADATA}
    )
    _store(registry, payload)
    bundle = load_bundle("clf:1", registry.store.root.parent)
    assert bundle.reference_profile is None and bundle.reference_profile_json is None
    X = frame.drop(columns=["target"])
    assert np.array_equal(bundle.predict(X), pipeline.predict(X))


def test_regressor_profile_keeps_predicted_values():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True).frame
    train, valid = data.iloc[:300], data.iloc[300:]
    model = Ridge().fit(train.drop(columns=["target"]), train["target"])
    payload = build_bundle(model, train, "target", {}, valid=valid)
    profile = ReferenceProfile.from_json(json.loads(payload.files[REFERENCE_PROFILE]))
    assert profile.prediction is not None and profile.prediction["name"] == "prediction"
    assert profile.prediction["kind"] == "numeric"
    expected = np.sort(model.predict(valid.drop(columns=["target"])))
    assert np.allclose(profile.prediction["values"], expected)
    assert profile.target is not None and profile.target["kind"] == "numeric"


def test_multiclass_profile_keeps_predicted_labels():
    frame = make_frame(n=150)
    frame["target"] = np.arange(150) % 3
    pipe = fit_pipeline(frame)
    payload = build_bundle(pipe, frame, "target", {}, valid=frame.iloc[:60])
    profile = ReferenceProfile.from_json(json.loads(payload.files[REFERENCE_PROFILE]))
    assert profile.prediction is not None and profile.prediction["kind"] == "categorical"
    assert set(profile.prediction["categories"]) <= {0, 1, 2}
    assert profile.prediction["count"] == 60
