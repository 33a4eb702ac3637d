"""A run killed with SIGKILL in the middle of a stage leaves the store consistent, and the next
run resumes from the completed stages (DESIGN §4, "nothing is lost")."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from e2e_helpers import (
    FAST,
    cli_env,
    derive_spec,
    install_plugin,
    mlspec_command,
    ok,
    runs,
    show,
    stage_runs,
    statuses,
)

SLEEPY_STAGES = ("load", "validate", "sleepy", "split", "profile", "features", "train", "evaluate")
STARTUP_TIMEOUT = 180  # seconds to wait for the sleepy stage to start; not a speed assertion


def _wait_for_line(lines: queue.Queue[str | None], marker: str, seen: list[str]) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:  # the process closed its stdout (exited)
            return False
        seen.append(line)
        if marker in line:
            return True
    return False


def _wait_for_records(project: Path, count: int) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if len(list((project / ".mlspec" / "actions").glob("*/*.json"))) >= count:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigkill_mid_stage_then_rerun_resumes_and_store_verifies(project: Path, mlspec) -> None:
    site = project / "plugin_site"
    install_plugin(
        site,
        "mlspec-sleepyplugin",
        "mlspec_sleepyplugin",
        "sleepy.py",
        {"sleepy": "mlspec_sleepyplugin:SleepyStage"},
    )
    derive_spec(
        project, "bc_sleepy", "stages: [{name: sleepy, after: validate, params: {seconds: 120}}]\n"
    )
    env = {"PYTHONPATH": str(site)}

    proc = subprocess.Popen(
        [*mlspec_command(), "run", "conf=bc_sleepy", *FAST],
        cwd=project,
        env=cli_env({**env, "MLSPEC_TEST_SLEEP": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group: kill everything it started
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        started = _wait_for_line(lines, "▶ sleepy", seen)
        assert started, "the sleepy stage never started:\n" + "".join(seen)
        # load and validate were recorded before sleepy started.
        assert statuses(project) == {"load": "miss", "validate": "miss"}
        # Their outputs are written on a background thread while sleepy runs: a stage is
        # finished (and survives a kill) once its action record exists. Kill mid-sleepy, after
        # that — not a speed assertion, just the order of events.
        assert _wait_for_records(project, 2), "load/validate never reached the store"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)

    [killed] = runs(project)
    assert killed["status"] != "completed", killed
    # The record still says 'running'; readers see that its process is gone.
    shown = ok(mlspec("runs", "show", killed["run_id"], "--json"))
    assert '"status": "interrupted"' in shown.stdout, show(shown)
    # Consistent at once, before anything repairs it.
    check = ok(mlspec("verify"))
    assert "0 problems" in check.stdout, show(check)

    # Rerun with the same spec (same keys) and no sleep: resumes after validate.
    result = ok(mlspec("run", "conf=bc_sleepy", *FAST, env=env))
    assert "done" in result.stdout
    assert statuses(project) == {
        "load": "hit",
        "validate": "hit",
        "sleepy": "miss",
        "split": "miss",
        "profile": "miss",
        "features": "miss",
        "train": "miss",
        "evaluate": "miss",
    }
    last = runs(project)[-1]
    assert last["status"] == "completed"
    assert [r["node"] for r in stage_runs(project) if r["run_id"] == last["run_id"]] == list(
        SLEEPY_STAGES
    )

    check = ok(mlspec("verify"))
    assert "0 problems" in check.stdout, show(check)
