"""Helpers shared by the loader tests: run the load stage on a ``data.source`` mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.load import LoadParams, LoadStage


@pytest.fixture
def load(tmp_path: Path):
    """``load(**source)`` -> the loaded DataFrame, with tmp_path as the project root."""

    def run(root: Path | None = None, **source: Any) -> Any:
        ctx = StageContext("load", "t", root or tmp_path, log=lambda m: None)
        return LoadStage().run(LoadParams.model_validate(source), {}, ctx)["data"]

    return run
