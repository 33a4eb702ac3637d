"""``mlspec deploy``: carry out one of the spec's deploy targets for its registered model.

- ``rest``: serve the model with ``mlspec serve``'s server, in the foreground, until interrupted.
- ``batch``: score the configured input file into the output file, as ``mlspec score`` does.
- ``docker``: write a build context (``mlspec.serve.docker``).

Nothing is trained here: the model comes from the registry (``<register.name>@champion`` unless
the target names one), so ``mlspec run`` registers it first. Every target goes through the
serving layer's one ``ScoringPipeline``, so a deployed model predicts what ``mlspec score`` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.config.deploy import (
    BatchTarget,
    DockerTarget,
    RestTarget,
    default_model_ref,
    is_bundle_path,
)
from mlspec.config.load import LoadedSpec, attribute_file
from mlspec.errors import Problem, SpecError
from mlspec.registry.errors import RegistryError

Target = RestTarget | BatchTarget | DockerTarget


@dataclass(frozen=True)
class ResolvedTarget:
    """A target with its model reference and paths resolved against the project root."""

    name: str
    target: Target
    model: str  # NAME@alias | NAME:VERSION | NAME | an absolute bundle directory
    project_root: Path

    def path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.project_root / path


def _spec_problem(loaded: LoadedSpec, code: str, message: str, loc: tuple[Any, ...], fix: str):
    file = attribute_file(loc, loaded.source, loaded.choices, loaded.overrides)
    return SpecError(Problem(code, message, loc, file, fix))


def resolve_target(loaded: LoadedSpec, name: str | None) -> ResolvedTarget:
    """Pick ``target=NAME`` (or the default / the only target) and resolve its model."""
    spec = loaded.spec
    if spec.deploy is None:
        raise _spec_problem(
            loaded,
            "no_deploy_section",
            "the spec has no deploy section",
            ("deploy",),
            "add one, e.g. deploy: {targets: {api: {kind: rest, port: 8080}}}",
        )
    try:
        chosen, target = spec.deploy.select(name)
    except ValueError as exc:
        what, _, fix = str(exc).partition("; ")
        loc = ("deploy", "targets") if name is not None else ("deploy", "default")
        raise _spec_problem(loaded, "unknown_target", what, loc, fix) from None
    model = target.model or default_model_ref(spec.register_.name if spec.register_ else None)
    if model is None:
        raise _spec_problem(
            loaded,
            "no_model",
            f"deploy target '{chosen}' names no model, and the spec registers none",
            ("deploy", "targets", chosen, "model"),
            "set model: NAME@champion (or NAME:VERSION, or a bundle directory), or add a"
            " register: section so the target deploys <register.name>@champion",
        )
    root = loaded.source.project_root
    if is_bundle_path(model) and not Path(model).is_absolute():
        model = str((root / model).resolve())
    return ResolvedTarget(chosen, target, model, root)


def _registered(resolved: ResolvedTarget, conf: str) -> RegistryError:
    """What to say when the target's model is not in the registry (yet)."""
    return RegistryError(
        Problem(
            "not_registered",
            f"deploy target '{resolved.name}' serves {resolved.model}, which is not registered",
            ("deploy", "targets", resolved.name, "model"),
            fix=f"register it first: mlspec run conf={conf} (with a register: section), or"
            " point the target's model at a registered version",
        )
    )


def load_pipeline(resolved: ResolvedTarget, conf: str, fast: bool) -> Any:
    from mlspec.serve.pipeline import ScoringPipeline

    try:
        return ScoringPipeline.load(resolved.model, resolved.project_root, fast=fast)
    except RegistryError as exc:
        if exc.problems and exc.problems[0].code in ("unknown_model", "unknown_alias"):
            missing = _registered(resolved, conf)
            raise RegistryError([*exc.problems, *missing.problems]) from None
        raise


# -- the three targets ---------------------------------------------------------------------------


def rest_options(resolved: ResolvedTarget) -> Any:
    """``ServeOptions`` for a rest target; its token comes from the variable ``token_env``
    names, and a target that asks for a token never starts without one."""
    from mlspec.serve.server import ServeOptions

    target = resolved.target
    assert isinstance(target, RestTarget)
    token = None
    if target.token_env is not None:
        token = os.environ.get(target.token_env) or None
        if token is None:
            raise SpecError(
                Problem(
                    "token_not_set",
                    f"deploy target '{resolved.name}' reads its token from ${target.token_env},"
                    " which is not set (or empty); refusing to serve without it",
                    ("deploy", "targets", resolved.name, "token_env"),
                    fix=f"export {target.token_env}=<a secret>, or remove token_env to serve"
                    " without a token",
                )
            )
    return ServeOptions(
        ref=resolved.model,
        host=target.host,
        port=target.port,
        token=token,
        log_requests=resolved.path(target.log_requests) if target.log_requests else None,
        project_root=resolved.project_root,
    )


def serve_rest(resolved: ResolvedTarget, conf: str, announce: Callable[[str], None]) -> None:
    """Serve until interrupted."""
    from mlspec.serve.server import run

    opts = rest_options(resolved)
    pipe = load_pipeline(resolved, conf, fast=opts.fast)
    announce(
        f"deploy target '{resolved.name}' (rest): serving {pipe.label} ({resolved.model}) on"
        f" http://{opts.host}:{opts.port}"
        + ("; token required" if opts.token else "")
        + (f"; logging requests to {opts.log_requests}" if opts.log_requests else "")
    )
    run(opts, pipe)


def score_batch(
    resolved: ResolvedTarget,
    conf: str,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> tuple[Any, Any]:
    """(pipeline, BatchResult): the target's input scored into its output, all or nothing."""
    from mlspec.serve.batch import score_file

    target = resolved.target
    assert isinstance(target, BatchTarget)
    source = resolved.path(target.input)
    if not source.is_file():
        raise SpecError(
            Problem(
                "missing_input",
                f"the input file '{target.input}' of deploy target '{resolved.name}' does not"
                " exist",
                ("deploy", "targets", resolved.name, "input"),
                file=str(source),
                fix="create it, or point input at a parquet or CSV file (relative paths start"
                " at the project root)",
            )
        )
    pipe = load_pipeline(resolved, conf, fast=False)
    if target.probabilities and not pipe.has_proba:
        raise SpecError(
            Problem(
                "no_probabilities",
                f"model {pipe.label} gives no probabilities",
                ("deploy", "targets", resolved.name, "probabilities"),
                fix="set probabilities: false for this target",
            )
        )
    output = resolved.path(target.output)  # score_file makes its directory (gone on failure)
    result = score_file(
        pipe,
        source,
        output,
        id_column=target.id_column,
        probabilities=target.probabilities,
        chunk_rows=target.chunk_size,
        on_progress=on_progress,
    )
    return pipe, result


def write_docker_context(resolved: ResolvedTarget, conf: str) -> Any:
    """The build context (``DockerContext``) for a docker target."""
    from mlspec.serve.docker import write_context

    target = resolved.target
    assert isinstance(target, DockerTarget)
    try:
        return write_context(
            resolved.model,
            resolved.path(target.context),
            resolved.project_root,
            port=target.port,
            base_image=target.base_image,
        )
    except RegistryError as exc:
        if exc.problems and exc.problems[0].code in ("unknown_model", "unknown_alias"):
            raise RegistryError([*exc.problems, *_registered(resolved, conf).problems]) from None
        raise
