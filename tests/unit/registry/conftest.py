"""Fixtures for the registry's unit tests; helpers live in registry_helpers.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from registry_helpers import fit_pipeline, make_frame


@pytest.fixture
def frame() -> Any:
    return make_frame()


@pytest.fixture
def pipeline(frame: Any) -> Any:
    return fit_pipeline(frame)


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    from mlspec.registry.registry import Registry
    from mlspec.store import Store

    return Registry(Store(tmp_path / ".mlspec"))
