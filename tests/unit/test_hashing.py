"""mlspec.hashing: canonical JSON for cache keys, content digests, code fingerprints."""

from __future__ import annotations

import enum
import importlib.util
import itertools
import json
import linecache
import math
import sys
import textwrap
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

import numpy as np  # imported before canonical_json so the numpy handlers register
import pytest
from pydantic import BaseModel

from mlspec.hashing import (
    DIGEST_PREFIX,
    NotFingerprintable,
    canonical_json,
    code_fingerprint,
    digest_bytes,
    digest_file,
    digest_hex,
    sha256_hex,
    to_canonical,
)

# -- canonical_json ------------------------------------------------------------------------------


def test_dict_order_does_not_matter():
    a = {"b": 1, "a": {"y": [1, 2], "x": "s"}, "c": None}
    b = {"c": None, "a": {"x": "s", "y": [1, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b)


def test_output_is_compact_and_sorted():
    assert canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_non_ascii_is_kept_verbatim():
    assert canonical_json({"k": "é"}) == '{"k":"é"}'


def test_list_order_matters():
    assert canonical_json([1, 2]) != canonical_json([2, 1])


def test_tuple_and_list_are_the_same():
    assert canonical_json((1, "a")) == canonical_json([1, "a"])


def test_int_float_bool_differ():
    forms = {canonical_json(1), canonical_json(1.0), canonical_json(True)}
    assert len(forms) == 3
    assert canonical_json(True) == "true"
    assert canonical_json(1) == "1"


def test_zero_false_none_differ():
    forms = [canonical_json(v) for v in (0, 0.0, False, None, "", [], {})]
    assert len(set(forms)) == len(forms)


def test_non_integral_float_is_plain():
    assert canonical_json(0.1) == "0.1"
    assert json.loads(canonical_json(2.5)) == 2.5


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_handled(value):
    text = canonical_json(value)  # must not raise (allow_nan=False underneath)
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def test_nan_inf_neg_inf_are_distinct():
    forms = {canonical_json(v) for v in (math.nan, math.inf, -math.inf)}
    assert len(forms) == 3


def test_nan_is_stable():
    assert canonical_json({"x": float("nan")}) == canonical_json({"x": math.nan})


def test_sets_are_sorted():
    assert canonical_json({3, 1, 2}) == canonical_json({2, 3, 1})
    assert canonical_json(frozenset({"b", "a"})) == canonical_json({"a", "b"})
    assert json.loads(canonical_json({3, 1, 2}))["__set__"] == [1, 2, 3]


def test_mixed_type_sets_are_stable():
    values = [1, "a", 2.5, None, (1, 2)]
    forms = {canonical_json(set(p)) for p in itertools.permutations(values)}
    assert len(forms) == 1


def test_set_differs_from_list():
    assert canonical_json({1, 2}) != canonical_json([1, 2])


def test_path():
    assert canonical_json(Path("a/b.csv")) == canonical_json(PurePosixPath("a/b.csv"))
    assert "a/b.csv" in canonical_json(Path("a") / "b.csv")
    assert canonical_json(Path("a/b.csv")) != canonical_json("a/b.csv")


def test_datetime_and_date():
    dt = datetime(2024, 1, 2, 3, 4, 5)
    assert "2024-01-02T03:04:05" in canonical_json(dt)
    assert "2024-01-02" in canonical_json(date(2024, 1, 2))
    assert canonical_json(dt) != canonical_json(dt.isoformat())


def test_decimal():
    assert canonical_json(Decimal("1.10")) != canonical_json(1.1)
    assert "1.10" in canonical_json(Decimal("1.10"))


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


def test_enum_uses_its_value():
    assert canonical_json(Color.RED) == canonical_json("red")
    assert canonical_json(Color.BLUE) == canonical_json(2)


@pytest.mark.parametrize(
    ("np_value", "py_value"),
    [
        (np.int64(3), 3),
        (np.int32(3), 3),
        (np.float64(0.25), 0.25),
        (np.float32(0.5), 0.5),
        (np.float64(1.0), 1.0),
        (np.bool_(True), True),
    ],
)
def test_numpy_scalars_match_python_scalars(np_value, py_value):
    assert canonical_json(np_value) == canonical_json(py_value)


def test_numpy_nan_scalar():
    assert canonical_json(np.float64("nan")) == canonical_json(math.nan)


def test_numpy_arrays_include_dtype():
    a = np.array([1, 2, 3], dtype=np.int64)
    b = np.array([1, 2, 3], dtype=np.int32)
    assert canonical_json(a) == canonical_json(a.copy())
    assert canonical_json(a) != canonical_json(b)
    assert canonical_json(a) != canonical_json([1, 2, 3])
    assert "int64" in canonical_json(a)


def test_numpy_array_with_nan():
    json.loads(canonical_json(np.array([1.0, np.nan, np.inf])))


def test_numpy_2d_array():
    a = np.arange(6).reshape(2, 3)
    assert canonical_json(a) != canonical_json(a.reshape(3, 2))


class Opaque:
    def __str__(self) -> str:  # must never be used
        return "opaque"


def test_unknown_object_is_refused():
    with pytest.raises(NotFingerprintable, match="Opaque"):
        canonical_json({"x": Opaque()})


def test_unknown_object_never_falls_back_to_str():
    with pytest.raises(NotFingerprintable):
        canonical_json([Opaque()])
    with pytest.raises(NotFingerprintable):
        canonical_json(object())
    with pytest.raises(NotFingerprintable):
        canonical_json(lambda: 1)


def test_not_fingerprintable_is_a_type_error():
    assert issubclass(NotFingerprintable, TypeError)


def test_non_string_mapping_keys_are_refused():
    with pytest.raises(NotFingerprintable, match="keys"):
        canonical_json({1: "a"})


class Inner(BaseModel):
    z: float = 1.0


class Params(BaseModel):
    a: int
    b: list[str]
    inner: Inner = Inner()


def test_pydantic_models_via_model_dump():
    m = Params(a=1, b=["x"])
    assert canonical_json(m) == canonical_json({"a": 1, "b": ["x"], "inner": {"z": 1.0}})
    assert canonical_json(m) != canonical_json(Params(a=2, b=["x"]))


def test_custom_type_can_be_registered():
    class Money:
        def __init__(self, cents: int):
            self.cents = cents

    @to_canonical.register(Money)
    def _(value: Money):
        return {"__money__": value.cents}

    assert canonical_json(Money(5)) == canonical_json(Money(5))
    assert canonical_json(Money(5)) != canonical_json(Money(6))


def test_sha256_hex():
    assert sha256_hex("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


# -- digests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1000, (1 << 20) + 17, 3 << 20])
def test_digest_bytes_equals_digest_file(tmp_path, size):
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert digest_bytes(data) == digest_file(path) == digest_file(str(path))


def test_digest_format():
    d = digest_bytes(b"hello")
    assert d.startswith(DIGEST_PREFIX)
    assert len(digest_hex(d)) == 64
    assert DIGEST_PREFIX + digest_hex(d) == d
    assert digest_bytes(memoryview(b"hello")) == d


def test_digest_differs_for_different_content():
    assert digest_bytes(b"a") != digest_bytes(b"b")


# -- code_fingerprint ----------------------------------------------------------------------------

MODULE_SRC = '''
"""A stage-like module."""


def helper(x):
    return x + 1


class Thing:
    def run(self):
        return helper(1)
'''


def _import_file(path: Path):
    name = f"mlspec_fp_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture
def imported(tmp_path):
    """Write a module, import it under a unique name; return (path, module, loader)."""
    created: list[str] = []

    def load(source: str, filename: str = "stage_mod.py"):
        path = tmp_path / filename
        path.write_text(textwrap.dedent(source))
        linecache.checkcache()
        module = _import_file(path)
        created.append(module.__name__)
        return module

    yield load
    for name in created:
        sys.modules.pop(name, None)


def test_code_fingerprint_is_stable(imported):
    mod = imported(MODULE_SRC)
    fp = code_fingerprint(mod)
    assert fp.startswith("sha256:")
    assert code_fingerprint(mod) == fp


def test_code_fingerprint_of_class_is_its_module(imported):
    mod = imported(MODULE_SRC)
    # the module name is part of the fingerprint; a class fingerprints its defining module
    assert code_fingerprint(mod.Thing) == code_fingerprint(mod)
    assert code_fingerprint(mod.Thing, mod) == code_fingerprint(mod)  # deduplicated


def _same_name_fingerprint(tmp_path: Path, source: str, name: str) -> str:
    """Fingerprint ``source`` loaded as module ``name`` from a file in tmp_path."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    linecache.checkcache()
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return code_fingerprint(module)
    finally:
        sys.modules.pop(name, None)


def test_comment_and_whitespace_edits_keep_the_fingerprint(tmp_path):
    name = f"mlspec_fp_{uuid.uuid4().hex}"
    before = _same_name_fingerprint(tmp_path, MODULE_SRC, name)
    edited = MODULE_SRC.replace(
        "def helper(x):\n    return x + 1",
        "# a new comment\ndef helper(x):  # trailing\n\n\n    return x + 1    ",
    )
    assert edited != MODULE_SRC
    after = _same_name_fingerprint(tmp_path, edited, name)
    assert after == before


def test_code_edit_changes_the_fingerprint(tmp_path):
    name = f"mlspec_fp_{uuid.uuid4().hex}"
    before = _same_name_fingerprint(tmp_path, MODULE_SRC, name)
    after = _same_name_fingerprint(tmp_path, MODULE_SRC.replace("x + 1", "x + 2"), name)
    assert after != before


def test_helper_edit_changes_the_class_fingerprint(tmp_path):
    """Editing a helper the class calls (same module) invalidates the class's fingerprint."""
    name = f"mlspec_fp_{uuid.uuid4().hex}"
    path = tmp_path / f"{name}.py"

    def fp(source: str) -> str:
        path.write_text(source)
        linecache.checkcache()
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
            return code_fingerprint(module.Thing)
        finally:
            sys.modules.pop(name, None)

    assert fp(MODULE_SRC) != fp(MODULE_SRC.replace("return x + 1", "return x * 3"))


def test_reload_after_comment_edit(tmp_path, monkeypatch):
    """The importlib.reload path: same module object, edited file on disk."""
    import importlib

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"mlspec_fp_{uuid.uuid4().hex}"
    path = tmp_path / f"{name}.py"
    path.write_text(MODULE_SRC)
    importlib.invalidate_caches()
    mod = importlib.import_module(name)
    try:
        before = code_fingerprint(mod)
        path.write_text(MODULE_SRC + "\n# trailing comment only\n")
        linecache.checkcache()
        importlib.reload(mod)
        assert code_fingerprint(mod) == before
        path.write_text(MODULE_SRC + "\nEXTRA = 1\n")
        linecache.checkcache()
        importlib.reload(mod)
        assert mod.EXTRA == 1
        assert code_fingerprint(mod) != before
    finally:
        sys.modules.pop(name, None)


def test_different_modules_differ(imported):
    a = imported(MODULE_SRC, "a.py")
    b = imported(MODULE_SRC.replace("x + 1", "x - 1"), "b.py")
    assert code_fingerprint(a) != code_fingerprint(b)
    assert code_fingerprint(a, b) != code_fingerprint(a)


def test_module_without_source_does_not_crash():
    import types

    mod = types.ModuleType(f"mlspec_nosrc_{uuid.uuid4().hex}")
    assert code_fingerprint(mod).startswith("sha256:")


def test_builtin_stage_fingerprint_is_deterministic():
    from mlspec.stages.builtin.split import SplitStage

    assert code_fingerprint(SplitStage) == code_fingerprint(SplitStage)


# -- the on-disk memo of normalised sources -----------------------------------------------------


def test_normalised_digest_is_remembered_on_disk_and_bad_entries_are_recomputed(
    tmp_path, monkeypatch
):
    from mlspec import hashing

    monkeypatch.setenv("MLSPEC_CODE_CACHE", str(tmp_path / "cache"))
    source = "x = 1  # a comment\n"
    hashing._normalised_digest.cache_clear()
    first = hashing._normalised_digest(source)
    entries = list((tmp_path / "cache").rglob("*"))
    files = [p for p in entries if p.is_file()]
    assert len(files) == 1 and files[0].read_text() == first
    # The memo agrees with the normalisation it replaces: comments do not count.
    hashing._normalised_digest.cache_clear()
    assert hashing._normalised_digest("x = 1\n") == first
    # A corrupted entry is never trusted.
    files[0].write_text("not a digest")
    hashing._normalised_digest.cache_clear()
    assert hashing._normalised_digest(source) == first
    assert files[0].read_text() == first
    # A real edit gives another digest.
    hashing._normalised_digest.cache_clear()
    assert hashing._normalised_digest("x = 2\n") != first


def test_code_cache_can_be_turned_off(tmp_path, monkeypatch):
    from mlspec import hashing

    monkeypatch.setenv("MLSPEC_CODE_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    hashing._normalised_digest.cache_clear()
    hashing._normalised_digest("y = 3\n")
    assert hashing.code_cache_dir() is None
    assert not any(tmp_path.iterdir())
