"""Entry point: global flags, verb dispatch, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from mlspec import __version__

VERBS: dict[str, str] = {
    "run": "mlspec.cli.run",
    "plan": "mlspec.cli.plan",
    "verify": "mlspec.cli.verify",
    "runs": "mlspec.cli.runs",
    "plugins": "mlspec.cli.plugins",
    "schema": "mlspec.cli.schema",
    "artifacts": "mlspec.cli.artifacts",
    "models": "mlspec.cli.models",
    "reproduce": "mlspec.cli.reproduce",
    "monitor": "mlspec.cli.monitor",
    "serve": "mlspec.cli.serve",
    "score": "mlspec.cli.score",
    "deploy": "mlspec.cli.deploy",
}

USAGE = """usage: mlspec [--debug] [--version] VERB [ARGS...]

verbs:
  run      conf=NAME [-m] [overrides...]   run a spec through Hydra (multirun with -m)
  plan     conf=NAME [overrides...] [--json] what would run, what is cached, and why
  verify   [--repair]                      check every stored object against its digest
  runs     [ls|show RUN_ID|compare|export] [--filter ...] [--json]  recorded runs
  plugins                                  installed plugins (stages, loaders, cleaners)
  schema   infer DATA [-o FILE]            write a pandera YAML schema to start from
  artifacts [RUN] [NODE.OUTPUT -o FILE]    list a run's artifacts, or export one
  models   [ls|show REF|promote NAME V --alias A|rollback NAME|tag|untag|export]  the registry
  reproduce NAME@ALIAS|NAME:VERSION        rebuild a registered model; compare digest and metrics
  monitor  conf=NAME current=PATH|serving-log [model=REF] [--json] [--html F] [--retrain]
           | history [NAME] | show ID      drift against the model's reference (exit 1: drift)
  serve    MODEL [--host H] [--port P] [--token T]  REST endpoint (MLflow + V2 protocols)
  score    MODEL INPUT -o OUTPUT [--id-column C]     batch scoring, parquet or CSV
  deploy   conf=NAME [target=T] [overrides...]       run a deploy target: rest | batch | docker
"""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = False
    while argv and argv[0] in ("--debug", "--version", "-h", "--help"):
        flag = argv.pop(0)
        if flag == "--debug":
            debug = True
        elif flag == "--version":
            print(f"mlspec {__version__}")
            return
        else:
            print(USAGE)
            return
    if "--debug" in argv:
        argv.remove("--debug")
        debug = True
    if debug:
        os.environ["MLSPEC_DEBUG"] = "1"
    if not argv:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        from mlspec.errors import did_you_mean

        hint = did_you_mean(verb, VERBS) or "verbs: " + ", ".join(VERBS)
        print(f"error: unknown verb '{verb}'; {hint}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    import importlib

    _project_importable(os.getcwd())
    module = importlib.import_module(VERBS[verb])
    command: Callable[[list[str]], int | None] = module.command
    sys.exit(guarded(lambda: command(rest), debug, ON_INTERRUPT.get(verb, "interrupted")) or 0)


def _project_importable(root: str) -> None:
    """Project-local modules (a `callable` loader's function, a custom estimator) import as they
    would under `python -m`: the project root goes on sys.path, *last*, so it never shadows an
    installed package, and on PYTHONPATH for the worker processes of parallel launchers."""
    if root not in sys.path:
        sys.path.append(root)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([*paths, root])


# What Ctrl-C leaves behind, by verb: only `run` has stages to keep; for `serve` it is the way to
# stop (uvicorn has shut down gracefully by the time the interrupt reaches here).
ON_INTERRUPT = {
    "run": "interrupted; completed stages stay cached",
    "serve": "server stopped",
    "deploy": "stopped",
}


def guarded(
    fn: Callable[[], int | None], debug: bool, on_interrupt: str = "interrupted"
) -> int | None:
    """Run a verb; user errors print one screen and exit with their code, no traceback."""
    from mlspec.errors import MlspecError

    try:
        return fn()
    except MlspecError as exc:
        from mlspec.engine.console import make_console, print_error

        print_error(make_console(stderr=True), exc)
        if debug:
            traceback.print_exc()
        return exc.exit_code
    except KeyboardInterrupt:
        print(on_interrupt, file=sys.stderr)
        return 130


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"mlspec {prog}", description=description)


if __name__ == "__main__":  # pragma: no cover
    main()
