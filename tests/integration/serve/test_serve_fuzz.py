"""Acceptance b: well over 1000 malformed requests (hypothesis-generated bodies, content types
and mutations of valid requests) against the real server: no reply is a 5xx, every malformed
one is a 4xx with a message, and the server still scores afterwards.

Three families, each at least 400 requests: arbitrary JSON (and bytes) on every scoring
endpoint; valid requests with one thing broken (a column dropped, renamed or added, a value of
the wrong type, a non-finite number, a layout key doubled); broken V2 tensors.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import ServerThread, bc_frame

from mlspec.serve.protocol import V2_DATATYPES

EXAMPLES = 400
SENT = itertools.count()
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=20,
)
LAYOUTS = ["dataframe_split", "dataframe_records", "instances", "inputs", "params"]
bad_cells = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.integers(), max_size=3).filter(lambda v: len(v) != 1),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([float("inf"), float("-inf"), 1e309, -1e309]),
)


@pytest.fixture(scope="module")
def client(clf_server: ServerThread) -> Any:
    with httpx.Client(base_url=clf_server.url, timeout=30) as c:
        yield c


def send(client: httpx.Client, path: str, content: bytes, ctype: str | None) -> httpx.Response:
    headers = {"content-type": ctype} if ctype is not None else {}
    reply = client.post(path, content=content, headers=headers)
    next(SENT)
    assert reply.status_code < 500, (path, ctype, content[:300], reply.text)
    return reply


def assert_client_error(reply: httpx.Response) -> None:
    assert 400 <= reply.status_code < 500, reply.text
    body = reply.json()
    assert body.get("message") or body.get("error")


def _dumps(value: Any) -> bytes:
    import json

    return json.dumps(value, allow_nan=True).encode()


@FUZZ
@given(
    body=st.one_of(json_values.map(_dumps), st.binary(max_size=64)),
    path=st.sampled_from(["/invocations", "/v2/models/bc_clf/infer"]),
    ctype=st.sampled_from(
        [
            "application/json",
            "text/csv",
            "application/vnd.apache.parquet",
            "text/plain",
            "application/json; charset=latin-1",
            "application/json; format=pandas-split",
            None,
        ]
    ),
)
def test_arbitrary_bodies_are_client_errors(
    client: httpx.Client, body: bytes, path: str, ctype: str | None
) -> None:
    send(client, path, body, ctype)


def _valid_rows(n: int) -> tuple[list[str], list[list[float]]]:
    X = bc_frame().drop(columns=["target"]).head(n)
    return list(X.columns), X.to_numpy().tolist()


COLUMNS, ROWS = _valid_rows(3)


@st.composite
def broken_requests(draw: st.DrawFn) -> tuple[bytes, str]:
    columns = list(COLUMNS)
    rows = [list(r) for r in ROWS[: draw(st.integers(1, 3))]]
    how = draw(
        st.sampled_from(
            ["drop", "rename", "extra", "cell", "two_layouts", "ragged", "params", "csv"]
        )
    )
    if how == "drop":
        j = draw(st.integers(0, len(columns) - 1))
        columns.pop(j)
        for r in rows:
            r.pop(j)
    elif how == "rename":
        j = draw(st.integers(0, len(columns) - 1))
        columns[j] = draw(st.text(min_size=1, max_size=10).filter(lambda s: s not in COLUMNS))
    elif how == "extra":
        columns.append(draw(st.text(min_size=1, max_size=10).filter(lambda s: s not in COLUMNS)))
        for r in rows:
            r.append(draw(scalars))
    elif how in ("cell", "csv"):
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(columns) - 1))
        rows[i][j] = (
            draw(bad_cells)
            if how == "cell"
            else draw(st.text(min_size=1, max_size=8).filter(lambda s: not _is_number(s)))
        )
    elif how == "ragged":
        rows[0] = rows[0][: draw(st.integers(0, len(columns) - 1))]
    layout = draw(st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs"]))
    if how == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(rows)
        return buf.getvalue().encode(), "text/csv"
    if layout == "dataframe_split":
        body: dict[str, Any] = {"dataframe_split": {"columns": columns, "data": rows}}
    elif layout == "inputs" and how != "ragged":
        body = {"inputs": {c: [r[j] for r in rows] for j, c in enumerate(columns)}}
    elif how == "ragged":
        body = (
            {layout: rows}
            if layout != "dataframe_records"
            else {"dataframe_split": {"columns": columns, "data": rows}}
        )
    else:
        body = {layout: [dict(zip(columns, r, strict=True)) for r in rows]}
    if how == "two_layouts":
        body[draw(st.sampled_from([k for k in LAYOUTS[:4] if k not in body]))] = draw(json_values)
    if how == "params":
        body["params"] = draw(
            st.one_of(
                json_values.filter(lambda v: v is not None and (not isinstance(v, dict) or v)),
                st.just({"probabilities": "yes"}),
            )
        )
    return _dumps(body), "application/json"


def _one_number(value: Any) -> bool:
    """A V2 data list that flattens to a single number or null (valid for shape [1])."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@FUZZ
@given(request=broken_requests())
def test_valid_requests_with_one_thing_broken_are_4xx(
    client: httpx.Client, request: tuple[bytes, str]
) -> None:
    body, ctype = request
    reply = send(client, "/invocations", body, ctype)
    assert_client_error(reply)


@st.composite
def broken_tensors(draw: st.DrawFn) -> bytes:
    tensors = [
        {"name": c, "shape": [1], "datatype": "FP64", "data": [ROWS[0][j]]}
        for j, c in enumerate(COLUMNS)
    ]
    how = draw(
        st.sampled_from(["shape", "datatype", "name", "data", "drop", "missing_key", "cell"])
    )
    j = draw(st.integers(0, len(tensors) - 1))
    if how == "shape":
        tensors[j]["shape"] = draw(
            st.one_of(st.lists(st.integers(-3, 5), max_size=3), json_values).filter(
                lambda s: s not in ([1], [1, 1])
            )
        )
    elif how == "datatype":
        tensors[j]["datatype"] = draw(
            st.one_of(st.text(max_size=6), json_values).filter(
                lambda s: not (isinstance(s, str) and s in V2_DATATYPES)
            )
        )
    elif how == "name":
        tensors[j]["name"] = draw(
            st.one_of(st.text(max_size=8).filter(lambda s: s not in COLUMNS), json_values)
        )
    elif how == "data":
        tensors[j]["data"] = draw(json_values.filter(lambda v: not _one_number(v)))
    elif how == "drop":
        tensors.pop(j)
    elif how == "missing_key":
        tensors[j].pop(draw(st.sampled_from(["name", "shape", "datatype", "data"])))
    else:
        tensors[j]["data"] = [draw(bad_cells)]
    return _dumps({"inputs": tensors})


@FUZZ
@given(body=broken_tensors())
def test_broken_v2_tensors_are_4xx(client: httpx.Client, body: bytes) -> None:
    reply = send(client, "/v2/models/bc_clf/infer", body, "application/json")
    assert_client_error(reply)


def test_server_still_answers_after_the_fuzzing(client: httpx.Client) -> None:
    assert next(SENT) >= 3 * EXAMPLES, "the fuzz tests above must have run first"
    reply = client.post(
        "/invocations", json={"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
    )
    assert reply.status_code == 200 and len(reply.json()["predictions"]) == len(ROWS)
    metrics = client.get("/metrics").text
    assert 'status="500"' not in metrics
