import json

import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.validate import ValidateParams, ValidateStage


def _ctx(root, log=lambda m: None):
    return StageContext(node="x", run_id="t", project_root=root, seed=0, log=log)


def _run(tmp_path, df, log=lambda m: None, **params):
    params.setdefault("target", "y")
    return ValidateStage().run(ValidateParams(**params), {"data": df}, _ctx(tmp_path, log))


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "amount": [1.0, -1.0, 2.0, -3.5, 4.0, -5.0, -6.0, -7.0, -8.0],
            "color": ["red", "blue", "red", "green", "red", "red", "red", "red", "red"],
            "y": [0, 1, 0, 1, 0, 1, 0, 1, 0],
        }
    )


def test_minimal_schema_passes_and_reports(tmp_path, df):
    out = _run(tmp_path, df)
    pd.testing.assert_frame_equal(out["data"], df)
    assert out["report"] == {"rows": 9, "columns": 3, "failures": [], "valid": True}


def test_missing_target_is_a_data_error_naming_it(tmp_path, df):
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, target="label")
    problem = err.value.problems[0]
    assert problem.code == "missing_column"
    assert "'label'" in problem.message
    assert problem.loc == ("data", "target")
    assert "amount" in problem.fix


def test_missing_target_fails_even_when_only_warning(tmp_path, df):
    with pytest.raises(DataError):
        _run(tmp_path, df, target="label", on_invalid="warn")


def test_null_target_fails_the_minimal_schema(tmp_path, df):
    df.loc[2, "y"] = None
    with pytest.raises(DataError) as err:
        _run(tmp_path, df)
    assert err.value.problems[0].loc == ("y",)
    assert "not_nullable" in err.value.problems[0].message


def test_inline_checks_fail_with_counts_samples_and_fix(tmp_path, df):
    columns = {
        "amount": {"dtype": "float64", "checks": {"ge": 0}},
        "color": {"checks": {"isin": ["red", "blue"]}},
    }
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, columns=columns)
    problems = {p.loc: p for p in err.value.problems}
    assert set(problems) == {("amount",), ("color",)}
    amount = problems[("amount",)]
    assert amount.code == "schema_check"
    assert "greater_than_or_equal_to(0)" in amount.message
    assert "6 rows" in amount.message
    assert "-1.0" in amount.message
    assert amount.fix == "fix the data or relax the schema in data.schema"
    assert "green" in problems[("color",)].message


def test_warn_passes_data_through_and_reports(tmp_path, df):
    logs = []
    out = _run(
        tmp_path, df, log=logs.append, on_invalid="warn", columns={"amount": {"checks": {"ge": 0}}}
    )
    pd.testing.assert_frame_equal(out["data"], df)
    report = out["report"]
    assert report["valid"] is False
    assert report["failures"] == [
        {
            "column": "amount",
            "check": "greater_than_or_equal_to(0)",
            "count": 6,
            "samples": [-1.0, -3.5, -5.0, -6.0, -7.0],  # at most five
        }
    ]
    json.dumps(report, allow_nan=False)
    assert any("warning" in m for m in logs)


def test_check_arguments_as_list_scalar_and_mapping(tmp_path, df):
    columns = {
        "amount": {"checks": {"in_range": [-10, 10]}},
        "color": {"checks": {"isin": ["red", "blue", "green"], "str_length": {"min_value": 3}}},
        "y": {"checks": {"ge": 0}},
    }
    assert _run(tmp_path, df, columns=columns)["report"]["valid"]


def test_strict_rejects_unknown_columns_but_keeps_the_target(tmp_path, df):
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, columns={"amount": {}}, strict=True)
    assert [p.loc for p in err.value.problems] == [("color",)]
    assert "strict" in err.value.problems[0].fix


def test_missing_required_column(tmp_path, df):
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, columns={"weight": {}})
    assert err.value.problems[0].loc == ("weight",)
    assert "missing" in err.value.problems[0].message


def test_coerce_returns_the_coerced_frame(tmp_path):
    df = pd.DataFrame({"n": ["1", "2"], "y": [0, 1]})
    out = _run(tmp_path, df, columns={"n": {"dtype": "int64", "coerce": True}})
    assert out["data"]["n"].dtype == "int64"


def test_schema_file(tmp_path, df):
    import pandera.pandas as pa

    schema = pa.DataFrameSchema({"amount": pa.Column(float, pa.Check.ge(0))})
    (tmp_path / "schema.yaml").write_text(schema.to_yaml())
    params = ValidateParams(schema_file="schema.yaml", target="y")
    assert ValidateStage.external_files(params, tmp_path) == {"schema": tmp_path / "schema.yaml"}
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, schema_file="schema.yaml")
    assert "schema.yaml" in err.value.problems[0].fix
    assert _run(tmp_path, df[df.amount >= 0], schema_file="schema.yaml")["report"]["valid"]


def test_missing_schema_file_is_a_spec_error(tmp_path, df):
    with pytest.raises(SpecError) as err:
        _run(tmp_path, df, schema_file="nope.yaml")
    assert err.value.problems[0].loc == ("data", "schema")
    assert "nope.yaml" in err.value.problems[0].message


def test_broken_schema_file_is_a_spec_error(tmp_path, df):
    (tmp_path / "schema.yaml").write_text("columns: [1, 2")
    with pytest.raises(SpecError) as err:
        _run(tmp_path, df, schema_file="schema.yaml")
    assert err.value.problems[0].loc == ("data", "schema")


def test_bad_check_arguments_are_a_spec_error(tmp_path, df):
    with pytest.raises(SpecError) as err:
        _run(tmp_path, df, columns={"amount": {"checks": {"in_range": 3}}})
    assert err.value.problems[0].loc[-1] == "in_range"


def test_deterministic(tmp_path, df):
    a = _run(tmp_path, df, on_invalid="warn", columns={"amount": {"checks": {"ge": 0}}})
    b = _run(tmp_path, df, on_invalid="warn", columns={"amount": {"checks": {"ge": 0}}})
    pd.testing.assert_frame_equal(a["data"], b["data"])
    assert a["report"] == b["report"]
