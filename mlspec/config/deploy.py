"""``deploy:`` — where a registered model goes: a REST server, a batch scoring job, a Docker
build context. A spec lists any number of named targets; ``mlspec deploy conf=… target=NAME``
picks one (``default`` when no name is given, or the only one)::

    deploy:
      default: api
      targets:
        api:     {kind: rest, port: 8080, token_env: FRAUD_API_TOKEN}
        nightly: {kind: batch, input: data/new.parquet, output: out/new.parquet, id_column: id}
        image:   {kind: docker, context: build/fraud-image}

Every target may name its ``model`` (``NAME@alias``, ``NAME:VERSION``, ``NAME`` or an exported
bundle directory); it defaults to ``<register.name>@champion``. Relative paths resolve against the
project root (where ``mlspec`` runs), like the data source's.

The targets form a union told apart by ``kind``. Each member forbids unknown keys of its own (a
``port`` on a batch target is an error, not a silently ignored setting); the discriminator tags
each member with its class name, which the config layer's error walker strips from key paths, so
errors read ``deploy.targets.api.port``.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from mlspec.errors import Problem, choices_hint

KINDS = ("rest", "batch", "docker")
DEFAULT_ALIAS = "champion"
TABLE_SUFFIXES = (".parquet", ".pq", ".csv")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*?(?:(:\d+)|(@[A-Za-z0-9][A-Za-z0-9_.-]*))?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def is_bundle_path(ref: str) -> bool:
    """A model reference that names a directory (an exported bundle) rather than the registry."""
    return "/" in ref or "\\" in ref or ref.startswith(".")


class _Target(_Model):
    # The model to deploy; None: <register.name>@champion (DeploySpec.model_ref).
    model: str | None = None

    @field_validator("model")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is None or is_bundle_path(value) or _REF.match(value):
            return value
        raise ValueError(
            f"'{value}' is not a model reference; write NAME@ALIAS (e.g. fraud-detector@champion),"
            " NAME:VERSION (e.g. fraud-detector:3), NAME, or a bundle directory (./exported/model)"
        )


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is out of range; use a port from 1 to 65535, e.g. 8080")
    return value


class RestTarget(_Target):
    """``kind: rest`` — ``mlspec deploy`` serves the model, in the foreground."""

    kind: Literal["rest"]
    host: str = "127.0.0.1"  # loopback unless told otherwise
    port: int = 8080
    # The *name* of the environment variable holding the bearer token (never the token itself:
    # specs are committed to version control).
    token_env: str | None = None
    # Directory of the request/prediction log (JSON lines, rolled; off the request path).
    log_requests: str | None = None

    @field_validator("port")
    @classmethod
    def _port_range(cls, value: int) -> int:
        return _port(value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip() or any(ch.isspace() for ch in value):
            raise ValueError(
                f"'{value}' is not a host to bind; use an address such as 127.0.0.1 (loopback,"
                " the default) or 0.0.0.0 (every interface)"
            )
        return value

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_VAR.match(value):
            raise ValueError(
                f"'{value}' is not an environment variable name; token_env names the variable"
                " that holds the token (e.g. FRAUD_API_TOKEN), never the token itself"
            )
        return value


class BatchTarget(_Target):
    """``kind: batch`` — score a table with the model, as ``mlspec score`` does."""

    kind: Literal["batch"]
    input: str
    output: str
    id_column: str | None = None  # carried through to the output
    chunk_size: int = 100_000
    probabilities: bool = False

    @field_validator("input", "output")
    @classmethod
    def _table(cls, value: str) -> str:
        if PurePath(value).suffix.lower() not in TABLE_SUFFIXES:
            raise ValueError(
                f"'{value}' is neither a parquet nor a CSV file; give a path ending in"
                " .parquet or .csv"
            )
        return value

    @field_validator("chunk_size")
    @classmethod
    def _chunk(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"chunk_size {value} is not positive; use a row count, e.g. 100000")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> BatchTarget:
        if PurePath(self.input) == PurePath(self.output):
            raise ValueError(
                f"output '{self.output}' is the input file; write the scores to another path"
            )
        return self


class DockerTarget(_Target):
    """``kind: docker`` — write a build context (Dockerfile, pinned requirements, the bundle)."""

    kind: Literal["docker"]
    context: str = "build/docker"  # the directory to write; replaced as a whole
    port: int = 8080  # EXPOSEd and passed to `mlspec serve`
    # None: python:<the bundle's Python major.minor>-slim, the interpreter its pins were made on.
    base_image: str | None = None

    @field_validator("port")
    @classmethod
    def _port_range(cls, value: int) -> int:
        return _port(value)


class _UnknownTarget(_Model):
    """Stands in for a target whose ``kind`` is missing or unknown, to say so in one line."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(
                f"expected a mapping with a 'kind', got {value!r}; write e.g."
                " {kind: rest, port: 8080}"
            )
        kind = value.get("kind")
        if kind is None:
            raise ValueError("the target needs 'kind'; " + "set it to one of: " + ", ".join(KINDS))
        raise ValueError(f"unknown target kind '{kind}'; " + choices_hint(str(kind), KINDS))


def _kind_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return {"rest": "RestTarget", "batch": "BatchTarget", "docker": "DockerTarget"}.get(
        kind if isinstance(kind, str) else "", "_UnknownTarget"
    )


DeployTarget = Annotated[
    Annotated[RestTarget, Tag("RestTarget")]
    | Annotated[BatchTarget, Tag("BatchTarget")]
    | Annotated[DockerTarget, Tag("DockerTarget")]
    | Annotated[_UnknownTarget, Tag("_UnknownTarget")],
    Discriminator(_kind_tag),
]


class DeploySpec(_Model):
    """``deploy:`` — named targets, and which one ``mlspec deploy`` uses without ``target=``."""

    targets: dict[str, DeployTarget] = Field(default_factory=dict)
    default: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_target_shape(cls, value: Any) -> Any:
        """DESIGN's first sketch had one unnamed target (``deploy: {target: rest, port: 8080}``):
        say how to write it now rather than list unknown keys."""
        if isinstance(value, dict) and "targets" not in value:
            kind = value.get("kind", value.get("target"))
            if kind is not None:
                rest = ", ".join(
                    f"{k}: {v}" for k, v in value.items() if k not in ("kind", "target")
                )
                inner = f"kind: {kind}" + (f", {rest}" if rest else "")
                raise ValueError(
                    "deploy lists named targets, not one target's settings; write"
                    f" deploy: {{targets: {{{kind}: {{{inner}}}}}}}"
                )
        return value

    @field_validator("targets")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError(
                "deploy.targets is empty; add a named target, e.g. targets: {api: {kind: rest}}"
            )
        for name in value:
            if not _SLUG.match(name):
                raise ValueError(
                    f"target name '{name}' is not a slug; use letters, digits, '-', '_' and '.'"
                )
        return value

    @model_validator(mode="after")
    def _known_default(self) -> DeploySpec:
        if self.default is not None and self.default not in self.targets:
            raise ValueError(
                f"unknown default target '{self.default}'; "
                + choices_hint(self.default, self.targets)
            )
        return self

    def select(self, name: str | None) -> tuple[str, RestTarget | BatchTarget | DockerTarget]:
        """(name, target) for ``target=NAME``; ValueError "what; fix" when it cannot choose."""
        if name is None:
            if self.default is not None:
                name = self.default
            elif len(self.targets) == 1:
                name = next(iter(self.targets))
            else:
                raise ValueError(
                    f"the spec has {len(self.targets)} deploy targets and no default; pass"
                    f" target=NAME (one of: {', '.join(self.targets)}) or set deploy.default"
                )
        if name not in self.targets:
            raise ValueError(f"unknown deploy target '{name}'; " + choices_hint(name, self.targets))
        target = self.targets[name]
        assert isinstance(target, RestTarget | BatchTarget | DockerTarget)
        return name, target


def default_model_ref(register_name: str | None) -> str | None:
    """``<register.name>@champion``: what a target without ``model`` deploys."""
    return f"{register_name}@{DEFAULT_ALIAS}" if register_name else None


def targets_without_model(deploy: DeploySpec | None, register_name: str | None) -> list[Problem]:
    """Targets that could never deploy anything: no ``model``, and no ``register:`` section to
    default to. Checked when the spec is validated, so ``mlspec run`` reports it, not only a later
    ``mlspec deploy``."""
    if deploy is None or register_name is not None:
        return []
    return [
        Problem(
            "no_model",
            f"deploy target '{name}' names no model, and the spec registers none",
            ("deploy", "targets", name, "model"),
            fix="set model: NAME@champion (or NAME:VERSION, or a bundle directory), or add a"
            " register: section so the target deploys <register.name>@champion",
        )
        for name, target in deploy.targets.items()
        if getattr(target, "model", None) is None
    ]
