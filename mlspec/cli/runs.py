"""mlspec runs [ls|show RUN_ID [--html [-o PATH]]|compare [RUN_ID ...] [--sweep latest|DIR]]
[--json] — the run records in the project's database."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console
from mlspec.engine.report import evaluation_details, write_html_report
from mlspec.errors import Problem, SpecError
from mlspec.store import Store
from mlspec.tracking import RunRecord, Tracker


def command(argv: list[str]) -> int | None:
    parser = make_parser("runs", "List, show and compare recorded runs.")
    parser.add_argument("action", nargs="?", default="ls", choices=["ls", "show", "compare"])
    parser.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="a run id or its prefix")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--html", action="store_true", help="show: write the run's HTML evaluation report"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="--html: where to write it (default .mlspec/reports/)"
    )
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--spec", help="only runs of this spec name")
    parser.add_argument(
        "--sweep",
        help="compare: the members of this sweep (its directory, or 'latest'; the default)",
    )
    args = parser.parse_args(argv)
    tracker = Tracker(Store.for_project(Path.cwd()).db_path)
    console = make_console()
    if args.action == "compare":
        return _compare(tracker, console, args.run_ids, args.sweep, args.json)
    if args.action == "ls":
        runs = tracker.list_runs(limit=args.limit, spec_name=args.spec)
        if args.json:
            print(json.dumps([_run_summary(tracker, r) for r in runs], indent=2, default=str))
            return 0
        table = Table(title="runs", caption="★: best member of its sweep")
        for col in ("run", "spec", "status", "started", "job", "stages ran/cached", "objective"):
            table.add_column(col)
        table.add_column("best")
        for r in runs:
            s = _run_summary(tracker, r)
            obj = f"{r.objective_name}={r.objective:.4f}" if r.objective is not None else ""
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
            job = f"#{r.job_num}" if r.job_num is not None else ""
            table.add_row(
                r.run_id,
                r.spec_name,
                r.status,
                started,
                job,
                f"{s['ran']}/{s['cached']}",
                obj,
                "★" if r.sweep_best else "",
            )
        console.print(table)
        return 0
    if len(args.run_ids) != 1:
        raise SpecError(
            Problem("missing_argument", "which run? (exactly one)", fix="mlspec runs show RUN_ID")
        )
    run = _get_run(tracker, args.run_ids[0])
    if args.html:
        print(write_html_report(Path.cwd(), tracker, run, args.output))
        return 0
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
    best = "  [bold]★ best of its sweep[/]" if run.sweep_best else ""
    console.print(f"[bold]run[/] {run.run_id}  spec {run.spec_name}  status {run.status}{best}")
    if run.sweep_dir:
        console.print(f"sweep: {run.sweep_dir}  job #{run.job_num}")
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
    for renderable in evaluation_details(Path.cwd(), tracker, run):
        console.print(renderable)
    return 0


def _run_summary(tracker: Tracker, run: object) -> dict[str, object]:
    stages = tracker.stage_executions(run.run_id)  # type: ignore[attr-defined]
    return {
        **{k: v for k, v in asdict(run).items() if k != "spec"},  # type: ignore[call-overload]
        "ran": sum(s.status == "miss" for s in stages),
        "cached": sum(s.status == "hit" for s in stages),
    }


def _get_run(tracker: Tracker, run_id: str) -> RunRecord:
    run = tracker.get_run(run_id)
    if run is None:
        raise SpecError(
            Problem("unknown_run", f"no run '{run_id}'", fix="list runs with `mlspec runs ls`")
        )
    return run


def _sweep_members(tracker: Tracker, sweep: str | None) -> list[RunRecord]:
    from mlspec.engine.sweep import find_sweep_dir

    sweeps = tracker.sweep_dirs()
    if not sweeps:
        raise SpecError(
            Problem(
                "no_sweep",
                "no sweep recorded in this project",
                fix="run one with `mlspec run -m conf=NAME key=a,b`, or name runs:"
                " `mlspec runs compare RUN_ID RUN_ID`",
            )
        )
    if sweep in (None, "latest"):
        sweep_dir: str | None = sweeps[0][0]
    else:
        sweep_dir = find_sweep_dir(tracker, str(sweep), Path.cwd())
    if sweep_dir is None:
        known = ", ".join(d for d, _ in sweeps[:5])
        raise SpecError(
            Problem(
                "unknown_sweep",
                f"no runs recorded with sweep directory '{sweep}'",
                fix=f"use --sweep latest or one of: {known}",
            )
        )
    return tracker.sweep_runs(sweep_dir)


def _compare(
    tracker: Tracker, console: Console, run_ids: list[str], sweep: str | None, as_json: bool
) -> int:
    from mlspec.engine.sweep import compare_runs

    if run_ids and sweep:
        raise SpecError(
            Problem(
                "conflicting_arguments",
                "give run ids or --sweep, not both",
                fix="mlspec runs compare RUN_ID RUN_ID ...  or  mlspec runs compare --sweep DIR",
            )
        )
    if run_ids:
        runs = list({r.run_id: r for r in (_get_run(tracker, i) for i in run_ids)}.values())
    else:
        runs = _sweep_members(tracker, sweep)
    comparison = compare_runs(tracker, runs)
    if as_json:
        print(json.dumps(comparison.to_json(), indent=2, default=str))
        return 0
    title = f"{len(runs)} runs side by side"
    if comparison.sweep_dir:
        title += f" (sweep {comparison.sweep_dir})"
    table = Table(title=escape(title))
    table.add_column("")
    for m in comparison.members:
        job = f"#{m.job_num} " if m.job_num is not None else ""
        table.add_column(f"{job}{'★' if m.best else ''}", justify="right")
    members = comparison.members

    def row(label: str, cells: list[str], style: str | None = None) -> None:
        table.add_row(escape(label), *(escape(c) for c in cells), style=style)

    row("run", [m.run_id for m in members])
    row("status", [m.status for m in members])
    for key in comparison.varying:
        row(key, [_cell(comparison.params[m.run_id].get(key, _ABSENT)) for m in members])
    if comparison.objective_name:
        way = {"maximize": "higher is better", "minimize": "lower is better"}.get(
            comparison.direction or "", "objective"
        )
        row(
            f"objective {comparison.objective_name} ({way})",
            [f"{m.objective:.4f}" if m.objective is not None else "-" for m in members],
            style="bold",
        )
    for split in ("valid", "test"):
        for name in comparison.metric_names(split):
            values = [comparison.metrics[m.run_id].get(split, {}).get(name) for m in members]
            row(f"{split} {name}", ["-" if v is None else f"{v:.4f}" for v in values])
    row("stages ran/cached", [f"{m.ran}/{m.cached}" for m in members])
    console.print(table)
    if not comparison.varying:
        console.print("the runs' resolved specs are identical")
    return 0


_ABSENT = object()


def _cell(value: object) -> str:
    if value is _ABSENT:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
