"""Run the clean stage the way the engine does, on hand-made frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.clean import CleanStage


@pytest.fixture
def clean(tmp_path) -> Callable[..., tuple[Any, dict]]:
    """clean(df, steps) -> (cleaned frame, accounting)."""

    def run(df: Any, steps: list[Any]) -> tuple[Any, dict]:
        ctx = StageContext(node="clean", run_id="t", project_root=tmp_path, log=lambda m: None)
        out = CleanStage().run(CleanStage.Params(steps=steps), {"data": df}, ctx)
        return out["data"], out["accounting"]

    return run


def _counts(accounting: dict, i: int = 0) -> tuple[int, int, int, int]:
    rec = accounting["steps"][i]
    return rec["rows_in"], rec["rows_out"], rec["removed"], rec["changed"]


@pytest.fixture
def counts() -> Callable[..., tuple[int, int, int, int]]:
    """counts(accounting, i=0) -> (rows_in, rows_out, removed, changed) of step ``i``."""
    return _counts
