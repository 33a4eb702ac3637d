"""Run the features stage the way the engine does, on hand-made frames (a uniquely named
module rather than conftest.py: several test folders have a conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage


def run_features(train: Any, logs: list[str] | None = None, **params: Any) -> dict[str, Any]:
    params.setdefault("target", "y")
    sink = logs.append if logs is not None else (lambda m: None)
    ctx = StageContext(node="features", run_id="t", project_root=Path("."), log=sink)
    return FeaturesStage().run(FeaturesParams(**params), {"train": train}, ctx)
