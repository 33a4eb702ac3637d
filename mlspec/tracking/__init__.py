"""Tracking: run records in SQLite (WAL), and the MLflow-style fluent API.

``import mlspec.tracking as mlflow`` gives ``start_run``, ``log_param(s)``, ``log_metric(s)``,
``set_tag(s)``, ``log_artifact(s)``, ``end_run``, ``active_run``, ``search_runs`` (see
:mod:`mlspec.tracking.fluent`). The engine's own records (runs, stage executions, metrics,
lineage) go through :class:`Tracker`.
"""

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
