"""The SQL loader against a real PostgreSQL server (the same code path as SQLite).

A throw-away cluster is started in a temp directory on a free localhost port, as the `postgres`
system user (the server refuses to run as root). `.ci/run` installs Debian's postgresql when the
machine lacks it; where the server cannot be started the tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import FAST, run_cli, show, stage_runs

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str | None:
    for d in BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    return [runuser, "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries are not installed")
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="mlspec-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    init = subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "mlspec", "--auth=trust", "-E", "UTF8"]),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        pytest.skip(f"initdb failed: {init.stderr[-500:]}")
    port = _free_port()
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    start = subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if start.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {start.stderr[-500:]}")
    try:
        import psycopg

        url = f"postgresql+psycopg://mlspec@127.0.0.1:{port}/postgres"
        for _ in range(50):
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=mlspec dbname=postgres").close()
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def _fill(url: str, rows: int) -> None:
    import psycopg
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame.head(rows)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS tumours")
        cols = ", ".join(f'"{c}" double precision' for c in df.columns if c != "target")
        conn.execute(f"CREATE TABLE tumours (id serial PRIMARY KEY, {cols}, target bigint)")
        names = ", ".join(f'"{c}"' for c in df.columns)
        marks = ", ".join(["%s"] * len(df.columns))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO tumours ({names}) VALUES ({marks})",
                [
                    tuple(float(v) if c != "target" else int(v) for c, v in r.items())
                    for _, r in df.iterrows()
                ],
            )


def test_postgres_source_runs_and_rereads_every_time_keeping_downstream_cached(
    postgres_url: str, project: Path
) -> None:
    _fill(postgres_url, 569)
    spec = (project / "conf" / "breast_cancer.yaml").read_text()
    query = "SELECT * FROM tumours WHERE target IN (:a, :b) ORDER BY id"
    spec = spec.replace(
        "source: {kind: sklearn, name: breast_cancer}",
        f"source: {{kind: sql, url: '{postgres_url}', query: '{query}', params: {{a: 0, b: 1}}}}",
    ).replace("schema: schemas/breast_cancer.yaml", "schema: null")
    spec += "features: {drop: [id]}\n" if "features:" not in spec else ""
    spec = spec.replace("features:\n", "features:\n  drop: [id]\n", 1)
    (project / "conf" / "pg.yaml").write_text(spec)

    first = run_cli(["run", "conf=pg", *FAST], cwd=project)
    assert first.returncode == 0, show(first)
    # A live database can change without any file changing: load always re-reads it, and
    # identical rows keep everything downstream cached.
    second = run_cli(["run", "conf=pg", *FAST], cwd=project)
    assert second.returncode == 0, show(second)
    last = [r for r in stage_runs(project) if r["run_id"] == stage_runs(project)[-1]["run_id"]]
    status = {r["node"]: r["status"] for r in last}
    assert status["load"] == "miss"
    assert all(status[n] == "hit" for n in ("validate", "split", "features", "train", "evaluate"))

    _fill(postgres_url, 500)  # the table changed: everything downstream reruns
    third = run_cli(["run", "conf=pg", *FAST], cwd=project)
    assert third.returncode == 0, show(third)
    last = [r for r in stage_runs(project) if r["run_id"] == stage_runs(project)[-1]["run_id"]]
    assert {r["node"]: r["status"] for r in last}["train"] == "miss"


def test_postgres_errors_are_spec_errors_without_the_password(
    postgres_url: str, project: Path
) -> None:
    spec = (project / "conf" / "breast_cancer.yaml").read_text()
    url = postgres_url.replace("mlspec@", "mlspec:s3cret@")
    spec = spec.replace(
        "source: {kind: sklearn, name: breast_cancer}",
        f"source: {{kind: sql, url: '{url}', table: no_such_table}}",
    )
    (project / "conf" / "pgbad.yaml").write_text(spec)
    result = run_cli(["run", "conf=pgbad"], cwd=project)
    assert result.returncode == 2, show(result)
    assert "no_such_table" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
