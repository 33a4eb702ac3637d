"""Where a `mlspec run` spends its time, in real seconds (no profiler overhead).

Runs `mlspec run conf=bench` in this process with timers wrapped around the engine's internal
functions (private API: adjust the TIMERS table when the engine changes), then prints wall-clock
seconds per component. Use it in the project engine_overhead.py generates:

    python benchmarks/engine_overhead.py --setup-only --workdir /tmp/bench
    cd /tmp/bench && rm -rf .mlspec && python /path/to/benchmarks/overhead_breakdown.py   # cold
    cd /tmp/bench && python /path/to/benchmarks/overhead_breakdown.py                     # no-op

Other specs: ``--conf prep`` (the project data_prep.py generates); ``--json FILE`` also writes the
numbers as JSON; any other argument is passed to `mlspec run` as an override.

Components nest (execute_run contains the runner, which contains the codecs...): the numbers
are inclusive and do not add up to the total. Per-stage rows (``stage X: run()``) are the
stage bodies alone; ``codec encode: frame`` etc. split the store's encoding by codec.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import functools  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

TOTALS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
BYTES: dict[str, int] = defaultdict(int)

# (label, module, attribute path): every module namespace that holds the name must be patched.
TIMERS = [
    ("pre-flight: compose (Hydra compose API)", "mlspec.engine.operations", "compose_spec"),
    ("Hydra _run_hydra (compose x2, job, task)", "hydra._internal.utils", "_run_hydra"),
    ("task: execute_run", "mlspec.engine.operations", "execute_run"),
    ("compile_plan (all calls)", "mlspec.engine.operations", "compile_plan"),
    ("  estimator distribution lookup", "mlspec.stages.builtin.train", "_distributions_of"),
    ("    packages_distributions scan", "mlspec.stages.builtin.train", "_distributions"),
    ("walk_plan (all calls)", "mlspec.engine.operations", "walk_plan"),
    ("pre-flight stage checks (imports ML libs)", "mlspec.engine.operations", "preflight"),
    ("blake3 of external files", "mlspec.store.statcache", "digest_file"),
    ("runner: all stages", "mlspec.engine.runner", "Runner.execute"),
    ("  stages computed (inputs, run(), save)", "mlspec.engine.runner", "Runner._compute"),
    ("    stage run() bodies", "", ""),
    ("      codec encode (all outputs)", "mlspec.store.store", "codecs.encode"),
    ("    codec decode (inputs)", "mlspec.store.store", "codecs.decode"),
    (
        "pandera DataFrameSchema.validate",
        "pandera.api.pandas.container",
        "DataFrameSchema.validate",
    ),
    ("validate: quarantine analyse (all rounds)", "mlspec.stages.builtin.validate", "analyse"),
    ("validate: unchanged-check (out.equals)", "mlspec.stages.builtin.validate", "_unchanged"),
    ("split: overlap check (row hashes)", "mlspec.stages.builtin._split_checks", "check_overlap"),
    ("split: summary", "mlspec.stages.builtin._split_checks", "summarise"),
    ("      blake3 of artifacts", "mlspec.store.objects", "digest_bytes"),
    ("      atomic_write objects (fsync)", "mlspec.store.objects", "atomic_write"),
    ("  atomic_write action records", "mlspec.store.store", "atomic_write"),
    ("tracking: record_stage", "mlspec.engine.runner", "Tracker.record_stage"),
    ("lineage: collect (git state, versions, code)", "mlspec.engine.lineage", "collect"),
    ("lineage: record", "mlspec.engine.lineage", "record"),
]


def _wrap(label: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[label] += time.perf_counter() - t
            CALLS[label] += 1

    return timed


# Timers in modules a no-op run never imports (pandera, the stages' helpers): installed when the
# first stage is computed, so that a no-op run does not pay for importing them.
LATE = {
    "pandera DataFrameSchema.validate",
    "validate: quarantine analyse (all rounds)",
    "validate: unchanged-check (out.equals)",
    "split: overlap check (row hashes)",
    "split: summary",
}


def install(late: bool = False) -> None:
    for label, module_name, path in TIMERS:
        if not module_name or (label in LATE) != late:
            continue
        owner: Any = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for p in parents:
            owner = getattr(owner, p)
        setattr(owner, attr, _wrap(label, getattr(owner, attr)))
    if late:
        return
    # Runner._compute is the stage body plus saving: time the stage bodies on their own.
    from mlspec.engine import runner as runner_mod

    orig_compute = runner_mod.Runner._compute

    late_done = []

    def compute(self: Any, node: Any, *args: Any, **kwargs: Any) -> Any:
        if not late_done:
            install(late=True)
            late_done.append(True)
        cls = node.stage_cls
        run = cls.run
        if not getattr(run, "_timed", False):
            wrapped = _wrap("    stage run() bodies", _wrap(f"stage {node.name}: run()", run))
            wrapped._timed = True  # type: ignore[attr-defined]
            cls.run = wrapped
        return orig_compute(self, node, *args, **kwargs)

    runner_mod.Runner._compute = compute
    # Encoding per codec (frame, json, estimator), with the bytes produced.
    from mlspec.store import store as store_mod

    encode = store_mod.codecs.encode

    def encode_by_codec(codec: str, value: Any) -> bytes:
        t = time.perf_counter()
        data = encode(codec, value)
        TOTALS[f"codec encode: {codec}"] += time.perf_counter() - t
        CALLS[f"codec encode: {codec}"] += 1
        BYTES[f"codec encode: {codec}"] += len(data)
        return data

    store_mod.codecs.encode = encode_by_codec  # encode is already timed as "all outputs"


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default="bench", help="the spec to run (default: bench)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args, overrides = parser.parse_known_args()
    t_imp = T0
    import mlspec.cli.main  # the CLI's own imports, as `mlspec run` pays them
    import mlspec.cli.run
    import mlspec.engine.job
    import mlspec.engine.operations

    imports = time.perf_counter() - t_imp
    install()
    sys.argv = ["mlspec", "run", f"conf={args.conf}", *overrides]
    try:
        mlspec.cli.main.main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    end = time.perf_counter()
    labels = [label for label, _, _ in TIMERS]
    labels[labels.index("      codec encode (all outputs)") + 1 : 1] = sorted(
        k for k in TOTALS if k.startswith("codec encode: ")
    )
    labels += sorted(k for k in TOTALS if k.startswith("stage ") and k not in labels)
    rows = [
        {"label": "imports: mlspec CLI, Hydra, pydantic, rich...", "seconds": imports, "calls": 1}
    ]
    rows += [
        {"label": label, "seconds": TOTALS[label], "calls": CALLS[label], "bytes": BYTES[label]}
        for label in labels
        if label in TOTALS
    ]
    rows.append({"label": "total after interpreter start-up", "seconds": end - T0, "calls": 1})
    print("\nwall-clock breakdown (inclusive; nested rows are part of the row above them):")
    for row in rows:
        size = f", {row['bytes'] / 1e6:.1f} MB" if row.get("bytes") else ""
        print(f"  {row['label']:<46} {row['seconds']:7.2f}s  ({row['calls']} calls{size})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"conf": args.conf, "components": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
