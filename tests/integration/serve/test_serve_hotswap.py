"""Acceptance c: `mlspec models promote` while a client keeps sending requests — no request
fails, and replies switch from the old version to the new one (and never back)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from e2e_helpers import ok, run_cli
from serve_helpers import bc_frame, serving

from mlspec.registry.registry import Registry


def test_promote_while_serving_swaps_without_a_failed_request(serve_project: Path) -> None:
    X = bc_frame().drop(columns=["target"]).head(5)
    body = {
        "dataframe_split": {"columns": list(X.columns), "data": X.to_numpy().tolist()},
        "params": {"probabilities": True},
    }
    replies: list[tuple[int, int | None, list[list[float]] | None]] = []
    stop = threading.Event()
    with serving("swap_clf@champion", serve_project, poll_interval=0.2) as server:

        def client_loop() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    try:
                        r = client.post("/invocations", json=body)
                    except httpx.HTTPError:  # a dropped connection is a failed request too
                        replies.append((-1, None, None))
                        continue
                    data = r.json() if r.status_code == 200 else {}
                    replies.append((r.status_code, data.get("version"), data.get("probabilities")))

        thread = threading.Thread(target=client_loop, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while len(replies) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        promote = run_cli(
            ["models", "promote", "swap_clf", "2", "--alias", "champion"], cwd=serve_project
        )
        ok(promote)
        while time.monotonic() < deadline:  # until 20 replies came from the new version
            if sum(1 for _, v, _ in replies if v == 2) >= 20:
                break
            time.sleep(0.05)
        stop.set()
        thread.join(30)
        metrics = httpx.get(server.url + "/metrics").text

    statuses = {s for s, _, _ in replies}
    assert statuses == {200}, f"failed requests: {[r for r in replies if r[0] != 200][:5]}"
    versions = [v for _, v, _ in replies]
    assert versions[0] == 1 and versions[-1] == 2
    switch = versions.index(2)
    assert set(versions[:switch]) == {1} and set(versions[switch:]) == {2}, "swapped back and forth"
    old = {str(p) for _, v, p in replies if v == 1}
    new = {str(p) for _, v, p in replies if v == 2}
    assert len(old) == 1 and len(new) == 1 and old != new  # each version answers its own way
    assert 'mlspec_model_version{model="swap_clf"} 2.0' in metrics
    assert 'mlspec_model_reloads_total{result="swapped"} 1.0' in metrics


def test_reload_endpoint_swaps_on_demand(serve_project: Path) -> None:
    registry = Registry.for_project(serve_project)
    registry.db.set_alias("swap_clf", "candidate", 1, reason="test")
    with serving("swap_clf@candidate", serve_project, poll_interval=0) as server:
        assert httpx.post(server.url + "/reload").json()["reloaded"] is False
        registry.db.set_alias("swap_clf", "candidate", 2, reason="test")
        # no polling: still version 1 until asked
        assert httpx.get(server.url + "/ping").json()["version"] == 1
        reply = httpx.post(server.url + "/reload", timeout=60).json()
        assert (
            reply["reloaded"] is True and reply["version"] == 2 and reply["previous_version"] == 1
        )
        assert httpx.get(server.url + "/ping").json()["version"] == 2
        assert httpx.get(server.url + "/version").json()["ref"] == "swap_clf@candidate"
