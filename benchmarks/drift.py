"""Drift detection: mlspec's reference profile + compare against Evidently's DataDriftPreset.

Issue 7, acceptance f. One run of this script:

1. generates, in each measured process, the same seeded data (numpy ``default_rng``): a reference
   and a current frame of --rows rows (default 1,000,000) x 20 columns — 15 numeric (normal,
   exponential, integer-valued and uniform columns at various scales) and 5 categorical (text,
   4 to 200 categories). The current frame drifts in 4 numeric columns (mean, scale, unit and
   missing values) and 1 categorical one (a new category), so both tools have something to find;
2. measures each side in its own fresh process (``--repeats`` times, alternating the order):
     mlspec     build_reference_profile(reference), then compare(profile, current), with the
                defaults (DESIGN 5: at this size normalised Wasserstein / Jensen-Shannon, PSI,
                missing-value tests); reported separately and summed — the sum is what compares
                with Evidently, which starts from the two raw frames every time; ``compare``
                alone is what each monitoring run costs once the profile sits in the bundle;
     Evidently  Report([DataDriftPreset()]).run(current, reference) with a DataDefinition naming
                the 15 numeric and 5 categorical columns (its defaults at this size: normalised
                Wasserstein and Jensen-Shannon, threshold 0.1), Evidently 0.7.23 in a separate
                virtualenv (it needs pandas < 3; mlspec uses pandas 3);
   time is wall-clock around the drift work only (data generation excluded). Memory: the
   process's peak RSS while the drift work runs, the two frames included (the kernel's peak mark
   is reset once the data exist — ``/proc/self/clear_refs`` — so a transient of generating the
   data, the same on both sides and no part of either tool's work, does not count; the peak
   before the reset is kept as ``peak_after_data_mb``), and that peak minus the RSS the frames
   held before the work started (``*_work_extra_mb``);
3. checks that both tools flag the same columns and that the per-column statistics agree (mlspec's
   Wasserstein comes from a 1000-point sketch of the reference; its bound is reported);
4. prints a summary and writes benchmarks/results/drift-<date>-<commit>.json.

Goal (issue 7, acceptance f): mlspec at least 20x faster than Evidently, at most 0.5x its peak
memory. The issue's anchor measurement: Evidently took 85 s and 1.6 GB on 1M x 20.

Usage:
    python benchmarks/drift.py                                  # 1M rows, creates the venv
    python benchmarks/drift.py --evidently-python /path/to/python --repeats 3
    python benchmarks/drift.py --rows 100000 --repeats 1        # a quick check

Run it with the interpreter of the environment mlspec is installed in. Without
``--evidently-python`` the script creates ``--evidently-venv`` (default
``benchmarks/.venv-evidently``) and installs ``evidently==0.7.23`` and ``pandas<3`` into it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL_SPEED = 20.0  # Evidently time / mlspec time
GOAL_MEMORY = 0.5  # mlspec peak / Evidently peak
EVIDENTLY = "evidently==0.7.23"
SEED = 20261126
NUMERIC = [f"n{i:02d}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
CATEGORY_COUNTS = [4, 10, 30, 80, 200]


# -- data (imported by both workers: numpy only, so both pandas versions build the same frames) --


def make_frames(rows: int) -> tuple[Any, Any]:
    """(reference, current): identical generators except for the drifted columns."""
    import numpy as np
    import pandas as pd

    def frame(rng: Any, drift: bool) -> Any:
        cols: dict[str, Any] = {}
        for i, name in enumerate(NUMERIC):
            kind = i % 4
            if kind == 0:
                x = rng.normal(10 * i, 1 + i, rows)
            elif kind == 1:
                x = rng.exponential(1 + i, rows)
            elif kind == 2:
                x = rng.integers(0, 100 + 10 * i, rows).astype(float)
            else:
                x = rng.uniform(-i, i + 1, rows)
            if drift and name == "n00":
                x = x + 0.5 * (1 + i)  # mean shift, half a standard deviation
            if drift and name == "n01":
                x = x * 2  # scale
            if drift and name == "n02":
                x = x * 1000  # unit change
            if drift and name == "n03":
                x[rng.random(rows) < 0.1] = np.nan  # 10 % missing
            cols[name] = x
        for i, (name, k) in enumerate(zip(CATEGORICAL, CATEGORY_COUNTS, strict=True)):
            labels = np.array([f"{name}_{j:03d}" for j in range(k + 1)], dtype=object)
            weights = 1.0 / np.arange(1, k + 1)  # Zipf-like shares
            if drift and i == 0:
                weights = np.append(weights, weights.sum() * 0.15)  # a new category, ~13 %
            p = weights / weights.sum()
            codes = np.minimum(np.searchsorted(np.cumsum(p), rng.random(rows)), len(p) - 1)
            cols[name] = pd.Series(labels[codes]).astype("str" if _pandas3() else object)
        return pd.DataFrame(cols)

    return frame(np.random.default_rng([SEED, 0]), False), frame(
        np.random.default_rng([SEED, 1]), True
    )


def _pandas3() -> bool:
    import pandas as pd

    return int(pd.__version__.split(".")[0]) >= 3


def _rss_mb() -> float:
    """Current RSS of this process (from /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so that the drift work's own peak can be read."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _hwm_mb() -> float | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


# -- workers (run in their own processes) -----------------------------------------------------


def worker_mlspec(rows: int) -> dict[str, Any]:
    ref, cur = make_frames(rows)
    import gc

    gc.collect()
    rss_data = _rss_mb()
    peak_data = _peak_mb()
    from mlspec.monitor.drift import compare
    from mlspec.monitor.profile import build_reference_profile

    reset = _reset_hwm()
    t0 = time.perf_counter()
    profile = build_reference_profile(ref)
    t1 = time.perf_counter()
    result = compare(profile, cur)
    t2 = time.perf_counter()
    return {
        "tool": "mlspec",
        "profile_s": t1 - t0,
        "compare_s": t2 - t1,
        "total_s": t2 - t0,
        "rss_after_data_mb": rss_data,
        "peak_after_data_mb": peak_data,
        "peak_mb": _peak_mb(),
        "work_peak_mb": _hwm_mb() if reset else None,
        "profile_bytes": len(profile.to_bytes()),
        "drifted": sorted(result.drifted_columns),
        "statistics": {c.column: c.statistic for c in result.columns},
        "tests": {c.column: c.test for c in result.columns},
        "error_bounds": {c.column: c.error_bound for c in result.columns},
        "dataset_drift": result.dataset_drift,
    }


def worker_evidently(rows: int) -> dict[str, Any]:
    ref, cur = make_frames(rows)
    import gc

    gc.collect()
    rss_data = _rss_mb()
    peak_data = _peak_mb()
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reset = _reset_hwm()
    t0 = time.perf_counter()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    t1 = time.perf_counter()
    stats: dict[str, float] = {}
    methods: dict[str, str] = {}
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        cfg = metric["config"]
        if cfg.get("type", "").endswith("ValueDrift"):
            stats[cfg["column"]] = float(metric["value"])
            methods[cfg["column"]] = cfg["method"]
            if float(metric["value"]) >= float(cfg["threshold"]):
                drifted.append(cfg["column"])
    return {
        "tool": "evidently",
        "version": evidently.__version__,
        "total_s": t1 - t0,
        "rss_after_data_mb": rss_data,
        "peak_after_data_mb": peak_data,
        "peak_mb": _peak_mb(),
        "work_peak_mb": _hwm_mb() if reset else None,
        "drifted": sorted(drifted),
        "statistics": stats,
        "tests": methods,
    }


# -- orchestration ------------------------------------------------------------------------------


def ensure_evidently(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import evidently, pandas; print(evidently.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0 or probe.stdout.strip() != EVIDENTLY.split("==")[1]:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", EVIDENTLY, "pandas<3"], check=True
        )
    return python


def run_worker(python: str, tool: str, rows: int) -> dict[str, Any]:
    env = dict(os.environ)
    if tool == "mlspec":
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(":")
    load_before = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", tool, "--rows", str(rows)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(HERE),
    )
    if proc.returncode != 0:
        raise SystemExit(f"{tool} worker failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = time.perf_counter() - started
    out["load_avg_before"] = [round(x, 2) for x in load_before]
    out["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return sha + ("-dirty" if git("status", "--porcelain", "--", "mlspec", "benchmarks") else "")


def agreement(ml: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    diffs = {
        c: abs(ml["statistics"][c] - ev["statistics"][c])
        for c in ev["statistics"]
        if ml["statistics"].get(c) is not None
    }
    bounds = ml.get("error_bounds", {})
    outside = sorted(c for c, d in diffs.items() if bounds.get(c) is not None and d > bounds[c])
    return {
        "same_drifted_columns": ml["drifted"] == ev["drifted"],
        # numeric columns: |mlspec - Evidently| against the sketch's stored Wasserstein bound
        "numeric_differences_within_sketch_bound": not outside,
        "outside_bound": outside,
        "only_mlspec": sorted(set(ml["drifted"]) - set(ev["drifted"])),
        "only_evidently": sorted(set(ev["drifted"]) - set(ml["drifted"])),
        "max_abs_statistic_difference": max(diffs.values()) if diffs else None,
        "statistic_difference": diffs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--evidently-python", default=None)
    parser.add_argument("--evidently-venv", default=str(HERE / ".venv-evidently"))
    parser.add_argument("--worker", choices=["mlspec", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only, write no JSON")
    args = parser.parse_args()
    if args.worker:
        fn = worker_mlspec if args.worker == "mlspec" else worker_evidently
        print(json.dumps(fn(args.rows)))
        return
    ev_python = args.evidently_python or str(ensure_evidently(Path(args.evidently_venv)))
    runs: dict[str, list[dict[str, Any]]] = {"mlspec": [], "evidently": []}
    for i in range(args.repeats):
        order = ["mlspec", "evidently"] if i % 2 == 0 else ["evidently", "mlspec"]
        for tool in order:
            python = sys.executable if tool == "mlspec" else ev_python
            runs[tool].append(run_worker(python, tool, args.rows))
            r = runs[tool][-1]
            print(
                f"run {i + 1} {tool:9s} {r['total_s']:7.2f} s  peak {r['peak_mb']:7.0f} MB"
                f"  (data {r['rss_after_data_mb']:.0f} MB, peak while comparing"
                f" {r['work_peak_mb'] or float('nan'):.0f} MB)",
                flush=True,
            )

    def med(tool: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[tool])

    def _extra(tool: str) -> float | None:
        if any(r.get("work_peak_mb") is None for r in runs[tool]):
            return None
        return statistics.median(r["work_peak_mb"] - r["rss_after_data_mb"] for r in runs[tool])

    ml_time, ev_time = med("mlspec", "total_s"), med("evidently", "total_s")
    ml_mem, ev_mem = med("mlspec", "peak_mb"), med("evidently", "peak_mb")
    summary = {
        "mlspec_profile_s": med("mlspec", "profile_s"),
        "mlspec_compare_s": med("mlspec", "compare_s"),
        "mlspec_total_s": ml_time,
        "evidently_s": ev_time,
        "speedup": ev_time / ml_time,
        "speedup_compare_only": ev_time / med("mlspec", "compare_s"),
        "goal_speedup": GOAL_SPEED,
        "speed_goal_met": ev_time / ml_time >= GOAL_SPEED,
        "mlspec_peak_mb": ml_mem,
        "evidently_peak_mb": ev_mem,
        "memory_ratio": ml_mem / ev_mem,
        # the drift work alone: peak RSS while it ran (VmHWM reset after generating the data)
        # minus the RSS the two frames held before it started
        "mlspec_work_extra_mb": _extra("mlspec"),
        "evidently_work_extra_mb": _extra("evidently"),
        "goal_memory_ratio": GOAL_MEMORY,
        "memory_goal_met": ml_mem / ev_mem <= GOAL_MEMORY,
    }
    record = {
        "benchmark": "drift",
        "commit": commit(),
        "rows": args.rows,
        "columns": {"numeric": len(NUMERIC), "categorical": len(CATEGORICAL)},
        "repeats": args.repeats,
        "machine": {
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
        },
        "summary": summary,
        "agreement": agreement(runs["mlspec"][0], runs["evidently"][0]),
        "runs": runs,
    }
    print(json.dumps(summary, indent=2))
    print(json.dumps(record["agreement"], indent=2))
    if not args.no_write:
        date = time.strftime("%Y-%m-%d", time.gmtime())
        suffix = "" if args.rows == 1_000_000 else f"-{args.rows}rows"
        out = HERE / "results" / f"drift-{date}-{record['commit']}{suffix}.json"
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
