"""Acceptance a: every MLflow layout (four JSON layouts and CSV) and the V2 infer request give
exactly the predictions (and probabilities) that `mlspec score` writes for the same rows —
for a classifier on the fast path and a regressor with a string column on the DataFrame route.
Every reply names the model and its version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from serve_helpers import CLF_ROWS, ServerThread, bc_frame, diab_frame

from mlspec.cli.main import main


def mlspec_score(
    root: Path, monkeypatch: pytest.MonkeyPatch, model: str, frame: Any, *flags: str
) -> Any:
    """`mlspec score` through the CLI entry point (in-process): the expected answers."""
    monkeypatch.chdir(root)
    frame.to_parquet(root / f"in-{model}.parquet")
    with pytest.raises(SystemExit) as exit_:
        main(["score", model, f"in-{model}.parquet", "-o", f"out-{model}.parquet", *flags])
    assert exit_.value.code == 0
    return pd.read_parquet(root / f"out-{model}.parquet")


def layouts(X: Any) -> dict[str, tuple[str, Any]]:
    """name -> (content type, body) for the same rows in every MLflow layout."""
    cols = {c: X[c].tolist() for c in X.columns}
    records = [dict(zip(X.columns, row, strict=True)) for row in zip(*cols.values(), strict=True)]
    rows = [list(r.values()) for r in records]
    return {
        "dataframe_split": (
            "application/json",
            {"dataframe_split": {"columns": list(X.columns), "data": rows}},
        ),
        "dataframe_records": ("application/json", {"dataframe_records": records}),
        "instances_records": ("application/json", {"instances": records}),
        "instances_lists": ("application/json", {"instances": rows}),
        "inputs_columns": ("application/json", {"inputs": cols}),
        "csv": ("text/csv", X.to_csv(index=False)),
    }


def post(server: ServerThread, path: str, ctype: str, body: Any, **params: Any) -> httpx.Response:
    if isinstance(body, str):
        return httpx.post(
            server.url + path,
            content=body,
            headers={"content-type": ctype},
            params=params,
            timeout=60,
        )
    return httpx.post(server.url + path, json=body, params=params, timeout=60)


def check_reply(reply: httpx.Response, name: str, version: int) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-model-name"] == name
    assert reply.headers["x-model-version"] == str(version)
    return reply.json()


def test_classifier_layouts_match_mlspec_score(
    serve_project: Path, clf_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = bc_frame().drop(columns=["target"]).head(CLF_ROWS)
    expected = mlspec_score(serve_project, monkeypatch, "bc_clf@champion", X, "--probabilities")
    want_pred = expected["prediction"].tolist()
    want_proba = expected[["proba_0", "proba_1"]].to_numpy().tolist()
    assert len(set(want_pred)) == 2  # both classes among the rows compared

    for name, (ctype, body) in layouts(X).items():
        if ctype == "application/json":
            body = {**body, "params": {"probabilities": True}}
            got = check_reply(post(clf_server, "/invocations", ctype, body), "bc_clf", 1)
        else:
            got = check_reply(
                post(clf_server, "/invocations", ctype, body, probabilities="true"), "bc_clf", 1
            )
        assert got["predictions"] == want_pred, name
        assert got["probabilities"] == want_proba, name
        assert got["classes"] == [0, 1] and got["model"] == "bc_clf" and got["version"] == 1

    # without probabilities: predictions only
    got = check_reply(post(clf_server, "/invocations", *layouts(X)["dataframe_split"]), "bc_clf", 1)
    assert got["predictions"] == want_pred and "probabilities" not in got

    # V2: one tensor per column, and one [n, columns] tensor
    tensors = [
        {"name": c, "shape": [len(X)], "datatype": "FP64", "data": X[c].tolist()} for c in X.columns
    ]
    for body in (
        {"inputs": tensors, "parameters": {"probabilities": True}, "id": "req-1"},
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": list(X.shape),
                    "datatype": "FP64",
                    "data": X.to_numpy().tolist(),
                }
            ],
            "outputs": [{"name": "predictions"}, {"name": "probabilities"}],
            "id": "req-1",
        },
    ):
        v2 = check_reply(
            httpx.post(clf_server.url + "/v2/models/bc_clf/infer", json=body, timeout=60),
            "bc_clf",
            1,
        )
        assert v2["model_name"] == "bc_clf" and v2["model_version"] == "1" and v2["id"] == "req-1"
        outputs = {o["name"]: o for o in v2["outputs"]}
        assert outputs["predictions"]["data"] == want_pred
        assert outputs["predictions"]["datatype"] == "INT64"
        assert outputs["probabilities"]["shape"] == [len(X), 2]
        flat = [p for row in want_proba for p in row]
        assert outputs["probabilities"]["data"] == flat


def test_large_json_request_takes_the_dataframe_route_with_the_same_answers(
    serve_project: Path, clf_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = bc_frame().drop(columns=["target"])
    big = pd.concat([X, X], ignore_index=True)  # 1138 rows: above the fast path's row limit
    expected = mlspec_score(serve_project, monkeypatch, "bc_clf:1", big, "--probabilities")
    ctype, body = layouts(big)["inputs_columns"]
    got = check_reply(
        post(clf_server, "/invocations", ctype, {**body, "params": {"probabilities": True}}),
        "bc_clf",
        1,
    )
    assert got["predictions"] == expected["prediction"].tolist()
    assert got["probabilities"] == expected[["proba_0", "proba_1"]].to_numpy().tolist()


def test_regressor_with_string_column_matches_mlspec_score(
    serve_project: Path, reg_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = diab_frame().drop(columns=["target"]).head(CLF_ROWS)
    expected = mlspec_score(serve_project, monkeypatch, "diab_reg@champion", X)
    want = expected["prediction"].tolist()
    assert list(expected.columns) == ["prediction"]
    for name, (ctype, body) in layouts(X).items():
        got = check_reply(post(reg_server, "/invocations", ctype, body), "diab_reg", 1)
        assert got["predictions"] == want, name
    tensors = [
        {
            "name": c,
            "shape": [len(X)],
            "datatype": "BYTES" if c == "region" else "FP64",
            "data": X[c].tolist(),
        }
        for c in X.columns
    ]
    v2 = check_reply(
        httpx.post(
            reg_server.url + "/v2/models/diab_reg/infer", json={"inputs": tensors}, timeout=60
        ),
        "diab_reg",
        1,
    )
    assert v2["outputs"][0]["data"] == want and v2["outputs"][0]["datatype"] == "FP64"
    # a regressor has no probabilities: asking is a 400, not a 500
    reply = post(
        reg_server,
        "/invocations",
        "application/json",
        {**layouts(X)["inputs_columns"][1], "params": {"probabilities": True}},
    )
    assert reply.status_code == 400 and reply.json()["problems"][0]["code"] == "no_probabilities"


def test_health_version_metadata_openapi_and_metrics(clf_server: ServerThread) -> None:
    for path in ("/ping", "/health", "/v2/health/live", "/v2/health/ready", "/version", "/v2"):
        reply = httpx.get(clf_server.url + path)
        assert reply.status_code == 200, path
        assert reply.headers["x-model-version"] == "1", path
    assert httpx.get(clf_server.url + "/version").json()["fast_path"].startswith("on")
    meta = httpx.get(clf_server.url + "/v2/models/bc_clf").json()
    assert meta["name"] == "bc_clf" and meta["versions"] == ["1"]
    assert {"name": "mean radius", "datatype": "FP64", "shape": [-1]} in meta["inputs"]
    assert httpx.get(clf_server.url + "/v2/models/other").status_code == 404
    doc = httpx.get(clf_server.url + "/openapi.json").json()
    split = doc["components"]["schemas"]["Inputs"]["properties"]["inputs"]
    assert "mean radius" in split["properties"] and "worst fractal dimension" in split["required"]
    assert "/v2/models/bc_clf/infer" in doc["paths"]
    text = httpx.get(clf_server.url + "/metrics").text
    assert 'mlspec_model_version{model="bc_clf"} 1.0' in text
    assert "mlspec_request_duration_seconds_bucket" in text
    assert 'mlspec_requests_total{endpoint="ping",status="200"}' in text
