"""Errors a client of the scoring pipeline can cause: always a 4xx, never a 5xx.

``RequestError`` carries column-level ``Problem``s (``loc=(column,)``) and the HTTP status the
server answers with; the CLI (``mlspec score``) prints the same problems and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlspec.errors import MlspecError, Problem


class RequestError(MlspecError):
    """Input the model cannot score: a malformed body, missing/extra columns, wrong types."""

    exit_code = 2
    title = "request error"

    def __init__(
        self,
        problems: Problem | Iterable[Problem],
        status: int = 400,
        error_code: str = "BAD_REQUEST",
    ):
        super().__init__(problems)
        self.status = status
        self.error_code = error_code


def bad_request(code: str, message: str, fix: str | None = None, status: int = 400) -> RequestError:
    """One-problem shorthand for errors about the request as a whole (no column)."""
    return RequestError(Problem(code, message, fix=fix), status=status)
