"""Fixtures for the end-to-end tests: every test drives the real `mlspec` CLI in a subprocess,
with a throw-away project directory (``tmp_path``) as its working directory.

- ``project``        tmp_path with conf/ and schemas/ copied from the repository
- ``mlspec(*args)``  run the CLI in tmp_path -> CompletedProcess (text)
- ``bc_first_run``   one cold breast_cancer run in a fresh project, shared by the session
- ``warm_bc``        ``project`` plus the store of that run (all six stages cached)

Helpers (run_cli, stage_runs, runs, plan_json, install_plugin, ...) live in e2e_helpers.py.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from e2e_helpers import DEFAULT_TIMEOUT, FAST, make_project, run_cli, show


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def mlspec(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``mlspec("run", "conf=x", env={...}, timeout=..., cwd=...)``; cwd defaults to tmp_path."""

    def call(
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(args, cwd=cwd or tmp_path, env=env, timeout=timeout)

    return call


@pytest.fixture(scope="session")
def bc_first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One cold `mlspec run conf=breast_cancer` in a fresh project, shared by the session.

    Its test (acceptance item a) checks it; tests that need a warm cache copy its project.
    """
    root = make_project(tmp_path_factory.mktemp("bc_template"))
    return root, run_cli(["run", "conf=breast_cancer", *FAST], cwd=root)


@pytest.fixture
def warm_bc(project: Path, bc_first_run: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    """A project whose store holds one completed breast_cancer run (all six stages cached)."""
    template, first = bc_first_run
    if first.returncode != 0:
        pytest.fail("the shared first breast_cancer run failed:\n" + show(first))
    shutil.copytree(template / ".mlspec", project / ".mlspec")
    return project
