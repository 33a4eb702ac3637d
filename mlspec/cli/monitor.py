"""mlspec monitor — drift of current data against a registered model's reference; retrain.

    mlspec monitor conf=NAME current=PATH|serving-log [model=NAME@ALIAS] [overrides...]
                   [--json] [--html FILE] [--retrain] [--last N|24h] [--since T] [--until T]
    mlspec monitor history NAME [--column C] [--limit N] [--json]
    mlspec monitor show RESULT_ID [--json] [--html FILE]

Exit codes: 0 no drift, 1 drift (or the retrain rule holds), 2 error (bad spec, bad or empty
current data, unknown model). ``model=`` with ``@`` or ``:`` names the model; without them it is
the Hydra group override that picks the estimator preset (as in ``mlspec run``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mlspec.cli.main import make_parser


def _parser() -> Any:
    parser = make_parser("monitor", "drift of current data against a model's reference profile")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--html", metavar="FILE", help="write the self-contained HTML report")
    parser.add_argument("--retrain", action="store_true", help="retrain when retrain_when holds")
    parser.add_argument("--last", help="serving-log window: N rows or a duration (24h, 7d)")
    parser.add_argument("--since", help="serving-log rows at or after this time (ISO)")
    parser.add_argument("--until", help="serving-log rows before this time (ISO)")
    parser.add_argument("--column", help="history: one column's values")
    parser.add_argument("--limit", type=int, default=20, help="history: results shown")
    return parser


def command(argv: list[str]) -> int | None:
    args, rest = _parser().parse_known_args(argv)
    bad = [a for a in rest if a.startswith("-")]
    if bad:
        _parser().error(f"unknown option {bad[0]}")
    if rest and rest[0] == "history":
        return _history(rest[1:], args)
    if rest and rest[0] == "show":
        return _show(rest[1:], args)
    return _monitor(rest, args)


def _monitor(rest: list[str], args: Any) -> int:
    from mlspec.config.locate import locate_spec, split_conf_arg
    from mlspec.engine.console import make_console
    from mlspec.engine.monitoring import SERVING_LOG, MonitorRequest, run_monitor
    from mlspec.errors import Problem, SpecError

    conf, rest = split_conf_arg(rest)
    current, model, overrides = None, None, []
    for arg in rest:
        key, _, value = arg.partition("=")
        if key == "current" and current is None:
            current = value
        elif key == "model" and ("@" in value or ":" in value):
            model = value
        else:
            overrides.append(arg)
    if not current:
        raise SpecError(
            Problem(
                "missing_current",
                "no current data given",
                file="command line",
                fix=f"pass current=PATH (parquet, CSV or JSON lines) or current={SERVING_LOG}",
            )
        )
    source = locate_spec(conf, Path.cwd())
    console = make_console(stderr=args.json)  # --json: stdout holds the JSON only
    request = MonitorRequest(
        source, overrides, current, model, args.last, args.since, args.until, args.retrain
    )
    result = run_monitor(request, console).result
    _output(result, args, console)
    return int(result["exit_code"])


def _output(result: dict[str, Any], args: Any, console: Any) -> None:
    from mlspec.cli.monitor_view import print_result

    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print_result(console, result)
    if args.html:
        from mlspec.monitor.report import render_html
        from mlspec.store.objects import atomic_write

        path = Path(args.html).resolve()
        atomic_write(path, render_html(result).encode("utf-8"), path.parent)
        print(f"report: {path}", file=sys.stderr if args.json else sys.stdout)


def _records() -> Any:
    from mlspec.monitor.records import MonitorRecords
    from mlspec.store import Store

    return MonitorRecords(Store.for_project(Path.cwd()).db_path)


def _show(rest: list[str], args: Any) -> int:
    from mlspec.engine.console import make_console
    from mlspec.errors import MlspecError, Problem, did_you_mean

    records = _records()
    if len(rest) != 1:
        raise _usage("mlspec monitor show RESULT_ID [--json] [--html FILE]")
    result = records.get(rest[0])
    if result is None:
        ids = records.ids()
        hint = did_you_mean(rest[0], ids)
        error = MlspecError(
            Problem(
                "unknown_result",
                f"no monitoring result '{rest[0]}'",
                fix=(hint + " " if hint else "")
                + ("latest: " + ", ".join(ids[-3:]) if ids else "nothing was monitored yet"),
            )
        )
        error.exit_code = 2
        raise error
    _output(result, args, make_console(stderr=args.json))
    return 0


def _history(rest: list[str], args: Any) -> int:
    from mlspec.cli.monitor_view import print_history
    from mlspec.engine.console import make_console

    if len(rest) > 1:
        raise _usage("mlspec monitor history [NAME] [--column C] [--limit N] [--json]")
    records = _records()
    rows = records.results(rest[0] if rest else None, limit=args.limit)
    columns = records.column_history([r.id for r in rows], args.column)
    if args.json:
        payload = [{**vars(r), "columns": columns.get(r.id, [])} for r in rows]
        print(json.dumps(payload, indent=2, default=str))
        return 0
    print_history(make_console(), rows, columns, args.column)
    return 0


def _usage(text: str) -> Exception:
    from mlspec.errors import Problem, SpecError

    return SpecError(Problem("usage", "wrong arguments", fix=f"usage: {text}"))
