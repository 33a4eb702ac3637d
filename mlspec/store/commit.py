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

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlspec.store.actions import ActionRecord
from mlspec.store.objects import ObjectStore, atomic_write


class CommitQueue:
    def __init__(self, objects: ObjectStore, write_record: Callable[[ActionRecord], None]):
        self._objects = objects
        self._write_record = write_record
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlspec-commit")
        self._futures: list[Future[None]] = []
        self._pending: dict[str, bytes] = {}  # digest -> bytes not yet on disk
        self._mutex = threading.Lock()
        self._error: BaseException | None = None

    def submit(
        self,
        objects: dict[str, bytes],
        record: ActionRecord,
        release: Callable[[], None],
    ) -> None:
        """Queue one stage's commit. ``release`` always runs once the commit is over (written,
        skipped or failed), so a lock is never held past it — also when an earlier commit failed
        and this one is refused."""
        if self._error is not None:
            release()
            raise self._error
        with self._mutex:
            self._pending.update(objects)
        self._futures.append(self._executor.submit(self._commit, objects, record, release))

    def pending_bytes(self, digest: str) -> bytes | None:
        """The bytes of an object still waiting to be written (already digest-checked: the
        digest was computed from them)."""
        with self._mutex:
            return self._pending.get(digest)

    def _commit(
        self, objects: dict[str, bytes], record: ActionRecord, release: Callable[[], None]
    ) -> None:
        try:
            if self._error is None:
                for digest, data in objects.items():
                    target = self._objects.path_for(digest)
                    if not target.exists():
                        atomic_write(target, data, self._objects.tmp)
                self._write_record(record)
        except BaseException as exc:  # surfaced by raise_if_failed / flush in the main thread
            self._error = exc
        finally:
            with self._mutex:
                for digest in objects:
                    self._pending.pop(digest, None)
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
