"""callable loader: a user function returning a DataFrame; its module is part of the cache key."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from mlspec.errors import SpecError
from mlspec.plan.compile import static_preimage
from mlspec.stages.builtin.load import LoadParams, LoadStage

SOURCE = """
    import pandas as pd

    def make_rows(n, label="x"):
        return pd.DataFrame({"i": list(range(n)), "label": [label] * n})

    def not_a_frame():
        return [1, 2]
"""


@pytest.fixture
def module(tmp_path, monkeypatch):
    name = f"user_loaders_{tmp_path.name.replace('-', '_')}"
    pkg = tmp_path / "src"
    pkg.mkdir()
    (pkg / f"{name}.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(pkg))
    importlib.invalidate_caches()
    yield name
    sys.modules.pop(name, None)


def test_calls_the_function_with_kwargs(module, load):
    df = load(kind="callable", _target_=f"{module}.make_rows", kwargs={"n": 3, "label": "y"})
    assert df["i"].tolist() == [0, 1, 2] and set(df["label"]) == {"y"}
    assert len(load(kind="callable", _target_=f"{module}:make_rows", kwargs={"n": 1})) == 1


def test_code_objects_include_the_users_module(module, tmp_path):
    params = LoadParams.model_validate(
        {"kind": "callable", "_target_": f"{module}.make_rows", "kwargs": {"n": 2}}
    )
    objects = LoadStage.code_objects(params)
    assert sys.modules[module] in objects
    assert LoadStage.is_deterministic(params)
    before = static_preimage(LoadStage, params)["code"]
    path = tmp_path / "src" / f"{module}.py"
    path.write_text(path.read_text().replace('label="x"', 'label="changed"'))
    assert static_preimage(LoadStage, params)["code"] != before


def test_unknown_function_suggests_the_closest(module, tmp_path):
    params = LoadParams.model_validate({"kind": "callable", "_target_": f"{module}.make_row"})
    (problem,) = LoadStage.check(params, tmp_path)
    assert problem.code == "unknown_target" and problem.loc == ("_target_",)
    assert "did you mean 'make_rows'?" in problem.fix
    assert LoadStage.code_objects(params)[1:] == ()  # nothing to fingerprint; check() reports


def test_unknown_module(tmp_path):
    params = LoadParams.model_validate({"kind": "callable", "_target_": "no_such_mod_xyz.f"})
    (problem,) = LoadStage.check(params, tmp_path)
    assert problem.code == "unknown_target"
    assert "no_such_mod_xyz" in problem.message


def test_wrong_kwargs_are_found_before_the_call(module, tmp_path, load):
    source = {"kind": "callable", "_target_": f"{module}.make_rows", "kwargs": {"rows": 3}}
    (problem,) = LoadStage.check(LoadParams.model_validate(source), tmp_path)
    assert problem.code == "bad_kwargs" and problem.loc == ("kwargs",)
    with pytest.raises(SpecError):
        load(**source)


def test_must_return_a_dataframe(module, load):
    with pytest.raises(SpecError) as err:
        load(kind="callable", _target_=f"{module}.not_a_frame")
    assert "returned list" in err.value.problems[0].message
    assert err.value.problems[0].loc == ("data", "source", "_target_")
