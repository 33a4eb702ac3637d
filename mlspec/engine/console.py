"""Rich rendering of progress, summaries and errors. Output only; no decisions here."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table

from mlspec.engine.runner import NodeResult, Reporter
from mlspec.errors import MlspecError
from mlspec.plan.model import StageNode


def make_console(stderr: bool = False) -> Console:
    # Plain, wide output when not on a terminal (CI logs, tests): no wrapping of error lines.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=not sys.stdout.isatty())


class ConsoleReporter(Reporter):
    def __init__(self, console: Console, prefix: str = ""):
        self.console = console
        self.prefix = prefix

    def stage_started(self, node: StageNode) -> None:
        self.console.print(f"{self.prefix}[cyan]▶[/] {node.name:<12} running ({node.stage_id})")

    def stage_finished(self, result: NodeResult) -> None:
        if result.status == "hit":
            extra = " (computed by a parallel job)" if result.waited_for_other_job else ""
            mark = "[green]✓[/]"
            label = "[green]hit[/] "
        else:
            extra, mark, label = "", "[yellow]✓[/]", "[yellow]miss[/]"
        self.console.print(
            f"{self.prefix}{mark} {result.node:<12} {label} {result.duration_s:8.2f}s"
            f"  {result.key[:12]}{extra}"
        )

    def stage_log(self, node: str, message: str) -> None:
        # Messages carry data values ("[red]" could be a category): never read them as markup.
        self.console.print(f"{self.prefix}  [dim]{escape(node)}: {escape(message)}[/]")


def summary_table(results: list[NodeResult], title: str = "stages") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("key")
    for r in results:
        table.add_row(r.node, r.status, f"{r.duration_s:.2f}", r.key[:12])
    return table


def metrics_table(metrics: dict[str, Any], label: str = "") -> RenderableType:
    """Metrics with their bootstrap intervals, then per-slice metrics when slices are declared
    (``mlspec.evaluation.tables``)."""
    from mlspec.evaluation.tables import evaluation_renderable

    return evaluation_renderable(metrics, label)


def print_error(console: Console, error: MlspecError) -> None:
    console.print(error.render(), markup=False, highlight=False)
