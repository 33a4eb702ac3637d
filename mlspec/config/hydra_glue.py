"""The one place that touches Hydra's private API (NeMo's pattern; hydra issues #215, #409, #1964).

Hydra does not support subcommands, so ``mlspec run`` parses its arguments with Hydra's own parser
and calls ``_run_hydra`` directly; everything else (sweepers, launchers, ``--cfg``, ``--help``,
callbacks) is Hydra's real machinery. A Hydra upgrade should only ever need changes here.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

# Hydra-level settings mlspec applies unless the user overrides them on the command line.
# Output dirs get a unique suffix: Hydra's are timestamped to the second and collide (#1817).
# Logging is left to mlspec (Hydra would take over the root logger, #1262).
# The sweep summary is a Hydra callback under its own key of hydra.callbacks, so callbacks the
# user adds (+hydra.callbacks.NAME._target_=...) sit beside it; `++` adds the key or replaces it
# if a config already set it. `~hydra.callbacks.mlspec_sweep_summary` turns it off.
SWEEP_SUMMARY_CALLBACK = "hydra.callbacks.mlspec_sweep_summary"
DEFAULT_HYDRA_OVERRIDES = {
    "hydra.run.dir": "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}_${mlspec_uid:}",
    "hydra.sweep.dir": "multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}_${mlspec_uid:}",
    "hydra/job_logging": "none",
    "hydra/hydra_logging": "none",
    f"++{SWEEP_SUMMARY_CALLBACK}._target_": "mlspec.engine.sweep.SweepSummary",
}


def _unique_suffix() -> str:
    return f"{os.getpid()}-{secrets.token_hex(3)}"


def register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("mlspec_uid"):
        # use_cache: every read of hydra.run.dir within one config sees the same value.
        OmegaConf.register_new_resolver("mlspec_uid", _unique_suffix, use_cache=True)


def hydra_args_parser() -> argparse.ArgumentParser:
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def _override_key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def with_default_hydra_overrides(overrides: list[str]) -> list[str]:
    """The user's overrides after mlspec's defaults, minus every default the user set (the key
    itself or a parent of it: ``hydra.callbacks=...`` replaces the summary callback's key).

    ``~hydra.callbacks.mlspec_sweep_summary`` only turns the default off: it is consumed here,
    since Hydra would reject deleting a key that its config does not have.
    """
    off = f"~{SWEEP_SUMMARY_CALLBACK}"
    kept = [o for o in overrides if o.split("=", 1)[0] != off]
    given = {_override_key(o) for o in overrides}

    def overridden(key: str) -> bool:
        return any(key == g or key.startswith(g + ".") for g in given)

    extra = [
        f"{k}={v}" for k, v in DEFAULT_HYDRA_OVERRIDES.items() if not overridden(_override_key(k))
    ]
    return extra + kept


def run_hydra(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    task_function: Callable[[Any], Any],
    config_dir: Path,
    config_name: str,
    compose_once: bool = False,
) -> None:
    """Hydra's ``_run_hydra``; with ``compose_once`` (a single run), its composition is shared
    between the mode check and the run (see `_composed_once`)."""
    from hydra import version
    from hydra._internal.utils import _run_hydra

    register_resolvers()
    version.setbase(None)  # current defaults: no chdir into the output dir
    with _composed_once() if compose_once else nullcontext():
        _run_hydra(
            args=args,
            args_parser=parser,
            task_function=task_function,
            config_path=str(config_dir),
            config_name=config_name,
        )


@contextmanager
def _composed_once() -> Iterator[None]:
    """Compose a single run's config once instead of twice.

    Hydra's run path composes the config first only to read ``hydra.mode`` (``Hydra.get_mode``,
    in multirun mode, result discarded), then again in ``Hydra.run``: the first composition was a
    tenth of a cached rerun. Here ``get_mode`` composes exactly as ``Hydra.run`` will (run mode,
    sweep overrides validated) and leaves that config for ``Hydra.run`` to pick up. When that
    composition fails, or the config asks for a multirun (``hydra.mode: MULTIRUN``), Hydra's own
    ``get_mode`` decides as before, so errors and modes are unchanged. One difference remains: an
    unset ``hydra.mode`` is reported as RUN instead of None, so ``hydra.overrides.hydra`` does not
    list the ``hydra.mode=RUN`` that Hydra would append (``Hydra.run`` sets the mode itself).
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.hydra import Hydra
    from hydra.types import RunMode

    held: dict[tuple[Any, ...], Any] = {}
    hydras_get_mode = Hydra.get_mode
    hydras_load = ConfigLoaderImpl.load_configuration

    def run_key(loader: Any, config_name: str | None, overrides: list[str]) -> tuple[Any, ...]:
        return (id(loader), config_name, tuple(overrides))

    def get_mode(self: Any, config_name: str | None, overrides: list[str]) -> Any:
        try:
            cfg = hydras_load(
                self.config_loader,
                config_name=config_name,
                overrides=overrides,
                run_mode=RunMode.RUN,
            )
        except Exception:
            return hydras_get_mode(self, config_name, overrides)
        if cfg.hydra.mode not in (None, RunMode.RUN):
            return hydras_get_mode(self, config_name, overrides)
        held[run_key(self.config_loader, config_name, overrides)] = cfg
        return RunMode.RUN

    def load_configuration(
        self: Any,
        config_name: str | None,
        overrides: list[str],
        run_mode: Any,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> Any:
        if run_mode == RunMode.RUN and from_shell and validate_sweep_overrides:
            cfg = held.pop(run_key(self, config_name, overrides), None)
            if cfg is not None:
                return cfg
        return hydras_load(
            self,
            config_name=config_name,
            overrides=overrides,
            run_mode=run_mode,
            from_shell=from_shell,
            validate_sweep_overrides=validate_sweep_overrides,
        )

    Hydra.get_mode = get_mode  # type: ignore[method-assign]
    ConfigLoaderImpl.load_configuration = load_configuration  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = hydras_get_mode  # type: ignore[method-assign]
        ConfigLoaderImpl.load_configuration = hydras_load  # type: ignore[method-assign]


_FULL_ERROR = "HYDRA_FULL_ERROR"
_saved_full_error: list[str | None] = []


def raise_errors_until_task() -> None:
    """Make Hydra raise, instead of print, the errors it meets before it calls the task
    (composition: unknown config group option, bad key in an override...), so the CLI can report
    them in mlspec's words with exit code 2. Uses Hydra's documented ``HYDRA_FULL_ERROR`` switch;
    `report_errors_as_hydra_does` (called first thing in the task) puts it back."""
    _saved_full_error.append(os.environ.get(_FULL_ERROR))
    os.environ[_FULL_ERROR] = "1"


def report_errors_as_hydra_does() -> None:
    if not _saved_full_error:
        return
    previous = _saved_full_error.pop()
    if previous is None:
        os.environ.pop(_FULL_ERROR, None)
    else:
        os.environ[_FULL_ERROR] = previous


def compose(config_dir: Path, config_name: str, overrides: list[str]) -> Any:
    """Compose with Hydra's compose API (for `plan` and pre-flight validation); hydra node kept."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            return hydra_compose(config_name, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def parse_overrides(overrides: list[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(overrides=overrides)
