"""Tracking: run records in SQLite (WAL), and the MLflow-style fluent API.

``import mlspec.tracking as mlflow`` gives ``start_run``, ``log_param(s)``, ``log_metric(s)``,
``set_tag(s)``, ``log_artifact(s)``, ``end_run``, ``active_run``, ``search_runs`` (see
:mod:`mlspec.tracking.fluent`). The engine's own records (runs, stage executions, metrics,
lineage) go through :class:`Tracker`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlspec.tracking.db import RunRecord, StageExecution, Tracker
    from mlspec.tracking.fluent import (
        ActiveRun,
        RunInfo,
        active_run,
        db_path,
        end_run,
        flush,
        get_tracking_uri,
        last_active_run,
        log_artifact,
        log_artifacts,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        set_experiment,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from mlspec.tracking.query import search_runs

# Submodule of each public name, imported on first use: the engine needs only ``db`` and
# ``lineage``, and the fluent API and the run query language cost a cached rerun ~20 ms to import.
_LAZY = {
    "ActiveRun": "fluent",
    "RunInfo": "fluent",
    "RunRecord": "db",
    "StageExecution": "db",
    "Tracker": "db",
    "active_run": "fluent",
    "db_path": "fluent",
    "end_run": "fluent",
    "flush": "fluent",
    "get_tracking_uri": "fluent",
    "last_active_run": "fluent",
    "log_artifact": "fluent",
    "log_artifacts": "fluent",
    "log_metric": "fluent",
    "log_metrics": "fluent",
    "log_param": "fluent",
    "log_params": "fluent",
    "search_runs": "query",
    "set_experiment": "fluent",
    "set_tag": "fluent",
    "set_tags": "fluent",
    "set_tracking_uri": "fluent",
    "start_run": "fluent",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlspec.tracking' has no attribute '{name}'")
    return getattr(import_module(f"mlspec.tracking.{module}"), name)


__all__ = [
    "ActiveRun",
    "RunInfo",
    "RunRecord",
    "StageExecution",
    "Tracker",
    "active_run",
    "db_path",
    "end_run",
    "flush",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
