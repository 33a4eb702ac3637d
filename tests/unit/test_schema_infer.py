"""mlspec.engine.schema: infer a pandera YAML schema from a data file (``mlspec schema infer``)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from mlspec.engine.schema import (
    data_format,
    ensure_writable,
    infer_schema_yaml,
    read_table,
    write_new_file,
)
from mlspec.errors import SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.validate import ValidateParams, ValidateStage


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "id": [f"p{i:03d}" for i in range(20)],
            "size": [float(i) / 2 for i in range(20)],
            "weight": [1.5 if i % 4 else None for i in range(20)],
            "count": list(range(20, 40)),
            "site": ["north", "south"] * 10,
            "y": [0, 1] * 10,
        }
    )


@pytest.fixture
def csv(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _columns(text):
    return yaml.safe_load(text)["columns"]


def test_yaml_is_pandera_io_format_with_a_comment_header(csv):
    text = infer_schema_yaml(csv)
    assert text.startswith("# pandera schema inferred by `mlspec schema infer` from data.csv")
    assert "coerce: true" in text.split("schema_type:")[0]  # the choice is explained up top
    schema = pa.DataFrameSchema.from_yaml(text)
    assert list(schema.columns) == ["id", "size", "weight", "count", "site", "y"]
    schema.validate(pd.read_csv(csv))


def test_every_column_coerces_and_keeps_dtype_nullable_and_range(csv):
    schema = pa.DataFrameSchema.from_yaml(infer_schema_yaml(csv))
    assert all(col.coerce for col in schema.columns.values())
    assert str(schema.columns["size"].dtype) == "float64"
    assert str(schema.columns["count"].dtype) == "int64"
    assert schema.columns["weight"].nullable is True
    assert schema.columns["size"].nullable is False
    checks = _columns(infer_schema_yaml(csv))["count"]
    assert checks["greater_than_or_equal_to"] == 20
    assert checks["less_than_or_equal_to"] == 39


def test_rows_limits_what_is_inferred_from(csv):
    assert "(5 rows)" in infer_schema_yaml(csv, rows=5)
    assert _columns(infer_schema_yaml(csv, rows=5))["count"]["less_than_or_equal_to"] == 24


def test_separator(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False, sep=";")
    assert list(_columns(infer_schema_yaml(path, sep=";"))) == list(frame.columns)
    tsv = tmp_path / "data.tsv"
    frame.to_csv(tsv, index=False, sep="\t")
    assert list(_columns(infer_schema_yaml(tsv))) == list(frame.columns)


def test_parquet_and_jsonl(tmp_path, frame):
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    for name in ("d.parquet", "d.jsonl"):
        schema = pa.DataFrameSchema.from_yaml(infer_schema_yaml(tmp_path / name))
        assert list(schema.columns) == list(frame.columns)
    assert len(read_table(tmp_path / "d.jsonl", rows=3)) == 3
    assert len(read_table(tmp_path / "d.parquet", rows=3)) == 3


def test_format_from_the_name():
    from pathlib import Path

    assert data_format(Path("a.CSV")) == "csv"
    assert data_format(Path("a.csv.gz")) == "csv"
    assert data_format(Path("a.ndjson")) == "jsonl"
    with pytest.raises(SpecError) as err:
        data_format(Path("a.xlsx"))
    assert err.value.problems[0].code == "unknown_format"
    assert "a.xlsx" in err.value.problems[0].message


def test_missing_data_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(SpecError) as err:
        infer_schema_yaml(tmp_path / "nope.csv")
    problem = err.value.problems[0]
    assert err.value.exit_code == 2
    assert problem.code == "missing_file"
    assert "nope.csv" in problem.message and problem.fix
    with pytest.raises(SpecError, match="is a directory"):
        infer_schema_yaml(tmp_path)


def test_unreadable_and_empty_data(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(SpecError) as err:
        infer_schema_yaml(bad)
    assert err.value.problems[0].code == "unreadable_data"
    assert "bad.parquet" in err.value.problems[0].message
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(SpecError) as err:
        infer_schema_yaml(empty)
    assert err.value.problems[0].code == "empty_data"


def test_never_overwrites_without_force(tmp_path):
    out = tmp_path / "schemas" / "x.yaml"
    write_new_file(out, "first\n")  # creates schemas/
    with pytest.raises(SpecError) as err:
        write_new_file(out, "second\n")
    assert err.value.problems[0].code == "file_exists"
    assert str(out) in err.value.problems[0].message
    assert "--force" in str(err.value.problems[0].fix)
    assert out.read_text() == "first\n"
    write_new_file(out, "second\n", force=True)
    assert out.read_text() == "second\n"
    with pytest.raises(SpecError, match="is a directory"):
        ensure_writable(tmp_path, force=True)


def test_inferred_schema_quarantines_wrong_types_row_by_row(tmp_path, csv):
    """coerce: true is what turns a non-number in a float column into one quarantined row."""
    (tmp_path / "schema.yaml").write_text(infer_schema_yaml(csv))
    dirty = pd.read_csv(csv)
    dirty["size"] = dirty["size"].map(repr).astype("str")
    dirty.loc[3, "size"] = "abc"
    ctx = StageContext(node="validate", run_id="t", project_root=tmp_path, log=lambda m: None)
    params = ValidateParams(schema_file="schema.yaml", target="y", on_invalid="quarantine")
    out = ValidateStage().run(params, {"data": dirty}, ctx)
    assert out["quarantine"]["id"].tolist() == ["p003"]
    assert out["quarantine"]["_mlspec_reason"].tolist() == ["size: coerce_dtype('float64')"]
    assert out["data"]["size"].dtype == "float64"
    assert len(out["data"]) == 19


def test_cli_prints_to_stdout(tmp_path, csv, monkeypatch, capsys):
    from mlspec.cli.schema import command

    monkeypatch.chdir(tmp_path)
    assert command(["infer", "data.csv"]) == 0
    assert capsys.readouterr().out == infer_schema_yaml(csv)
