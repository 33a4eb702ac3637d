"""Validation rules (mlspec.serve.schema) and request parsing (mlspec.serve.protocol): one
verdict per value whichever route it takes, and messages that name the column, row and fix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlspec.serve.errors import RequestError
from mlspec.serve.protocol import parse_csv, parse_mlflow_json, parse_v2
from mlspec.serve.schema import check_columns, coerce_values, dtype_kind, validate_frame

COLUMNS = [("amount", "float64"), ("count", "int64"), ("flag", "bool"), ("merchant", "object")]
NAMES = [c for c, _ in COLUMNS]


def problems(exc: pytest.ExceptionInfo[RequestError]) -> list[tuple[str, str]]:
    return [(p.code, p.message) for p in exc.value.problems]


def test_dtype_kinds() -> None:
    assert [
        dtype_kind(d)
        for d in (
            "float32",
            "int64",
            "Int64",
            "bool",
            "object",
            "category",
            "string",
            "datetime64[ns]",
            "complex128",
        )
    ] == list("fiIbsssMo")


def test_missing_extra_and_duplicate_columns_are_all_reported() -> None:
    with pytest.raises(RequestError) as exc:
        check_columns(["amount", "flag", "flag", "zip"], COLUMNS)
    codes = [c for c, _ in problems(exc)]
    assert codes == ["missing_column", "missing_column", "unexpected_column", "duplicate_column"]
    assert exc.value.problems[0].loc == ("count",)
    assert "the model takes: amount, count, flag, merchant" in (exc.value.problems[0].fix or "")
    check_columns(["amount", "zip", *NAMES[1:]], COLUMNS, allow_extra=True)


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("f", [1.5, "2"], "row 1: expected a number, got '2' (string)"),
        ("f", [True], "row 0: expected a number, got True (boolean)"),
        ("f", [math.inf], "row 0: expected a number, got an infinite value"),
        ("i", [1, 2.5], "row 1: expected a whole number, got 2.5 (number)"),
        ("i", [None], "got a missing value (the column had none in training)"),
        ("b", [1], "row 0: expected true or false, got 1 (integer)"),
        ("s", [3], "row 0: expected a string, got 3 (integer)"),
    ],
)
def test_value_checks_name_column_row_and_value(kind: str, values: list, message: str) -> None:
    _, found = coerce_values("c", kind, values)
    assert len(found) == 1 and found[0].loc == ("c",)
    assert message in found[0].message


def test_value_conversions() -> None:
    assert coerce_values("c", "f", [1, None, 2.5, np.float32(1.5)])[0][:1] == [1.0]
    assert math.isnan(coerce_values("c", "f", [None])[0][0])
    assert coerce_values("c", "i", [3.0, np.int64(4)]) == ([3, 4], [])
    assert coerce_values("c", "I", [None]) == ([None], [])
    assert coerce_values("c", "s", ["a", None]) == (["a", None], [])


def test_frame_validation_converts_and_orders() -> None:
    df = pd.DataFrame(
        {"merchant": ["m1", None], "flag": [True, False], "count": [1.0, 2.0], "amount": [1, 2]}
    )
    out = validate_frame(df, COLUMNS)
    assert list(out.columns) == NAMES
    assert [str(t) for t in out.dtypes] == ["float64", "int64", "bool", "object"]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("amount", ["1.5", "x"], "column 'amount', row 1: expected a number, got 'x'"),
        (
            "amount",
            [1.0, np.inf],
            "column 'amount', row 1: expected a number, got an infinite value",
        ),
        ("count", [1.0, 1.5], "column 'count', row 1: expected a whole number, got 1.5"),
        ("count", [1.0, np.nan], "column 'count', row 1: expected a whole number, got a missing"),
        ("flag", [True, "yes"], "column 'flag', row 1: expected true or false, got 'yes'"),
        ("merchant", ["m1", 7], "column 'merchant', row 1: expected a string, got 7"),
    ],
)
def test_frame_problems(column: str, values: list, message: str) -> None:
    good = {"amount": [1.0, 2.0], "count": [1, 2], "flag": [True, False], "merchant": ["a", "b"]}
    df = pd.DataFrame({**good, column: pd.Series(values, dtype=object)})
    with pytest.raises(RequestError) as exc:
        validate_frame(df, COLUMNS)
    assert message in exc.value.problems[0].message
    assert exc.value.problems[0].loc == (column,)
    with pytest.raises(RequestError) as exc:  # files count rows from 1 (after the header)
        validate_frame(df, COLUMNS, first_row=101)
    assert "row 102" in exc.value.problems[0].message


def test_every_mlflow_layout_gives_the_same_columns() -> None:
    rows = [[1.0, 2, True, "m"], [3.0, 4, False, None]]
    records = [dict(zip(NAMES, r, strict=True)) for r in rows]
    columns = {c: [r[j] for r in rows] for j, c in enumerate(NAMES)}
    bodies = [
        {"dataframe_split": {"columns": NAMES, "data": rows, "index": [0, 1]}},
        {"dataframe_split": {"data": rows}},  # no columns: the model's order
        {"dataframe_records": records},
        {"instances": records},
        {"instances": rows},
        {"inputs": columns},
        {"inputs": records},
    ]
    for body in bodies:
        parsed = parse_mlflow_json(body, NAMES)
        assert parsed.columns == columns and parsed.n_rows == 2, body
    assert parse_mlflow_json(
        {"inputs": columns, "params": {"probabilities": True}}, NAMES
    ).probabilities


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "the body must be a JSON object"),
        ({}, "exactly one of the input fields"),
        ({"instances": [], "inputs": {}}, "exactly one of the input fields"),
        ({"dataframe_split": {"columns": NAMES}}, "lacks 'data'"),
        ({"dataframe_split": {"data": [[1]]}}, "row 0 has 1 value(s) for 4 column(s)"),
        ({"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}, "appears more than once"),
        ({"dataframe_records": [1]}, "item 0 must be an object"),
        ({"inputs": {"a": [1], "b": [1, 2]}}, "columns have different lengths"),
        ({"inputs": {"a": 1}}, "'inputs.a' must be a list of values"),
        ({"inputs": [], "params": {"probabilites": True}}, "unknown parameter(s) in 'params'"),
        ({"inputs": [], "params": {"probabilities": "yes"}}, "must be true or false"),
    ],
)
def test_malformed_mlflow_bodies(body: object, message: str) -> None:
    with pytest.raises(RequestError) as exc:
        parse_mlflow_json(body, NAMES)
    assert exc.value.status == 400
    assert message in exc.value.problems[0].message


def test_v2_tensors() -> None:
    tensors = [
        {"name": "amount", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]},
        {"name": "count", "shape": [2, 1], "datatype": "INT64", "data": [[1], [2]]},
    ]
    parsed = parse_v2({"inputs": tensors, "id": "x"}, NAMES)
    assert parsed.columns == {"amount": [1.0, 2.0], "count": [1, 2]} and parsed.request_id == "x"
    whole = parse_v2(
        {
            "inputs": [
                {"name": "in", "shape": [1, 4], "datatype": "BYTES", "data": [1.0, 2, True, "m"]}
            ],
            "outputs": [{"name": "probabilities"}],
        },
        NAMES,
    )
    assert whole.columns == {"amount": [1.0], "count": [2], "flag": [True], "merchant": ["m"]}
    assert whole.probabilities and whole.outputs == ["probabilities"]
    for bad, message in [
        ({"inputs": []}, "non-empty list of tensors"),
        ({"inputs": [{**tensors[0], "shape": [3]}]}, "shape [3] holds 3 values, data has 2"),
        ({"inputs": [{**tensors[0], "datatype": "FLOAT"}]}, "not an Open Inference Protocol type"),
        ({"inputs": [tensors[0], {**tensors[1], "shape": [1, 1], "data": [1]}]}, "has 1 rows"),
        ({"inputs": tensors, "outputs": [{"name": "logits"}]}, "unknown output(s): logits"),
    ]:
        with pytest.raises(RequestError) as exc:
            parse_v2(bad, NAMES)
        assert message in exc.value.problems[0].message


def test_csv_parsing_keeps_string_columns_as_text_and_floats_exact() -> None:
    text = "amount,count,flag,merchant\n0.1,1,True,007\n1e-310,2,False,\n"
    parsed = parse_csv(text.encode(), ["merchant"])
    assert parsed.frame["merchant"].tolist()[0] == "007"
    assert parsed.frame["amount"].tolist() == [0.1, 1e-310]
    with pytest.raises(RequestError, match="not UTF-8"):
        parse_csv(b"\xff\xfe", [])
    with pytest.raises(RequestError, match="not a CSV table"):
        parse_csv(b"", [])
