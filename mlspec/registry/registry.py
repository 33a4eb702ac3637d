"""The registry facade: bundles in the object store, versions and aliases in the database.

References: ``NAME`` (latest version), ``NAME:VERSION``, ``NAME@ALIAS``. Unknown names, versions
and aliases are errors that list what exists (with a did-you-mean).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.errors import Problem, choices_hint
from mlspec.hashing import digest_bytes
from mlspec.registry.bundle import MANIFEST, BundlePayload, manifest_bytes
from mlspec.registry.db import ModelVersion, RegistryDB
from mlspec.registry.errors import BundleIntegrityError, RegistryError
from mlspec.store import Store
from mlspec.store.objects import atomic_write

_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:(?P<sep>[:@])(?P<what>[^:@]+))?$")


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def parse_ref(text: str) -> ModelRef:
    match = _REF.match(text.strip())
    if not match:
        raise RegistryError(
            Problem(
                "bad_model_ref",
                f"'{text}' is not a model reference",
                fix="write NAME, NAME:VERSION (e.g. churn:3) or NAME@ALIAS (e.g. churn@champion)",
            )
        )
    name, sep, what = match.group("name"), match.group("sep"), match.group("what")
    if sep == ":":
        if not what.isdigit():
            raise RegistryError(
                Problem(
                    "bad_model_ref",
                    f"version '{what}' in '{text}' is not a number",
                    fix=f"write {name}:VERSION with a number, or {name}@{what} for an alias",
                )
            )
        return ModelRef(name, version=int(what))
    return ModelRef(name, alias=what if sep == "@" else None)


class Registry:
    def __init__(self, store: Store):
        self.store = store
        self.db = RegistryDB(store.db_path)

    @classmethod
    def for_project(cls, project_root: Path) -> Registry:
        return cls(Store.for_project(project_root))

    # -- resolution ----------------------------------------------------------------------------
    def resolve(self, ref: ModelRef | str) -> ModelVersion:
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        names = self.db.names()
        if ref.name not in names:
            raise RegistryError(
                Problem(
                    "unknown_model",
                    f"no registered model named '{ref.name}'",
                    fix=(choices_hint(ref.name, names) if names else "nothing is registered yet;")
                    + " (register one with a `register:` section in the spec)",
                )
            )
        versions = self.db.versions(ref.name)
        if ref.alias is not None:
            aliases = self.db.aliases(ref.name)
            if ref.alias not in aliases:
                raise RegistryError(
                    Problem(
                        "unknown_alias",
                        f"model '{ref.name}' has no alias '{ref.alias}'",
                        fix=(choices_hint(ref.alias, aliases) if aliases else "no aliases yet")
                        + f"; or set it with `mlspec models promote {ref.name} VERSION"
                        f" --alias {ref.alias}`",
                    )
                )
            number = aliases[ref.alias]
        elif ref.version is not None:
            number = ref.version
        else:
            number = versions[-1].version
        found = next((v for v in versions if v.version == number), None)
        if found is None:
            raise RegistryError(
                Problem(
                    "unknown_version",
                    f"model '{ref.name}' has no version {number}",
                    fix="versions: " + ", ".join(str(v.version) for v in versions),
                )
            )
        return found

    def champion(self, name: str, alias: str = "champion") -> ModelVersion | None:
        number = self.db.aliases(name).get(alias)
        return self.db.get_version(name, number) if number is not None else None

    # -- bundles in the object store -----------------------------------------------------------
    def store_bundle(self, payload: BundlePayload) -> str:
        """Write every file, then the manifest (so a manifest never names a missing file)."""
        self.store.ensure()
        for data in payload.files.values():
            self.store.objects.put(data)
        return self.store.objects.put(payload.manifest_bytes())

    def _read(self, digest: str, what: str, bundle: str) -> bytes:
        path = self.store.objects.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BundleIntegrityError(
                Problem(
                    "missing_bundle_file",
                    f"bundle {bundle}: {what} is missing from the store ({digest})",
                    file=str(path),
                    fix="the store lost this object; re-register the model from its run",
                )
            ) from None
        actual = digest_bytes(data)
        if actual != digest:
            raise BundleIntegrityError(
                Problem(
                    "bundle_digest_mismatch",
                    f"bundle {bundle}: {what} does not match its digest: expected {digest},"
                    f" found {actual}; refusing to load it",
                    file=str(path),
                    fix="the file was modified or damaged; `mlspec verify --repair` removes it,"
                    " then re-register the model from its run",
                )
            )
        return data

    def read_bundle(self, version: ModelVersion) -> tuple[dict[str, Any], dict[str, bytes]]:
        """(manifest, files), every byte checked against its digest before anything decodes."""
        label = str(ModelRef(version.name, version.version))
        manifest = json.loads(self._read(version.bundle_digest, MANIFEST, label))
        files = {
            name: self._read(entry["digest"], name, label)
            for name, entry in manifest["files"].items()
        }
        return manifest, files

    def export(self, version: ModelVersion, out_dir: Path) -> Path:
        """Write the bundle as a directory (files + manifest.json), loadable by path."""
        manifest, files = self.read_bundle(version)
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / ".tmp"
        for name, data in files.items():
            atomic_write(out_dir / name, data, tmp)
        atomic_write(out_dir / MANIFEST, manifest_bytes(manifest), tmp)
        with contextlib.suppress(OSError):
            os.rmdir(tmp)  # only when empty
        return out_dir


def read_bundle_dir(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, files) of an exported bundle directory, each file checked against the
    manifest before anything decodes."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise RegistryError(
            Problem(
                "not_a_bundle",
                f"'{path}' has no {MANIFEST}",
                file=str(path),
                fix="pass a directory written by `mlspec models export`, or NAME@ALIAS",
            )
        )
    manifest = json.loads(manifest_path.read_bytes())
    files: dict[str, bytes] = {}
    for name, entry in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise BundleIntegrityError(
                Problem("missing_bundle_file", f"bundle file {name} is missing", file=str(file))
            )
        data = file.read_bytes()
        actual = digest_bytes(data)
        if actual != entry["digest"]:
            raise BundleIntegrityError(
                Problem(
                    "bundle_digest_mismatch",
                    f"bundle file {name} does not match its digest: expected {entry['digest']},"
                    f" found {actual}; refusing to load it",
                    file=str(file),
                    fix="the file was modified or damaged; export the bundle again",
                )
            )
        files[name] = data
    return manifest, files
