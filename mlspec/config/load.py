"""Compose a spec with Hydra, resolve it, validate it; every failure becomes a SpecError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlspec.config import hydra_glue
from mlspec.config.errors import problems_from_validation
from mlspec.config.locate import SpecSource
from mlspec.config.spec import Spec
from mlspec.errors import Problem, SpecError, choices_hint, format_loc

PACKAGE_CONF = Path(__file__).resolve().parent.parent / "conf"


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    resolved: dict[str, Any]  # the composed, resolved config without the hydra node
    source: SpecSource
    choices: dict[str, str] = field(default_factory=dict)  # config group -> chosen option
    overrides: tuple[str, ...] = ()


def compose_spec(source: SpecSource, overrides: list[str]) -> LoadedSpec:
    """Compose with the compose API (for `plan` and pre-flight checks of `run`)."""
    check_override_syntax(source, overrides)
    try:
        cfg = hydra_glue.compose(source.config_dir, source.config_name, overrides)
    except Exception as exc:
        raise SpecError(composition_problem(exc, source, overrides)) from None
    from omegaconf import open_dict

    choices = {
        k: str(v) for k, v in cfg.hydra.runtime.choices.items()
        if not k.startswith("hydra") and v is not None
    }  # fmt: skip
    with open_dict(cfg):
        del cfg["hydra"]
    return validate_cfg(cfg, source, choices, overrides)


def validate_cfg(
    cfg: Any, source: SpecSource, choices: Mapping[str, str], overrides: list[str] | tuple[str, ...]
) -> LoadedSpec:
    """Resolve interpolations, reject MISSING (``???``) values, validate against Spec."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        loc = tuple(key.split(".")) if key else ()
        missing = type(exc).__name__ == "MissingMandatoryValue"
        raise SpecError(
            Problem(
                code="missing" if missing else "interpolation",
                message="required value is missing ('???')" if missing else _first_line(exc),
                loc=loc,
                file=attribute_file(loc, source, choices, overrides),
                fix=(f"set it in the spec or on the command line: {key}=VALUE" if missing
                     else "check the ${...} interpolation"),
            )  # fmt: skip
        ) from None
    assert isinstance(container, dict)
    container.pop("hydra", None)
    try:
        spec = Spec.model_validate(container)
    except ValidationError as exc:
        problems = problems_from_validation(exc, Spec)
        raise SpecError(
            [
                Problem(p.code, p.message, p.loc, attribute_file(p.loc, source, choices, overrides), p.fix)
                for p in problems
            ]
        ) from None
    return LoadedSpec(spec, container, source, dict(choices), tuple(overrides))


def check_override_syntax(source: SpecSource, overrides: list[str]) -> None:
    from hydra.errors import OverrideParseException

    for ov in overrides:
        try:
            hydra_glue.parse_overrides([ov])
        except OverrideParseException as exc:
            raise SpecError(
                Problem(
                    code="bad_override",
                    message=f"cannot parse override '{ov}': {_first_line(exc)}",
                    file="command line",
                    fix="write overrides as key=value (e.g. model.learning_rate=0.1);"
                    " sweep with -m and key=a,b; quote values that contain spaces",
                )
            ) from None


def composition_problem(exc: Exception, source: SpecSource, overrides: list[str]) -> Problem:
    from hydra.errors import MissingConfigException

    text = _first_line(exc)
    if isinstance(exc, MissingConfigException):
        options = list(getattr(exc, "options", None) or [])
        name = str(getattr(exc, "missing_cfg_file", "") or "")
        group, _, option = name.rpartition("/")
        if group and options:
            return Problem(
                "unknown_option",
                f"no config '{option}' in group '{group}'",
                (group,),
                _override_or(source, overrides, group),
                fix=choices_hint(option, options),
            )
        return Problem("missing_config", text, (), source.display(source.file), fix=None)
    if "Could not override" in text or "Key '" in text and "not in struct" in str(exc):
        key = text.split("'")[1] if "'" in text else ""
        return Problem(
            "unknown_key",
            f"cannot override '{key}': the spec has no such key",
            tuple(key.split(".")),
            "command line",
            fix=_known_keys_hint(source, key)
            + f" To add a new key on purpose use +{key}=VALUE.",
        )
    if "mapping values are not allowed" in str(exc) or "while parsing" in str(exc) or "while scanning" in str(exc):
        return Problem("yaml_syntax", f"invalid YAML: {_first_line(exc)}", (), source.display(source.file), fix="fix the YAML syntax at the line shown")
    return Problem("compose_failed", text, (), source.display(source.file), fix=None)


def _known_keys_hint(source: SpecSource, key: str) -> str:
    """Suggest a key that exists, by composing without the offending override."""
    try:
        cfg = hydra_glue.compose(source.config_dir, source.config_name, [])
    except Exception:
        return ""
    from omegaconf import OmegaConf

    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if node is None or not hasattr(node, "keys"):
        return ""
    keys = [str(k) for k in node.keys() if k != "hydra"]
    return choices_hint(leaf, keys).replace("valid choices", "keys there")


def attribute_file(
    loc: tuple[Any, ...], source: SpecSource, choices: Mapping[str, str], overrides: Any
) -> str:
    """Which file (or override) the user should edit for a problem at ``loc``."""
    dotted = format_loc(loc)
    for ov in overrides or ():
        key = ov.lstrip("+~").split("=", 1)[0]
        if key and (dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + ".")):
            return f"command-line override '{ov}'"
    group = str(loc[0]) if loc else ""
    if group in choices and not _primary_defines(source, loc):
        option = choices[group]
        user_file = source.config_dir / group / f"{option}.yaml"
        if user_file.is_file():
            return source.display(user_file)
        return f"mlspec/conf/{group}/{option}.yaml (packaged preset)"
    return source.display(source.file)


def _override_or(source: SpecSource, overrides: list[str], group: str) -> str:
    for ov in overrides:
        if ov.split("=", 1)[0].lstrip("+~") == group:
            return f"command-line override '{ov}'"
    return source.display(source.file)


def _primary_defines(source: SpecSource, loc: tuple[Any, ...]) -> bool:
    import yaml

    try:
        data = yaml.safe_load(source.file.read_text())
    except Exception:
        return False
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
