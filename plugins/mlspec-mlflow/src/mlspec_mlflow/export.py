"""Export a registered mlspec model version as an MLflow pyfunc model directory.

The bundle is loaded through mlspec's own loader (``mlspec.registry.load_bundle``), so every
bundle file is checked against its digest before anything is decoded; a tampered bundle is
refused before this module writes a byte. The MLflow directory is then written with MLflow's own
``mlflow.sklearn.save_model``:

- **serialization**: skops (MLflow's default since 3.x, no code runs on load) with the trusted
  types the bundle recorded at registration. When the bundle itself had to fall back to joblib
  (skops could not round-trip the pipeline), or MLflow's skops save fails, the model is saved
  with cloudpickle instead and the reason is recorded in the MLmodel metadata.
- **signature**: inputs from the bundle's input schema (column names and dtypes), outputs from
  its output schema; **input example**: the first rows of the registering run's train split when
  the store still has it (or the frame the caller passes).
- **requirements**: the bundle's pinned ``requirements.txt`` (MLflow adds ``mlflow`` itself).
- **metadata**: ``mlspec.name``, ``version``, ``bundle_digest``, ``model_digest``, ``run_id``,
  the serialization format and the predict function.

Everything is written to a hidden sibling directory and renamed into place, so ``DIR`` either
does not exist or holds a complete model; after the save, the written model file is decoded
again and must predict exactly what the bundle predicts on the input example.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem
from mlspec.hashing import digest_bytes
from mlspec.registry.errors import RegistryError

PREDICT_FNS = ("predict", "predict_proba")
FORMATS = ("skops", "cloudpickle")
EXAMPLE_ROWS = 5
# pandas dtype name -> MLflow column type (anything else, e.g. object/category: string).
_COLUMN_TYPES = {
    "bool": "boolean",
    "int8": "integer",
    "int16": "integer",
    "int32": "integer",
    "int64": "long",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "float16": "float",
    "float32": "float",
    "float64": "double",
}


@dataclass
class ExportResult:
    """What was written, for the CLI's summary and the caller's records."""

    path: Path
    name: str
    version: int | None
    bundle_digest: str
    model_digest: str
    serialization_format: str
    predict_fn: str
    fallback_reason: str | None
    has_example: bool


def _column_type(dtype: str) -> str:
    if dtype.startswith("datetime64"):
        return "datetime"
    return _COLUMN_TYPES.get(dtype.lower(), "string")


def signature_for(bundle: Any, predict_fn: str) -> Any:
    """An MLflow ``ModelSignature`` from the bundle's input and output schemas."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    inputs = Schema(
        [ColSpec(_column_type(c["dtype"]), c["name"]) for c in bundle.input_schema["columns"]]
    )
    out = bundle.output_schema
    if predict_fn == "predict_proba":
        outputs = Schema([TensorSpec(np.dtype("float64"), (-1, len(out.get("classes") or [])))])
    else:
        outputs = Schema([ColSpec(_column_type(str(out["prediction"]["dtype"])))])
    return ModelSignature(inputs=inputs, outputs=outputs)


def _example_from_store(bundle: Any, project_root: Path) -> Any:
    """The first rows of the registering run's train split (features only), if still stored."""
    from mlspec.store import Store
    from mlspec.store.actions import ArtifactRef
    from mlspec.tracking import Tracker

    run_id = bundle.metadata.get("run_id")
    store = Store.for_project(project_root)
    if not run_id or not store.db_path.exists():
        return None
    with contextlib.suppress(Exception):  # a pruned store or another project: no example
        for execution in Tracker(store.db_path).stage_executions(run_id):
            ref = execution.outputs.get("train") if execution.node == "split" else None
            if isinstance(ref, dict) and ref.get("codec") == "frame":
                frame = store.load(ArtifactRef.from_dict(ref))
                return frame[bundle.feature_names].head(EXAMPLE_ROWS).reset_index(drop=True)
    return None


def _resolve(ref: str | Path, project_root: Path) -> tuple[Any, str, str, int | None]:
    """(loaded bundle, bundle digest, name, version); digests verified by ``load_bundle``."""
    from mlspec.registry import load_bundle
    from mlspec.registry.bundle import MANIFEST
    from mlspec.registry.registry import Registry, parse_ref

    path = Path(ref)
    if isinstance(ref, Path) or path.is_dir() or "/" in str(ref):
        bundle = load_bundle(str(path), project_root)
        digest = digest_bytes((path / MANIFEST).read_bytes())
        return bundle, digest, str(bundle.metadata.get("name") or path.name), None
    version = Registry.for_project(project_root).resolve(parse_ref(str(ref)))
    bundle = load_bundle(f"{version.name}:{version.version}", project_root)
    return bundle, version.bundle_digest, version.name, version.version


def _predict(model: Any, predict_fn: str, frame: Any) -> Any:
    import numpy as np

    return np.asarray(getattr(model, predict_fn)(frame))


def _check_saved(
    model_dir: Path, bundle: Any, fmt: str, trusted: list[str], predict_fn: str, example: Any
) -> None:
    """Decode the model file MLflow wrote and compare its predictions with the bundle's."""
    import numpy as np

    if fmt == "skops":
        import skops.io as sio

        saved = sio.load(model_dir / "model.skops", trusted=trusted)
    else:
        import cloudpickle

        with open(model_dir / "model.pkl", "rb") as fh:
            saved = cloudpickle.load(fh)  # the file this process has just written
    frame = example[bundle.feature_names]
    if not np.array_equal(
        _predict(saved, predict_fn, frame), _predict(bundle.model, predict_fn, frame)
    ):
        raise RegistryError(
            Problem(
                "export_mismatch",
                f"the MLflow model written for {bundle.ref} predicts differently from the bundle"
                f" ({fmt}); nothing was exported",
                fix="report this as a bug; --format cloudpickle may work around it",
            )
        )


def export_pyfunc(
    ref: str | Path,
    path: str | Path,
    *,
    project_root: str | Path | None = None,
    predict_fn: str = "predict",
    input_example: Any = None,
    serialization_format: str | None = None,
) -> ExportResult:
    """Write ``NAME[:VERSION|@ALIAS]`` (or an exported bundle directory) to ``path`` as an
    MLflow model with the sklearn and python_function flavors.

    ``predict_fn`` is what pyfunc's ``predict`` calls: ``predict`` (labels or values, like
    ``LoadedBundle.predict``) or ``predict_proba`` (class probabilities). ``serialization_format``
    forces ``skops`` or ``cloudpickle``; by default skops, cloudpickle only when skops cannot
    save the pipeline (the reason is recorded).
    """
    if predict_fn not in PREDICT_FNS:
        raise RegistryError(
            Problem(
                "bad_predict_fn",
                f"unknown predict function '{predict_fn}'",
                fix="one of: " + ", ".join(PREDICT_FNS),
            )
        )
    if serialization_format not in (None, *FORMATS):
        raise RegistryError(
            Problem(
                "bad_format",
                f"unknown serialization format '{serialization_format}'",
                fix="one of: " + ", ".join(FORMATS),
            )
        )
    out = Path(path).resolve()
    if out.exists():
        raise RegistryError(
            Problem(
                "output_exists",
                f"'{out}' already exists; refusing to overwrite it",
                file=str(out),
                fix="choose a new directory with -o, or remove this one first",
            )
        )
    root = Path(project_root).resolve() if project_root is not None else Path.cwd()
    bundle, bundle_digest, name, version = _resolve(ref, root)  # refuses a tampered bundle
    if predict_fn == "predict_proba" and not hasattr(bundle.model, "predict_proba"):
        raise RegistryError(
            Problem(
                "no_predict_proba",
                f"model {bundle.ref} has no predict_proba",
                fix="export with the default predict function",
            )
        )
    example = input_example if input_example is not None else _example_from_store(bundle, root)
    if example is not None:
        example = example[bundle.feature_names].head(EXAMPLE_ROWS).reset_index(drop=True)

    entry = bundle.manifest["model"]
    trusted = list(entry.get("trusted_types", []))
    fmt, reason = serialization_format, None
    if fmt is None:
        fmt = "skops" if entry["format"] == "skops" else "cloudpickle"
        if fmt == "cloudpickle":
            reason = f"the bundle is {entry['format']}: {entry.get('fallback_reason')}"

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        target = staging / "model"

        def save(fmt: str, reason: str | None) -> None:
            _save(
                bundle,
                target,
                fmt,
                trusted,
                predict_fn,
                example,
                bundle_digest,
                name,
                version,
                reason,
            )

        try:
            save(fmt, reason)
        except Exception as exc:  # MLflow could not write skops: fall back, and say why
            if fmt != "skops" or serialization_format == "skops":
                raise RegistryError(
                    Problem(
                        "mlflow_save_failed",
                        f"MLflow could not save {bundle.ref} as {fmt}: {exc}",
                        fix="try the other --format" if serialization_format else None,
                    )
                ) from exc
            fmt, reason = "cloudpickle", f"MLflow's skops save failed: {exc}"
            shutil.rmtree(target, ignore_errors=True)
            save(fmt, reason)
        if example is not None:
            _check_saved(target, bundle, fmt, trusted, predict_fn, example)
        os.rename(target, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        out,
        name,
        version,
        bundle_digest,
        bundle.model_digest,
        fmt,
        predict_fn,
        reason,
        example is not None,
    )


def _save(
    bundle: Any,
    target: Path,
    fmt: str,
    trusted: list[str],
    predict_fn: str,
    example: Any,
    bundle_digest: str,
    name: str,
    version: int | None,
    reason: str | None,
) -> None:
    import mlflow.sklearn

    requirements = list(bundle.requirements)
    if fmt == "cloudpickle" and not any(r.startswith("cloudpickle") for r in requirements):
        from importlib.metadata import version as dist_version

        requirements.append(f"cloudpickle=={dist_version('cloudpickle')}")
    metadata = {
        "mlspec": {
            "name": name,
            "version": version,
            "ref": bundle.ref,
            "bundle_digest": bundle_digest,
            "model_digest": bundle.model_digest,
            "run_id": bundle.metadata.get("run_id"),
            "spec_name": bundle.metadata.get("spec_name"),
            "bundle_format": bundle.manifest["model"]["format"],
            "serialization_format": fmt,
            "fallback_reason": reason,
            "predict_fn": predict_fn,
        }
    }
    mlflow.sklearn.save_model(
        bundle.model,
        str(target),
        serialization_format=fmt,
        signature=signature_for(bundle, predict_fn),
        input_example=example,
        pip_requirements=requirements,
        pyfunc_predict_fn=predict_fn,
        metadata=metadata,
        skops_trusted_types=trusted if fmt == "skops" else None,
    )
