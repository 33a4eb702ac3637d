"""The store facade the engine uses: artifacts in, artifacts out, action records, locks."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from mlspec.hashing import digest_bytes
from mlspec.store import codecs
from mlspec.store.actions import ActionRecord, ArtifactRef
from mlspec.store.commit import CommitQueue
from mlspec.store.objects import ObjectStore, atomic_write
from mlspec.store.statcache import StatCache

STORE_DIRNAME = ".mlspec"
DB_NAME = "mlspec.db"


@dataclass
class VerifyReport:
    objects_checked: int = 0
    actions_checked: int = 0
    problems: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class Store:
    """A local store rooted at ``<project>/.mlspec``. Nothing is created until the first write."""

    def __init__(self, root: Path):
        self.root = root
        self.objects = ObjectStore(root)
        self.actions_dir = root / "actions"
        self.locks_dir = root / "locks"
        self.db_path = root / DB_NAME

    @classmethod
    def for_project(cls, project_root: Path) -> Store:
        override = os.environ.get("MLSPEC_STORE")
        return cls(Path(override).resolve() if override else project_root / STORE_DIRNAME)

    def exists(self) -> bool:
        return self.root.is_dir()

    def ensure(self) -> None:
        for sub in (
            self.root,
            self.objects.objects,
            self.actions_dir,
            self.locks_dir,
            self.objects.tmp,
        ):
            sub.mkdir(parents=True, exist_ok=True)

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, value: Any, codec: str) -> ArtifactRef:
        data = codecs.encode(codec, value)
        digest = self.objects.put(data)
        return ArtifactRef(digest=digest, codec=codec, size=len(data))

    def encode(self, value: Any, codec: str) -> tuple[ArtifactRef, bytes]:
        """Encode and digest without writing (the runner writes through a `CommitQueue`)."""
        data = codecs.encode(codec, value)
        return ArtifactRef(digest=digest_bytes(data), codec=codec, size=len(data)), data

    def encode_staged(self, value: Any, codec: str) -> tuple[ArtifactRef, Path]:
        """Encode into a temporary file and digest it (the runner commits it later)."""
        digest, size, path = self.objects.stage(lambda fh: codecs.encode_into(codec, value, fh))
        return ArtifactRef(digest=digest, codec=codec, size=size), path

    def commit_queue(self) -> CommitQueue:
        return CommitQueue(self.objects, self.put_action)

    def decode(self, ref: ArtifactRef, data: bytes) -> Any:
        return codecs.decode(ref.codec, data)

    def load(self, ref: ArtifactRef) -> Any:
        # get() verifies the digest before the codec (and so joblib/pickle) ever sees the bytes.
        return codecs.decode(ref.codec, self.objects.get(ref.digest))

    # -- action records ----------------------------------------------------------------------
    def _action_path(self, key: str) -> Path:
        return self.actions_dir / key[:2] / f"{key}.json"

    def get_action(self, key: str) -> ActionRecord | None:
        """The record for ``key`` if it exists and every output object is present."""
        path = self._action_path(key)
        try:
            record = ActionRecord.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # a damaged record is a miss; verify reports it
        if all(self.objects.has(ref.digest) for ref in record.outputs.values()):
            return record
        return None

    def put_action(self, record: ActionRecord) -> None:
        # Objects are already durable; writing the record last makes the result visible at once.
        atomic_write(self._action_path(record.key), record.to_json(), self.objects.tmp)

    def iter_actions(self) -> Iterator[tuple[Path, ActionRecord | None]]:
        if not self.actions_dir.is_dir():
            return
        for path in sorted(self.actions_dir.glob("*/*.json")):
            try:
                yield path, ActionRecord.from_json(path.read_bytes())
            except (ValueError, KeyError, TypeError):
                yield path, None

    # -- locks -------------------------------------------------------------------------------
    def acquire(self, key: str) -> FileLock:
        """The key's lock, held until ``release()`` — which any thread may call (the commit
        queue releases it once the stage's record is written)."""
        self.locks_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.locks_dir / f"{key}.lock"), thread_local=False)
        lock.acquire()
        return lock

    @contextmanager
    def lock(self, key: str, timeout: float = -1) -> Iterator[None]:
        """Per-key lease: the first job computes, the others wait and then read its record."""
        self.locks_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.locks_dir / f"{key}.lock"), timeout=timeout):
            yield

    def stat_cache(self, read_only: bool = False) -> StatCache:
        return StatCache(self.db_path if self.exists() else None, read_only=read_only)

    # -- integrity ---------------------------------------------------------------------------
    def verify(self, repair: bool = False) -> VerifyReport:
        report = VerifyReport()
        for digest, path in self.objects.iter_digests():
            report.objects_checked += 1
            why = self.objects.check(digest, path)
            if why:
                report.problems.append(f"object {path.relative_to(self.root)}: {why}")
                if repair:
                    path.unlink(missing_ok=True)
                    report.removed.append(str(path.relative_to(self.root)))
        for path, record in self.iter_actions():
            report.actions_checked += 1
            rel = path.relative_to(self.root)
            if record is None:
                report.problems.append(f"action {rel}: unreadable record")
                if repair:
                    path.unlink(missing_ok=True)
                    report.removed.append(str(rel))
                continue
            if path.stem != record.key:
                report.problems.append(f"action {rel}: file name does not match key {record.key}")
            missing = [n for n, ref in record.outputs.items() if not self.objects.has(ref.digest)]
            if missing:
                report.problems.append(f"action {rel}: output(s) {', '.join(missing)} missing")
                if repair:
                    path.unlink(missing_ok=True)
                    report.removed.append(str(rel))
        return report

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files left by crashed writers (never needed for correctness)."""
        if not self.objects.tmp.is_dir():
            return 0
        now, removed = time.time(), 0
        for path in self.objects.tmp.iterdir():
            try:
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
