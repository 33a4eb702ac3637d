"""mlspec plugins — installed stage plugins, the package providing each, and whether it loads."""

from __future__ import annotations

from rich.table import Table

from mlspec.engine.console import make_console
from mlspec.stages.registry import StageRegistry


def command(argv: list[str]) -> int | None:
    registry = StageRegistry()
    status = registry.check_all()
    table = Table(title="stage plugins (entry-point group mlspec.stages)")
    for col in ("name", "package", "target", "status"):
        table.add_column(col)
    for name in registry.names():
        for entry in registry.entries(name):
            problem = status[name]
            table.add_row(
                name,
                entry.distribution,
                entry.value,
                "[green]ok[/]" if problem is None else f"[red]{problem}[/]",
            )
    make_console().print(table)
    return 1 if any(status.values()) else 0
