"""``load_bundle``: a registered model, ready to predict, loaded only after its digests check out.

Order matters: the manifest and every file are read and hashed first (``Registry.read_bundle`` /
``read_bundle_dir``); only then is the model decoded — with skops and exactly the trusted types
recorded at save time (which must lie in the modules mlspec allows), or, for ``format: joblib``
bundles, with joblib on bytes whose digest was just verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem
from mlspec.registry.bundle import METADATA, REFERENCE_PROFILE, check_trusted, model_digest_of
from mlspec.registry.errors import BundleIntegrityError
from mlspec.registry.registry import Registry, parse_ref, read_bundle_dir


@dataclass
class LoadedBundle:
    """A loaded model bundle: the pipeline plus what describes it."""

    model: Any
    manifest: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    metadata: dict[str, Any]
    requirements: list[str]
    ref: str
    reference_profile_json: dict[str, Any] | None = None  # None: registered before profiles

    @property
    def reference_profile(self) -> Any:
        """The drift reference (``mlspec.monitor.profile.ReferenceProfile``), or None for bundles
        registered before reference profiles were captured."""
        if self.reference_profile_json is None:
            return None
        from mlspec.monitor.profile import ReferenceProfile

        return ReferenceProfile.from_json(self.reference_profile_json)

    @property
    def model_digest(self) -> str:
        return str(self.manifest["model_digest"])

    @property
    def feature_names(self) -> list[str]:
        return [c["name"] for c in self.input_schema["columns"]]

    def _frame(self, df: Any) -> Any:
        missing = [c for c in self.feature_names if c not in df.columns]
        if missing:
            from mlspec.errors import DataError

            raise DataError(
                Problem(
                    "missing_column",
                    f"input lacks column(s) the model needs: {', '.join(missing)}",
                    loc=(missing[0],),
                    fix="the model takes: " + ", ".join(self.feature_names),
                )
            )
        return df[self.feature_names]

    def predict(self, df: Any) -> Any:
        return self.model.predict(self._frame(df))

    def predict_proba(self, df: Any) -> Any:
        if not hasattr(self.model, "predict_proba"):
            raise AttributeError(f"model {self.ref} has no predict_proba")
        return self.model.predict_proba(self._frame(df))


def decode_model(manifest: dict[str, Any], files: dict[str, bytes], label: str) -> Any:
    """The pipeline from verified bytes (callers verify; this only decodes)."""
    entry = manifest["model"]
    data = files[entry["file"]]
    if entry["format"] == "skops":
        import skops.io as sio

        trusted = list(entry.get("trusted_types", []))
        outside = check_trusted(trusted)
        if outside:
            raise BundleIntegrityError(
                Problem(
                    "untrusted_types",
                    f"bundle {label} asks to trust types outside the allowed modules:"
                    f" {', '.join(outside)}; refusing to load it",
                    fix="only bundles written by mlspec's register stage are loadable",
                )
            )
        return sio.loads(data, trusted=trusted)
    if entry["format"] == "joblib":
        import io

        import joblib

        return joblib.load(io.BytesIO(data))  # digest verified by the caller
    raise BundleIntegrityError(
        Problem("unknown_format", f"bundle {label}: unknown model format '{entry['format']}'")
    )


def _check_model_digest(manifest: dict[str, Any], label: str) -> None:
    digests = {name: e["digest"] for name, e in manifest["files"].items()}
    actual = model_digest_of(digests)
    if actual != manifest.get("model_digest"):
        raise BundleIntegrityError(
            Problem(
                "bundle_digest_mismatch",
                f"bundle {label}: the manifest's model digest {manifest.get('model_digest')}"
                f" does not match its files ({actual}); refusing to load it",
            )
        )


def load_bundle(ref: str | Path, project_root: Path | None = None) -> LoadedBundle:
    """``NAME@alias``, ``NAME:version``, ``NAME`` (latest) or a bundle directory."""
    path = Path(ref)
    if isinstance(ref, Path) or path.is_dir() or "/" in str(ref):
        manifest, files = read_bundle_dir(path)
        label = str(path)
    else:
        registry = Registry.for_project(project_root or Path.cwd())
        version = registry.resolve(parse_ref(str(ref)))
        manifest, files = registry.read_bundle(version)
        label = f"{version.name}:{version.version}"
    _check_model_digest(manifest, label)
    model = decode_model(manifest, files, label)
    return LoadedBundle(
        model=model,
        manifest=manifest,
        input_schema=json.loads(files["input_schema.json"]),
        output_schema=json.loads(files["output_schema.json"]),
        metadata=json.loads(files[METADATA]),
        requirements=files["requirements.txt"].decode().split(),
        ref=label,
        reference_profile_json=(
            json.loads(files[REFERENCE_PROFILE]) if REFERENCE_PROFILE in files else None
        ),
    )
