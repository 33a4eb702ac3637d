"""Run records: runs, overrides, stage executions, params and metrics in SQLite (WAL)."""

from mlspec.tracking.db import RunRecord, StageExecution, Tracker

__all__ = ["RunRecord", "StageExecution", "Tracker"]
