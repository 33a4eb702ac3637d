"""mlspec runs [ls|show RUN_ID|compare [RUN_ID ...]|export] — the run records in the project's
database.

    mlspec runs ls --filter "metrics.roc_auc > 0.9 and params.model = lightgbm"
                   --sort "metrics.roc_auc desc" --limit 10 [--json]
    mlspec runs show RUN_ID [--json]   |   mlspec runs show RUN_ID --html [-o report.html]
    mlspec runs compare RUN_A RUN_B ... [--all] [--json]      (no ids: the latest sweep)
    mlspec runs export [--filter ...] [--sort ...] --format csv|json -o FILE
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlspec.cli.main import make_parser
from mlspec.cli.runs_view import (
    compare_payload,
    export_runs,
    print_compare,
    print_ls,
    print_show,
)
from mlspec.engine.console import make_console
from mlspec.engine.report import evaluation_details, write_html_report
from mlspec.errors import Problem, SpecError
from mlspec.store import Store
from mlspec.tracking import RunRecord, Tracker
from mlspec.tracking.query import dumps_lines, run_details, search, stage_counts

ACTIONS = ["ls", "show", "compare", "export"]


def command(argv: list[str]) -> int | None:
    parser = make_parser("runs", "List, filter, show, compare and export recorded runs.")
    parser.add_argument("action", nargs="?", default="ls", choices=ACTIONS)
    parser.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="a run id or its prefix")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--filter",
        "-f",
        help='ls/export: e.g. "metrics.roc_auc > 0.9 and params.model = lightgbm"',
    )
    parser.add_argument(
        "--sort", help='ls/export: e.g. "metrics.roc_auc desc" (default: newest first)'
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="ls: at most N runs (default 20; 0: all)"
    )
    parser.add_argument("--spec", help="only runs of this spec name")
    parser.add_argument(
        "--sweep",
        help="compare: the members of this sweep (its directory, or 'latest'; the default)",
    )
    parser.add_argument("--all", action="store_true", help="compare: also the params that agree")
    parser.add_argument(
        "--format", choices=["csv", "json"], help="export: default from -o's suffix"
    )
    parser.add_argument(
        "--html", action="store_true", help="show: write the run's HTML evaluation report"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="export: the file to write (default: stdout); show --html: where to write the"
        " report (default .mlspec/reports/)",
    )
    args = parser.parse_args(argv)
    tracker = Tracker(_db_path())
    console = make_console()
    if args.action == "compare":
        return _compare(tracker, console, args)
    if args.action in ("ls", "export"):
        filter_string = args.filter
        if args.spec:
            spec = json.dumps(args.spec)  # a double-quoted string in the filter syntax
            filter_string = f"spec = {spec}" + (f" and ({filter_string})" if filter_string else "")
        default_limit = 20 if args.action == "ls" else 0
        limit = default_limit if args.limit is None else args.limit
        rows, keys = search(tracker, filter_string, args.sort, limit or None)
        if args.action == "export":
            output = str(args.output) if args.output is not None else None
            return export_runs(rows, args.format, output, console)
        counts = stage_counts(tracker, [r.run_id for r in rows])
        if args.json:
            payload = []
            for row in rows:
                ran, cached = counts.get(row.run_id, (0, 0))
                payload.append(row.to_json() | {"ran": ran, "cached": cached})
            print(dumps_lines(payload))
            return 0
        print_ls(console, rows, keys, counts, filtered=bool(filter_string))
        if limit and len(rows) == limit:
            console.print(f"[dim]the first {limit} runs; --limit N shows more, --limit 0 all[/]")
        return 0
    if len(args.run_ids) != 1:
        raise SpecError(
            Problem("missing_argument", "which run? (exactly one)", fix="mlspec runs show RUN_ID")
        )
    run = _get_run(tracker, args.run_ids[0])
    if args.html:
        print(write_html_report(Path.cwd(), tracker, run, args.output))
        return 0
    details = run_details(tracker, run)
    if args.json:
        stages = tracker.stage_executions(run.run_id)
        shown: dict[str, Any] = (
            asdict(run)
            | {
                "stages": [{k: v for k, v in asdict(s).items() if k != "preimage"} for s in stages],
                "metrics": tracker.metrics(run.run_id),
                "rows": tracker.accounting(run.run_id),
            }
            | details.to_json()
        )
        shown["lineage"] = details.lineage | {"artifacts": details.outputs}
        print(json.dumps(shown, indent=2, default=str))
        return 0
    print_show(console, tracker, details, evaluation_details(Path.cwd(), tracker, run))
    return 0


def _db_path() -> Path:
    """The project's database: ``$MLSPEC_TRACKING_URI`` if set (as the fluent API reads it),
    else the store of the current directory (``$MLSPEC_STORE`` overrides it)."""
    if os.environ.get("MLSPEC_TRACKING_URI"):
        from mlspec.tracking.fluent import db_path

        return db_path()
    return Store.for_project(Path.cwd()).db_path


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


def _compare(tracker: Tracker, console: object, args: object) -> int:
    from mlspec.engine.sweep import compare_runs

    run_ids: list[str] = args.run_ids  # type: ignore[attr-defined]
    sweep: str | None = args.sweep  # type: ignore[attr-defined]
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
    details = {r.run_id: run_details(tracker, r) for r in runs}
    if args.json:  # type: ignore[attr-defined]
        print(json.dumps(compare_payload(comparison, details), indent=2, default=str))
        return 0
    print_compare(console, comparison, details, show_all=args.all)  # type: ignore[attr-defined]
    return 0
