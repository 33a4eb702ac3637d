import json
from pathlib import Path

import numpy as np
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
    assert out["report"] == {
        "rows": 9,
        "columns": 3,
        "failures": [],
        "valid": True,
        "on_invalid": "fail",
        "rows_in": 9,
        "rows_valid": 9,
        "rows_quarantined": 0,
        "rows_failing": 0,
    }
    assert list(out["quarantine"].columns) == [*df.columns, "_mlspec_reason"]
    assert out["quarantine"].empty


def test_missing_target_is_a_data_error_naming_it(tmp_path, df):
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, target="label")
    problem = err.value.problems[0]
    assert problem.code == "missing_column"
    assert "'label'" in problem.message
    assert problem.loc == ("data", "target")
    assert "amount" in str(problem.fix)


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
    assert amount.fix == (
        "fix the data or relax the schema in data.schema;"
        " or set data.on_invalid: quarantine to set the failing rows aside"
    )
    assert "green" in problems[("color",)].message


def test_warn_passes_data_through_and_reports(tmp_path, df):
    logs: list[str] = []
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
    assert "strict" in str(err.value.problems[0].fix)


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
    assert "schema.yaml" in str(err.value.problems[0].fix)
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


# ---------------------------------------------------------------------------------------------
# on_invalid policies on breast_cancer with injected dirty rows (schemas/breast_cancer.yaml:
# every measurement ge 0, target isin [0, 1], coerce: true, strict: true)

REPO = Path(__file__).resolve().parents[3]
BC_SCHEMA = str(REPO / "schemas" / "breast_cancer.yaml")
REASON = "_mlspec_reason"
GE0 = "greater_than_or_equal_to(0.0)"
ISIN = "isin([0, 1])"


@pytest.fixture(scope="module")
def bc():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.fixture
def dirty(bc):
    """~5% bad rows of four kinds, plus one row failing two checks; `bad` maps row -> checks."""
    df = bc.copy()
    # As read from a CSV with a non-number in it: the column is text, each value a number's text.
    df["mean texture"] = df["mean texture"].map(repr).astype("str")
    rng = np.random.default_rng(0)
    rows = [int(r) for r in rng.choice(len(df), size=29, replace=False)]
    bad: dict[int, list[tuple[str, str]]] = {}
    for r in rows[0:7]:  # missing values in a non-nullable column
        df.loc[r, "mean radius"] = np.nan
        bad[r] = [("mean radius", "not_nullable")]
    for r in rows[7:14]:  # out of range
        df.loc[r, "worst area"] = -df.loc[r, "worst area"]
        bad[r] = [("worst area", GE0)]
    for r in rows[14:20]:  # wrong type: text that is not a number
        df.loc[r, "mean texture"] = "abc"
        bad[r] = [("mean texture", "coerce_dtype('float64')")]
    # ...and text that is a number, out of range: only visible once the column coerces
    df.loc[rows[20], "mean texture"] = "-3.5"
    bad[rows[20]] = [("mean texture", GE0)]
    for r in rows[21:28]:  # invalid label
        df.loc[r, "target"] = 2
        bad[r] = [("target", ISIN)]
    df.loc[rows[28], "mean radius"] = -1.0  # two checks on one row
    df.loc[rows[28], "target"] = 2
    bad[rows[28]] = [("mean radius", GE0), ("target", ISIN)]
    return df, bad


def _bc(dirty_df, on_invalid, log=lambda m: None, **params):
    params.setdefault("schema_file", BC_SCHEMA)
    return ValidateStage().run(
        ValidateParams(target="target", on_invalid=on_invalid, **params),
        {"data": dirty_df},
        _ctx(REPO, log),
    )


def _expected_counts(bad):
    counts: dict[tuple[str, str], int] = {}
    for checks in bad.values():
        for key in checks:
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_quarantine_sets_aside_exactly_the_injected_rows(bc, dirty):
    df, bad = dirty
    assert 0.04 < len(bad) / len(df) < 0.06
    out = _bc(df, "quarantine")
    quarantine, data, report = out["quarantine"], out["data"], out["report"]
    # The injected rows, in their original order, with their original (uncoerced) values.
    rows = sorted(bad)
    expected = df.iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(quarantine.drop(columns=REASON), expected)
    assert list(quarantine.columns) == [*df.columns, REASON]
    # The rest go on, coerced: identical to the clean data.
    clean = bc.drop(index=rows).reset_index(drop=True)
    pd.testing.assert_frame_equal(data, clean)
    assert report["rows_in"] == report["rows_valid"] + report["rows_quarantined"]
    assert (report["rows_in"], report["rows_quarantined"]) == (len(df), len(bad))
    assert report["rows"] == report["rows_valid"] == len(df) - len(bad)
    assert report["valid"] is False
    counts = {(f["column"], f["check"]): f["count"] for f in report["failures"]}
    assert counts == _expected_counts(bad)
    json.dumps(report, allow_nan=False)


def test_quarantine_reason_names_every_failed_check_in_column_order(dirty):
    df, bad = dirty
    quarantine = _bc(df, "quarantine")["quarantine"]
    assert str(quarantine[REASON].dtype) == "string"
    for reason, row in zip(quarantine[REASON], sorted(bad), strict=True):
        assert reason == "; ".join(f"{column}: {check}" for column, check in bad[row])
    assert f"mean radius: {GE0}; target: {ISIN}" in set(quarantine[REASON])


def test_quarantine_logs_a_table_line_per_failure(dirty):
    df, bad = dirty
    logs: list[str] = []
    report = _bc(df, "quarantine", log=logs.append)["report"]
    assert logs[0].startswith(f"{len(bad)} of {len(df)} rows fail")
    assert "quarantined" in logs[0]
    assert logs[1].split() == ["column", "check", "count", "samples"]
    assert len(logs) == 2 + len(report["failures"])
    for line, failure in zip(logs[2:], report["failures"], strict=True):
        assert failure["column"] in line and failure["check"] in line
        assert str(failure["count"]) in line.split()
    assert "abc" in next(line for line in logs if "coerce_dtype" in line)


def test_quarantine_artifact_goes_through_the_frame_codec(dirty):
    from mlspec.store.codecs import decode, encode

    out = _bc(dirty[0], "quarantine")
    for name in ("data", "quarantine"):
        pd.testing.assert_frame_equal(decode("frame", encode("frame", out[name])), out[name])


def test_fail_lists_each_column_and_check_with_its_count(dirty):
    df, bad = dirty
    logs: list[str] = []
    with pytest.raises(DataError) as err:
        _bc(df, "fail", log=logs.append)
    assert err.value.exit_code == 1
    problems = err.value.problems
    assert all(p.code == "schema_check" for p in problems)
    listed = {(p.loc[0], check) for p in problems for check in [_check_in(p.message)]}
    assert listed == set(_expected_counts(bad))
    for p in problems:
        count = _expected_counts(bad)[(p.loc[0], _check_in(p.message))]
        assert f"failed for {count} row" in p.message
        assert p.fix is not None and p.fix.startswith(
            f"fix the data or relax the schema in {BC_SCHEMA};"
        )
        assert "on_invalid: quarantine" in p.fix
    assert len(logs) == 2 + len(problems)  # the table is logged before failing


def _check_in(message: str) -> str:
    return message.split("check '", 1)[1].split("' failed", 1)[0]


def test_fail_reports_samples(dirty):
    with pytest.raises(DataError) as err:
        _bc(dirty[0], "fail")
    texture = [p for p in err.value.problems if "coerce_dtype" in p.message]
    assert "samples: abc" in texture[0].message


def test_warn_passes_every_row_through_unchanged(dirty):
    df, bad = dirty
    logs: list[str] = []
    out = _bc(df, "warn", log=logs.append)
    pd.testing.assert_frame_equal(out["data"], df.reset_index(drop=True))
    assert out["quarantine"].empty
    assert list(out["quarantine"].columns) == [*df.columns, REASON]
    report = out["report"]
    assert report["rows_in"] == report["rows_valid"] == len(df)
    assert report["rows_quarantined"] == 0
    assert report["rows_failing"] == len(bad)
    assert {(f["column"], f["check"]): f["count"] for f in report["failures"]} == (
        _expected_counts(bad)
    )
    assert logs[0].startswith("warning:")
    assert len(logs) == 2 + len(report["failures"])


def test_clean_data_under_quarantine_quarantines_nothing(bc):
    out = _bc(bc, "quarantine")
    pd.testing.assert_frame_equal(out["data"], bc)
    assert out["quarantine"].empty
    assert out["report"]["rows_quarantined"] == 0
    assert out["report"]["valid"] is True


def test_inline_coerce_quarantines_text_in_a_float_column(tmp_path):
    df = pd.DataFrame({"x": ["1.5", "abc", "2", "-1", None], "y": [0, 1, 0, 1, 0]})
    columns = {"x": {"dtype": "float64", "coerce": True, "checks": {"ge": 0}}}
    out = _run(tmp_path, df, columns=columns, on_invalid="quarantine")
    assert out["data"]["x"].dtype == "float64"
    assert out["data"]["x"].tolist() == [1.5, 2.0]
    quarantine = out["quarantine"]
    assert quarantine["x"].tolist()[:2] == ["abc", "-1"]
    assert quarantine[REASON].tolist() == [
        "x: coerce_dtype('float64')",
        "x: greater_than_or_equal_to(0)",
        "x: not_nullable",
    ]
    report = out["report"]
    assert (report["rows_in"], report["rows_valid"], report["rows_quarantined"]) == (5, 2, 3)


def test_quarantine_with_a_repeated_index_pins_the_right_rows(tmp_path):
    df = pd.DataFrame({"x": [1.0, -1.0, 2.0, -2.0], "y": [0, 1, 0, 1]}, index=[7, 7, 3, 3])
    out = _run(tmp_path, df, columns={"x": {"checks": {"ge": 0}}}, on_invalid="quarantine")
    assert out["quarantine"]["x"].tolist() == [-1.0, -2.0]
    assert out["data"]["x"].tolist() == [1.0, 2.0]


def test_quarantine_is_deterministic(dirty):
    a, b = _bc(dirty[0], "quarantine"), _bc(dirty[0], "quarantine")
    for name in ("data", "quarantine"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a["report"] == b["report"]


# Schema-level failures: no rows to set aside, so quarantine cannot help.


def test_wrong_dtype_without_coerce_cannot_be_quarantined(tmp_path):
    df = pd.DataFrame({"x": ["1.5", "abc", "2"], "y": [0, 1, 0]})
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, columns={"x": {"dtype": "float64"}}, on_invalid="quarantine")
    problem = err.value.problems[0]
    assert problem.loc == ("x",)
    assert "cannot be quarantined" in problem.message
    assert "coerce: true" in str(problem.fix) and "'x'" in str(problem.fix)


def test_whole_column_dtype_mismatch_cannot_be_quarantined(tmp_path, df):
    with pytest.raises(DataError) as err:
        _run(tmp_path, df, columns={"y": {"dtype": "float64"}}, on_invalid="quarantine")
    problem = err.value.problems[0]
    assert "dtype is int64 but the schema expects" in problem.message
    assert "cannot be quarantined" in problem.message
    assert "coerce: true" in str(problem.fix)


def test_missing_column_under_quarantine_is_a_data_error(bc, dirty):
    df, _ = dirty
    with pytest.raises(DataError) as err:
        _bc(df.drop(columns=["worst area"]), "quarantine")
    unpinned = [p for p in err.value.problems if "cannot be quarantined" in p.message]
    assert [p.loc for p in unpinned] == [("worst area",)]
    assert "missing" in unpinned[0].message
    assert "columns present" in str(unpinned[0].fix)
    # The row-level failures are listed too, so that one run shows everything.
    assert {p.loc for p in err.value.problems} > {("worst area",), ("target",)}


def test_strict_extra_column_under_quarantine_is_a_data_error(bc):
    with pytest.raises(DataError) as err:
        _bc(bc.assign(extra=1), "quarantine")
    (problem,) = err.value.problems
    assert problem.loc == ("extra",)
    assert "cannot be quarantined" in problem.message
    assert "strict" in str(problem.fix)


def test_schema_level_failures_pass_under_warn(bc):
    out = _bc(bc.assign(extra=1), "warn")
    assert len(out["data"]) == len(bc)
    assert out["report"]["failures"][0]["check"] == "column_in_schema"


# -- one validation round when the rows left cannot fail ------------------------------------------


def _counting(schema, monkeypatch):
    calls = []
    original = type(schema).validate

    def validate(self, *args, **kwargs):
        calls.append(len(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(schema), "validate", validate)
    return calls


def test_element_wise_checks_need_one_validation_round(monkeypatch):
    import pandera.pandas as pa

    from mlspec.stages.builtin._quarantine import analyse

    df = pd.DataFrame({"x": [1.0, -2.0, 3.0, 50.0, None], "c": ["a", "b", "??", "a", "b"]})
    schema = pa.DataFrameSchema(
        {
            "x": pa.Column(float, [pa.Check.ge(0), pa.Check.le(10)], nullable=False),
            "c": pa.Column(str, pa.Check.isin(["a", "b"])),
        }
    )
    calls = _counting(schema, monkeypatch)
    found = analyse(schema, df)
    assert calls == [5]
    assert found.failing_rows == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(found.validated, df.iloc[[0]])
    # The rows handed on really do pass the schema.
    monkeypatch.undo()
    schema.validate(found.validated, lazy=True)


def test_a_check_that_depends_on_other_rows_is_validated_again(monkeypatch):
    """Removing a failing row can make another row fail (here: 'below 1.5 times the mean')."""
    import pandera.pandas as pa

    from mlspec.stages.builtin._quarantine import analyse

    df = pd.DataFrame({"x": [1.0, 1.0, 1.0, 2.5, 100.0]})
    below = pa.Check(lambda s: s < 1.5 * s.mean(), name="below_1.5_mean")
    schema = pa.DataFrameSchema({"x": pa.Column(float, below)})
    calls = _counting(schema, monkeypatch)
    found = analyse(schema, df)
    assert len(calls) >= 2
    assert found.failing_rows == [3, 4]  # 2.5 fails only once 100 is gone
    pd.testing.assert_frame_equal(found.validated, df.iloc[[0, 1, 2]])
