"""The Hydra task function: one call per run, or per job of a multirun sweep.

It is a module-level function so launchers that ship jobs to worker processes (joblib/loky) can
pickle it by reference. Nothing process-global survives between jobs: every call builds its own
store, tracker and console. The one module flag, `task_started`, only tells the CLI of a single
run whether Hydra got as far as calling the task (see `mlspec.cli.run`).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

ENV_PROJECT_ROOT = "MLSPEC_PROJECT_ROOT"
ENV_CONFIG_DIR = "MLSPEC_CONFIG_DIR"
ENV_DEBUG = "MLSPEC_DEBUG"

task_started = False


def task(cfg: Any) -> float | None:
    global task_started
    task_started = True
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from mlspec.config import hydra_glue
    from mlspec.config.load import validate_cfg
    from mlspec.config.locate import SpecSource
    from mlspec.engine.console import make_console, print_error
    from mlspec.engine.operations import execute_run, prepare_run
    from mlspec.errors import MlspecError

    hydra_glue.report_errors_as_hydra_does()  # from here on, Hydra reports errors its own way
    hc = HydraConfig.get()
    source = SpecSource(
        project_root=Path(os.environ.get(ENV_PROJECT_ROOT) or hc.runtime.cwd),
        config_dir=Path(os.environ.get(ENV_CONFIG_DIR) or hc.runtime.cwd),
        config_name=str(hc.job.config_name),
    )
    choices = {k: str(v) for k, v in hc.runtime.choices.items() if not k.startswith("hydra") and v}
    # Unresolved: an override may itself hold a broken ${...}, which validation reports.
    task_overrides = OmegaConf.to_container(hc.overrides.task, resolve=False)
    overrides = [str(o) for o in task_overrides or ()]
    multirun = hc.mode == RunMode.MULTIRUN
    console = make_console()
    output_dir = Path(str(hc.runtime.output_dir))
    try:
        try:
            loaded = validate_cfg(cfg, source, choices, overrides)
            plan = prepare_run(loaded)
        except MlspecError:
            # Nothing was run: the output directory Hydra made for this run holds only its own
            # copy of a config that does not validate, so it goes too ("nothing written").
            if not multirun:
                discard_output_dir(output_dir, source.project_root)
            raise
        result = execute_run(
            loaded,
            console,
            output_dir=str(output_dir),
            sweep_dir=str(hc.sweep.dir) if multirun else None,
            job_num=int(hc.job.num) if multirun else None,
            plan=plan,
        )
    except MlspecError as exc:
        print_error(make_console(stderr=True), exc)
        if os.environ.get(ENV_DEBUG):
            traceback.print_exc()
        sys.stdout.flush()
        if multirun:
            # The run is recorded as failed; the other members still run, the sweep summary
            # lists this one with its error, and `mlspec run -m` exits 1 at the end.
            return None
        # SystemExit passes through Hydra's job wrapper untouched: exit code without traceback.
        raise SystemExit(exc.exit_code) from None
    return result.objective


def discard_output_dir(output_dir: Path, project_root: Path) -> None:
    """Remove a run's output directory if it holds nothing but Hydra's ``.hydra`` record, then
    its parents while they are empty (the dated folders, ``outputs/`` itself), never leaving the
    project root."""
    import shutil

    if not output_dir.is_dir() or any(p.name != ".hydra" for p in output_dir.iterdir()):
        return
    shutil.rmtree(output_dir, ignore_errors=True)
    root = project_root.resolve()
    parent = output_dir.resolve().parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()  # only succeeds when empty
        except OSError:
            break
        parent = parent.parent
