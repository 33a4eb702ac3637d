"""Background commits: a computed stage's objects, then its action record, then its lock.

Writing a stage's outputs (fsync included) used to sit between that stage and the next. The
digests the next stage's cache key needs are known as soon as the bytes are encoded, so only the
writing has to wait — and it can wait on another thread while the next stage computes: file
writes, fsync and blake3 release the GIL.

The crash-safety rule is unchanged: a stage's objects are durable before its action record is
written, and its lock is released only after that, so another job waiting on the lock finds the
record (or computes the stage itself, if this process died first). Commits run one at a time in
submission order; after a failed commit no later record is written (the run reports the error).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mlspec.store.actions import ActionRecord
from mlspec.store.objects import ObjectStore, atomic_write, commit_staged

# An object waiting to be committed: its bytes, or a staged temporary file holding them.
Pending = bytes | Path


class CommitQueue:
    def __init__(self, objects: ObjectStore, write_record: Callable[[ActionRecord], None]):
        self._objects = objects
        self._write_record = write_record
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlspec-commit")
        self._futures: list[Future[None]] = []
        self._pending: dict[str, Pending] = {}  # digest -> not yet an object
        self._mutex = threading.Lock()
        self._error: BaseException | None = None

    def submit(
        self,
        objects: dict[str, Pending],
        record: ActionRecord,
        release: Callable[[], None],
    ) -> None:
        """Queue one stage's commit (staged files are moved into place, or removed on failure).
        ``release`` always runs once the commit is over (written, skipped or failed), so a lock
        is never held past it — also when an earlier commit failed and this one is refused."""
        if self._error is not None:
            _discard(objects)
            release()
            raise self._error
        with self._mutex:
            self._pending.update(objects)
        self._futures.append(self._executor.submit(self._commit, objects, record, release))

    def pending_bytes(self, digest: str) -> bytes | None:
        """The bytes of an object still waiting to be committed (already digest-checked: the
        digest was computed from them), or None once it is an object in the store."""
        with self._mutex:
            pending = self._pending.get(digest)
        if isinstance(pending, Path):
            try:
                return pending.read_bytes()
            except FileNotFoundError:  # committed (renamed) meanwhile: read the object
                return None
        return pending

    def _commit(
        self, objects: dict[str, Pending], record: ActionRecord, release: Callable[[], None]
    ) -> None:
        try:
            if self._error is None:
                for digest, data in objects.items():
                    target = self._objects.path_for(digest)
                    if isinstance(data, Path):
                        commit_staged(data, target)
                    elif not target.exists():
                        atomic_write(target, data, self._objects.tmp)
                self._write_record(record)
        except BaseException as exc:  # surfaced by raise_if_failed / flush in the main thread
            self._error = exc
        finally:
            with self._mutex:
                for digest in objects:
                    self._pending.pop(digest, None)
            _discard(objects)  # staged files not moved into place (after a failure)
            release()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        """Wait until every queued commit is over; raise the first failure."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()
        self.raise_if_failed()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._executor.shutdown(wait=True)


def _discard(objects: dict[str, Pending]) -> None:
    for data in objects.values():
        if isinstance(data, Path):
            with contextlib.suppress(OSError):
                data.unlink(missing_ok=True)
