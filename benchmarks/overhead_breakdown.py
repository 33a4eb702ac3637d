"""Where a `mlspec run` spends its time, in real seconds (no profiler overhead).

Runs `mlspec run conf=bench` in this process with timers wrapped around the engine's internal
functions (private API: adjust the TIMERS table when the engine changes), then prints wall-clock
seconds per component. Use it in the project engine_overhead.py generates:

    python benchmarks/engine_overhead.py --setup-only --workdir /tmp/bench
    cd /tmp/bench && rm -rf .mlspec && python /path/to/benchmarks/overhead_breakdown.py   # cold
    cd /tmp/bench && python /path/to/benchmarks/overhead_breakdown.py                     # no-op

Components nest (execute_run contains the runner, which contains the codecs...): the numbers
are inclusive and do not add up to the total.
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

# (label, module, attribute path): every module namespace that holds the name must be patched.
TIMERS = [
    ("pre-flight: compose (Hydra compose API)", "mlspec.engine.operations", "compose_spec"),
    ("Hydra _run_hydra (compose x2, job, task)", "hydra._internal.utils", "_run_hydra"),
    ("task: execute_run", "mlspec.engine.operations", "execute_run"),
    ("compile_plan (all calls)", "mlspec.engine.operations", "compile_plan"),
    ("  packages_distributions scan", "mlspec.stages.builtin.train", "_distributions"),
    ("walk_plan (all calls)", "mlspec.engine.operations", "walk_plan"),
    ("pre-flight stage checks (imports ML libs)", "mlspec.engine.operations", "preflight"),
    ("blake3 of external files", "mlspec.store.statcache", "digest_file"),
    ("runner: all stages", "mlspec.engine.runner", "Runner.execute"),
    ("  stages computed (inputs, run(), save)", "mlspec.engine.runner", "Runner._compute"),
    ("    stage run() bodies", "", ""),
    ("      codec encode (all outputs)", "mlspec.store.store", "codecs.encode"),
    ("      blake3 of artifacts", "mlspec.store.objects", "digest_bytes"),
    ("      atomic_write objects (fsync)", "mlspec.store.objects", "atomic_write"),
    ("  atomic_write action records", "mlspec.store.store", "atomic_write"),
    ("tracking: record_stage", "mlspec.engine.runner", "Tracker.record_stage"),
    ("git rev-parse", "mlspec.engine.operations", "git_commit"),
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


def install() -> None:
    for label, module_name, path in TIMERS:
        if not module_name:
            continue
        owner: Any = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for p in parents:
            owner = getattr(owner, p)
        setattr(owner, attr, _wrap(label, getattr(owner, attr)))
    # Runner._compute is the stage body plus saving: time the stage bodies on their own.
    from mlspec.engine import runner as runner_mod

    orig_compute = runner_mod.Runner._compute

    def compute(self: Any, node: Any, *args: Any, **kwargs: Any) -> Any:
        cls = node.stage_cls
        run = cls.run
        if not getattr(run, "_timed", False):
            wrapped = _wrap("    stage run() bodies", run)
            wrapped._timed = True  # type: ignore[attr-defined]
            cls.run = wrapped
        return orig_compute(self, node, *args, **kwargs)

    runner_mod.Runner._compute = compute


def main() -> None:
    t_imp = T0
    import mlspec.cli.main  # the CLI's own imports, as `mlspec run` pays them
    import mlspec.cli.run
    import mlspec.engine.job
    import mlspec.engine.operations

    imports = time.perf_counter() - t_imp
    install()
    sys.argv = ["mlspec", "run", "conf=bench", *sys.argv[1:]]
    try:
        mlspec.cli.main.main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    end = time.perf_counter()
    print("\nwall-clock breakdown (inclusive; nested rows are part of the row above them):")
    print(f"  {'imports: mlspec CLI, Hydra, pydantic, rich...':<46} {imports:7.2f}s")
    for label, _, _ in TIMERS:
        if label in TOTALS:
            print(f"  {label:<46} {TOTALS[label]:7.2f}s  ({CALLS[label]} calls)")
    print(f"  {'total after interpreter start-up':<46} {end - T0:7.2f}s")


if __name__ == "__main__":
    main()
