import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.load import LoadParams, LoadStage


def _ctx(root):
    return StageContext(node="x", run_id="t", project_root=root, seed=0, log=lambda m: None)


def _run(tmp_path, **params):
    return LoadStage().run(LoadParams(**params), {}, _ctx(tmp_path))["data"]


CSV = "zip;city;when;amount\n01234;Oslo;2024-01-02;1.5\n09999;Rome;2024-02-03;2.5\n"


def test_sklearn_dataset_has_a_target_column_and_a_clean_index(tmp_path):
    df = _run(tmp_path, kind="sklearn", name="breast_cancer")
    assert df.shape == (569, 31)
    assert "target" in df.columns
    assert all(isinstance(c, str) for c in df.columns)
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0


def test_sklearn_dataset_is_deterministic(tmp_path):
    pd.testing.assert_frame_equal(
        _run(tmp_path, kind="sklearn", name="diabetes"),
        _run(tmp_path, kind="sklearn", name="diabetes"),
    )


def test_csv_with_sep_dtypes_dates_and_columns(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    df = _run(
        tmp_path,
        kind="csv",
        path="d.csv",
        sep=";",
        dtypes={"zip": "str"},
        parse_dates=["when"],
        columns=["zip", "when", "amount"],
    )
    assert list(df.columns) == ["zip", "when", "amount"]
    assert df["zip"].tolist() == ["01234", "09999"]  # leading zeros kept: dtype applied on read
    assert pd.api.types.is_datetime64_any_dtype(df["when"])
    assert df["amount"].tolist() == [1.5, 2.5]


def test_csv_absolute_path(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    assert len(_run(tmp_path / "elsewhere", kind="csv", path=str(path), sep=";")) == 2


def test_parquet_with_dtypes_and_dates(tmp_path):
    src = pd.DataFrame({"a": [1, 2, 3], "when": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    src.to_parquet(tmp_path / "d.parquet")
    df = _run(
        tmp_path, kind="parquet", path="d.parquet", dtypes={"a": "float64"}, parse_dates=["when"]
    )
    assert df["a"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(df["when"])


def test_external_files_names_the_source(tmp_path):
    # Keyed by the path relative to the project root (was "source"): a renamed file changes the key.
    params = LoadParams(kind="csv", path="d.csv")
    assert LoadStage.external_files(params, tmp_path) == {"d.csv": tmp_path / "d.csv"}
    assert LoadStage.external_files(LoadParams(kind="sklearn", name="iris"), tmp_path) == {}


def test_missing_file_is_a_spec_error_naming_the_path(tmp_path):
    with pytest.raises(SpecError) as err:
        _run(tmp_path, kind="csv", path="nope.csv")
    problem = err.value.problems[0]
    assert problem.code == "missing_file"
    assert problem.loc == ("data", "source", "path")
    assert "nope.csv" in problem.message


def test_unknown_column_lists_the_available_ones(tmp_path):
    # A column the spec names but the data lacks is now a spec error (exit 2), not a data error.
    with pytest.raises(SpecError) as err:
        _run(tmp_path, kind="sklearn", name="iris", columns=["target", "petal_size"])
    problem = err.value.problems[0]
    assert problem.code == "missing_column"
    assert "petal_size" in problem.message
    assert "petal length (cm)" in problem.fix


def test_dtype_for_unknown_column(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    with pytest.raises(SpecError, match="'amout'") as err:  # was DataError, see above
        _run(tmp_path, kind="csv", path="d.csv", sep=";", dtypes={"amout": "float64"})
    assert err.value.problems[0].loc == ("data", "source", "dtypes")


def test_value_that_does_not_fit_the_dtype_names_the_column(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    with pytest.raises(DataError) as err:
        _run(tmp_path, kind="csv", path="d.csv", sep=";", dtypes={"city": "int64"})
    assert err.value.problems[0].loc == ("city",)
    assert "city" in str(err.value)


def test_misspelt_dtype_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as err:
        _run(tmp_path, kind="sklearn", name="iris", dtypes={"target": "flaot64"})
    assert err.value.problems[0].loc == ("data", "source", "dtypes", "target")


def test_unreadable_parquet_is_a_spec_error(tmp_path):
    # The file is not what data.source.kind says: a spec error (was DataError).
    (tmp_path / "d.parquet").write_text("not parquet")
    with pytest.raises(SpecError) as err:
        _run(tmp_path, kind="parquet", path="d.parquet")
    assert err.value.problems[0].code == "unreadable_file"
