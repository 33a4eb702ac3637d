"""csv / parquet / jsonl loaders: globs, common options pushed into the readers, clear errors."""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

from mlspec.errors import DataError, SpecError
from mlspec.stages.builtin.load import LoadParams, LoadStage

CSV = "zip;city;when;amount\n01234;Oslo;2024-01-02;1.5\n09999;Rome;2024-02-03;2.5\n"


def _monthly(root):
    (root / "data").mkdir()
    (root / "data" / "2024-02.csv").write_text("id,v\n003,3\n")
    (root / "data" / "2024-01.csv").write_text("id,v\n001,1\n002,2\n")
    (root / "data" / "notes.txt").write_text("not matched")


def test_csv_options_go_to_the_parser(tmp_path, load):
    (tmp_path / "d.csv").write_text("# exported\nid;amount\n1;1.234,5\n2;NA?\n")
    df = load(
        kind="csv", path="d.csv", sep=";", skiprows=1, decimal=",", thousands=".", na_values=["NA?"]
    )
    assert df["amount"].iloc[0] == 1234.5
    assert df["amount"].isna().iloc[1]


def test_csv_dtypes_keep_leading_zeros_and_dates_parse(tmp_path, load):
    (tmp_path / "d.csv").write_text(CSV)
    df = load(kind="csv", path="d.csv", sep=";", dtypes={"zip": "str"}, parse_dates=["when"])
    assert df["zip"].tolist() == ["01234", "09999"]
    assert pd.api.types.is_datetime64_any_dtype(df["when"])


def test_csv_columns_subset_in_spec_order(tmp_path, load):
    (tmp_path / "d.csv").write_text(CSV)
    df = load(kind="csv", path="d.csv", sep=";", columns=["amount", "zip"], dtypes={"zip": "str"})
    assert list(df.columns) == ["amount", "zip"]
    assert df["zip"].tolist() == ["01234", "09999"]


def test_csv_without_header_names_columns_by_position(tmp_path, load):
    (tmp_path / "d.csv").write_text("1,a\n2,b\n")
    df = load(kind="csv", path="d.csv", header=None, columns=["1"])
    assert list(df.columns) == ["1"] and df["1"].tolist() == ["a", "b"]


def test_glob_reads_every_match_sorted_with_source_column(tmp_path, load):
    _monthly(tmp_path)
    df = load(kind="csv", path="data/*.csv", dtypes={"id": "str"}, source_column="file")
    assert df["id"].tolist() == ["001", "002", "003"]  # 2024-01 before 2024-02
    assert df["file"].tolist() == ["data/2024-01.csv", "data/2024-01.csv", "data/2024-02.csv"]
    assert isinstance(df.index, pd.RangeIndex) and df.index.tolist() == [0, 1, 2]


def test_glob_matches_are_the_external_files_keyed_by_relative_path(tmp_path):
    _monthly(tmp_path)
    files = LoadStage.external_files(LoadParams(kind="csv", path="data/*.csv"), tmp_path)
    assert files == {
        "data/2024-01.csv": tmp_path / "data" / "2024-01.csv",
        "data/2024-02.csv": tmp_path / "data" / "2024-02.csv",
    }


def test_source_column_that_already_exists_is_a_spec_error(tmp_path, load):
    _monthly(tmp_path)
    with pytest.raises(SpecError, match="source_column 'v'"):
        load(kind="csv", path="data/*.csv", source_column="v")


def test_parquet_glob_with_columns_pushed_down(tmp_path, load):
    (tmp_path / "p").mkdir()
    for i in range(2):
        frame = pd.DataFrame({"a": [i], "b": [f"x{i}"], "when": ["2024-01-0" + str(i + 1)]})
        frame.to_parquet(tmp_path / "p" / f"part-{i}.parquet")
    df = load(kind="parquet", path="p/*.parquet", columns=["when", "a"], parse_dates=["when"])
    assert list(df.columns) == ["when", "a"] and df["a"].tolist() == [0, 1]
    assert pd.api.types.is_datetime64_any_dtype(df["when"])


def test_jsonl_keeps_strings_as_strings_unless_told(tmp_path, load):
    rows = [{"zip": "01234", "n": 1, "date": "2024-01-01"}, {"zip": "00042", "n": 2, "date": "x"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    df = load(kind="jsonl", path="*.jsonl", dtypes={"n": "float64"}, source_column="src")
    assert df["zip"].tolist() == ["01234", "00042"]
    assert df["date"].tolist() == ["2024-01-01", "x"]  # a column named "date" is not guessed
    assert df["n"].dtype == "float64" and df["src"].tolist() == ["a.jsonl", "a.jsonl"]


def test_missing_file_is_reported_by_check_and_run(tmp_path, load):
    params = LoadParams(kind="csv", path="data/x.csv")
    (problem,) = LoadStage.check(params, tmp_path)
    assert problem.code == "missing_file" and problem.loc == ("path",)
    assert problem.message == "file 'data/x.csv' does not exist"
    assert "data.source.path" in problem.fix
    with pytest.raises(SpecError) as err:
        load(kind="csv", path="data/x.csv")
    assert err.value.problems[0].loc == ("data", "source", "path")


def test_glob_matching_nothing(tmp_path, load):
    params = LoadParams(kind="jsonl", path="data/x*.jsonl")
    assert LoadStage.external_files(params, tmp_path) == {}
    (problem,) = LoadStage.check(params, tmp_path)
    assert (problem.code, problem.message) == ("missing_file", "no file matches 'data/x*.jsonl'")
    with pytest.raises(SpecError, match=re.escape("no file matches 'data/x*.jsonl'")):
        load(kind="jsonl", path="data/x*.jsonl")


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl"])
def test_garbage_file_is_a_spec_error_naming_the_file(tmp_path, load, kind):
    (tmp_path / f"x.{kind}").write_bytes(random.Random(0).randbytes(4000))
    with pytest.raises(SpecError) as err:
        load(kind=kind, path=f"x.{kind}")
    (problem,) = err.value.problems
    assert problem.code == "unreadable_file"
    assert problem.loc == ("data", "source", "path")
    assert problem.message.startswith(f"cannot read 'x.{kind}' as {kind}: ")
    assert problem.fix
    assert "Traceback" not in str(err.value)


def test_non_utf8_text_suggests_the_encoding(tmp_path, load):
    (tmp_path / "x.csv").write_bytes("name\nJosé\n".encode("latin-1"))
    with pytest.raises(SpecError) as err:
        load(kind="csv", path="x.csv")
    assert "not utf-8 text" in err.value.problems[0].message
    assert "encoding" in err.value.problems[0].fix
    assert load(kind="csv", path="x.csv", encoding="latin-1")["name"].tolist() == ["José"]


def test_column_absent_from_the_data_is_a_spec_error(tmp_path, load):
    (tmp_path / "d.csv").write_text(CSV)
    with pytest.raises(SpecError) as err:
        load(kind="csv", path="d.csv", sep=";", columns=["zip", "amout"])
    assert err.value.exit_code == 2
    (problem,) = err.value.problems
    assert problem.code == "missing_column" and problem.loc == ("data", "source", "columns")
    assert "'amout'" in problem.message
    assert "did you mean 'amount'?" in problem.fix and "city" in problem.fix


def test_value_not_fitting_the_dtype_names_the_column(tmp_path, load):
    (tmp_path / "d.csv").write_text(CSV)
    with pytest.raises(DataError) as err:
        load(kind="csv", path="d.csv", sep=";", dtypes={"zip": "str", "city": "int64"})
    assert err.value.problems[0].loc == ("city",)


def test_misspelt_dtype_is_found_by_check(tmp_path):
    params = LoadParams(kind="sklearn", name="iris", dtypes={"target": "flaot64"})
    (problem,) = LoadStage.check(params, tmp_path)
    assert problem.code == "bad_dtype" and problem.loc == ("dtypes", "target")
