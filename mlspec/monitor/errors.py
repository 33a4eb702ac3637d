"""Errors of ``mlspec monitor``: the current data cannot be compared (exit code 2)."""

from __future__ import annotations

from mlspec.errors import MlspecError


class MonitorInputError(MlspecError):
    """The current data is unusable — missing, empty, lacking columns the model takes, or of
    the wrong types — or the model has nothing to compare with. Nothing was recorded.

    Exit code 2, so cron and CI tell "could not check" apart from "checked: drift" (1)."""

    exit_code = 2
    title = "monitor input error"
