"""mlspec plugins — installed plugins of every kind, the package providing each, and whether it
loads. Exit code 1 when any plugin is broken, so CI can catch a bad install."""

from __future__ import annotations

from rich.table import Table

from mlspec.engine.console import make_console
from mlspec.stages.cleaning.api import CleanerRegistry
from mlspec.stages.features.steps import TransformRegistry
from mlspec.stages.loaders.api import LoaderRegistry
from mlspec.stages.registry import PluginRegistry, StageRegistry


def command(argv: list[str]) -> int | None:
    registries: list[PluginRegistry] = [
        StageRegistry(),
        LoaderRegistry(),
        CleanerRegistry(),
        TransformRegistry(),
    ]
    table = Table(title="plugins")
    for col in ("kind", "name", "package", "target", "status"):
        table.add_column(col)
    broken = False
    for registry in registries:
        status = registry.check_all()
        for name in registry.names():
            problem = status[name]
            broken = broken or problem is not None
            for entry in registry.entries(name):
                table.add_row(
                    f"{registry.kind} ({registry.group})",
                    name,
                    entry.distribution,
                    entry.value,
                    "[green]ok[/]" if problem is None else f"[red]{problem}[/]",
                )
    make_console().print(table)
    return 1 if broken else 0
