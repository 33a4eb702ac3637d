"""Fingerprints: canonical JSON for cache-key preimages, content digests for artifacts.

Cache keys are ``sha256`` of canonical JSON (stable, cryptographic, as DESIGN §3 fixes).
Artifact digests use BLAKE3: cryptographic (a tampered model bundle cannot be made to match)
and several times faster than sha256 on large files.

``to_canonical`` is a ``functools.singledispatch`` function (the Hamilton pattern): each data type
says how it is fingerprinted, and plugins can register their own types. It never falls back to
``str()``, whose output changes between library versions and hides differences.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import math
import os
import sys
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache, singledispatch
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

import blake3

DIGEST_PREFIX = "blake3:"
_CHUNK = 1 << 20


class NotFingerprintable(TypeError):
    """A value in a stage's params has no canonical form; register one with ``to_canonical``."""


@singledispatch
def to_canonical(value: Any) -> Any:
    """Reduce a value to JSON-native types, deterministically."""
    # pydantic models and dataclass-likes expose a dict form; anything else is refused.
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_canonical(dump(mode="python"))
    raise NotFingerprintable(
        f"cannot fingerprint a value of type {type(value).__module__}.{type(value).__qualname__};"
        " register it with mlspec.hashing.to_canonical.register"
    )


@to_canonical.register(type(None))
@to_canonical.register(bool)
@to_canonical.register(str)
def _(value: Any) -> Any:
    return value


@to_canonical.register(int)
def _(value: int) -> Any:
    return int(value)


@to_canonical.register(float)
def _(value: float) -> Any:
    if math.isnan(value) or math.isinf(value):
        return {"__float__": repr(value)}
    # Integral floats stay floats: 1.0 and 1 are different params to most estimators.
    return {"__float__": repr(float(value))} if value.is_integer() else float(value)


@to_canonical.register(Decimal)
def _(value: Decimal) -> Any:
    return {"__decimal__": str(value)}


@to_canonical.register(Enum)
def _(value: Enum) -> Any:
    return to_canonical(value.value)


@to_canonical.register(PurePath)
def _(value: PurePath) -> Any:
    return {"__path__": value.as_posix()}


@to_canonical.register(datetime)
@to_canonical.register(date)
def _(value: date) -> Any:
    return {"__datetime__": value.isoformat()}


@to_canonical.register(Mapping)
def _(value: Mapping[Any, Any]) -> Any:
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise NotFingerprintable(f"mapping keys must be strings, got {type(k).__name__}")
        out[k] = to_canonical(v)
    return out


@to_canonical.register(list)
@to_canonical.register(tuple)
def _(value: list[Any] | tuple[Any, ...]) -> Any:
    return [to_canonical(v) for v in value]


@to_canonical.register(set)
@to_canonical.register(frozenset)
def _(value: set[Any] | frozenset[Any]) -> Any:
    items = [to_canonical(v) for v in value]
    return {"__set__": sorted(items, key=canonical_json)}


def _register_numpy() -> None:
    """numpy scalars appear in params after interpolation of computed values."""
    np = sys.modules.get("numpy")
    if np is None:  # only pay for numpy when it is already loaded
        return
    if getattr(_register_numpy, "_done", False):
        return

    @to_canonical.register(np.generic)
    def _(value: Any) -> Any:
        return to_canonical(value.item())

    @to_canonical.register(np.ndarray)
    def _(value: Any) -> Any:
        return {"__ndarray__": str(value.dtype), "data": to_canonical(value.tolist())}

    _register_numpy._done = True  # type: ignore[attr-defined]


def canonical_json(value: Any) -> str:
    """The one serialisation every cache key is computed from."""
    _register_numpy()
    return json.dumps(
        to_canonical(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_bytes(data: bytes | memoryview) -> str:
    return DIGEST_PREFIX + blake3.blake3(data).hexdigest()


def digest_file(path: str | PurePath) -> str:
    hasher = blake3.blake3()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
    return DIGEST_PREFIX + hasher.hexdigest()


def digest_hex(digest: str) -> str:
    """The hex part of a digest string (used for object file names)."""
    return digest.removeprefix(DIGEST_PREFIX)


def _normalised_source(source: str) -> str:
    """Source with comments and formatting removed, so cosmetic edits keep caches warm."""
    try:
        return ast.dump(ast.parse(source), annotate_fields=False, include_attributes=False)
    except SyntaxError:
        return source


def code_cache_dir() -> Path | None:
    """Where normalised-source digests are remembered between processes (``MLSPEC_CODE_CACHE``,
    else the user cache directory; ``MLSPEC_CODE_CACHE=off`` disables it)."""
    configured = os.environ.get("MLSPEC_CODE_CACHE")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlspec" / "code"


@lru_cache(maxsize=1024)
def _normalised_digest(source: str) -> str:
    """sha256 of the normalised source, remembered by the raw source's sha256.

    Parsing and dumping the AST of every stage module costs a good part of a cached rerun, and
    the answer depends on the source text alone, so it is memoised per process and on disk: one
    small file per distinct source, written by rename (readers never see a partial value). A
    missing, unreadable or malformed entry is recomputed, never trusted.
    """
    raw = hashlib.sha256(source.encode("utf-8")).hexdigest()
    directory = code_cache_dir()
    entry = directory / raw[:2] / raw if directory is not None else None
    if entry is not None:
        try:
            value = entry.read_text(encoding="ascii")
            if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
                return value
        except (OSError, UnicodeDecodeError):
            pass
    value = hashlib.sha256(_normalised_source(source).encode("utf-8")).hexdigest()
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_name(f"{raw}.{os.getpid()}.tmp")
            tmp.write_text(value, encoding="ascii")
            os.replace(tmp, entry)
        except OSError:
            pass  # a read-only or full cache dir only costs speed
    return value


def code_fingerprint(*objects: type | ModuleType) -> str:
    """Fingerprint of the modules that define the given classes/modules.

    Hashing the whole defining module (not just the class body) catches edits to the helper
    functions a stage calls; normalising through the AST ignores comment and whitespace edits.
    """
    hasher = hashlib.sha256()
    seen: set[str] = set()
    for obj in objects:
        module = obj if isinstance(obj, ModuleType) else inspect.getmodule(obj)
        if module is None or module.__name__ in seen:
            continue
        seen.add(module.__name__)
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            source = f"<no source for {module.__name__}>"
        hasher.update(module.__name__.encode())
        hasher.update(_normalised_digest(source).encode())
    return "sha256:" + hasher.hexdigest()
