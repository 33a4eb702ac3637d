"""`mlspec deploy` through the real CLI: the batch, docker and rest targets of one spec, and the
docker context's entrypoint run locally from a virtual environment built from its requirements
(issue 6, acceptance d).

One project for the module: the shared warm breast_cancer project plus a spec `dep` with a
`register:` and a `deploy:` section; `mlspec run conf=dep` registers bc_deploy:1 (the stages before
`register` are cached hits).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import FAST, cli_env, make_project, mlspec_command, ok, run_cli, show, write

DEP = """
defaults:
  - breast_cancer
  - _self_
register: {name: bc_deploy, alias: champion}
deploy:
  default: api
  targets:
    api: {kind: rest, port: 8080, token_env: BC_DEPLOY_TOKEN}
    nightly:
      kind: batch
      input: data/new.csv
      output: scores/new.parquet
      id_column: row_id
      chunk_size: 7
      probabilities: true
    image: {kind: docker, context: build/image}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, bc_first_run: tuple[Path, Any]) -> Path:
    template, first = bc_first_run
    if first.returncode != 0:
        pytest.fail("the shared first breast_cancer run failed:\n" + show(first))
    root = make_project(tmp_path_factory.mktemp("deploy"))
    shutil.copytree(template / ".mlspec", root / ".mlspec")
    write(root / "conf" / "dep.yaml", DEP)
    result = ok(run_cli(["run", "conf=dep", *FAST], cwd=root))
    assert "registered bc_deploy:1" in result.stdout, show(result)
    from sklearn.datasets import load_breast_cancer

    rows = load_breast_cancer(as_frame=True).frame.drop(columns=["target"]).iloc[::20]
    rows.insert(0, "row_id", [f"r{i}" for i in range(len(rows))])
    (root / "data").mkdir(exist_ok=True)
    rows.to_csv(root / "data" / "new.csv", index=False)
    return root


def _scored(root: Path, name: str) -> Any:
    """`mlspec score` of the same rows, the reference every target is compared with."""
    import pandas as pd

    out = root / f"{name}.parquet"
    if not out.exists():
        ok(
            run_cli(
                [
                    "score",
                    "bc_deploy@champion",
                    "data/new.csv",
                    "-o",
                    out.name,
                    "--id-column",
                    "row_id",
                    "--probabilities",
                ],
                cwd=root,
            )
        )
    return pd.read_parquet(out)


def test_batch_target_writes_what_mlspec_score_writes(project: Path) -> None:
    import pandas as pd

    result = ok(run_cli(["deploy", "conf=dep", "target=nightly"], cwd=project))
    assert "deploy target 'nightly' (batch): scored 29 rows with bc_deploy:1" in result.stdout
    ours = pd.read_parquet(project / "scores" / "new.parquet")
    expected = _scored(project, "reference")
    assert list(ours.columns) == ["row_id", "prediction", "proba_0", "proba_1"]
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)


def test_docker_target_writes_a_verified_pinned_context(project: Path) -> None:
    from mlspec.serve.docker import verify_context

    result = ok(run_cli(["deploy", "conf=dep", "target=image"], cwd=project))
    assert "wrote the build context for bc_deploy:1" in result.stdout, show(result)
    ctx = project / "build" / "image"
    for name in (
        "Dockerfile",
        "requirements.txt",
        "entrypoint.sh",
        ".dockerignore",
        "context.json",
        "model/manifest.json",
        "model/model.skops",
    ):
        assert (ctx / name).is_file(), name
    assert verify_context(ctx) == []
    record = json.loads((ctx / "context.json").read_text())
    conn = __import__("sqlite3").connect(project / ".mlspec" / "mlspec.db")
    (bundle_digest,) = conn.execute(
        "SELECT bundle_digest FROM model_versions WHERE name = 'bc_deploy' AND version = 1"
    ).fetchone()
    conn.close()
    assert record["bundle_digest"] == bundle_digest  # the registered bundle, byte for byte
    wheels = sorted((ctx / "wheels").glob("mlspec-*.whl"))
    assert len(wheels) == 1
    lines = (ctx / "requirements.txt").read_text().splitlines()
    assert f"wheels/{wheels[0].name}" in lines
    assert all("==" in line for line in lines if not line.startswith("wheels/")), lines
    model_pins = set((ctx / "model" / "requirements.txt").read_text().split())
    from mlspec import __version__

    assert f"mlspec=={__version__}" in model_pins  # the bundle needs mlspec: it is the wheel above
    assert model_pins - {f"mlspec=={__version__}"} <= set(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


class _Served:
    """A server process of this test, stopped (by its pid) when the test ends."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], port: int):
        self.port = port
        self.log = cwd / f"server-{port}.log"
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if _request(self.port, "GET", "/ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"no answer on /ping:\n{self.log.read_text()}")

    def stop(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture
def served() -> Iterator[list[_Served]]:
    started: list[_Served] = []
    yield started
    for s in started:
        s.stop()


def _split(frame: Any) -> dict[str, Any]:
    features = frame.drop(columns=["row_id"])
    return {
        "dataframe_split": {"columns": list(features.columns), "data": features.values.tolist()}
    }


def test_rest_target_serves_the_champion_with_the_token_from_its_variable(
    project: Path, served: list[_Served]
) -> None:
    import pandas as pd

    no_token = run_cli(["deploy", "conf=dep"], cwd=project)  # api is the default target
    assert no_token.returncode == 2, show(no_token)
    assert "key 'deploy.targets.api.token_env'" in no_token.stderr
    assert "reads its token from $BC_DEPLOY_TOKEN, which is not set" in no_token.stderr
    assert "Traceback" not in no_token.stderr

    port = _free_port()
    env = cli_env({"BC_DEPLOY_TOKEN": "t0ken"})
    server = _Served(
        [*mlspec_command(), "deploy", "conf=dep", f"deploy.targets.api.port={port}"],
        project,
        env,
        port,
    )
    served.append(server)
    server.wait()
    rows = pd.read_csv(project / "data" / "new.csv")
    status, _ = _request(port, "POST", "/invocations", _split(rows))
    assert status == 401
    status, reply = _request(
        port, "POST", "/invocations", _split(rows), {"Authorization": "Bearer t0ken"}
    )
    assert status == 200, reply
    assert reply["predictions"] == _scored(project, "reference")["prediction"].tolist()
    assert (reply["model"], reply["version"]) == ("bc_deploy", 1)
    assert "deploy target 'api' (rest): serving bc_deploy:1" in server.log.read_text()


def test_deploy_errors_name_the_key_and_the_fix(project: Path, tmp_path: Path) -> None:
    unknown = run_cli(["deploy", "conf=dep", "target=nightley"], cwd=project)
    assert unknown.returncode == 2
    assert "conf/dep.yaml, key 'deploy.targets': unknown deploy target 'nightley'" in (
        unknown.stderr
    )
    assert "did you mean 'nightly'?" in unknown.stderr

    missing = run_cli(
        ["deploy", "conf=dep", "target=nightly", "deploy.targets.nightly.input=data/nope.csv"],
        cwd=project,
    )
    assert missing.returncode == 2
    assert "key 'deploy.targets.nightly.input'" in missing.stderr
    assert "the input file 'data/nope.csv' of deploy target 'nightly' does not exist" in (
        missing.stderr
    )

    bare = run_cli(["deploy", "conf=breast_cancer"], cwd=project)
    assert bare.returncode == 2
    assert "key 'deploy': the spec has no deploy section" in bare.stderr

    unregistered = run_cli(
        ["deploy", "conf=dep", "target=image", "+deploy.targets.image.model=other@champion"],
        cwd=project,
    )
    assert unregistered.returncode == 2, show(unregistered)
    assert "no registered model named 'other'" in unregistered.stderr
    assert "register it first: mlspec run conf=dep" in unregistered.stderr
    for result in (unknown, missing, bare, unregistered):
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_docker_context_entrypoint_serves_from_a_venv_built_from_its_requirements(
    project: Path, tmp_path: Path, served: list[_Served]
) -> None:
    """Acceptance d, without a Docker engine: a fresh virtual environment (no system site
    packages) gets exactly the context's requirements.txt, installed from the context directory
    as the Dockerfile does; then the context's entrypoint.sh serves the context's bundle."""
    import pandas as pd

    ctx = project / "build" / "image"
    if not (ctx / "context.json").is_file():
        ok(run_cli(["deploy", "conf=dep", "target=image"], cwd=project))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "-r",
            "requirements.txt",
        ],
        cwd=ctx,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    port = _free_port()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MLSPEC_MODEL_DIR": str(ctx / "model"),
        "MLSPEC_HOST": "127.0.0.1",  # the image binds 0.0.0.0; loopback is enough here
        "MLSPEC_PORT": str(port),
    }
    workdir = tmp_path / "app"  # not the project: the image has no registry, only /model
    workdir.mkdir()
    server = _Served(["/bin/sh", str(ctx / "entrypoint.sh")], workdir, env, port)
    served.append(server)
    server.wait(timeout=300)
    rows = pd.read_csv(project / "data" / "new.csv")
    status, reply = _request(port, "POST", "/invocations", _split(rows))
    assert status == 200, reply
    assert reply["predictions"] == _scored(project, "reference")["prediction"].tolist()
    # The server ran from the venv: mlspec is the context's wheel, not this checkout (run from
    # the server's working directory, as `python -c` puts the current directory on sys.path).
    shown = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import mlspec; print(mlspec.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in shown.stdout
