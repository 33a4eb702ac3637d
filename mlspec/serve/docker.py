"""The ``docker`` deploy target: a build context that serves one model bundle.

No Docker engine is needed to *write* the context, and nothing here talks to one. The context is
self-contained, so ``docker build`` needs no access to the mlspec source tree or to the registry::

    Dockerfile         python:<bundle's Python>-slim, non-root user, EXPOSE, HEALTHCHECK on /ping
    .dockerignore
    requirements.txt   every distribution pinned (==): the bundle's requirements.txt, then the
                       rest of mlspec's dependency closure at the versions installed here;
                       mlspec itself as the wheel below
    wheels/mlspec-<version>-py3-none-any.whl
                       built from the installed source (``pip wheel --no-deps``), so an
                       unreleased or locally modified mlspec gets into the image without an index
    model/             the bundle: its files and manifest.json, digests verified after writing
    entrypoint.sh      exec mlspec serve /model --host 0.0.0.0 --port <port>
    context.json       what was written: the model, its digests, mlspec's version, every file's
                       digest (``mlspec deploy`` checks it before replacing a context)

How mlspec gets into the image offline: when mlspec is installed from a directory (editable or
not: ``direct_url.json`` names it) the wheel is built from a clean copy of that directory, with
``SOURCE_DATE_EPOCH`` fixed so the same source gives the same wheel bytes; when it was installed
from a wheel file that still exists, that file is copied; otherwise the requirement is pinned as
``mlspec==<version>`` and ``docker build`` needs an index that has it.

The pins are made for the interpreter and platform running this (markers are evaluated here): the
base image defaults to the bundle's own Python major.minor, which is the interpreter the bundle's
pins were resolved on; build the image for the same CPU architecture (linux/amd64 here).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.errors import MlspecError, Problem
from mlspec.hashing import digest_bytes, digest_file
from mlspec.registry.bundle import MANIFEST, manifest_bytes, model_digest_of
from mlspec.registry.errors import BundleIntegrityError
from mlspec.registry.registry import Registry, parse_ref, read_bundle_dir
from mlspec.store.objects import atomic_write

MARKER = "context.json"
MODEL_DIR = "model"
WHEELS_DIR = "wheels"
CONTAINER_MODEL = "/model"
_REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry can hold
_SOURCE_IGNORE = (
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mlspec",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    "node_modules",
    "outputs",
    "multirun",
)


class DeployError(MlspecError):
    """A deploy target cannot be carried out (nothing half-written is left behind)."""

    exit_code = 1
    title = "deploy error"


@dataclass
class DockerContext:
    """What ``write_context`` wrote."""

    path: Path
    ref: str  # NAME:VERSION, or the bundle directory it came from
    bundle_digest: str
    model_digest: str
    base_image: str
    port: int
    mlspec_requirement: str  # the wheel's path in the context, or mlspec==VERSION
    files: dict[str, str] = field(default_factory=dict)  # path in the context -> digest


# -- the bundle ----------------------------------------------------------------------------------


def read_verified_bundle(
    model: str | Path, project_root: Path
) -> tuple[str, dict[str, Any], dict[str, bytes]]:
    """(label, manifest, files) of a registry reference or an exported bundle directory; every
    file checked against the manifest, and the manifest's model digest against the files."""
    path = Path(model)
    if isinstance(model, Path) or path.is_dir() or "/" in str(model):
        path = path if path.is_absolute() else project_root / path
        manifest, files = read_bundle_dir(path)
        label = str(model)
    else:
        registry = Registry.for_project(project_root)
        version = registry.resolve(parse_ref(str(model)))
        manifest, files = registry.read_bundle(version)
        label = f"{version.name}:{version.version}"
    digests = {name: entry["digest"] for name, entry in manifest["files"].items()}
    if model_digest_of(digests) != manifest.get("model_digest"):
        raise BundleIntegrityError(
            Problem(
                "bundle_digest_mismatch",
                f"bundle {label}: the manifest's model digest does not match its files;"
                " refusing to package it",
                fix="re-register the model from its run, or export it again",
            )
        )
    return label, manifest, files


# -- requirements ----------------------------------------------------------------------------------


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def dependency_closure(root: str = "mlspec", extras: tuple[str, ...] = ()) -> dict[str, str]:
    """{canonical name: ``Name==version``} for ``root`` and everything it needs, as installed
    here (environment markers evaluated for this interpreter and platform)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    expanded: set[tuple[str, str]] = set()
    stack: list[tuple[str, str]] = [(root, "")] + [(root, e) for e in extras]
    while stack:
        name, extra = stack.pop()
        key = _canonical(name)
        if (key, extra) in expanded:
            continue
        expanded.add((key, extra))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # an optional dependency that is not installed: not needed here either
        pins.setdefault(key, f"{dist.metadata['Name']}=={dist.version}")
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            stack.append((req.name, ""))
            stack.extend((req.name, e) for e in req.extras)
    return pins


def pinned_requirements(bundle_requirements: list[str], mlspec_line: str) -> list[str]:
    """The bundle's pins first (they are what the model was saved with), then the rest of
    mlspec's closure; mlspec itself is ``mlspec_line`` (a wheel path or ``mlspec==X``)."""
    from packaging.requirements import Requirement

    by_name: dict[str, str] = {}
    for line in bundle_requirements:
        line = line.strip()
        if line and not line.startswith("#"):
            by_name[_canonical(Requirement(line).name)] = line
    for key, pin in dependency_closure("mlspec", _serving_extras()).items():
        by_name.setdefault(key, pin)
    by_name["mlspec"] = mlspec_line
    return [by_name[k] for k in sorted(by_name)]


def _serving_extras() -> tuple[str, ...]:
    """mlspec's extras that serving needs, when the installed metadata declares them."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        declared = set(metadata("mlspec").get_all("Provides-Extra") or [])
    except PackageNotFoundError:
        return ()
    return tuple(e for e in ("serve",) if e in declared)


# -- mlspec itself ---------------------------------------------------------------------------------


def _installed_from() -> dict[str, Any] | None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("mlspec").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    return json.loads(text) if text else None


def _ignore_source(directory: str, names: list[str]) -> set[str]:
    import fnmatch

    skipped = {n for n in names for pat in _SOURCE_IGNORE if fnmatch.fnmatch(n, pat)}
    for n in names:  # a docker context inside the source tree (it holds an mlspec wheel)
        if (Path(directory) / n / MARKER).is_file():
            skipped.add(n)
    return skipped


def build_mlspec_wheel(dest: Path) -> str:
    """Put mlspec into ``dest`` (a directory) and return the requirement line for it."""
    from mlspec import __version__

    info = _installed_from()
    url = str((info or {}).get("url", ""))
    source = Path(url.removeprefix("file://")) if url.startswith("file://") else None
    if source is not None and source.is_file() and source.suffix == ".whl":
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / source.name)
        return f"{WHEELS_DIR}/{source.name}"
    if source is None or not (source / "pyproject.toml").is_file():
        return f"mlspec=={__version__}"
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlspec-wheel-") as tmp:
        # A clean copy: an in-tree build would leave build/ behind, and stale files in it
        # would end up in later wheels.
        copy = Path(tmp) / "src"
        shutil.copytree(source, copy, ignore=_ignore_source, symlinks=True)
        env = {**os.environ, "SOURCE_DATE_EPOCH": _REPRODUCIBLE_EPOCH}
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(copy)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise DeployError(
                Problem(
                    "wheel_failed",
                    f"could not build an mlspec wheel from {source}: {tail}",
                    file=str(source),
                    fix="check that `pip wheel --no-deps <source>` works there",
                )
            )
    wheels = sorted(dest.glob("mlspec-*.whl"))
    if len(wheels) != 1:
        raise DeployError(Problem("wheel_failed", f"expected one mlspec wheel, found {wheels}"))
    return f"{WHEELS_DIR}/{wheels[0].name}"


# -- the files -------------------------------------------------------------------------------------


def dockerfile(base_image: str, port: int) -> str:
    return f"""\
# Written by `mlspec deploy` (docker target). Serves the model bundle in {CONTAINER_MODEL}.
FROM {base_image}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    MPLCONFIGDIR=/tmp/matplotlib

# LightGBM's wheels link the system's OpenMP runtime, which slim images lack.
RUN apt-get update \\
    && apt-get install -y --no-install-recommends libgomp1 \\
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 mlspec \\
    && useradd --system --uid 10001 --gid mlspec --create-home --home-dir /home/mlspec mlspec

WORKDIR /app
COPY requirements.txt ./
COPY {WHEELS_DIR}/ ./{WHEELS_DIR}/
# Every line is pinned; mlspec is the wheel in {WHEELS_DIR}/ (paths relative to /app).
RUN pip install --no-cache-dir -r requirements.txt

COPY {MODEL_DIR}/ {CONTAINER_MODEL}/
COPY entrypoint.sh ./entrypoint.sh
RUN chmod 0555 ./entrypoint.sh && chmod -R a+rX {CONTAINER_MODEL}

USER mlspec
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "{_ping(port)}"]
ENTRYPOINT ["/app/entrypoint.sh"]
"""


def _ping(port: int) -> str:
    # slim images have no curl: Python's own client, exit code non-zero unless /ping answers 200
    return (
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=4)"
    )


def entrypoint(port: int) -> str:
    # Variables with defaults so the same script runs the bundle outside a container, too.
    return f"""\
#!/bin/sh
# Written by `mlspec deploy` (docker target): serve the bundle. Extra arguments go to mlspec serve.
set -eu
exec mlspec serve "${{MLSPEC_MODEL_DIR:-{CONTAINER_MODEL}}}" \\
    --host "${{MLSPEC_HOST:-0.0.0.0}}" --port "${{MLSPEC_PORT:-{port}}}" "$@"
"""


DOCKERIGNORE = "**/__pycache__\n**/*.pyc\n.git\n"


def default_base_image(metadata: dict[str, Any]) -> str:
    version = str(metadata.get("python") or "")
    parts = version.split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return f"python:{parts[0]}.{parts[1]}-slim"
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def write_context(
    model: str | Path,
    out_dir: Path,
    project_root: Path,
    port: int = 8080,
    base_image: str | None = None,
) -> DockerContext:
    """Write the build context for ``model`` to ``out_dir``, replacing a context written before
    (never any other directory). It is assembled next to ``out_dir`` and renamed into place, so
    ``out_dir`` holds either the old context or the complete new one."""
    label, manifest, files = read_verified_bundle(model, project_root)
    bundle_digest = digest_bytes(manifest_bytes(manifest))
    out_dir = out_dir if out_dir.is_absolute() else project_root / out_dir
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        scratch = build / ".tmp"
        for name, data in files.items():
            atomic_write(build / MODEL_DIR / name, data, scratch)
        atomic_write(build / MODEL_DIR / MANIFEST, manifest_bytes(manifest), scratch)
        _verify_written(build / MODEL_DIR, label, bundle_digest)
        metadata = json.loads(files["metadata.json"]) if "metadata.json" in files else {}
        image = base_image or default_base_image(metadata)
        mlspec_line = build_mlspec_wheel(build / WHEELS_DIR)
        bundle_reqs = files.get("requirements.txt", b"").decode().splitlines()
        texts = {
            "requirements.txt": "\n".join(pinned_requirements(bundle_reqs, mlspec_line)) + "\n",
            "Dockerfile": dockerfile(image, port),
            "entrypoint.sh": entrypoint(port),
            ".dockerignore": DOCKERIGNORE,
        }
        for name, text in texts.items():
            atomic_write(build / name, text.encode(), scratch)
        (build / "entrypoint.sh").chmod(0o755)
        shutil.rmtree(scratch, ignore_errors=True)
        digests = {
            p.relative_to(build).as_posix(): digest_file(p)
            for p in sorted(build.rglob("*"))
            if p.is_file()
        }
        context = DockerContext(
            path=out_dir,
            ref=label,
            bundle_digest=bundle_digest,
            model_digest=str(manifest["model_digest"]),
            base_image=image,
            port=port,
            mlspec_requirement=mlspec_line,
            files=digests,
        )
        record = {
            "written_by": "mlspec deploy (docker target)",
            "model": label,
            "bundle_digest": bundle_digest,
            "model_digest": context.model_digest,
            "base_image": image,
            "port": port,
            "mlspec_requirement": mlspec_line,
            "files": digests,
        }
        atomic_write(build / MARKER, json.dumps(record, indent=2).encode(), build / ".tmp")
        shutil.rmtree(build / ".tmp", ignore_errors=True)
        _swap_into_place(build, out_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return context


def _verify_written(model_dir: Path, label: str, bundle_digest: str) -> None:
    """Read the written bundle back the way `mlspec serve` will: every digest checked."""
    manifest, _ = read_bundle_dir(model_dir)
    if digest_bytes(manifest_bytes(manifest)) != bundle_digest:
        raise BundleIntegrityError(
            Problem("bundle_digest_mismatch", f"bundle {label} changed while it was written")
        )


def _check_replaceable(out_dir: Path) -> None:
    if out_dir.is_file() or (
        out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file()
    ):
        raise DeployError(
            Problem(
                "context_exists",
                f"'{out_dir}' exists and is not a build context written by mlspec;"
                " refusing to replace it",
                file=str(out_dir),
                fix="choose another directory for the docker target's `context`, or remove it",
            )
        )


def _swap_into_place(build: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.replace(out_dir, old)
    try:
        os.replace(build, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)


def verify_context(path: Path) -> list[str]:
    """Problems with a written context (empty when every file matches ``context.json`` and the
    bundle matches its manifest)."""
    problems: list[str] = []
    record = json.loads((path / MARKER).read_text())
    for name, digest in record["files"].items():
        file = path / name
        if not file.is_file():
            problems.append(f"{name}: missing")
        elif digest_file(file) != digest:
            problems.append(f"{name}: digest differs from {MARKER}")
    try:
        manifest, _ = read_bundle_dir(path / MODEL_DIR)
    except MlspecError as exc:
        problems.append(str(exc))
    else:
        if digest_bytes(manifest_bytes(manifest)) != record["bundle_digest"]:
            problems.append("model/manifest.json: not the bundle recorded in context.json")
    return problems
