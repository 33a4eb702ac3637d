"""mlspec run conf=NAME [-m] [overrides...] — through Hydra's own run/multirun machinery.

A bad spec exits 2 with a clear message and nothing is written — not even Hydra's output
directory. A sweep is composed, validated, compiled and pre-flighted before Hydra starts, once per
swept value, so a bad value anywhere fails before the first member runs. A single run is checked
inside the task, on the configuration Hydra composed for it (composing it a third time only to
check it first cost a fifth of a cached rerun): the task removes the output directory Hydra made
if the check fails, and a composition error Hydra meets is re-raised to the CLI, which composes
once more with the compose API to report it in mlspec's words.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlspec.config import hydra_glue
from mlspec.config.locate import locate_spec, split_conf_arg
from mlspec.engine import job
from mlspec.engine.job import ENV_CONFIG_DIR, ENV_PROJECT_ROOT, task
from mlspec.engine.operations import check_spec, check_sweep

_INTROSPECTION = ("help", "hydra_help", "cfg", "info", "shell_completion")
MAX_PREFLIGHT_COMPOSES = 64


def command(argv: list[str]) -> int | None:
    project_root = Path.cwd()
    conf, rest = split_conf_arg(argv)
    parser = hydra_glue.hydra_args_parser()
    parser.prog = "mlspec run conf=NAME"
    args = parser.parse_args(rest)
    introspecting = any(getattr(args, flag, None) for flag in _INTROSPECTION)
    if conf is None and introspecting and args.help:
        parser.print_help()
        return 0
    source = locate_spec(conf, project_root)
    overrides = list(args.overrides)
    single_run = not introspecting and not args.multirun
    if not introspecting:
        variants = preflight_variants(source, overrides, multirun=bool(args.multirun))
        if args.multirun:
            check_sweep(source, variants)
    os.environ[ENV_PROJECT_ROOT] = str(project_root)
    os.environ[ENV_CONFIG_DIR] = str(source.config_dir)
    args.overrides = hydra_glue.with_default_hydra_overrides(overrides)
    if not single_run:
        from mlspec.engine import sweep

        sweep.last_sweep = None
        hydra_glue.run_hydra(args, parser, task, source.config_dir, source.config_name)
        summary = sweep.last_sweep
        return 1 if summary is not None and any(m.errored for m in summary.members) else 0
    job.task_started = False
    hydra_glue.raise_errors_until_task()
    try:
        hydra_glue.run_hydra(
            args, parser, task, source.config_dir, source.config_name, compose_once=True
        )
    except Exception:
        if job.task_started:
            raise
        check_spec(source, overrides)  # the same composition, reported as a SpecError
        raise  # the compose API accepted what Hydra's run path refused: show Hydra's error
    finally:
        hydra_glue.report_errors_as_hydra_does()
    return 0


def preflight_variants(source: object, overrides: list[str], multirun: bool) -> list[list[str]]:
    """Concrete override lists to validate: the first value of every sweep, then each other value
    of each swept key in turn (bounded), so a bad value anywhere in a sweep fails up front."""
    from mlspec.config.load import check_override_syntax, is_hydra_override

    check_override_syntax(source, overrides)  # type: ignore[arg-type]
    if not multirun:
        return [overrides]
    parsed = hydra_glue.parse_overrides(overrides)
    choices: list[list[str]] = []
    groups: set[str] = set()  # hydra/sweeper=..., hydra/launcher=...: checked in the first variant
    for ov in parsed:
        key = ov.get_key_element()
        if ov.is_hydra_override():
            choices.append([ov.input_line])
            if key.lstrip("+~").startswith("hydra/") and not ov.is_sweep_override():
                groups.add(ov.input_line)
        elif ov.is_interval_sweep():
            sweep = ov.value()
            choices.append([f"{key}={sweep.start}"])
        elif ov.is_sweep_override():
            choices.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            choices.append([ov.input_line])
    base = [c[0] for c in choices]
    variants = [base]
    for i, values in enumerate(choices):
        for value in values[1:]:
            if len(variants) >= MAX_PREFLIGHT_COMPOSES:
                break
            variants.append([*base[:i], value, *base[i + 1 :]])
    keep = [[o for o in v if not is_hydra_override(o)] for v in variants[:MAX_PREFLIGHT_COMPOSES]]
    keep[0] = [o for o in base if o in groups or not is_hydra_override(o)]
    return keep
