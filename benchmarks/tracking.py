"""Tracking speed: mlspec's SQLite tracking against MLflow's SQLite store (issue 5, acceptance h).

Two questions, each answered for both tools in this one script:

1. **Logging.** Seconds per ``log_metric(key, value, step=i)`` call inside one run, over
   ``--metrics`` calls for mlspec (default 10,000) and ``--mlflow-metrics`` calls for MLflow
   (default 1,000: at several ms per call, 10,000 take minutes on a busy machine; the per-call
   cost is flat, so it is reported per call and extrapolated to 10,000). ``end_run`` is inside
   the timed region, so mlspec's final flush is counted. mlspec is measured twice: as shipped
   (buffered, written in batches) and with ``synchronous=True`` on every call (each value
   committed before the call returns, like every call to MLflow's store).
2. **Listing.** Wall time to list ``--runs`` runs (default 10,000; each with 3 params, 3 metrics,
   2 tags) with a filter, returning params, metrics and tags of every match: mlspec's
   ``search`` (the query behind ``mlspec runs ls``) and the real ``mlspec runs ls --json`` process,
   against ``MlflowClient.search_runs``. Two filters: one matching about half of the runs, and one
   matching all of them.

Filling the stores: mlspec's runs are all created through its fluent API (timed). MLflow's first
``--mlflow-api-runs`` runs (default 200) are created through its client API (timed, reported per
run); the rest are inserted with SQL into MLflow's own tables, as copies of the rows its API wrote
for the first run, with this run's values — creating 10,000 runs through MLflow's API takes over
20 minutes here. The search only reads those tables, so how the rows got there does not change
what is measured.

    python benchmarks/tracking.py                       # full size
    python benchmarks/tracking.py --runs 2000 --metrics 2000 --mlflow-metrics 200   # quicker

Needs the ``mlflow`` extra (``pip install -e '.[mlflow]'``). Prints a Markdown table of results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

FILTER_HALF_MLSPEC = "metrics.roc_auc > 0.7 and params.model = lightgbm"
FILTER_HALF_MLFLOW = "metrics.roc_auc > 0.7 and params.model = 'lightgbm'"
FILTER_ALL_MLSPEC = "metrics.roc_auc >= 0.4 and tags.team = fraud"
FILTER_ALL_MLFLOW = "metrics.roc_auc >= 0.4 and tags.team = 'fraud'"


def machine() -> dict[str, Any]:
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "sqlite": sqlite3.sqlite_version,
    }


def generated_runs(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    runs = []
    for i in range(n):
        runs.append(
            {
                "name": f"run-{i:05d}",
                "params": {
                    "model": "lightgbm" if i % 2 == 0 else "xgboost",
                    "max_depth": str(rng.randint(2, 12)),
                    "learning_rate": str(rng.choice([0.01, 0.03, 0.1, 0.3])),
                },
                "metrics": {
                    "roc_auc": 0.4 + 0.6 * rng.random(),
                    "accuracy": rng.random(),
                    "log_loss": rng.random(),
                },
                "tags": {"team": "fraud", "stage": rng.choice(["dev", "prod"])},
            }
        )
    return runs


def timed(fn: Any, *args: Any) -> tuple[tuple[float, float], Any]:
    """((wall seconds, CPU seconds of this process), result). On a busy machine the CPU time
    says what the work costs; the wall time includes waiting for a core."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return (time.perf_counter() - t0, time.process_time() - c0), out


# -- logging ---------------------------------------------------------------------------------
def mlspec_log(workdir: Path, n: int, synchronous: bool) -> float:
    import mlspec.tracking as mt

    mt.set_tracking_uri(workdir / f"mlspec-log-{uuid.uuid4().hex[:6]}")
    mt.start_run(run_name="log-bench")
    t0 = time.perf_counter()
    for i in range(n):
        mt.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=synchronous)
    mt.end_run()
    return (time.perf_counter() - t0) / n


def mlflow_log(workdir: Path, n: int) -> float:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir / f'mlflow-log-{uuid.uuid4().hex[:6]}.db'}")
    mlflow.set_experiment("log-bench")
    mlflow.start_run()
    t0 = time.perf_counter()
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.end_run()
    return (time.perf_counter() - t0) / n


# -- filling the stores ----------------------------------------------------------------------
def fill_mlspec(root: Path, runs: list[dict[str, Any]]) -> float:
    import mlspec.tracking as mt

    mt.set_tracking_uri(root)
    mt.set_experiment("bench")
    t0 = time.perf_counter()
    for r in runs:
        mt.start_run(run_name=r["name"])
        mt.log_params(r["params"])
        mt.log_metrics(r["metrics"])
        mt.set_tags(r["tags"])
        mt.end_run()
    return time.perf_counter() - t0


def fill_mlflow(db: Path, runs: list[dict[str, Any]], api_runs: int) -> tuple[str, float]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    uri = f"sqlite:///{db}"
    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.set_experiment("bench").experiment_id
    client = MlflowClient(uri)
    first = runs[:api_runs]
    t0 = time.perf_counter()
    template_id = None
    for r in first:
        run = client.create_run(experiment_id, run_name=r["name"])
        ts = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in r["metrics"].items()],
            params=[Param(k, v) for k, v in r["params"].items()],
            tags=[RunTag(k, v) for k, v in r["tags"].items()],
        )
        client.set_terminated(run.info.run_id)
        template_id = template_id or run.info.run_id
    per_run = (time.perf_counter() - t0) / max(len(first), 1)
    _copy_mlflow_runs(db, template_id, runs[api_runs:])
    return experiment_id, per_run


def _copy_mlflow_runs(db: Path, template_id: str | None, runs: list[dict[str, Any]]) -> None:
    """Rows exactly as MLflow's API wrote them for the template run, with each run's values."""
    if not runs or template_id is None:
        return
    conn = sqlite3.connect(db)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    template = dict(
        zip(
            cols,
            conn.execute("SELECT * FROM runs WHERE run_uuid = ?", (template_id,)).fetchone(),
            strict=True,
        )
    )
    system_tags = [
        (k, v)
        for k, v in conn.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (template_id,))
        if k.startswith("mlflow.") and k != "mlflow.runName"
    ]
    marks = ", ".join("?" for _ in cols)
    now = int(time.time() * 1000)
    run_rows, params, metrics, latest, tags = [], [], [], [], []
    for r in runs:
        run_id = uuid.uuid4().hex
        row = dict(template)
        row.update(
            run_uuid=run_id,
            name=r["name"],
            start_time=now,
            end_time=now + 5,
            artifact_uri=template["artifact_uri"].replace(template_id, run_id),
        )
        run_rows.append(tuple(row[c] for c in cols))
        params += [(k, v, run_id) for k, v in r["params"].items()]
        metrics += [(k, v, now, run_id, 0, 0) for k, v in r["metrics"].items()]
        latest += [(k, v, now, 0, 0, run_id) for k, v in r["metrics"].items()]
        tags += [(k, v, run_id) for k, v in [*system_tags, ("mlflow.runName", r["name"])]]
        tags += [(k, v, run_id) for k, v in r["tags"].items()]
        now += 10
    with conn:
        conn.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({marks})", run_rows)
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", params)
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            metrics,
        )
        conn.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            latest,
        )
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tags)
    conn.close()


# -- listing ---------------------------------------------------------------------------------
def mlspec_list(root: Path, flt: str) -> tuple[tuple[float, float], int]:
    from mlspec.tracking.db import Tracker
    from mlspec.tracking.query import search

    tracker = Tracker(root / ".mlspec" / "mlspec.db")
    seconds, (rows, _) = timed(search, tracker, flt, None, None)
    assert all(r.params and r.metrics and r.tags for r in rows)
    return seconds, len(rows)


def mlspec_list_cli(root: Path, flt: str) -> tuple[tuple[float, float], int]:
    exe = shutil.which("mlspec", path=str(Path(sys.executable).parent)) or "mlspec"
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [exe, "runs", "ls", "--filter", flt, "--limit", "0", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (time.perf_counter() - t0, cpu), len(json.loads(out.stdout))


def mlflow_list(db: Path, experiment_id: str, flt: str) -> tuple[tuple[float, float], int]:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    seconds, rows = timed(lambda: client.search_runs([experiment_id], flt, max_results=50_000))
    return seconds, len(rows)


def best(samples: list[tuple[tuple[float, float], int]]) -> dict[str, Any]:
    walls = [w for (w, _), _ in samples]
    cpus = [c for (_, c), _ in samples]
    return {
        "wall_min": min(walls),
        "wall_median": statistics.median(walls),
        "cpu_median": statistics.median(cpus),
        "matches": samples[0][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--mlflow-metrics", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--mlflow-api-runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mlspec-tracking-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine_before": machine(),
        "args": {k: str(v) for k, v in vars(args).items()} | {"workdir": str(workdir)},
    }
    import mlflow

    results["versions"] = {"mlflow": mlflow.__version__}

    # 1. logging
    buffered = [mlspec_log(workdir, args.metrics, False) for _ in range(args.repeats)]
    synced = [mlspec_log(workdir, max(args.metrics // 10, 100), True) for _ in range(args.repeats)]
    mlf = [mlflow_log(workdir, args.mlflow_metrics) for _ in range(args.repeats)]
    results["log_metric_s_per_call"] = {
        "mlspec_buffered": statistics.median(buffered),
        "mlspec_synchronous": statistics.median(synced),
        "mlflow": statistics.median(mlf),
        "samples": {"mlspec_buffered": buffered, "mlspec_synchronous": synced, "mlflow": mlf},
    }

    # 2. listing
    runs = generated_runs(args.runs)
    mlspec_root = workdir / "mlspec-list"
    shutil.rmtree(mlspec_root, ignore_errors=True)
    results["fill_mlspec_s"] = fill_mlspec(mlspec_root, runs)
    mlflow_db = workdir / "mlflow-list.db"
    mlflow_db.unlink(missing_ok=True)
    experiment_id, per_run = fill_mlflow(mlflow_db, runs, args.mlflow_api_runs)
    results["mlflow_api_s_per_run"] = per_run
    listing: dict[str, Any] = {}
    for label, f_mlspec, f_mlflow in (
        ("half", FILTER_HALF_MLSPEC, FILTER_HALF_MLFLOW),
        ("all", FILTER_ALL_MLSPEC, FILTER_ALL_MLFLOW),
    ):
        api = best([mlspec_list(mlspec_root, f_mlspec) for _ in range(args.repeats)])
        cli = best([mlspec_list_cli(mlspec_root, f_mlspec) for _ in range(args.repeats)])
        other = best([mlflow_list(mlflow_db, experiment_id, f_mlflow) for _ in range(args.repeats)])
        assert api["matches"] == cli["matches"] == other["matches"], (api, cli, other)
        listing[label] = {
            "matches": api["matches"],
            "mlspec_api": api,
            "mlspec_cli": cli,
            "mlflow": other,
        }
    results["listing_s_min_median_matches"] = listing
    results["machine_after"] = machine()
    report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    log = r["log_metric_s_per_call"]
    us = 1e6
    print(
        f"\nmachine: {r['machine_before']}\nafter:   load {r['machine_after']['load_avg_1_5_15']}"
    )
    print(f"mlflow {r['versions']['mlflow']}\n")
    print("| log_metric, one run | per call | 10k calls | MLflow ÷ this |")
    print("|---|---:|---:|---:|")
    for label, key in (
        (f"mlspec, buffered ({args.metrics} calls)", "mlspec_buffered"),
        (
            f"mlspec, synchronous=True ({max(args.metrics // 10, 100)} calls)",
            "mlspec_synchronous",
        ),
        (f"MLflow SQLite ({args.mlflow_metrics} calls)", "mlflow"),
    ):
        v = log[key]
        print(f"| {label} | {v * us:.1f} µs | {v * 10_000:.3f} s | {log['mlflow'] / v:.0f}x |")
    print(
        f"\nfilling {args.runs} runs: mlspec fluent API {r['fill_mlspec_s']:.1f} s"
        f" ({r['fill_mlspec_s'] / args.runs * 1000:.2f} ms/run); MLflow API"
        f" {r['mlflow_api_s_per_run'] * 1000:.1f} ms/run over {args.mlflow_api_runs} runs"
        f" (≈ {r['mlflow_api_s_per_run'] * args.runs / 60:.0f} min for {args.runs})\n"
    )
    print(
        f"| list {args.runs} runs with a filter, median of {args.repeats} (wall / CPU)"
        " | matches | mlspec search | `mlspec runs ls --json` (whole process)"
        " | MLflow search_runs | MLflow / mlspec (wall, CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, flt in (("half", FILTER_HALF_MLSPEC), ("all", FILTER_ALL_MLSPEC)):
        x = r["listing_s_min_median_matches"][label]
        a, c, m = x["mlspec_api"], x["mlspec_cli"], x["mlflow"]
        print(
            f"| `{flt}` | {x['matches']}"
            f" | {a['wall_median']:.3f} / {a['cpu_median']:.3f} s"
            f" | {c['wall_median']:.3f} / {c['cpu_median']:.3f} s"
            f" | {m['wall_median']:.3f} / {m['cpu_median']:.3f} s"
            f" | {m['wall_median'] / a['wall_median']:.0f}x,"
            f" {m['cpu_median'] / a['cpu_median']:.0f}x |"
        )


if __name__ == "__main__":
    main()
