"""Turn pydantic / Hydra / OmegaConf failures into Problems that name the file, key path and fix."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from mlspec.errors import Problem, choices_hint, did_you_mean

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_OPS = ("gt", "ge", "lt", "le")


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:  # a tagged union member, or the union with its discriminator
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def _field_names(model: type[BaseModel]) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        names[info.alias or name] = info.annotation
    return names


def walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[str] | None]:
    """Strip pydantic's union tags from ``loc``; also return the valid keys at the last mapping."""
    clean: list[Any] = []
    current: list[Any] = [root]
    keys: list[str] | None = None
    for part in loc:
        models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
        if isinstance(part, str) and models:
            for m in models:
                fields = _field_names(m)
                if part in fields:
                    keys = list(fields)
                    clean.append(part)
                    current = _unwrap(fields[part])
                    break
            else:
                tagged = [m for m in models if m.__name__ == part]
                if tagged:
                    current = tagged
                    continue
                if "[" in part or part in ("str", "int", "float", "bool", "none"):
                    continue  # a scalar union member's tag
                keys = sorted({k for m in models for k in _field_names(m)})
                clean.append(part)
                current = []
            continue
        if isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool")):
            continue
        clean.append(part)
        nxt: list[Any] = []
        for t in current:
            args = typing.get_args(t)
            origin = typing.get_origin(t)
            if origin in (list, tuple) and args:
                nxt.extend(_unwrap(args[0]))
            elif origin is dict and len(args) == 2:
                nxt.extend(_unwrap(args[1]))
        current = nxt
    return tuple(clean), keys


def spec_keys_at(root: type[BaseModel], parts: tuple[str, ...]) -> list[str] | None:
    """The keys the schema allows under ``parts``: [] if ``parts`` is no key of the schema,
    None where any key goes (a free-form mapping such as ``model``)."""
    current: list[Any] = [root]
    for part in parts:
        nxt: list[Any] = []
        for m in current:
            if isinstance(m, type) and issubclass(m, BaseModel):
                fields = _field_names(m)
                if part in fields:
                    nxt.extend(_unwrap(fields[part]))
            elif typing.get_origin(m) is dict and len(typing.get_args(m)) == 2:
                nxt.extend(_unwrap(typing.get_args(m)[1]))  # a named entry (deploy.targets.X)
        if not nxt:
            return []
        current = nxt
    models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
    if models:
        return sorted({k for m in models for k in _field_names(m)})
    free = any(typing.get_origin(t) is dict or t is dict for t in current)
    return None if free else []


def problems_from_validation(
    exc: ValidationError, root: type[BaseModel], prefix: tuple[Any, ...] = ()
) -> list[Problem]:
    raw: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
    # A union reports one error per member: keep the ones that went into a mapping member.
    by_loc: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for err in raw:
        loc, keys = walk(root, tuple(err["loc"]))
        by_loc.setdefault(loc, []).append({**err, "clean": loc, "keys": keys})
    problems: list[Problem] = []
    deep = {loc for loc in by_loc if len(loc) > 0}
    for loc, errs in by_loc.items():
        has_deeper = any(other[: len(loc)] == loc and len(other) > len(loc) for other in deep)
        kinds = {err["type"] for err in errs}
        if "literal_error" in kinds and kinds & set(_TYPE_WORDS) and not has_deeper:
            problems.append(_union_problem(errs, prefix + loc))  # e.g. list[str] | "auto"
            continue
        for err in errs:
            if has_deeper and err["type"].endswith("_type") and len(errs) < len(raw):
                continue
            problems.append(_problem(err, prefix + loc + _pin(err)))
    return _merge_type_errors(problems)


def _union_problem(errs: list[dict[str, Any]], loc: tuple[Any, ...]) -> Problem:
    """One line for a value that fits no member of a union of types and literals."""
    wants: list[str] = []
    for err in errs:
        if err["type"] in _TYPE_WORDS:
            wants.append(_TYPE_WORDS[err["type"]])
        elif err["type"] == "literal_error":
            wants.extend(f"'{o}'" for o in _literal_options(err))
    text = " or ".join(dict.fromkeys(wants))
    value = errs[0].get("input")
    return Problem(
        "wrong_type",
        f"expected {text}, got {value!r} ({type(value).__name__})",
        loc,
        fix=f"set '{_dotted(loc)}' to {text}",
    )


def _literal_options(err: dict[str, Any]) -> list[str]:
    expected = err.get("ctx", {}).get("expected", "")
    return [o.strip(" '") for o in expected.replace(" or ", ",").split(",") if o.strip()]


_NEEDS = re.compile(r"\bneeds '([A-Za-z_]\w*)'")
_UNKNOWN = re.compile(r"\bunknown [\w -]*?'([^']+)'")


def _pin(err: dict[str, Any]) -> tuple[Any, ...]:
    """Where below its loc a validator's error points: the field it names as missing, or the one
    place in its input holding the unknown value it names (``data.source`` -> ``.name``)."""
    if err["type"] != "value_error":
        return ()
    msg = str(err.get("ctx", {}).get("error", err["msg"]))
    value = err.get("input")
    needs = _NEEDS.search(msg)
    if needs and isinstance(value, dict) and value.get(needs.group(1)) is None:
        return (needs.group(1),)
    unknown = _UNKNOWN.search(msg)
    if unknown:
        paths = list(_find(value, unknown.group(1), (), depth=3))
        if len(paths) == 1:
            return paths[0]
    return ()


def _find(
    node: Any, word: str, path: tuple[Any, ...], depth: int
) -> typing.Iterator[tuple[Any, ...]]:
    if depth <= 0:
        return
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    for key, child in items:
        if key == word or (isinstance(child, str) and child == word):
            yield (*path, key)
        elif isinstance(child, dict | list):
            yield from _find(child, word, (*path, key), depth - 1)


def _merge_type_errors(problems: list[Problem]) -> list[Problem]:
    """One line for "expected a string" + "expected a mapping" at the same key (a union)."""
    out: list[Problem] = []
    for p in problems:
        prev = next((q for q in out if q.loc == p.loc and q.code == p.code == "wrong_type"), None)
        if prev is None:
            if all((q.loc, q.code, q.message) != (p.loc, p.code, p.message) for q in out):
                out.append(p)
            continue
        want = prev.message.split(", got ")[0] + " or " + p.message.removeprefix("expected ")
        merged = Problem(prev.code, want, prev.loc, fix=f"set '{_dotted(prev.loc)}' accordingly")
        out[out.index(prev)] = merged
    return out


def _problem(err: dict[str, Any], loc: tuple[Any, ...]) -> Problem:
    kind = err["type"]
    keys = err.get("keys") or []
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return Problem("unknown_key", f"unknown key '{key}'", loc, fix=_key_fix(key, keys))
    if kind == "missing":
        return Problem(
            "missing",
            "required key is missing",
            loc,
            fix=f"add '{loc[-1]}' to the spec (or pass it as an override: +{_dotted(loc)}=...)",
        )
    if kind == "literal_error":
        options = _literal_options(err)
        return Problem(
            "wrong_value", f"'{value}' is not allowed", loc, fix=choices_hint(str(value), options)
        )
    if kind in _TYPE_WORDS:
        return Problem(
            "wrong_type",
            f"expected {_TYPE_WORDS[kind]}, got {value!r} ({type(value).__name__})",
            loc,
            fix=f"set '{_dotted(loc)}' to {_TYPE_WORDS[kind]}",
        )
    if kind == "value_error":
        msg = str(err.get("ctx", {}).get("error", err["msg"]))
        fix = None
        if "; " in msg:  # validators write "what is wrong; what to do"
            msg, fix = msg.split("; ", 1)
        return Problem("invalid_value", msg, loc, fix=fix)
    if kind in _BOUNDS:
        limit = next((v for k, v in err.get("ctx", {}).items() if k in _OPS), "the limit")
        return Problem(
            "out_of_range",
            f"{value!r} is out of range",
            loc,
            fix=f"use a number {_BOUNDS[kind]} {limit}",
        )
    return Problem(kind, err["msg"], loc, fix=None)


def _key_fix(key: str, keys: Iterable[str]) -> str:
    keys = sorted(k for k in keys if k)
    close = did_you_mean(key, keys)
    listing = "valid keys here: " + ", ".join(keys) if keys else "remove it"
    return f"{close} {listing}" if close else listing


def _dotted(loc: tuple[Any, ...]) -> str:
    from mlspec.errors import format_loc

    return format_loc(loc)
