"""Helpers for the end-to-end tests (imported by conftest.py and the test modules).

Kept out of conftest.py so test modules can import them by a unique module name.

- ``run_cli(args, cwd)`` run the real CLI in a subprocess -> CompletedProcess (text)
- ``stage_runs(root)``   rows of stage_runs in .mlspec/mlspec.db, oldest first
- ``runs(root)``         rows of runs, oldest first
- ``statuses(root)``     node -> hit|miss|failed for the latest run
- ``plan_json(...)``     `mlspec plan ... --json`, parsed
- ``install_plugin``     a stage plugin discoverable through importlib.metadata via PYTHONPATH
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "plugins" / "fixtures"
STAGES = ("load", "validate", "split", "profile", "features", "train", "evaluate")
# Small models everywhere: the tests are about caching and the CLI, not about accuracy.
FAST = ("model.n_estimators=20",)
DEFAULT_TIMEOUT = 300


# ---------------------------------------------------------------------------------------------
# running the CLI


def mlspec_command() -> list[str]:
    """The installed console script (next to this interpreter first), else ``python -m mlspec``."""
    exe = shutil.which("mlspec", path=str(Path(sys.executable).parent)) or shutil.which("mlspec")
    return [exe] if exe else [sys.executable, "-m", "mlspec"]


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Nothing from the caller's shell may redirect the store or change mlspec's behaviour.
    for var in (
        "MLSPEC_STORE",
        "MLSPEC_DEBUG",
        "MLSPEC_PROJECT_ROOT",
        "MLSPEC_CONFIG_DIR",
        "MLSPEC_TEST_SLEEP",
        "HYDRA_FULL_ERROR",
        "PYTHONPATH",
    ):
        env.pop(var, None)
    env.update(
        COLUMNS="200",
        PYTHONIOENCODING="utf-8",
        PYTHONUNBUFFERED="1",
        # Plugin sources are edited between runs: never let a stale .pyc stand in for them.
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def run_cli(
    args: Iterable[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*mlspec_command(), *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def show(result: subprocess.CompletedProcess[str]) -> str:
    """Everything a failed assertion should print about a CLI call."""
    return (
        f"$ mlspec {' '.join(map(str, result.args[len(mlspec_command()) :]))}\n"
        f"exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n"
        f"--- stderr ---\n{result.stderr}"
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, show(result)
    return result


# ---------------------------------------------------------------------------------------------
# reading what the CLI recorded


def _query(root: Path, sql: str) -> list[dict[str, Any]]:
    db = root / ".mlspec" / "mlspec.db"
    if not db.is_file():
        return []
    conn = sqlite3.connect(db, timeout=60)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def stage_runs(root: Path) -> list[dict[str, Any]]:
    """Every stage execution recorded in the project's database, oldest first."""
    return _query(root, "SELECT * FROM stage_runs ORDER BY id")


def runs(root: Path) -> list[dict[str, Any]]:
    """Every run recorded in the project's database, oldest first."""
    return _query(root, "SELECT * FROM runs ORDER BY started_at, rowid")


def run_ids(root: Path) -> list[str]:
    """Run ids in the order their first stage was recorded."""
    return list(dict.fromkeys(r["run_id"] for r in stage_runs(root)))


def statuses(root: Path, run_id: str | None = None) -> dict[str, str]:
    """node -> status for one run (default: the latest run that recorded stages)."""
    rows = stage_runs(root)
    if run_id is None:
        assert rows, "no stage executions recorded"
        run_id = rows[-1]["run_id"]
    return {r["node"]: r["status"] for r in rows if r["run_id"] == run_id}


def plan_json(
    root: Path, *args: str, env: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """`mlspec plan ARGS --json` -> {node: {"status", "reason", "key", ...}} (in plan order)."""
    result = ok(run_cli(["plan", *args, "--json"], cwd=root, env=env))
    payload = json.loads(result.stdout)
    assert set(payload) >= {"spec", "stages"}, payload
    return {s["name"]: s for s in payload["stages"]}


# ---------------------------------------------------------------------------------------------
# projects


def make_project(root: Path) -> Path:
    shutil.copytree(REPO / "conf", root / "conf", dirs_exist_ok=True)
    shutil.copytree(REPO / "schemas", root / "schemas", dirs_exist_ok=True)
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def derive_spec(root: Path, name: str, extra_yaml: str, base: str = "breast_cancer") -> Path:
    """conf/NAME.yaml = conf/BASE.yaml plus top-level keys BASE does not set (e.g. `stages:`)."""
    text = (root / "conf" / f"{base}.yaml").read_text(encoding="utf-8").rstrip("\n")
    return write(root / "conf" / f"{name}.yaml", text + "\n" + textwrap.dedent(extra_yaml))


def install_plugin(
    site: Path,
    dist: str,
    module: str,
    template: str,
    entry_points: Mapping[str, str],
    version: str = "0.1",
) -> Path:
    """Install fixture ``template`` as module ``module`` of distribution ``dist`` into ``site``.

    A ``<dist>-<version>.dist-info`` directory with METADATA and entry_points.txt is all
    importlib.metadata needs to find the ``mlspec.stages`` entry points once ``site`` is on
    PYTHONPATH. Returns the module's path (tests edit it).
    """
    site.mkdir(parents=True, exist_ok=True)
    target = site / f"{module}.py"
    shutil.copyfile(FIXTURES / template, target)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    write(info / "entry_points.txt", f"[mlspec.stages]\n{lines}")
    return target
