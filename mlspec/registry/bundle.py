"""Model bundles: what a registered version holds, built deterministically.

A bundle is a small tree in the content-addressed store, like a git tree: every file is one
object, and ``manifest.json`` (an object too) lists each file with its BLAKE3 digest and size.
The manifest's own digest is the **bundle digest**; a version row in the registry points at it.

Files:

- ``model.skops`` — the fitted pipeline, saved with skops (no code runs on load; the types that
  skops does not trust by default are computed at save time and listed in the manifest), or
  ``model.joblib`` when skops cannot round-trip the pipeline (``format: joblib``, with the reason).
- ``input_schema.json`` — the columns (and dtypes) the pipeline takes: the train split without
  the target.
- ``output_schema.json`` — task, prediction dtype, class labels, probability columns.
- ``requirements.txt`` — exact installed versions of the libraries the model needs.
- ``metadata.json`` — run id, spec name, metrics, data digests, created at.
- ``reference_profile.json`` — what drift monitoring compares with (``mlspec.monitor.profile``):
  the train split's features, its target, and the model's scores on the valid split. Bundles
  registered before it existed lack it and still load.

The **model digest** covers every file except ``metadata.json`` (which holds a timestamp and the
run id): two runs that fit the same model give the same model digest, which is what
``mlspec reproduce`` compares and what makes re-registering an identical model a no-op. The skops
archive is normalised for that (fixed zip timestamps, object ids and array file names numbered in
order) — skops itself names arrays after ``id()`` and stamps the current time.
"""

from __future__ import annotations

import io
import json
import platform
from dataclasses import dataclass
from typing import Any

from mlspec.hashing import canonical_json, digest_bytes

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
METADATA = "metadata.json"
REFERENCE_PROFILE = "reference_profile.json"
# Modules whose classes a bundle may ask skops to trust; anything else is refused on load. From
# the standard library only plain containers (never a callable such as builtins.eval).
TRUSTABLE_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "lightgbm.",
    "xgboost.",
    "mlspec.",
    "pandas.",
)
TRUSTABLE_STDLIB = frozenset(
    {
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "builtins.bytes",
        "builtins.bytearray",
        "builtins.complex",
        "builtins.frozenset",
        "builtins.set",
        "builtins.slice",
        "builtins.range",
    }
)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_BASE_REQUIREMENTS = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
_KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "joblib": "joblib",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "catboost": "catboost",
}


@dataclass
class BundlePayload:
    """The files of a bundle, before they are stored."""

    files: dict[str, bytes]
    manifest: dict[str, Any]

    @property
    def model_digest(self) -> str:
        return str(self.manifest["model_digest"])

    def manifest_bytes(self) -> bytes:
        return manifest_bytes(self.manifest)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, indent=2).encode("utf-8")


def json_bytes(value: Any) -> bytes:
    """Stable, human-readable JSON (NaN metrics allowed, numpy scalars converted)."""

    def default(obj: Any) -> Any:
        tolist = getattr(obj, "tolist", None)
        if callable(tolist):
            return tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")

    return json.dumps(value, sort_keys=True, indent=2, default=default).encode("utf-8")


def model_digest_of(file_digests: dict[str, str]) -> str:
    """Digest over every file but the metadata: what identifies the *model*, not the run."""
    covered = {name: d for name, d in file_digests.items() if name != METADATA}
    return digest_bytes(canonical_json(covered).encode("utf-8"))


# -- serialisation -------------------------------------------------------------------------------


def normalise_skops(data: bytes) -> bytes:
    """Rewrite a skops archive so identical models give identical bytes.

    skops names array files after ``id(obj)``, records ``id(obj)`` as ``__id__`` for its memo and
    stamps entries with the current time. Ids are renumbered in order of appearance (a bijection,
    so shared objects stay shared), except values that cannot change after loading, which get one
    id (and file) each (see below); files are renamed ``000001.npy``..., timestamps fixed.
    """
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    present = set(src.namelist())
    schema = json.loads(src.read("schema.json"))
    ids: dict[Any, int] = {}
    fresh = [0]
    entries: list[tuple[str, str]] = []  # (new name, old name), one per occurrence

    def own_id() -> int:
        fresh[0] += 1
        return -fresh[0]

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        stored = node.get("file")
        has_file = isinstance(stored, str) and stored in present
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                # Values that never change after loading — JSON scalars, arrays and bytes kept
                # in files — get an id each: whether two of them were one object is an accident
                # of the process (interned strings; arrays shared in a fresh fit but not after
                # joblib loaded the cached model), and not sharing them changes no prediction.
                if has_file or node.get("__loader__") == "JsonNode":
                    out[key] = own_id()
                else:
                    out[key] = ids.setdefault(value, len(ids) + 1)
            elif key == "file" and isinstance(stored, str) and has_file:
                ext = stored.rsplit(".", 1)[-1] if "." in stored else "bin"
                entries.append((f"{len(entries) + 1:06d}.{ext}", stored))
                out[key] = entries[-1][0]
            else:
                out[key] = walk(value)
        return out

    schema = walk(schema)
    unknown = present - {old for _, old in entries} - {"schema.json"}
    if unknown:
        raise ValueError(f"skops archive holds unreferenced entries: {sorted(unknown)}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for new, old in entries:
            info = zipfile.ZipInfo(new, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(old))
        info = zipfile.ZipInfo("schema.json", date_time=_ZIP_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        dst.writestr(info, json.dumps(schema, indent=2, sort_keys=False))
    return buf.getvalue()


def check_trusted(types: list[str]) -> list[str]:
    """The types outside the modules a bundle may trust (empty when all are acceptable)."""
    return [t for t in types if not (t in TRUSTABLE_STDLIB or t.startswith(TRUSTABLE_PREFIXES))]


def serialise_model(model: Any, sample: Any) -> tuple[str, bytes, dict[str, Any]]:
    """(file name, bytes, manifest 'model' entry). skops when it round-trips exactly, else joblib.

    The round trip is checked at save time: the reloaded pipeline must predict exactly what the
    fitted one predicts on ``sample`` (rows of the train split), so a skops limitation shows up
    here, as a recorded fallback, rather than at serving time.
    """
    reason = None
    try:
        import skops.io as sio

        data = normalise_skops(sio.dumps(model))
        trusted = sorted(sio.get_untrusted_types(data=data))
        outside = check_trusted(trusted)
        if outside:
            raise ValueError(f"types outside the trustable modules: {', '.join(outside)}")
        reloaded = sio.loads(data, trusted=trusted)
        if not _same_predictions(model, reloaded, sample):
            raise ValueError("the reloaded pipeline predicts differently")
        return "model.skops", data, {"format": "skops", "trusted_types": trusted}
    except Exception as exc:  # any skops failure means: fall back, and say why
        reason = f"{type(exc).__name__}: {exc}"
    import joblib

    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    return "model.joblib", buf.getvalue(), {"format": "joblib", "fallback_reason": reason}


def _same_predictions(a: Any, b: Any, sample: Any) -> bool:
    import numpy as np

    if len(sample) == 0:
        return True
    if not np.array_equal(np.asarray(a.predict(sample)), np.asarray(b.predict(sample))):
        return False
    if hasattr(a, "predict_proba"):
        return bool(np.array_equal(a.predict_proba(sample), b.predict_proba(sample)))
    return True


# -- schemas and requirements ----------------------------------------------------------------


def input_schema(train: Any, target: str) -> dict[str, Any]:
    features = train.drop(columns=[target], errors="ignore")
    return {
        "columns": [{"name": str(c), "dtype": str(t)} for c, t in features.dtypes.items()],
        "target": target,
    }


def output_schema(model: Any, target_dtype: str | None) -> dict[str, Any]:
    from sklearn.base import is_classifier

    classes = getattr(model, "classes_", None)
    if is_classifier(model) and classes is not None:
        labels = [c.item() if hasattr(c, "item") else c for c in classes]
        return {
            "task": "classification",
            "prediction": {"dtype": str(getattr(classes, "dtype", target_dtype))},
            "classes": labels,
            "probability_columns": (
                [f"proba_{c}" for c in labels] if hasattr(model, "predict_proba") else []
            ),
        }
    return {"task": "regression", "prediction": {"dtype": "float64"}, "classes": None}


def _estimator_modules(model: Any) -> set[str]:
    """Top-level modules of every estimator object inside the (nested) pipeline."""
    seen: set[str] = {type(model).__module__.split(".")[0]}
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        for value in get_params(deep=True).values():
            if hasattr(value, "get_params") or hasattr(value, "fit"):
                seen.add(type(value).__module__.split(".")[0])
    return seen


def requirements(model: Any, model_entry: dict[str, Any]) -> list[str]:
    """``dist==version`` lines for what loading and predicting needs, sorted."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    modules = _estimator_modules(model)
    modules |= {t.split(".")[0] for t in model_entry.get("trusted_types", [])}
    dists = set(_BASE_REQUIREMENTS)
    if model_entry["format"] == "skops":
        dists.add("skops")
    unknown = modules - {"builtins", "collections", "mlspec"} - set(_KNOWN_DISTRIBUTIONS)
    dists.update(_KNOWN_DISTRIBUTIONS[m] for m in modules if m in _KNOWN_DISTRIBUTIONS)
    if unknown:  # scanning every installed distribution takes ~0.5 s: only when needed
        by_module = packages_distributions()
        for module in unknown:
            dists.update(by_module.get(module, []))
    if "mlspec" in modules:
        dists.add("mlspec")  # custom transformers of the features stage
    lines = []
    for dist in sorted(dists, key=str.lower):
        try:
            lines.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return lines


# -- the whole bundle ------------------------------------------------------------------------


def reference_profile_bytes(model: Any, train: Any, target: str, valid: Any = None) -> bytes:
    """The drift reference of a model: train features and target, scores on held-out rows.

    Scores come from ``valid`` (scores on the rows a model was fitted on are optimistic); with no
    valid rows the profile has no prediction distribution. Deterministic for a given model and
    data, so it can sit under the model digest.
    """
    from mlspec.monitor.profile import build_reference_profile, prediction_scores

    features = train.drop(columns=[target], errors="ignore")
    scores, name = None, "prediction"
    if valid is not None and len(valid):
        held_out = valid.drop(columns=[target], errors="ignore")[list(features.columns)]
        proba = model.predict_proba(held_out) if hasattr(model, "predict_proba") else None
        classes = getattr(model, "classes_", None)
        scores, name = prediction_scores(
            model.predict(held_out), proba, list(classes) if classes is not None else None
        )
    target_values = train[target] if target in train.columns else None
    profile = build_reference_profile(features, scores, target_values, prediction_name=name)
    return profile.to_bytes()


def build_bundle(
    model: Any,
    train: Any,
    target: str,
    metadata: dict[str, Any],
    sample_rows: int = 200,
    valid: Any = None,
    with_profile: bool = True,
) -> BundlePayload:
    """Every file of the bundle and its manifest; nothing is written.

    ``with_profile=False`` leaves out ``reference_profile.json`` (``mlspec reproduce`` rebuilds
    bundles registered before it existed that way, so their digests still compare).
    """
    sample = train.drop(columns=[target], errors="ignore").head(sample_rows)
    model_name, model_bytes, model_entry = serialise_model(model, sample)
    target_dtype = str(train[target].dtype) if target in train.columns else None
    files = {
        model_name: model_bytes,
        "input_schema.json": json_bytes(input_schema(train, target)),
        "output_schema.json": json_bytes(output_schema(model, target_dtype)),
        "requirements.txt": ("\n".join(requirements(model, model_entry)) + "\n").encode(),
        METADATA: json_bytes(
            {**metadata, "python": platform.python_version(), "model_format": model_entry}
        ),
    }
    if with_profile:
        files[REFERENCE_PROFILE] = reference_profile_bytes(model, train, target, valid)
    digests = {name: digest_bytes(data) for name, data in files.items()}
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "files": {
            name: {"digest": digests[name], "size": len(data)} for name, data in files.items()
        },
        "model": {"file": model_name, **model_entry},
        "model_digest": model_digest_of(digests),
        "model_digest_covers": sorted(n for n in files if n != METADATA),
    }
    return BundlePayload(files, manifest)
