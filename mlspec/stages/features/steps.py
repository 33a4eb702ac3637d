"""The step registry: what ``{impute: median}`` or ``{_target_: pkg.mod.Cls, ...}`` builds.

A step in a column group's ``steps`` list is one of

- a built-in step, by name: ``log1p``, ``{impute: median}``, ``{clip: {quantiles: [0.01, 0.99]}}``
- any scikit-learn-API transformer by import path: ``{_target_: pkg.mod.Transformer, arg: 1}``
- a third-party step by name, registered in the ``mlspec.transforms`` entry-point group: the
  entry point names a class (or factory) called with the step's options as keyword arguments.

Built-in steps are registered in code (``builtins``), so they work without packaging metadata; a
third-party step cannot shadow a built-in one. Importing this module imports no ML library.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from types import ModuleType
from typing import Any

from mlspec.errors import PluginError, Problem, SpecError, choices_hint, did_you_mean
from mlspec.stages.features.builtins import BUILTIN_STEPS
from mlspec.stages.registry import PluginRegistry

TRANSFORMS_GROUP = "mlspec.transforms"
TARGET_KEY = "_target_"


def parse_step(raw: Any) -> tuple[str, Any]:
    """``name`` | ``{name: arg}`` | ``{_target_: path, **kwargs}`` -> (name, arg)."""
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict) and TARGET_KEY in raw:
        return TARGET_KEY, dict(raw)
    if isinstance(raw, dict) and len(raw) == 1:
        name, arg = next(iter(raw.items()))
        return str(name), arg
    raise ValueError(
        "must be a name, a one-key mapping like {impute: median},"
        " or {_target_: pkg.module.Transformer, ...kwargs}"
    )


def check_step(raw: Any) -> None:
    """Shape and name checks that need no import (spec validation); raises ValueError."""
    name, arg = parse_step(raw)
    if name == TARGET_KEY:
        target = arg[TARGET_KEY]
        if not isinstance(target, str) or "." not in target.replace(":", "."):
            raise ValueError(
                f"_target_ must be an import path like pkg.module.Class, got {target!r}"
            )
        return
    kind = BUILTIN_STEPS.get(name)
    if kind is None:
        if name in transform_registry():
            if arg is not None and not isinstance(arg, dict):
                raise ValueError(f"step '{name}' takes a mapping of keyword arguments")
            return
        raise ValueError(
            f"unknown step '{name}'; "
            + choices_hint(name, [*BUILTIN_STEPS, *transform_registry().names()])
        )
    if arg is None or (isinstance(arg, dict) and kind.mapping):
        return
    if isinstance(arg, str) and kind.choices is not None:
        if arg not in kind.choices:
            raise ValueError(f"{name}: unknown option '{arg}'; " + choices_hint(arg, kind.choices))
        return
    if kind.scalar and isinstance(arg, kind.scalar) and not isinstance(arg, bool):
        return
    accepted = ["a mapping of options"] if kind.mapping else []
    if kind.choices is not None:
        accepted.insert(0, "one of " + ", ".join(kind.choices))
    accepted += ["a " + t.__name__ for t in kind.scalar]
    raise ValueError(f"step '{name}' takes {' or '.join(accepted)}, got {arg!r}")


def build_step(raw: Any, group: str, loc: tuple[str | int, ...]) -> Any:
    """The unfitted transformer for one step; any bad option is a SpecError at ``loc``."""
    try:
        check_step(raw)
        name, arg = parse_step(raw)
    except ValueError as exc:
        raise SpecError(Problem("bad_step", str(exc), loc)) from exc
    try:
        if name == TARGET_KEY:
            est = _custom(arg, loc)
        elif name in BUILTIN_STEPS:
            est = BUILTIN_STEPS[name].build(arg, group)
        else:
            est = _third_party(name, arg, loc)
        # sklearn estimators declaring constraints check their values now, not at fit time
        if getattr(est, "_parameter_constraints", None) is not None:
            est._validate_params()
    except (TypeError, ValueError) as exc:  # sklearn's InvalidParameterError subclasses both
        raise SpecError(Problem("bad_step", f"step '{name}': {exc}", loc)) from exc
    if not (callable(getattr(est, "fit", None)) and callable(getattr(est, "transform", None))):
        raise SpecError(
            Problem(
                "not_a_transformer",
                f"step '{name}' built {type(est).__name__}, which has no fit/transform",
                loc,
                fix="name a scikit-learn-API transformer (a class with fit and transform)",
            )
        )
    return est


# -- custom and third-party steps ----------------------------------------------------------------


class TransformRegistry(PluginRegistry):
    kind = "transform"
    default_group = TRANSFORMS_GROUP

    def validate(self, cls: Any, name: str) -> list[str]:
        if not callable(cls):
            return [f"{cls!r} is not a class or factory"]
        if isinstance(cls, type) and not (hasattr(cls, "fit") and hasattr(cls, "transform")):
            return [f"{cls.__name__} has no fit/transform methods"]
        return []


@lru_cache(maxsize=1)
def transform_registry() -> TransformRegistry:
    return TransformRegistry()


def _third_party(name: str, arg: Any, loc: tuple[str | int, ...]) -> Any:
    try:
        factory = transform_registry().get(name)
    except PluginError as exc:
        raise SpecError([Problem(p.code, p.message, loc, fix=p.fix) for p in exc.problems]) from exc
    return _call(factory, dict(arg or {}), name, loc)


def _custom(arg: dict[str, Any], loc: tuple[str | int, ...]) -> Any:
    target = arg[TARGET_KEY]
    kwargs = {k: v for k, v in arg.items() if k != TARGET_KEY}
    return _call(resolve_target(target, (*loc, TARGET_KEY)), kwargs, target, loc)


def _call(factory: Any, kwargs: dict[str, Any], name: str, loc: tuple[str | int, ...]) -> Any:
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = None
    if params is not None and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for key in kwargs:
            if key not in params:
                hint = did_you_mean(key, params)
                raise SpecError(
                    Problem(
                        "unknown_param",
                        f"step '{name}' has no parameter '{key}'",
                        (*loc, key),
                        fix=(hint + " " if hint else "") + f"it takes: {', '.join(params)}",
                    )
                )
    return factory(**kwargs)


def resolve_target(target: str, loc: tuple[str | int, ...]) -> Any:
    """The class named by ``pkg.mod.Cls`` (or ``pkg.mod:Cls``); a SpecError when there is none."""
    if ":" in target:
        module_name, _, attr = target.partition(":")
    else:
        module_name, _, attr = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SpecError(
            Problem(
                "unknown_target",
                f"cannot import module '{module_name}' ({type(exc).__name__}: {exc})",
                loc,
                fix="check the path; make the module importable (install it or add its folder"
                " to PYTHONPATH)",
            )
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = did_you_mean(part, [n for n in dir(obj) if not n.startswith("_")])
            raise SpecError(
                Problem(
                    "unknown_target",
                    f"'{module_name}' has no attribute '{attr}'",
                    loc,
                    fix=hint or "check the class name",
                )
            )
        obj = getattr(obj, part)
    return obj


def step_modules(steps: list[Any]) -> list[ModuleType]:
    """Modules defining the custom and third-party steps, for the code fingerprint."""
    names: list[str] = []
    for raw in steps:
        try:
            name, arg = parse_step(raw)
        except ValueError:
            continue
        if name == TARGET_KEY and isinstance(arg[TARGET_KEY], str):
            target = arg[TARGET_KEY]
            names.append(target.partition(":")[0] if ":" in target else target.rpartition(".")[0])
        elif name not in BUILTIN_STEPS and name in transform_registry():
            names.extend(e.value.partition(":")[0] for e in transform_registry().entries(name))
    found = (source_module(n) for n in dict.fromkeys(names))
    return [m for m in found if m is not None]


def step_distributions(steps: list[Any]) -> list[str]:
    """Installed distributions providing custom and third-party steps (their versions enter the
    environment fingerprint; project-local modules are covered by the code fingerprint)."""
    from mlspec.installed import distribution_version

    found: list[str] = []
    for raw in steps:
        try:
            name, arg = parse_step(raw)
        except ValueError:
            continue
        if name == TARGET_KEY and isinstance(arg[TARGET_KEY], str):
            top = arg[TARGET_KEY].replace(":", ".").split(".")[0]
            top = {"sklearn": "scikit-learn"}.get(top, top)
            if distribution_version(top) is not None:
                found.append(top)
        elif name not in BUILTIN_STEPS and name in transform_registry():
            found.extend(e.distribution for e in transform_registry().entries(name))
    return list(dict.fromkeys(found))


def source_module(name: str) -> ModuleType | None:
    """The module ``name`` for fingerprinting its source, *without executing it* (nor its parent
    packages) when it is not imported yet, so planning imports no ML library. None when it cannot
    be found."""
    while name:
        if name in sys.modules:
            return sys.modules[name]
        spec = _find_spec_quietly(name)
        if spec is not None and spec.origin and spec.has_location:
            return importlib.util.module_from_spec(spec)
        name = name.rpartition(".")[0]  # pkg.mod.Outer.Inner: the module is a prefix
    return None


def _find_spec_quietly(name: str) -> Any:
    from importlib.machinery import PathFinder

    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: nothing is executed
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in sys.modules:
                spec = importlib.util.find_spec(".".join(parts[: i + 1]))
                continue
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    except (ImportError, ValueError):
        return None
    return spec
