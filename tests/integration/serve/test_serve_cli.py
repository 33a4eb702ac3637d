"""`mlspec serve` as users run it (a subprocess): acceptance e — it binds 127.0.0.1 by default
and, with a token (here from MLSPEC_SERVE_TOKEN), answers 401 to requests without it (health
endpoints stay open) — plus SIGHUP reloading and the request log (Interface 2)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from e2e_helpers import cli_env, mlspec_command
from serve_helpers import bc_frame, serving

from mlspec.registry.registry import Registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port`` (Linux /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.slow
def test_cli_binds_loopback_requires_token_reloads_on_sighup_and_logs(
    serve_project: Path, tmp_path: Path
) -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux /proc/net/tcp to see the bound address")
    Registry.for_project(serve_project).db.set_alias("swap_clf", "cli", 1, reason="test")
    port = free_port()
    logs = tmp_path / "requests"
    proc = subprocess.Popen(
        [
            *mlspec_command(),
            "serve",
            "swap_clf@cli",
            "--port",
            str(port),
            "--poll",
            "0",
            "--log-requests",
            str(logs),
        ],
        cwd=serve_project,
        env=cli_env({"MLSPEC_SERVE_TOKEN": "s3cret"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    auth = {"authorization": "Bearer s3cret"}
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(url + "/ping").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only

        X = bc_frame().drop(columns=["target"]).head(3)
        body = {"dataframe_split": {"columns": list(X.columns), "data": X.to_numpy().tolist()}}
        denied = httpx.post(url + "/invocations", json=body)
        assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
        wrong = httpx.post(url + "/invocations", json=body, headers={"authorization": "Bearer no"})
        assert wrong.status_code == 401
        assert httpx.get(url + "/metrics").status_code == 401
        assert httpx.get(url + "/v2/health/ready").status_code == 200  # health stays open
        scored = httpx.post(url + "/invocations", json=body, headers=auth)
        assert scored.status_code == 200 and scored.json()["version"] == 1

        Registry.for_project(serve_project).db.set_alias("swap_clf", "cli", 2, reason="test")
        proc.send_signal(signal.SIGHUP)
        while httpx.get(url + "/ping").json()["version"] != 2:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
        after = httpx.post(url + "/invocations", json=body, headers=auth)
        assert after.status_code == 200 and after.json()["version"] == 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "on http://127.0.0.1:" in out and "token required" in out, out
    # Ctrl-C is how a server stops: graceful shutdown, one line, no traceback, no word of stages.
    assert proc.returncode == 130, out
    assert out.rstrip().endswith("server stopped"), out
    assert "Traceback" not in out and "stages" not in out, out

    files = sorted((logs / "swap_clf").glob("requests-*.jsonl"))
    assert files, out
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert [r["version"] for r in lines] == [1, 1, 1, 2, 2, 2]  # one line per scored row
    first = lines[0]
    assert set(first) == {
        "ts",
        "model",
        "version",
        "request_id",
        "inputs",
        "prediction",
        "probabilities",
    }
    assert first["model"] == "swap_clf" and first["ts"].endswith("Z")
    assert first["inputs"] == dict(zip(X.columns, X.to_numpy()[0].tolist(), strict=True))
    assert first["probabilities"] is None and first["prediction"] in (0, 1)
    assert len({r["request_id"] for r in lines}) == 2


def test_token_flag_in_process(serve_project: Path) -> None:
    with serving("bc_clf:1", serve_project, poll_interval=0, token="t0k") as server:
        assert httpx.get(server.url + "/version").status_code == 401
        assert (
            httpx.get(server.url + "/version", headers={"authorization": "bearer t0k"}).status_code
            == 200
        )
        assert httpx.get(server.url + "/health").status_code == 200


def test_default_host_is_loopback() -> None:
    from mlspec.serve.server import DEFAULT_HOST, ServeOptions

    assert DEFAULT_HOST == "127.0.0.1" and ServeOptions(ref="x").host == "127.0.0.1"
