"""Errors users see.

Every error a user can cause carries *where* (file, key path or column), *what* (a short type
code, like pydantic's ``type``) and *how to fix it*. The CLI prints them on one screen with no
traceback (unless ``--debug``) and exits with the error's ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input."""

    code: str  # machine-readable type, e.g. "unknown_key", "wrong_type", "missing"
    message: str  # what is wrong, in a sentence
    loc: tuple[str | int, ...] = ()  # key path inside the spec, or (column,) for data
    file: str | None = None  # the file the user should open
    fix: str | None = None  # what to do about it

    @property
    def key_path(self) -> str:
        return format_loc(self.loc)

    def render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.loc:
            where.append(f"key '{self.key_path}'")
        head = ": ".join([", ".join(where), self.message]) if where else self.message
        lines = [f"{head} [{self.code}]"]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class MlspecError(Exception):
    """Base of every error that is the user's to fix; never shows a traceback by default."""

    exit_code = 1
    title = "error"

    def __init__(self, problems: Problem | Iterable[Problem]):
        self.problems: list[Problem] = (
            [problems] if isinstance(problems, Problem) else list(problems)
        )
        super().__init__(self.render())

    def render(self) -> str:
        body = "\n".join(p.render() for p in self.problems)
        return f"{self.title}: {body}" if len(self.problems) == 1 else f"{self.title}s:\n{body}"


class SpecError(MlspecError):
    """The spec, an override or a referenced file is wrong. Nothing has been run or written."""

    exit_code = 2
    title = "spec error"


class DataError(MlspecError):
    """The data does not satisfy its declared contract (schema, split checks)."""

    exit_code = 1
    title = "data error"


class StageFailed(MlspecError):
    """A stage raised while running; the store keeps every stage completed before it."""

    exit_code = 1
    title = "stage failed"


class PluginError(MlspecError):
    """A plugin cannot be loaded or clashes with another one."""

    exit_code = 2
    title = "plugin error"


class StoreError(MlspecError):
    """The artifact store is damaged (e.g. an object does not match its digest)."""

    exit_code = 1
    title = "store error"


class TrackingError(MlspecError):
    """Tracking was used wrongly: a bad run filter, metric name or value, a param changed."""

    exit_code = 2
    title = "tracking error"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate, phrased as a suggestion, or None."""
    matches = get_close_matches(str(word), sorted({str(c) for c in candidates}), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def choices_hint(word: str, candidates: Iterable[str]) -> str:
    """A fix text: a close match when there is one, always the valid choices."""
    cands = sorted({str(c) for c in candidates})
    close = did_you_mean(word, cands)
    listing = ", ".join(cands)
    return f"{close} Valid choices: {listing}" if close else f"valid choices: {listing}"


__all__ = [
    "DataError",
    "MlspecError",
    "PluginError",
    "Problem",
    "SpecError",
    "StageFailed",
    "StoreError",
    "TrackingError",
    "choices_hint",
    "did_you_mean",
    "format_loc",
]
