"""Request bodies -> rows: MLflow's scoring protocol (four JSON layouts, CSV, parquet) and the
Open Inference Protocol (V2). Pure parsing: no model, no I/O; every malformed body becomes a
RequestError (400) that says which part of it is wrong.

MLflow's layouts (``mlflow/pyfunc/scoring_server``): a JSON object holding exactly one of

- ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (``index`` ignored; without
  ``columns`` the values are taken in the model's column order);
- ``dataframe_records``: ``[{"col": value, ...}, ...]`` (a key a record lacks is a missing value);
- ``instances``: rows, as records or as lists in the model's column order;
- ``inputs``: columns ``{"col": [values...]}`` (or rows, like ``instances``);

plus optional ``params`` (here: ``{"probabilities": true}``). Other top-level keys are ignored,
as MLflow ignores them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlspec.errors import Problem
from mlspec.serve.errors import RequestError, bad_request
from mlspec.serve.schema import csv_float_options

LAYOUTS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARAMS = {"probabilities": "return class probabilities too (classification models)"}
V2_DATATYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
}
V2_OUTPUTS = ("predictions", "probabilities")


@dataclass
class Rows:
    """Parsed rows: plain columns (JSON) or a DataFrame (CSV, parquet)."""

    columns: dict[str, list[Any]] | None
    n_rows: int
    probabilities: bool = False
    frame: Any = None
    request_id: str | None = None
    outputs: list[str] = field(default_factory=lambda: list(V2_OUTPUTS))


def load_json(body: bytes) -> Any:
    """orjson when it can; the standard library for what only it accepts (NaN literals, which
    Python clients such as MLflow's write)."""
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise bad_request(
            "malformed_json",
            f"the body is not valid JSON: {str(exc)[:200]}",
            fix='send a JSON object, e.g. {"dataframe_split": {"columns": [...], "data": [[...]]}}',
        ) from None


def _params(raw: Any, where: str) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, dict):
        raise bad_request("bad_params", f"'{where}' must be an object, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in PARAMS]
    if unknown:
        raise bad_request(
            "unknown_param",
            f"unknown parameter(s) in '{where}': {', '.join(map(str, unknown))}",
            fix="supported: " + ", ".join(f"{k} ({v})" for k, v in PARAMS.items()),
        )
    value = raw.get("probabilities", False)
    if not isinstance(value, bool):
        raise bad_request("bad_params", f"'{where}.probabilities' must be true or false")
    return value


def _from_rows(rows: Any, names: list[str] | None, what: str, model_columns: list[str]) -> Rows:
    """Lists of values (positional) -> columns."""
    if not isinstance(rows, list):
        raise bad_request("bad_layout", f"'{what}' must be a list of rows")
    cols = model_columns if names is None else names
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise RequestError(
            [
                Problem("duplicate_column", f"column '{c}' appears more than once", loc=(c,))
                for c in dupes
            ]
        )
    width = len(cols)
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise bad_request("bad_layout", f"'{what}' row {i} must be a list of values")
        if len(row) != width:
            raise bad_request(
                "bad_layout",
                f"'{what}' row {i} has {len(row)} value(s) for {width} column(s)",
                fix="each row lists one value per column, in the order of 'columns'"
                if names is not None
                else "each row lists one value per model input: " + ", ".join(cols),
            )
    if not rows:
        return Rows({c: [] for c in cols}, 0)
    return Rows({c: list(v) for c, v in zip(cols, zip(*rows, strict=True), strict=True)}, len(rows))


def _from_records(records: list[Any], what: str) -> Rows:
    names: dict[str, None] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise bad_request("bad_layout", f"'{what}' item {i} must be an object of column values")
        for k in rec:
            names.setdefault(k, None)
    return Rows({c: [r.get(c) for r in records] for c in names}, len(records))


def _from_columns(data: dict[str, Any], what: str) -> Rows:
    n: int | None = None
    for c, v in data.items():
        if not isinstance(v, list):
            raise bad_request(
                "bad_layout",
                f"'{what}.{c}' must be a list of values (one per row)",
                fix=f'e.g. {{"{what}": {{"{c}": [1.0, 2.0]}}}}',
            )
        if n is None:
            n = len(v)
        elif len(v) != n:
            raise bad_request(
                "bad_layout", f"'{what}' columns have different lengths ({n} and {len(v)} at '{c}')"
            )
    return Rows(dict(data), n or 0)


def parse_mlflow_json(obj: Any, model_columns: list[str]) -> Rows:
    if not isinstance(obj, dict):
        raise bad_request(
            "bad_layout",
            f"the body must be a JSON object, got {type(obj).__name__}",
            fix="wrap the rows in one of: " + ", ".join(LAYOUTS),
        )
    present = [k for k in LAYOUTS if k in obj]
    if len(present) != 1:
        raise bad_request(
            "bad_layout",
            "the input must be a JSON dictionary with exactly one of the input fields "
            f"{', '.join(LAYOUTS)}; received fields: {', '.join(map(str, obj)) or 'none'}",
            fix='e.g. {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}',
        )
    layout = present[0]
    data = obj[layout]
    probabilities = _params(obj.get("params"), "params")
    if layout == "dataframe_split":
        if not isinstance(data, dict):
            raise bad_request(
                "bad_layout", "'dataframe_split' must be an object with 'columns' and 'data'"
            )
        unknown = set(data) - {"columns", "data", "index"}
        if unknown:
            raise bad_request(
                "bad_layout",
                f"'dataframe_split' has unknown key(s): {', '.join(map(str, sorted(unknown)))}",
                fix="it holds 'columns', 'data' and optionally 'index'",
            )
        if "data" not in data:
            raise bad_request("bad_layout", "'dataframe_split' lacks 'data' (the rows)")
        names = data.get("columns")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(c, str) for c in names)
        ):
            raise bad_request("bad_layout", "'dataframe_split.columns' must be a list of strings")
        rows = _from_rows(data["data"], names, "dataframe_split.data", model_columns)
    elif layout == "dataframe_records":
        if not isinstance(data, list):
            raise bad_request("bad_layout", "'dataframe_records' must be a list of objects")
        rows = _from_records(data, layout)
    elif isinstance(data, dict) and layout == "inputs":
        rows = _from_columns(data, layout)
    elif isinstance(data, list):
        if data and all(isinstance(r, dict) for r in data):
            rows = _from_records(data, layout)
        else:
            rows = _from_rows(data, None, layout, model_columns)
    else:
        raise bad_request(
            "bad_layout",
            f"'{layout}' must be a list of rows"
            + (" or an object of columns" if layout == "inputs" else ""),
        )
    rows.probabilities = probabilities
    return rows


def parse_csv(body: bytes, string_columns: list[str]) -> Rows:
    """CSV with a header row. Floats are parsed exactly (``round_trip``) so a CSV request gives
    the same numbers as the same rows in JSON or parquet."""
    import io

    import pandas as pd

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("bad_encoding", f"the CSV body is not UTF-8: {exc}") from None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            **csv_float_options(),
            dtype=dict.fromkeys(string_columns, "str"),
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise bad_request(
            "malformed_csv",
            f"the body is not a CSV table: {str(exc).strip()[:200]}",
            fix="send a header row with the column names, then one line per row",
        ) from None
    return Rows(None, len(frame), frame=frame)


def parse_parquet(body: bytes) -> Rows:
    import io

    import pandas as pd

    try:
        frame = pd.read_parquet(io.BytesIO(body))
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise bad_request(
            "malformed_parquet", f"the body is not a parquet file: {str(exc)[:200]}"
        ) from None
    return Rows(None, len(frame), frame=frame)


def _flatten(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise bad_request("bad_tensor", f"{where}.data must be a list")
    if not any(isinstance(v, list) for v in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for v in stack[-1]:
            if isinstance(v, list):
                if len(stack) > 32:
                    raise bad_request("bad_tensor", f"{where}.data is nested too deeply")
                stack.append(iter(v))
                break
            out.append(v)
        else:
            stack.pop()
    return out


def parse_v2(obj: Any, model_columns: list[str]) -> Rows:
    """An Open Inference Protocol request: one tensor per input column (shape [n] or [n, 1]),
    or a single [n, columns] tensor whose columns are the model's, in order."""
    if not isinstance(obj, dict):
        raise bad_request("bad_v2_request", "the body must be a JSON object with 'inputs'")
    tensors = obj.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise bad_request(
            "bad_v2_request",
            "'inputs' must be a non-empty list of tensors",
            fix='e.g. {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64",'
            ' "data": [42.0]}]}',
        )
    parsed: list[tuple[str, list[int], list[Any]]] = []
    for i, t in enumerate(tensors):
        where = f"inputs[{i}]"
        if not isinstance(t, dict):
            raise bad_request("bad_tensor", f"{where} must be an object")
        name, shape, datatype = t.get("name"), t.get("shape"), t.get("datatype")
        if not isinstance(name, str):
            raise bad_request("bad_tensor", f"{where}.name must be a string")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        ):
            raise bad_request("bad_tensor", f"{where}.shape must be a list of non-negative ints")
        if not isinstance(datatype, str) or datatype not in V2_DATATYPES:
            raise bad_request(
                "bad_tensor",
                f"{where}.datatype {datatype!r} is not an Open Inference Protocol type",
                fix="one of " + ", ".join(sorted(V2_DATATYPES)),
            )
        data = _flatten(t.get("data"), where)
        size = 1
        for s in shape:
            size *= s
        if size != len(data):
            raise bad_request(
                "bad_tensor", f"{where}: shape {shape} holds {size} values, data has {len(data)}"
            )
        parsed.append((name, shape, data))
    params = obj.get("parameters")
    probabilities = _params(params, "parameters")
    outputs = _v2_outputs(obj.get("outputs"))
    request_id = obj.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad_request("bad_v2_request", "'id' must be a string")
    known = set(model_columns)
    if len(parsed) == 1 and parsed[0][0] not in known and len(parsed[0][1]) == 2:
        name, shape, data = parsed[0]
        if shape[1] != len(model_columns):
            raise bad_request(
                "bad_tensor",
                f"tensor '{name}' has {shape[1]} column(s); the model takes {len(model_columns)}",
                fix="one column per model input, in order: " + ", ".join(model_columns),
            )
        w = shape[1]
        rows_list = [data[r * w : (r + 1) * w] for r in range(shape[0])]
        rows = _from_rows(rows_list, None, name, model_columns)
    else:
        columns: dict[str, list[Any]] = {}
        n: int | None = None
        for name, shape, data in parsed:
            if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
                raise bad_request(
                    "bad_tensor",
                    f"tensor '{name}' has shape {shape}; a column tensor is [n] or [n, 1]",
                )
            if name in columns:
                raise RequestError(
                    Problem("duplicate_column", f"tensor '{name}' appears twice", loc=(name,))
                )
            if n is not None and shape[0] != n:
                raise bad_request(
                    "bad_tensor", f"tensor '{name}' has {shape[0]} rows, the others {n}"
                )
            n = shape[0]
            columns[name] = data
        rows = Rows(columns, n or 0)
    rows.probabilities = probabilities or (
        obj.get("outputs") is not None and "probabilities" in outputs
    )
    rows.request_id = request_id
    rows.outputs = outputs
    return rows


def _v2_outputs(raw: Any) -> list[str]:
    if raw is None:
        return list(V2_OUTPUTS)
    if not isinstance(raw, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in raw
    ):
        raise bad_request("bad_v2_request", "'outputs' must be a list of {\"name\": ...} objects")
    names = [o["name"] for o in raw]
    unknown = [n for n in names if n not in V2_OUTPUTS]
    if unknown:
        raise bad_request(
            "unknown_output",
            f"unknown output(s): {', '.join(unknown)}",
            fix="outputs: " + ", ".join(V2_OUTPUTS),
        )
    return names


def v2_datatype(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    size = getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "BOOL"
    if kind == "i":
        return f"INT{size * 8}"
    if kind == "u":
        return f"UINT{size * 8}"
    if kind == "f":
        return f"FP{size * 8}"
    return "BYTES"
