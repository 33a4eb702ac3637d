"""The background commit queue: objects before records, locks released after, failures surface."""

from __future__ import annotations

import contextlib
import threading

import pytest

from mlspec.store import ActionRecord, Store


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / ".mlspec")
    s.ensure()
    return s


def _record(store: Store, key: str, data: bytes) -> tuple[ActionRecord, dict[str, bytes]]:
    ref, encoded = store.encode({"v": data.decode()}, "json")
    record = ActionRecord(key, "s@1", "s", {"out": ref}, {}, "run", 0.0, 0.0)
    return record, {ref.digest: encoded}


def test_commit_writes_objects_then_record_then_releases_the_lock(store):
    key = "a" * 64
    record, objects = _record(store, key, b"x")
    lock = store.acquire(key)
    queue = store.commit_queue()
    seen_at_release: list[bool] = []

    def release() -> None:
        seen_at_release.append(store.get_action(key) is not None)
        lock.release()

    queue.submit(objects, record, release)
    queue.close()
    assert seen_at_release == [True]  # the record (with its object) existed before the release
    assert not lock.is_locked
    (digest,) = objects
    assert store.objects.get(digest) == objects[digest]


def test_queued_bytes_are_readable_before_they_reach_the_disk(store):
    key = "b" * 64
    record, objects = _record(store, key, b"y")
    gate = threading.Event()
    queue = store.commit_queue()
    queue._executor.submit(gate.wait)  # hold the writer thread back
    queue.submit(objects, record, lambda: None)
    (digest,) = objects
    assert not store.objects.has(digest)
    assert queue.pending_bytes(digest) == objects[digest]
    gate.set()
    queue.close()
    assert store.objects.has(digest) and queue.pending_bytes(digest) is None


def test_a_failed_write_skips_later_records_releases_every_lock_and_raises(store, monkeypatch):
    from mlspec.store import commit

    first, first_objects = _record(store, "c" * 64, b"1")
    second, second_objects = _record(store, "d" * 64, b"2")

    def disk_full(path, data, tmp_dir):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(commit, "atomic_write", disk_full)
    released: list[str] = []
    queue = store.commit_queue()
    queue.submit(first_objects, first, lambda: released.append("first"))
    with pytest.raises(OSError, match="No space left"):
        queue.flush()
    with pytest.raises(OSError):  # no new work is accepted after a failure...
        queue.submit(second_objects, second, lambda: released.append("second"))
    queue._executor.shutdown(wait=True)
    assert released == ["first", "second"]  # ...but its lock is still released
    assert store.get_action(first.key) is None


def test_a_staged_frame_is_committed_by_rename_and_leaves_no_temporary_file(store):
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(200_000, dtype="float64"), "s": ["a", "b"] * 100_000})
    ref, staged = store.encode_staged(frame, "frame")
    assert ref.digest == store.encode(frame, "frame")[0].digest  # same bytes as in memory
    assert staged.parent == store.objects.tmp and staged.stat().st_size == ref.size
    record = ActionRecord("c" * 64, "s@1", "s", {"out": ref}, {}, "run", 0.0, 0.0)
    gate = threading.Event()
    queue = store.commit_queue()
    queue._executor.submit(gate.wait)
    queue.submit({ref.digest: staged}, record, lambda: None)
    pending = queue.pending_bytes(ref.digest)  # readable from the staged file meanwhile
    assert pending is not None and len(pending) == ref.size
    gate.set()
    queue.close()
    pd.testing.assert_frame_equal(store.load(ref), frame)
    assert list(store.objects.tmp.iterdir()) == []


def test_staged_files_of_a_refused_commit_are_removed(store, monkeypatch):
    from mlspec.store import commit

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(commit, "commit_staged", broken)
    queue = store.commit_queue()
    refs = [store.encode_staged({"v": i}, "json") for i in range(2)]
    for i, (ref, staged) in enumerate(refs):
        record = ActionRecord(str(i) * 64, "s@1", "s", {"out": ref}, {}, "run", 0.0, 0.0)
        with contextlib.suppress(OSError):
            queue.submit({ref.digest: staged}, record, lambda: None)
    with pytest.raises(OSError, match="disk full"):
        queue.close()
    assert list(store.objects.tmp.iterdir()) == []
    assert not any(store.objects.has(ref.digest) for ref, _ in refs)
