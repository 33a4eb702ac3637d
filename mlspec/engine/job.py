"""The Hydra task function: one call per run, or per job of a multirun sweep.

It is a module-level function so launchers that ship jobs to worker processes (joblib/loky) can
pickle it by reference. Nothing process-global survives between jobs: every call builds its own
store, tracker and console.
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


def task(cfg: Any) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mlspec.config.load import validate_cfg
    from mlspec.config.locate import SpecSource
    from mlspec.engine.console import make_console, print_error
    from mlspec.engine.operations import execute_run
    from mlspec.errors import MlspecError

    hc = HydraConfig.get()
    source = SpecSource(
        project_root=Path(os.environ.get(ENV_PROJECT_ROOT) or hc.runtime.cwd),
        config_dir=Path(os.environ.get(ENV_CONFIG_DIR) or hc.runtime.cwd),
        config_name=str(hc.job.config_name),
    )
    choices = {k: str(v) for k, v in hc.runtime.choices.items() if not k.startswith("hydra") and v}
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    console = make_console()
    try:
        loaded = validate_cfg(cfg, source, choices, overrides)
        result = execute_run(
            loaded,
            console,
            output_dir=str(hc.runtime.output_dir),
            sweep_dir=str(hc.sweep.dir) if multirun else None,
            job_num=int(hc.job.num) if multirun else None,
        )
    except MlspecError as exc:
        print_error(make_console(stderr=True), exc)
        if os.environ.get(ENV_DEBUG):
            traceback.print_exc()
        sys.stdout.flush()
        # SystemExit passes through Hydra's job wrapper untouched: exit code without traceback.
        raise SystemExit(exc.exit_code) from None
    return result.objective
