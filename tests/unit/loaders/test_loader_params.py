"""data.source validation: the kind names a loader, the other keys are that loader's options."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from mlspec.config.errors import problems_from_validation
from mlspec.stages.builtin.load import SKLEARN_DATASETS, LoadParams, LoadStage
from mlspec.stages.loaders.api import loader_registry


def _error(**source):
    with pytest.raises(ValidationError) as err:
        LoadParams.model_validate(source)
    return str(err.value.errors()[0]["ctx"]["error"])


def _problem(**source):
    """The problem the config layer builds, as the user sees it (loc inside data.source)."""
    with pytest.raises(ValidationError) as err:
        LoadParams.model_validate(source)
    (problem,) = problems_from_validation(err.value, LoadParams)
    return problem


def test_every_builtin_loader_resolves():
    registry = loader_registry()
    assert {"sklearn", "csv", "parquet", "jsonl", "sql", "callable"} <= set(registry.names())
    assert all(why is None for why in registry.check_all().values())


def test_flat_source_keeps_loader_options_as_validated_options():
    params = LoadParams.model_validate({"kind": "csv", "path": "d.csv", "sep": ";"})
    assert params.options().sep == ";" and params.options().path == "d.csv"
    assert params.model_dump() == {
        "kind": "csv",
        "columns": None,
        "dtypes": {},
        "parse_dates": [],
        "path": "d.csv",
        "sep": ";",
    }
    # compile_plan rebuilds the params from the dump: it must validate to the same thing.
    assert LoadParams.model_validate(params.model_dump()) == params


def test_unknown_kind_suggests_the_closest():
    msg = _error(kind="cvs", path="d.csv")
    assert msg.startswith("unknown source kind 'cvs'; did you mean 'csv'?")
    problem = _problem(kind="cvs", path="d.csv")
    assert problem.loc == ("kind",)
    assert "did you mean 'csv'?" in problem.fix


def test_unknown_option_suggests_the_closest_and_is_pinned_to_the_key():
    assert _error(kind="csv", path="d.csv", sepp=";").startswith(
        "unknown option 'sepp' for source kind 'csv'; did you mean 'sep'?"
    )
    problem = _problem(kind="csv", path="d.csv", seperator=";")
    assert problem.loc == ("seperator",)
    assert problem.message == "unknown option 'seperator' for source kind 'csv'"
    assert problem.fix.startswith("did you mean 'sep'?")  # an abbreviation difflib would miss
    assert "source_column" in problem.fix  # the valid options are listed


def test_common_option_typo_is_suggested_too():
    assert "did you mean 'columns'?" in _error(kind="sklearn", name="iris", column=["a"])


def test_missing_required_option_says_what_it_is():
    problem = _problem(kind="csv")
    assert problem.loc == ("path",)
    assert "kind 'csv' needs 'path'" in problem.message


def test_bad_option_value_names_the_option():
    assert _error(kind="csv", path="d.csv", header="first").startswith("option 'header':")
    problem = _problem(kind="sklearn", name="breast_cancr")
    assert problem.loc == ("name",)
    assert "unknown scikit-learn dataset 'breast_cancr'" in problem.message
    assert "did you mean 'breast_cancer'?" in problem.fix


def test_unknown_encoding_is_a_spec_error():
    problem = _problem(kind="csv", path="d.csv", encoding="utf-9")
    assert problem.loc == ("encoding",) and "unknown encoding 'utf-9'" in problem.message


def test_sql_needs_exactly_one_of_query_and_table():
    problem = _problem(kind="sql", url="sqlite:///x.db")
    assert problem.loc == ("query",) and "needs 'query'" in problem.message
    assert "not both" in _error(kind="sql", url="sqlite:///x.db", query="select 1", table="t")


def test_callable_target_alias():
    params = LoadParams.model_validate({"kind": "callable", "_target_": "m.f", "kwargs": {"n": 1}})
    assert params.options().target == "m.f"
    assert params.model_dump(by_alias=True)["_target_"] == "m.f"


def test_stage_hooks_follow_the_loader():
    sk = LoadParams(kind="sklearn", name="iris")
    assert LoadStage.libraries_for(sk) == ("pandas", "pyarrow", "scikit-learn")
    sql = LoadParams(kind="sql", url="sqlite:///x.db", table="t")
    assert "sqlalchemy" in LoadStage.libraries_for(sql)
    loader = loader_registry().get("sklearn")
    assert LoadStage.code_objects(sk) == (loader,)
    assert LoadStage.is_deterministic(sk)


def test_sklearn_datasets_are_exported():
    assert "breast_cancer" in SKLEARN_DATASETS


def test_compiling_file_and_sql_sources_imports_no_data_library(tmp_path):
    code = f"""
import sys
from pathlib import Path
from mlspec.config.spec import Spec
from mlspec.plan import compile_plan
from mlspec.stages.registry import StageRegistry
for src in [{{"kind": "csv", "path": "data/*.csv", "sep": ";"}},
            {{"kind": "sql", "url": "sqlite:///x.db", "table": "t"}},
            {{"kind": "parquet", "path": "x.parquet", "columns": ["a"]}}]:
    spec = Spec.model_validate({{"name": "bc", "data": {{"source": src, "target": "target"}},
        "model": {{"_target_": "lightgbm.LGBMClassifier"}}}})
    compile_plan(spec, StageRegistry(), Path({str(tmp_path)!r}))
heavy = ("pandas", "sklearn", "sqlalchemy", "pyarrow", "numpy")
print(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
