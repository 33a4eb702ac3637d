"""plugins/mlspec-sample installed as a real package (pip, entry points) and used by a spec."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli() -> list[str]:
    exe = shutil.which("mlspec")
    return [exe] if exe else [sys.executable, "-m", "mlspec"]


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(REPO / "plugins" / "mlspec-sample", build / "mlspec-sample")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(build / "mlspec-sample"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        pytest.fail(f"pip could not install the plugin:\n{out.stderr[-2000:]}")
    return site


def test_installed_plugin_is_discovered_and_runs_in_the_data_chain(
    plugin_site: Path, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    spec = (tmp_path / "conf" / "breast_cancer.yaml").read_text()
    spec += (
        "stages:\n"
        "  - {name: sample, after: load, params: {fraction: 0.5, stratify: target, seed: 1}}\n"
    )
    (tmp_path / "conf" / "sampled.yaml").write_text(spec)
    env = {**os.environ, "PYTHONPATH": str(plugin_site), "COLUMNS": "200"}

    listing = subprocess.run(
        [*_cli(), "plugins"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "mlspec-sample" in listing.stdout

    out = subprocess.run(
        [*_cli(), "run", "conf=sampled", "model.n_estimators=10"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "kept 284 of 569 rows" in out.stdout
    with sqlite3.connect(tmp_path / ".mlspec" / "mlspec.db") as db:
        nodes = [r[0] for r in db.execute("SELECT node FROM stage_runs ORDER BY id")]
    assert nodes == [
        "load",
        "sample",
        "validate",
        "split",
        "profile",
        "features",
        "train",
        "evaluate",
    ]

    # Without the plugin on the path, the same spec is a clear spec error, not a crash.
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    missing = subprocess.run(
        [*_cli(), "run", "conf=sampled"], cwd=tmp_path, env=bare, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "no stage named 'sample' is installed" in missing.stderr
    assert "Traceback" not in missing.stderr
