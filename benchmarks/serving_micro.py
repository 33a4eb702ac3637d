"""Micro-benchmark of mlspec serve's per-request cost on the serving anchor model.

The anchor (issue 6): LightGBM, 200 trees, 30 numeric features, one-row requests. The model is
fitted here with the shape the train stage builds (median imputer + standard scaler in a
FeatureTransformer, then LGBMClassifier), registered into a throw-away project, then measured:

1. in process, per one-row call: the fitted pipeline on a one-row DataFrame (what a naive
   server does), ``ScoringPipeline.predict_columns`` through the DataFrame route and through
   the compiled fast path;
2. over HTTP (when ``wrk`` is installed): ``mlspec serve`` in a subprocess, one-row
   ``dataframe_split`` POSTs at concurrency 1 and 10 — p50/p99 latency and throughput.

Timings only; no assertions. ``benchmarks/serving.py`` (the deploy helper's) compares against
``mlflow models serve``.

    python benchmarks/serving_micro.py [--seconds 10] [--no-http]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def build_anchor(root: Path) -> tuple[Any, Any]:
    import pandas as pd
    from lightgbm import LGBMClassifier
    from sklearn.datasets import make_classification
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from mlspec.registry.bundle import build_bundle
    from mlspec.registry.registry import Registry
    from mlspec.stages.features.transformers import FeatureTransformer

    X, y = make_classification(n_samples=20_000, n_features=30, n_informative=12, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(30)])
    frame["target"] = y
    features = FeatureTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                list(frame.columns[:30]),
            )
        ],
        remainder="drop",
        verbose_feature_names_out=False,
        sparse_threshold=0.0,
    )
    model = Pipeline(
        [("features", features), ("model", LGBMClassifier(n_estimators=200, verbose=-1))]
    ).fit(frame.drop(columns=["target"]), frame["target"])
    registry = Registry.for_project(root)
    payload = build_bundle(model, frame, "target", {"name": "anchor"})
    digest = registry.store_bundle(payload)
    version, _ = registry.db.add_version(
        "anchor",
        digest,
        payload.model_digest,
        payload.manifest["model"]["format"],
        None,
        "bench",
        {},
        {},
    )
    registry.db.set_alias("anchor", "champion", version, reason="benchmark")
    return model, frame.drop(columns=["target"])


def per_call(fn: Any, seconds: float = 2.0) -> float:
    """Median of per-call times (microseconds) over batches for ``seconds``."""
    fn()
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(50):
            fn()
        samples.append((time.perf_counter() - t) / 50)
    samples.sort()
    return samples[len(samples) // 2] * 1e6


def in_process(root: Path, model: Any, X: Any) -> dict[str, float]:
    from mlspec.serve.pipeline import ScoringPipeline

    fast = ScoringPipeline.load("anchor@champion", root)
    slow = ScoringPipeline.load("anchor@champion", root, fast=False)
    row = X.iloc[[0]]
    cols = {c: [float(v)] for c, v in row.iloc[0].items()}
    out = {
        "pipeline.predict_proba, 1-row DataFrame (us)": per_call(lambda: model.predict_proba(row)),
        "ScoringPipeline, DataFrame route (us)": per_call(
            lambda: slow.predict_columns(cols, 1, True)
        ),
        "ScoringPipeline, fast path (us)": per_call(lambda: fast.predict_columns(cols, 1, True)),
    }
    print(f"fast path: {fast.fast_status}")
    return out


WRK_LUA = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def http(root: Path, X: Any, seconds: int) -> dict[str, dict[str, float]]:
    import httpx

    port = _free_port()
    exe = shutil.which("mlspec", path=str(Path(sys.executable).parent)) or "mlspec"
    proc = subprocess.Popen(
        [exe, "serve", "anchor@champion", "--port", str(port), "--poll", "0"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/ping").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = json.dumps(
            {"dataframe_split": {"columns": list(X.columns), "data": [X.iloc[0].tolist()]}}
        )
        assert (
            httpx.post(
                url + "/invocations", content=body, headers={"content-type": "application/json"}
            ).status_code
            == 200
        )
        results = {}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(WRK_LUA % body)
        for conc in (1, 10):
            run = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{conc}",
                    f"-d{seconds}s",
                    "--latency",
                    "-s",
                    lua.name,
                    url + "/invocations",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            text = run.stdout
            if os.environ.get("SERVING_MICRO_RAW"):
                print(text)
            p50 = re.search(r"50%\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            p99 = re.search(r"99%\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
            results[f"concurrency {conc}"] = {
                "p50_ms": _ms(p50),
                "p99_ms": _ms(p99),
                "req_per_s": rps,
                "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            }
        os.unlink(lua.name)
        return results
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per concurrency")
    parser.add_argument("--no-http", action="store_true", help="in-process timings only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlspec-serving-micro-") as tmp:
        root = Path(tmp)
        model, X = build_anchor(root)
        for name, us in in_process(root, model, X).items():
            print(f"{name:50s} {us:9.1f}")
        if not args.no_http and shutil.which("wrk"):
            for conc, r in http(root, X, args.seconds).items():
                print(
                    f"HTTP {conc:15s} p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                    f"{r['req_per_s']:.0f} req/s  non-2xx {r['non_2xx']}"
                )
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
