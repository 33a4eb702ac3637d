"""mlspec runs [ls|show RUN_ID] [--json] — the run records in the project's database."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console
from mlspec.errors import Problem, SpecError
from mlspec.store import Store
from mlspec.tracking import Tracker


def command(argv: list[str]) -> int | None:
    parser = make_parser("runs", "List and show recorded runs.")
    parser.add_argument("action", nargs="?", default="ls", choices=["ls", "show"])
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--spec", help="only runs of this spec name")
    args = parser.parse_args(argv)
    tracker = Tracker(Store.for_project(Path.cwd()).db_path)
    console = make_console()
    if args.action == "ls":
        runs = tracker.list_runs(limit=args.limit, spec_name=args.spec)
        if args.json:
            print(json.dumps([_run_summary(tracker, r) for r in runs], indent=2, default=str))
            return 0
        table = Table(title="runs")
        for col in ("run", "spec", "status", "started", "stages ran/cached", "objective"):
            table.add_column(col)
        for r in runs:
            s = _run_summary(tracker, r)
            obj = f"{r.objective_name}={r.objective:.4f}" if r.objective is not None else ""
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
            table.add_row(
                r.run_id, r.spec_name, r.status, started, f"{s['ran']}/{s['cached']}", obj
            )
        console.print(table)
        return 0
    if not args.run_id:
        raise SpecError(Problem("missing_argument", "which run?", fix="mlspec runs show RUN_ID"))
    run = tracker.get_run(args.run_id)
    if run is None:
        raise SpecError(
            Problem("unknown_run", f"no run '{args.run_id}'", fix="list runs with `mlspec runs ls`")
        )
    stages = tracker.stage_executions(run.run_id)
    metrics = tracker.metrics(run.run_id)
    if args.json:
        payload = asdict(run) | {
            "stages": [{k: v for k, v in asdict(s).items() if k != "preimage"} for s in stages],
            "metrics": metrics,
            "rows": tracker.accounting(run.run_id),
        }
        print(json.dumps(payload, indent=2, default=str))
        return 0
    console.print(f"[bold]run[/] {run.run_id}  spec {run.spec_name}  status {run.status}")
    console.print(
        f"overrides: {' '.join(run.overrides) or '(none)'}   git: {run.git_commit or '-'}"
    )
    table = Table(title="stages")
    for col in ("stage", "status", "seconds", "key"):
        table.add_column(col)
    for execution in stages:
        table.add_row(
            execution.node,
            execution.status,
            f"{execution.duration_s:.2f}",
            execution.key[:12],
        )
    console.print(table)
    for row in tracker.accounting(run.run_id):
        console.print(
            f"rows {row['step']}: {row['rows_in']} -> {row['rows_out']}"
            f" ({row['removed']} removed/quarantined, {row['changed']} changed)"
        )
    for split, values in metrics.items():
        console.print(
            f"{split}: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items() if v is not None)
        )
    return 0


def _run_summary(tracker: Tracker, run: object) -> dict[str, object]:
    stages = tracker.stage_executions(run.run_id)  # type: ignore[attr-defined]
    return {
        **{k: v for k, v in asdict(run).items() if k != "spec"},  # type: ignore[call-overload]
        "ran": sum(s.status == "miss" for s in stages),
        "cached": sum(s.status == "hit" for s in stages),
    }
