"""Session fixtures for the serving tests: one project with registered models, and servers
(in threads) for the two shared models. See serve_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import ServerThread, build_project, serving


@pytest.fixture(scope="session")
def serve_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("serve_project"))


@pytest.fixture(scope="session")
def clf_server(serve_project: Path) -> Iterator[ServerThread]:
    with serving("bc_clf@champion", serve_project, poll_interval=0) as server:
        yield server


@pytest.fixture(scope="session")
def reg_server(serve_project: Path) -> Iterator[ServerThread]:
    with serving("diab_reg@champion", serve_project, poll_interval=0) as server:
        yield server
