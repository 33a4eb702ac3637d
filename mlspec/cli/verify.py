"""mlspec verify [--repair] — check every stored object against its digest."""

from __future__ import annotations

from pathlib import Path

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console
from mlspec.engine.operations import verify_store


def command(argv: list[str]) -> int | None:
    parser = make_parser("verify", "Check every object in the store against its digest.")
    parser.add_argument("--repair", action="store_true", help="delete damaged objects and records")
    args = parser.parse_args(argv)
    report = verify_store(Path.cwd(), repair=args.repair)
    console = make_console()
    for problem in report.problems:
        console.print(f"[red]problem[/] {problem}", markup=True)
    for removed in report.removed:
        console.print(f"removed {removed}")
    console.print(
        f"checked {report.objects_checked} objects and {report.actions_checked} action records:"
        f" {len(report.problems)} problems"
    )
    return 1 if report.problems and not args.repair else 0
