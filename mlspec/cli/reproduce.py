"""mlspec reproduce NAME@ALIAS|NAME:VERSION [--keep DIR] [--json] — re-execute the spec that
registered a model, in a scratch store, and report whether the model digest and metrics match
(exit 0 when both do, 1 otherwise)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if text.startswith("blake3:"):
        return text[:23]  # enough to tell digests apart; --json has them whole
    return text if len(text) <= 60 else text[:57] + "..."


def command(argv: list[str]) -> int | None:
    from mlspec.engine.reproduce import reproduce

    parser = make_parser("reproduce", "Rebuild a registered model from its lineage and compare.")
    parser.add_argument("ref", metavar="NAME@ALIAS|NAME:VERSION")
    parser.add_argument("--keep", help="rebuild in this directory and keep it (default: temp)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    console = make_console(stderr=args.json)
    keep = Path(args.keep).resolve() if args.keep else None
    report = reproduce(args.ref, Path.cwd(), console, keep)
    if args.json:
        print(json.dumps(asdict(report) | {"ok": report.ok}, indent=2, default=str))
        return 0 if report.ok else 1
    table = Table(title=f"reproduce {escape(report.ref)} (run {report.run_id})")
    for col in ("kind", "item", "recorded", "rebuilt", "match"):
        table.add_column(col)
    for row in report.rows:
        table.add_row(
            row["kind"],
            escape(row["item"]),
            escape(_cell(row["recorded"])),
            escape(_cell(row["rebuilt"])),
            "[green]yes[/]" if row["match"] else "[red]NO[/]",
        )
    console.print(table)
    verdict = "[bold green]reproduced[/]" if report.ok else "[bold red]not reproduced[/]"
    console.print(
        f"{verdict}: model digest {'matches' if report.digest_match else 'differs'},"
        f" metrics {'match' if report.metrics_match else 'differ'}"
        " (model digest = every bundle file but metadata.json)"
    )
    return 0 if report.ok else 1
