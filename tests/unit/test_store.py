"""mlspec.store: content-addressed objects, codecs, action records, verify, locks, stat cache."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import StoreError
from mlspec.hashing import digest_bytes
from mlspec.store import ActionRecord, ArtifactRef, ObjectStore, Store, codecs
from mlspec.store.objects import atomic_write
from mlspec.store.statcache import StatCache


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / ".mlspec")


def _object_files(store: Store) -> list[Path]:
    if not store.objects.objects.is_dir():
        return []
    return sorted(p for p in store.objects.objects.rglob("*") if p.is_file())


def _corrupt(path: Path, data: bytes = b"garbage") -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    path.write_bytes(data)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1, 2, 3, 4],
            "b": [0.5, np.nan, 2.25, -1.0],
            "c": ["x", "y", None, "z"],
            "d": pd.Categorical(["u", "v", "u", "v"]),
            "e": [True, False, True, True],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
        }
    )


def _record(key: str, outputs: dict[str, ArtifactRef], **extra) -> ActionRecord:
    return ActionRecord(
        key=key,
        stage="split@1",
        node="split",
        outputs=outputs,
        preimage={"params": {"seed": 7}, "inputs": {"data": "blake3:00"}},
        run_id="run-1",
        started_at=1700000000.5,
        duration_s=0.25,
        extra=extra,
    )


# -- objects -------------------------------------------------------------------------------------


def test_nothing_is_created_until_first_write(tmp_path):
    s = Store(tmp_path / ".mlspec")
    assert not s.exists()
    assert s.get_action("ab" * 32) is None
    assert s.verify().problems == []
    assert s.clean_tmp() == 0
    assert not (tmp_path / ".mlspec").exists()


def test_put_get_roundtrip(store):
    digest = store.objects.put(b"hello world")
    assert digest == digest_bytes(b"hello world")
    assert store.objects.has(digest)
    assert store.objects.get(digest) == b"hello world"
    path = store.objects.path_for(digest)
    assert path.parent.name == digest.removeprefix("blake3:")[:2]
    assert path.name == digest.removeprefix("blake3:")


def test_empty_object(store):
    d = store.objects.put(b"")
    assert store.objects.get(d) == b""


def test_write_once_same_content_one_file(store):
    d1 = store.objects.put(b"same")
    mtime = store.objects.path_for(d1).stat().st_mtime_ns
    d2 = store.objects.put(b"same")
    assert d1 == d2
    assert len(_object_files(store)) == 1
    assert store.objects.path_for(d1).stat().st_mtime_ns == mtime  # never rewritten
    store.objects.put(b"other")
    assert len(_object_files(store)) == 2


def test_no_temp_files_left_after_put(store):
    store.objects.put(b"x" * 1000)
    assert list(store.objects.tmp.iterdir()) == []


def test_get_corrupt_object(store):
    digest = store.objects.put(b"precious bytes")
    path = store.objects.path_for(digest)
    _corrupt(path)
    with pytest.raises(StoreError) as info:
        store.objects.get(digest)
    problem = info.value.problems[0]
    assert problem.code == "corrupt_object"
    assert problem.file == str(path)
    assert str(path) in str(info.value)
    assert "verify --repair" in (problem.fix or "")


def test_get_missing_object(store):
    digest = digest_bytes(b"never stored")
    with pytest.raises(StoreError) as info:
        store.objects.get(digest)
    assert info.value.problems[0].code == "missing_object"
    assert str(store.objects.path_for(digest)) in str(info.value)


def test_load_refuses_corrupt_object_before_decoding(store, monkeypatch):
    ref = store.save({"a": 1}, "json")
    _corrupt(store.objects.path_for(ref.digest), b'{"a":2}')
    called = []
    monkeypatch.setitem(codecs.CODECS, "json", (codecs._encode_json, called.append))
    with pytest.raises(StoreError):
        store.load(ref)
    assert called == []


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    tmp_dir = tmp_path / "tmp"

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(tmp_path / "out" / "file", b"data", tmp_dir)
    assert list(tmp_dir.iterdir()) == []
    assert not (tmp_path / "out" / "file").exists()


def test_iter_digests(store):
    digests = {store.objects.put(bytes([i])) for i in range(5)}
    assert {d for d, _ in store.objects.iter_digests()} == digests
    assert list(ObjectStore(store.root / "nowhere").iter_digests()) == []


# -- codecs --------------------------------------------------------------------------------------


def test_frame_roundtrip(store):
    df = _frame()
    ref = store.save(df, "frame")
    assert ref.codec == "frame"
    assert ref.size == store.objects.path_for(ref.digest).stat().st_size
    back = store.load(ref)
    pd.testing.assert_frame_equal(back, df)


def test_frame_encoding_is_deterministic():
    a = codecs.encode("frame", _frame())
    b = codecs.encode("frame", _frame())
    assert a == b
    assert codecs.encode("frame", _frame().copy()) == a


def test_frame_encoding_differs_for_different_data():
    df = _frame()
    df2 = df.copy()
    df2.loc[0, "a"] = 99
    assert codecs.encode("frame", df) != codecs.encode("frame", df2)


def test_frame_index_is_dropped():
    """preserve_index=False: a reset index gives identical bytes (keeps downstream cached)."""
    df = _frame()
    shuffled = df.iloc[[0, 1, 2, 3]].copy()
    shuffled.index = [10, 11, 12, 13]
    assert codecs.encode("frame", shuffled) == codecs.encode("frame", df)


def test_frame_round_trips_pandas_types():
    """Categories, nullable integers, strings with gaps and time zones survive the codec."""
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(["u", "v", "u"]),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "s": ["x", None, "z"],
            "t": pd.date_range("2024-01-01", periods=3, tz="UTC"),
        }
    )
    data = codecs.encode("frame", df)
    assert data[:6] == b"ARROW1"  # Arrow IPC file format
    pd.testing.assert_frame_equal(codecs.decode("frame", data), df)


def test_frames_are_lz4_compressed_only_where_it_pays():
    """Measured floats barely compress: stored as is. Repetitive columns shrink: compressed.
    Frames written with LZ4 for every batch (before the choice) still decode."""
    import pyarrow as pa

    rng = np.random.default_rng(3)
    rows = 100_000
    floats = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    repetitive = pd.DataFrame(
        {"code": rng.integers(0, 3, rows), "flag": rng.integers(0, 2, rows).astype("int8")}
    )
    stored_floats = codecs.encode("frame", floats)
    stored_codes = codecs.encode("frame", repetitive)
    assert len(stored_floats) >= floats.to_numpy().nbytes  # every value's 8 bytes, uncompressed
    assert len(stored_codes) < 0.5 * repetitive.memory_usage(index=False).sum()
    for df, data in ((floats, stored_floats), (repetitive, stored_codes)):
        assert codecs.encode("frame", df) == data
        pd.testing.assert_frame_equal(codecs.decode("frame", data), df)

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(floats, preserve_index=False)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    pd.testing.assert_frame_equal(codecs.decode("frame", sink.getvalue().to_pybytes()), floats)


def test_frames_stored_as_parquet_by_older_versions_still_decode():
    import io

    df = _frame()
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    pd.testing.assert_frame_equal(codecs.decode("frame", buf.getvalue()), df)
    with pytest.raises(ValueError, match="not a frame"):
        codecs.decode("frame", b"garbage")


def test_frame_save_twice_is_one_object(store):
    r1 = store.save(_frame(), "frame")
    r2 = store.save(_frame(), "frame")
    assert r1 == r2
    assert len(_object_files(store)) == 1


def test_estimator_roundtrip(store):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.1 * rng.normal(size=60) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    ref = store.save(model, "estimator")
    back = store.load(ref)
    assert type(back) is LogisticRegression
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X))


def test_estimator_encoding_is_deterministic():
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    model = LinearRegression().fit(X, X[:, 0] * 2)
    assert codecs.encode("estimator", model) == codecs.encode("estimator", model)


def test_json_with_numpy_scalars(store):
    value = {
        "auc": np.float64(0.75),
        "f32": np.float32(0.5),
        "n": np.int64(3),
        "flag": np.bool_(True),
        "plain": [1, "a", None],
    }
    ref = store.save(value, "json")
    back = store.load(ref)
    assert back == {"auc": 0.75, "f32": 0.5, "n": 3, "flag": True, "plain": [1, "a", None]}
    assert isinstance(back["n"], int)
    assert isinstance(back["flag"], bool)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([1, 2]), [1, 2]),
        (np.array([[1.5, 2.0], [3.0, 4.0]]), [[1.5, 2.0], [3.0, 4.0]]),
        (np.array([7]), [7]),  # a one-element array stays a list
    ],
)
def test_json_with_numpy_arrays(array, expected):
    # BUG (mlspec/store/codecs.py, _json_default): `.item()` is tried before `.tolist()`, and
    # ndarrays have `.item()` too: multi-element arrays raise ValueError, one-element arrays
    # silently become scalars.
    back = codecs.decode("json", codecs.encode("json", {"arr": array}))
    assert back == {"arr": expected}


def test_json_encoding_is_sorted_and_deterministic():
    a = codecs.encode("json", {"b": 1, "a": 2})
    assert a == codecs.encode("json", {"a": 2, "b": 1})
    assert a == b'{"a":2,"b":1}'


def test_json_refuses_unknown_objects():
    with pytest.raises(TypeError):
        codecs.encode("json", {"x": object()})


def test_unknown_codec():
    with pytest.raises(KeyError):
        codecs.encode("pickle", 1)


def test_stage_api_codecs_are_all_known():
    from mlspec.stages.api import CODECS as DECLARED

    assert set(DECLARED) == set(codecs.CODECS)


# -- action records ------------------------------------------------------------------------------


def test_action_record_json_roundtrip():
    ref = ArtifactRef(digest="blake3:" + "a" * 64, codec="frame", size=12)
    rec = _record("k" * 64, {"train": ref, "test": ref}, note="x")
    raw = rec.to_json()
    back = ActionRecord.from_json(raw)
    assert back == rec
    assert isinstance(back.outputs["train"], ArtifactRef)
    assert back.to_json() == raw  # stable serialisation
    assert json.loads(raw)["outputs"]["train"]["size"] == 12


def test_put_and_get_action(store):
    ref = store.save({"m": 1}, "json")
    rec = _record("ab" + "0" * 62, {"metrics": ref})
    store.put_action(rec)
    assert store.get_action(rec.key) == rec
    assert store._action_path(rec.key).parent.name == "ab"


def test_get_action_unknown_key(store):
    store.ensure()
    assert store.get_action("cd" * 32) is None


def test_get_action_none_when_output_missing(store):
    ref = store.save({"m": 1}, "json")
    missing = ArtifactRef(digest=digest_bytes(b"never stored"), codec="json", size=3)
    rec = _record("ef" * 32, {"metrics": ref, "other": missing})
    store.put_action(rec)
    assert store.get_action(rec.key) is None


def test_get_action_none_after_object_deleted(store):
    ref = store.save({"m": 1}, "json")
    rec = _record("ef" * 32, {"metrics": ref})
    store.put_action(rec)
    assert store.get_action(rec.key) is not None
    store.objects.path_for(ref.digest).unlink()
    assert store.get_action(rec.key) is None


def test_get_action_damaged_record_is_a_miss(store):
    rec = _record("12" * 32, {})
    store.put_action(rec)
    store._action_path(rec.key).write_text("{not json")
    assert store.get_action(rec.key) is None
    store._action_path(rec.key).write_text('{"key": "x"}')
    assert store.get_action(rec.key) is None


def test_put_action_is_atomic_and_leaves_no_temp_files(store):
    ref = store.save({"m": 1}, "json")
    for i in range(5):
        store.put_action(_record(f"{i:02d}" + "f" * 62, {"metrics": ref}))
    assert list(store.objects.tmp.iterdir()) == []
    assert len(list(store.actions_dir.glob("*/*.json"))) == 5


def test_put_action_overwrites(store):
    ref = store.save({"m": 1}, "json")
    key = "34" * 32
    store.put_action(_record(key, {"metrics": ref}))
    newer = _record(key, {"metrics": ref})
    newer.run_id = "run-2"
    store.put_action(newer)
    assert store.get_action(key).run_id == "run-2"


# -- verify --------------------------------------------------------------------------------------


def _populated(store: Store) -> tuple[ArtifactRef, ArtifactRef, ActionRecord]:
    r1 = store.save({"a": 1}, "json")
    r2 = store.save({"b": 2}, "json")
    rec = _record("aa" * 32, {"x": r1, "y": r2})
    store.put_action(rec)
    return r1, r2, rec


def test_verify_clean_store(store):
    _populated(store)
    report = store.verify()
    assert report.problems == []
    assert report.objects_checked == 2
    assert report.actions_checked == 1


def test_verify_corrupt_object(store):
    r1, _, _ = _populated(store)
    store.put_action(_record("bb" * 32, {"x": r1}))
    _, r2, _ = r1, *_populated(store)[1:]
    _corrupt(store.objects.path_for(r2.digest))
    report = store.verify()
    assert len(report.problems) == 1, report.problems
    assert "object" in report.problems[0]
    assert report.removed == []
    assert store.objects.path_for(r2.digest).exists()  # no repair without repair=True


def test_verify_dangling_action(store):
    r1 = store.save({"a": 1}, "json")
    missing = ArtifactRef(digest=digest_bytes(b"gone"), codec="json", size=4)
    store.put_action(_record("cc" * 32, {"x": r1, "gone": missing}))
    report = store.verify()
    assert len(report.problems) == 1
    assert "gone" in report.problems[0]


def test_verify_unreadable_action(store):
    _populated(store)
    bad = store.actions_dir / "dd" / ("dd" * 32 + ".json")
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("nope")
    report = store.verify()
    assert len(report.problems) == 1
    assert "unreadable" in report.problems[0]


def test_verify_misnamed_action(store):
    r1 = store.save({"a": 1}, "json")
    rec = _record("ee" * 32, {"x": r1})
    path = store.actions_dir / "ff" / ("ff" * 32 + ".json")
    path.parent.mkdir(parents=True)
    path.write_bytes(rec.to_json())
    assert len(store.verify().problems) == 1


def test_verify_object_under_wrong_prefix(store):
    d = store.objects.put(b"misplaced")
    src = store.objects.path_for(d)
    wrong = store.objects.objects / "zz" / src.name
    wrong.parent.mkdir()
    src.rename(wrong)
    report = store.verify()
    assert any("wrong prefix" in p for p in report.problems)


def test_verify_repair_removes_corrupt_and_dangling(store):
    r1, r2, rec = _populated(store)
    other = store.save({"c": 3}, "json")
    keep = _record("bb" * 32, {"z": other})
    store.put_action(keep)
    dangling = _record(
        "cc" * 32, {"gone": ArtifactRef(digest=digest_bytes(b"gone"), codec="json", size=4)}
    )
    store.put_action(dangling)
    _corrupt(store.objects.path_for(r2.digest))

    report = store.verify(repair=True)
    # corrupt object; the action that referenced it (now missing); the dangling action
    assert len(report.problems) == 3, report.problems
    assert not store.objects.path_for(r2.digest).exists()
    assert not store._action_path(rec.key).exists()
    assert not store._action_path(dangling.key).exists()
    assert len(report.removed) == 3

    second = store.verify()
    assert second.problems == []
    # untouched good data survives
    assert store.get_action(keep.key) == keep
    assert store.load(other) == {"c": 3}
    assert store.objects.has(r1.digest)


def test_verify_repair_removes_unreadable_action(store):
    _populated(store)
    bad = store.actions_dir / "dd" / ("dd" * 32 + ".json")
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("nope")
    store.verify(repair=True)
    assert not bad.exists()
    assert store.verify().problems == []


# -- clean_tmp -----------------------------------------------------------------------------------


def test_clean_tmp_only_removes_old_files(store):
    store.ensure()
    old = store.objects.tmp / "old.part"
    new = store.objects.tmp / "new.part"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert store.clean_tmp(older_than_s=3600) == 1
    assert not old.exists() and new.exists()


# -- for_project ---------------------------------------------------------------------------------


def test_for_project_default_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSPEC_STORE", raising=False)
    assert Store.for_project(tmp_path).root == tmp_path / ".mlspec"
    monkeypatch.setenv("MLSPEC_STORE", str(tmp_path / "elsewhere"))
    assert Store.for_project(tmp_path).root == (tmp_path / "elsewhere").resolve()


# -- locks ---------------------------------------------------------------------------------------


def test_lock_excludes_concurrent_holders(store):
    events: list[tuple[str, int]] = []
    events_lock = threading.Lock()
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            start.wait()
            for _ in range(3):
                with store.lock("k" * 64):
                    with events_lock:
                        events.append(("enter", i))
                    time.sleep(0.01)
                    with events_lock:
                        events.append(("exit", i))
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert len(events) == 24
    # critical sections never overlap: strictly alternating enter/exit by the same thread
    for n in range(0, len(events), 2):
        enter, leave = events[n], events[n + 1]
        assert enter[0] == "enter" and leave == ("exit", enter[1]), events


def test_lock_different_keys_do_not_block(store):
    acquired = threading.Event()

    def other() -> None:
        with store.lock("b" * 64, timeout=5):
            acquired.set()

    with store.lock("a" * 64):
        t = threading.Thread(target=other)
        t.start()
        assert acquired.wait(5)
        t.join()


def test_lock_timeout(store):
    from filelock import Timeout

    failed = threading.Event()

    def other() -> None:
        try:
            with store.lock("c" * 64, timeout=0.05):
                pass
        except Timeout:
            failed.set()

    with store.lock("c" * 64):
        t = threading.Thread(target=other)
        t.start()
        t.join(5)
    assert failed.is_set()


# -- stat cache ----------------------------------------------------------------------------------


def test_statcache_digest(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"a,b\n1,2\n")
    db = tmp_path / "cache.db"
    db.touch()
    cache = StatCache(db)
    assert cache.digest(f) == digest_bytes(b"a,b\n1,2\n")
    assert cache.digest(f) == digest_bytes(b"a,b\n1,2\n")  # served from the cache


def test_statcache_uses_cache_when_stat_unchanged(tmp_path, monkeypatch):
    from mlspec.store import statcache

    f = tmp_path / "data.csv"
    f.write_bytes(b"abc")
    old = time.time() - 60
    os.utime(f, (old, old))  # outside the racy-clean window
    db = tmp_path / "cache.db"
    db.touch()
    cache = StatCache(db)
    first = cache.digest(f)
    calls = []
    monkeypatch.setattr(statcache, "digest_file", lambda p: calls.append(p) or "blake3:bogus")
    assert cache.digest(f) == first
    assert calls == []


def test_statcache_does_not_trust_a_file_modified_just_now(tmp_path, monkeypatch):
    """Racy clean: a file hashed within the timestamp granularity of its last write could be
    rewritten with the same size and mtime; such a digest is never served from the cache."""
    from mlspec.store import statcache

    f = tmp_path / "data.csv"
    f.write_bytes(b"abc")
    db = tmp_path / "cache.db"
    db.touch()
    cache = StatCache(db)
    cache.digest(f)
    calls = []
    monkeypatch.setattr(statcache, "digest_file", lambda p: calls.append(p) or "blake3:fresh")
    assert cache.digest(f) == "blake3:fresh"
    assert calls == [f]


def test_statcache_touch_keeps_digest(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"content")
    db = tmp_path / "cache.db"
    db.touch()
    cache = StatCache(db)
    before = cache.digest(f)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert cache.digest(f) == before


def test_statcache_content_change_changes_digest(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"content-1")
    db = tmp_path / "cache.db"
    db.touch()
    cache = StatCache(db)
    before = cache.digest(f)
    st = f.stat()
    f.write_bytes(b"content-2")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    after = cache.digest(f)
    assert after != before
    assert after == digest_bytes(b"content-2")
    assert StatCache(db).digest(f) == after  # persisted across instances


def test_statcache_without_db_creates_nothing(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"xyz")
    before = sorted(tmp_path.iterdir())
    cache = StatCache(None)
    assert cache.digest(f) == digest_bytes(b"xyz")
    f.write_bytes(b"xyz2")
    assert cache.digest(f) == digest_bytes(b"xyz2")
    assert sorted(tmp_path.iterdir()) == before


def test_statcache_missing_db_file_creates_nothing(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"xyz")
    db = tmp_path / "absent" / "cache.db"
    assert StatCache(db).digest(f) == digest_bytes(b"xyz")
    assert not db.parent.exists()


def test_store_stat_cache_before_store_exists(tmp_path):
    s = Store(tmp_path / ".mlspec")
    assert s.stat_cache().db_path is None
    s.ensure()
    assert s.stat_cache().db_path == s.db_path


def test_frame_bytes_depend_on_values_only_not_on_how_arrow_chunked_them():
    import io

    import pyarrow as pa

    rng = np.random.default_rng(0)
    n = 150_000
    values = rng.normal(size=n)
    chunked = pa.chunked_array([pa.array(values[: n // 3]), pa.array(values[n // 3 :])])
    one = pa.chunked_array([pa.array(values)])
    a = pd.DataFrame({"x": pd.Series(chunked, dtype=pd.ArrowDtype(pa.float64())), "y": values})
    b = pd.DataFrame({"x": pd.Series(one, dtype=pd.ArrowDtype(pa.float64())), "y": values})
    data = codecs.encode("frame", a)
    assert data == codecs.encode("frame", b)
    streamed = io.BytesIO()
    codecs.encode_into("frame", a, streamed)  # the runner's path: straight into a file
    assert streamed.getvalue() == data
    pd.testing.assert_frame_equal(codecs.decode("frame", data), a)
