"""The docker target's build context, written in-process from a registered bundle.

mlspec's own wheel is built by the end-to-end test (tests/integration/test_deploy_e2e.py); here
mlspec counts as installed from an index, so the requirement is pinned ``mlspec==VERSION``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlspec import __version__
from mlspec.registry.errors import BundleIntegrityError
from mlspec.serve import docker
from mlspec.serve.docker import DeployError, verify_context, write_context


def _register(project: Path) -> None:
    """A small fitted pipeline registered as clf:1 (@champion) in ``project``'s store."""
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from mlspec.registry.bundle import build_bundle
    from mlspec.registry.registry import Registry

    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(target=y)
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    pipe.fit(frame.drop(columns=["target"]), frame["target"])
    registry = Registry.for_project(project)
    payload = build_bundle(pipe, frame, "target", {"run_id": "r1", "metrics": {}})
    digest = registry.store_bundle(payload)
    version, _ = registry.db.add_version(
        "clf",
        digest,
        payload.model_digest,
        payload.manifest["model"]["format"],
        "r1",
        "spec",
        {},
        {},
    )
    registry.db.set_alias("clf", "champion", version, "test")


PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(docker, "_installed_from", lambda: None)  # no wheel build here
    _register(tmp_path)
    return tmp_path


def test_context_holds_a_verified_bundle_pinned_requirements_and_a_dockerfile(
    project: Path,
) -> None:
    ctx = write_context("clf@champion", Path("build/image"), project, port=9000)
    root = project / "build" / "image"
    assert ctx.path == root and ctx.ref == "clf:1"
    names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    bundle = {
        "manifest.json",
        "model.skops",
        "input_schema.json",
        "output_schema.json",
        "requirements.txt",
        "metadata.json",
        "reference_profile.json",  # what drift monitoring compares with
    }
    assert names == {
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "entrypoint.sh",
        "context.json",
    } | {f"model/{n}" for n in bundle}
    assert verify_context(root) == []
    record = json.loads((root / "context.json").read_text())
    assert record["model"] == "clf:1" and record["model_digest"] == ctx.model_digest

    reqs = (root / "requirements.txt").read_text().splitlines()
    assert all(PIN.match(line) for line in reqs), reqs
    assert f"mlspec=={__version__}" in reqs
    bundle_reqs = (root / "model" / "requirements.txt").read_text().split()
    assert set(bundle_reqs) <= set(reqs)  # the model's own pins, verbatim
    assert {"uvicorn", "starlette"} <= {line.split("==")[0].lower() for line in reqs}

    dockerfile = (root / "Dockerfile").read_text()
    py = json.loads((root / "model" / "metadata.json").read_text())["python"]
    assert f"FROM python:{'.'.join(py.split('.')[:2])}-slim\n" in dockerfile
    assert "\nUSER mlspec\n" in dockerfile and "useradd" in dockerfile
    assert "\nEXPOSE 9000\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "http://127.0.0.1:9000/ping" in dockerfile
    assert "RUN pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert 'ENTRYPOINT ["/app/entrypoint.sh"]' in dockerfile
    entry = (root / "entrypoint.sh").read_text()
    assert 'exec mlspec serve "${MLSPEC_MODEL_DIR:-/model}"' in entry
    assert '--host "${MLSPEC_HOST:-0.0.0.0}" --port "${MLSPEC_PORT:-9000}"' in entry


def test_a_tampered_bundle_is_refused_and_nothing_is_written(project: Path) -> None:
    from mlspec.registry.registry import Registry

    registry = Registry.for_project(project)
    manifest, _ = registry.read_bundle(registry.resolve("clf:1"))
    obj = registry.store.objects.path_for(manifest["files"]["model.skops"]["digest"])
    obj.chmod(0o644)
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.write_bytes(bytes(data))
    with pytest.raises(BundleIntegrityError, match=r"model\.skops does not match its digest"):
        write_context("clf:1", Path("build/image"), project)
    assert not (project / "build").exists()  # refused before anything was created


def test_a_context_is_replaced_but_no_other_directory(project: Path) -> None:
    write_context("clf:1", Path("ctx"), project)
    (project / "ctx" / "stale.txt").write_text("from an earlier context")
    write_context("clf:1", Path("ctx"), project, port=8081)
    assert not (project / "ctx" / "stale.txt").exists()
    assert "EXPOSE 8081" in (project / "ctx" / "Dockerfile").read_text()

    mine = project / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DeployError, match="is not a build context written by mlspec"):
        write_context("clf:1", mine, project)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_verify_context_reports_a_changed_file(project: Path) -> None:
    write_context("clf:1", Path("ctx"), project)
    with (project / "ctx" / "requirements.txt").open("a") as fh:
        fh.write("evil==1.0\n")
    (project / "ctx" / "model" / "metadata.json").write_text("{}")
    problems = verify_context(project / "ctx")
    assert "requirements.txt: digest differs from context.json" in problems
    assert any("metadata.json does not match its digest" in p for p in problems), problems


def test_bundle_pins_win_over_the_installed_versions() -> None:
    lines = docker.pinned_requirements(["scikit-learn==0.0.1", "numpy==9.9"], "mlspec==1.0")
    assert "scikit-learn==0.0.1" in lines and "numpy==9.9" in lines
    assert not any(
        line.lower().startswith("scikit-learn==") and line != "scikit-learn==0.0.1"
        for line in lines
    )
    assert "mlspec==1.0" in lines


def test_base_image_follows_the_bundles_python() -> None:
    meta: dict[str, Any] = {"python": "3.12.4"}
    assert docker.default_base_image(meta) == "python:3.12-slim"
