"""mlspec deploy conf=NAME [target=TARGET] [overrides...] — carry out a deploy target of the spec.

``rest`` serves the registered model until interrupted; ``batch`` scores the configured input;
``docker`` writes a build context. TARGET defaults to ``deploy.default`` (or the only target).
Overrides are Hydra's, e.g. ``deploy.targets.api.port=9000``.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from mlspec.config.load import compose_spec
from mlspec.config.locate import locate_spec, split_conf_arg
from mlspec.engine.console import make_console

USAGE = "mlspec deploy conf=NAME [target=TARGET] [overrides...]"


def _split_target(argv: list[str]) -> tuple[str | None, list[str]]:
    target, rest = None, []
    for arg in argv:
        if arg.startswith("target=") and target is None:
            target = arg.split("=", 1)[1] or None
        else:
            rest.append(arg)
    return target, rest


def command(argv: list[str]) -> int | None:
    if any(a in ("-h", "--help") for a in argv):
        print(f"usage: {USAGE}\n\n{__doc__}")
        return 0
    from mlspec.config.deploy import BatchTarget, DockerTarget
    from mlspec.engine import deploy

    target_name, argv = _split_target(argv)
    conf, overrides = split_conf_arg(argv)
    source = locate_spec(conf, Path.cwd())
    loaded = compose_spec(source, overrides)
    resolved = deploy.resolve_target(loaded, target_name)
    conf_text = conf or ""
    console = make_console()
    if isinstance(resolved.target, DockerTarget):
        ctx = deploy.write_docker_context(resolved, conf_text)
        console.print(
            f"deploy target '{escape(resolved.name)}' (docker): wrote the build context for"
            f" {escape(ctx.ref)} to {escape(str(ctx.path))}\n"
            f"  base {escape(ctx.base_image)}, port {ctx.port}, mlspec from"
            f" {escape(ctx.mlspec_requirement)}, model digest {ctx.model_digest[:19]}\n"
            f"  build it with: docker build -t {escape(resolved.name)} {escape(str(ctx.path))}",
            highlight=False,
        )
        return 0
    if isinstance(resolved.target, BatchTarget):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as progress:
            task = progress.add_task("rows", total=None)

            def on_progress(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            pipe, result = deploy.score_batch(resolved, conf_text, on_progress)
        console.print(
            f"deploy target '{escape(resolved.name)}' (batch): scored {result.rows} rows with"
            f" {escape(pipe.label)} -> {escape(str(result.output))}"
            f" ({escape(', '.join(result.columns))})",
            highlight=False,
        )
        return 0
    deploy.serve_rest(
        resolved, conf_text, lambda text: console.print(escape(text), highlight=False)
    )
    return 0
