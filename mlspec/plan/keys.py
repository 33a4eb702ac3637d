"""Cache keys (DESIGN §3) and the explanation of why a key changed.

    key = sha256(canonical JSON of {key_schema_version, stage name + version, resolved params the
          stage reads, code fingerprint, content digests of every input, environment fingerprint})

The preimage is stored with every execution so `mlspec plan` can name the component that changed.
"""

from __future__ import annotations

import platform
from typing import Any

from mlspec.hashing import canonical_json, sha256_hex
from mlspec.installed import distribution_version

KEY_SCHEMA_VERSION = 1


def environment_fingerprint(libraries: tuple[str, ...]) -> dict[str, Any]:
    libs: dict[str, str] = {}
    for dist in sorted(set(libraries)):
        libs[dist] = distribution_version(dist) or "not-installed"
    major, minor, _ = platform.python_version_tuple()
    return {"python": f"{major}.{minor}", "libraries": libs}


def full_preimage(
    static: dict[str, Any], inputs: dict[str, str], external: dict[str, str]
) -> dict[str, Any]:
    return {
        **static,
        "inputs": dict(sorted(inputs.items())),
        "external": dict(sorted(external.items())),
    }


def cache_key(preimage: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(preimage))


def _diff_mapping(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            sub = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.append(f"{sub} added ({_short(new[k])})")
            elif k not in new:
                out.append(f"{sub} removed (was {_short(old[k])})")
            else:
                out.extend(_diff_mapping(old[k], new[k], sub))
        return out
    # Compare as the cache key does: 1 and 1.0 differ, NaN equals NaN.
    if canonical_json(old) != canonical_json(new):
        return [f"{path}: {_short(old)} -> {_short(new)}"]
    return []


def _short(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict) and set(value) == {"__float__"}:
        return str(value["__float__"])
    text = canonical_json(value) if not isinstance(value, str) else value
    if text.startswith("blake3:") or text.startswith("sha256:"):
        return text.split(":", 1)[1][:10]
    return text if len(text) <= 60 else text[:57] + "..."


def explain_change(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """Human reason for a miss, comparing against the last execution's preimage."""
    if old is None:
        return "never run before"
    reasons: list[str] = []
    if old.get("key_schema_version") != new.get("key_schema_version"):
        reasons.append("cache-key schema changed (mlspec upgrade)")
    if old.get("stage") != new.get("stage"):
        reasons.append(f"stage version: {_short(old.get('stage'))} -> {_short(new.get('stage'))}")
    if old.get("code") != new.get("code"):
        reasons.append("code of the stage implementation changed")
    for part in _diff_mapping(old.get("params", {}), new.get("params", {})):
        reasons.append(f"param {part}")
    for part in _diff_mapping(old.get("env", {}), new.get("env", {})):
        reasons.append(f"environment {part}")
    for name in sorted(set(old.get("inputs", {})) | set(new.get("inputs", {}))):
        if old.get("inputs", {}).get(name) != new.get("inputs", {}).get(name):
            reasons.append(f"input '{name}' changed")
    for name in sorted(set(old.get("external", {})) | set(new.get("external", {}))):
        if old.get("external", {}).get(name) != new.get("external", {}).get(name):
            reasons.append(f"content of external file '{name}' changed")
    return "; ".join(reasons) if reasons else "results missing from the store"
