"""Hot swap: follow the served reference and replace the model atomically when it moves.

``ModelHolder.pipe`` is the one pointer requests read, once, at their start; a swap assigns a
fully loaded (and fast-path-checked) ``ScoringPipeline`` to it in one step. A request that
started before the swap keeps its reference and finishes on the old model; the next one gets
the new model. Loading happens in a worker thread, never on the event loop, so the server keeps
answering while a new version loads.

What "moved" means depends on the reference:

- ``NAME@alias`` / ``NAME``: the alias (or the latest version) now names another version;
- ``NAME:3``: never moves;
- a bundle directory: its ``manifest.json`` names another model digest.

Triggers: a poll of the registry every ``poll_interval`` seconds, ``POST /reload``, SIGHUP.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlspec.serve.pipeline import ScoringPipeline

log = logging.getLogger("mlspec.serve")


class ModelHolder:
    def __init__(
        self,
        pipe: ScoringPipeline,
        project_root: Path | None = None,
        fast: bool = True,
        on_swap: Callable[[ScoringPipeline], None] | None = None,
        loader: Callable[..., ScoringPipeline] | None = None,
    ):
        self.pipe = pipe
        self.ref = pipe.ref
        self.project_root = project_root or Path.cwd()
        self.fast = fast
        self.on_swap = on_swap
        self._load = loader or ScoringPipeline.load
        self._lock: asyncio.Lock | None = None
        self.last_error: str | None = None
        path = Path(self.ref)
        self.is_path = path.is_dir() or "/" in self.ref
        self.movable = self.is_path or ":" not in self.ref

    # -- what the reference names now -----------------------------------------------------------
    def target(self) -> tuple[str, str]:
        """(what to load, its identity) for the reference as it stands (blocking: a thread)."""
        if self.is_path:
            manifest = json.loads((Path(self.ref) / "manifest.json").read_bytes())
            return self.ref, str(manifest.get("model_digest"))
        from mlspec.registry.registry import Registry, parse_ref

        version = Registry.for_project(self.project_root).resolve(parse_ref(self.ref))
        return f"{version.name}:{version.version}", version.model_digest + f":{version.version}"

    def identity(self, pipe: ScoringPipeline) -> str:
        return pipe.model_digest if self.is_path else f"{pipe.model_digest}:{pipe.version}"

    def _load_target(self, what: str) -> ScoringPipeline:
        pipe = self._load(what, self.project_root, fast=self.fast)
        pipe.ref = self.ref  # served as the reference the user gave, e.g. NAME@champion
        return pipe

    # -- reload ---------------------------------------------------------------------------------
    async def reload(self, force: bool = False) -> dict[str, Any]:
        """Swap in what the reference names now, if that is another model (or ``force``).

        Returns what happened; raises the loader's error (the old model stays served).
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            old = self.pipe
            what, ident = await asyncio.to_thread(self.target)
            if ident == self.identity(old) and not force:
                return {"reloaded": False, "model": old.name, "version": old.version}
            new = await asyncio.to_thread(self._load_target, what)
            self.pipe = new  # the atomic swap: one reference assignment
            if self.on_swap is not None:
                self.on_swap(new)
            log.warning("swapped %s -> %s (%s)", old.label, new.label, self.ref)
            return {
                "reloaded": True,
                "model": new.name,
                "version": new.version,
                "previous_version": old.version,
                "model_digest": new.model_digest,
            }

    async def poll_forever(self, interval: float, on_result: Callable[[str], None]) -> None:
        """Reload whenever the reference moves; errors are logged and retried next time."""
        while True:
            await asyncio.sleep(interval)
            try:
                result = await self.reload()
                self.last_error = None
                on_result("swapped" if result["reloaded"] else "unchanged")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken new version must not take the server down
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error(
                    "reload of %s failed, still serving %s: %s", self.ref, self.pipe.label, exc
                )
                on_result("failed")
