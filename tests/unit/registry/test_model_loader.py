"""load_bundle: digests are verified before anything is decoded (acceptance e)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from registry_helpers import register

from mlspec.registry.errors import BundleIntegrityError
from mlspec.registry.loader import load_bundle


@pytest.fixture
def no_decoding(monkeypatch):
    """``arm()`` makes every decoder fail loudly: a refused bundle must never reach one."""
    import joblib
    import skops.io

    def boom(*args, **kwargs):
        raise AssertionError("a decoder was called on an unverified bundle")

    def arm() -> None:
        monkeypatch.setattr(skops.io, "loads", boom)
        monkeypatch.setattr(skops.io, "load", boom)
        monkeypatch.setattr(joblib, "load", boom)

    return arm


def _flip_one_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def test_load_by_alias_version_and_name_predicts_like_the_pipeline(registry, pipeline, frame):
    version = register(registry, pipeline, frame)
    registry.db.set_alias("clf", "champion", version, "test")
    X = frame.drop(columns=["target"])
    root = registry.store.root.parent
    for ref in ("clf@champion", "clf:1", "clf"):
        bundle = load_bundle(ref, root)
        assert np.array_equal(bundle.predict(X), pipeline.predict(X))
        assert np.array_equal(bundle.predict_proba(X), pipeline.predict_proba(X))
    assert bundle.input_schema["columns"][0] == {"name": "x0", "dtype": "float64"}
    assert bundle.metadata["run_id"] == "r1"
    # extra columns are ignored, columns are taken by name whatever their order
    shuffled = X[list(reversed(X.columns))].assign(extra=1)
    assert np.array_equal(bundle.predict(shuffled), pipeline.predict(X))


@pytest.mark.parametrize(
    "victim", ["model.skops", "input_schema.json", "requirements.txt", "reference_profile.json"]
)
def test_one_changed_byte_is_refused_before_decoding(
    registry, pipeline, frame, no_decoding, victim
):
    version = register(registry, pipeline, frame)
    manifest = json.loads(
        registry.store.objects.path_for(
            registry.db.get_version("clf", version).bundle_digest
        ).read_bytes()
    )
    expected = manifest["files"][victim]["digest"]
    _flip_one_byte(registry.store.objects.path_for(expected))
    no_decoding()
    with pytest.raises(BundleIntegrityError) as err:
        load_bundle("clf:1", registry.store.root.parent)
    text = err.value.render()
    assert f"{victim} does not match its digest: expected {expected}, found blake3:" in text
    assert "refusing to load it" in text


def test_changed_manifest_is_refused(registry, pipeline, frame, no_decoding):
    register(registry, pipeline, frame)
    digest = registry.db.get_version("clf", 1).bundle_digest
    _flip_one_byte(registry.store.objects.path_for(digest))
    no_decoding()
    with pytest.raises(BundleIntegrityError, match=r"manifest.json does not match its digest"):
        load_bundle("clf:1", registry.store.root.parent)


def test_exported_directory_loads_and_is_verified(registry, pipeline, frame, tmp_path):
    register(registry, pipeline, frame)
    out = registry.export(registry.resolve("clf:1"), tmp_path / "bundle")
    assert (out / "manifest.json").is_file() and (out / "model.skops").is_file()
    X = frame.drop(columns=["target"])
    assert np.array_equal(load_bundle(out).predict(X), pipeline.predict(X))
    _flip_one_byte(out / "model.skops")
    with pytest.raises(BundleIntegrityError, match=r"bundle file model\.skops does not match"):
        load_bundle(out)


def test_manifest_asking_to_trust_foreign_types_is_refused(registry, pipeline, frame, tmp_path):
    register(registry, pipeline, frame)
    out = registry.export(registry.resolve("clf:1"), tmp_path / "bundle")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["model"]["trusted_types"].append("os.system")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleIntegrityError, match=r"outside the allowed modules: os\.system"):
        load_bundle(out)


def test_joblib_fallback_bundle_loads_and_is_verified_before_unpickling(
    registry, frame, no_decoding
):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from test_model_bundle import Doubler

    X = frame.drop(columns=["target"])
    pipe = Pipeline([("f", Doubler()), ("m", LogisticRegression(max_iter=500))]).fit(
        X, frame["target"]
    )
    register(registry, pipe, frame)
    bundle = load_bundle("clf:1", registry.store.root.parent)
    assert bundle.manifest["model"]["format"] == "joblib"
    assert np.array_equal(bundle.predict(X), pipe.predict(X))
    digest = bundle.manifest["files"]["model.joblib"]["digest"]
    _flip_one_byte(registry.store.objects.path_for(digest))
    no_decoding()
    with pytest.raises(BundleIntegrityError, match=r"model\.joblib does not match its digest"):
        load_bundle("clf:1", registry.store.root.parent)


def test_a_directory_without_manifest_is_not_a_bundle(tmp_path):
    from mlspec.registry.errors import RegistryError

    with pytest.raises(RegistryError, match=r"has no manifest\.json"):
        load_bundle(str(tmp_path))


def test_builtin_callables_are_never_trusted() -> None:
    from mlspec.registry.bundle import check_trusted

    trusted = ["collections.OrderedDict", "sklearn.pipeline.Pipeline", "builtins.set"]
    assert check_trusted([*trusted, "builtins.eval", "collections.abc.Callable"]) == [
        "builtins.eval",
        "collections.abc.Callable",
    ]
