"""Lineage: what a run was made from, recorded once at its start.

A run's lineage is one JSON document (table ``lineage``) with these sections:

- ``code``: the git commit of the project, whether the work tree had uncommitted changes to
  tracked files (``dirty``; untracked files are not looked at, to keep this to one cheap
  ``git status`` call), and the mlspec version.
- ``environment``: Python version and implementation, platform, and ``libraries``: installed
  versions of the distributions that matter (for engine runs, the ones the plan's stages declare —
  the same versions that enter the cache keys — plus mlspec's own core dependencies; for fluent
  runs, the ML libraries the script has imported by the time the run ends).
- ``data`` (engine runs): content digests of the external files the plan reads.
- ``config`` (engine runs): the Hydra group choices and overrides (the resolved config itself is
  the run's ``spec``).

Artifact digests are not copied here: every stage execution already records its outputs'
digests (``stage_runs``), and ``mlspec runs show`` lists them under lineage.
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

# Distributions whose versions are worth recording when a script has imported them
# (import name -> distribution name).
ML_MODULES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "pyarrow": "pyarrow",
    "pandera": "pandera",
    "skops": "skops",
    "joblib": "joblib",
    "mlflow": "mlflow",
    "optuna": "optuna",
    "statsmodels": "statsmodels",
}


def git_state(root: Path) -> dict[str, Any]:
    """``{"commit": sha | None, "dirty": bool | None, "branch": name | None}`` for the work tree
    at ``root``; all None outside a git repository or without git."""
    state: dict[str, Any] = {"commit": None, "dirty": None, "branch": None}
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return state
    if out.returncode != 0:
        return state
    dirty = False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2].strip()
            state["commit"] = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2].strip()
            state["branch"] = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    state["dirty"] = dirty
    return state


def imported_libraries() -> dict[str, str]:
    """Versions of the ML libraries this process has imported, from their ``__version__``
    (no import, no metadata look-up: cheap enough for every ``end_run``)."""
    out: dict[str, str] = {}
    for module, dist in ML_MODULES.items():
        version = getattr(sys.modules.get(module), "__version__", None)
        if isinstance(version, str):
            out[dist] = version
    return out


@functools.cache
def _platform() -> tuple[str, str, str, str]:
    return (
        platform.python_version(),
        platform.python_implementation(),
        platform.platform(),
        platform.machine(),
    )


def environment(libraries: dict[str, str]) -> dict[str, Any]:
    python, implementation, system, machine = _platform()
    return {
        "python": python,
        "implementation": implementation,
        "platform": system,
        "machine": machine,
        "libraries": dict(sorted(libraries.items())),
    }


def code(root: Path) -> dict[str, Any]:
    from mlspec import __version__

    return {**git_state(root), "mlspec": __version__}
