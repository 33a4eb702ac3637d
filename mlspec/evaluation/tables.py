"""Rich tables of a ``metrics`` artifact: the metrics with their intervals, and a compact
per-slice table. Used by ``mlspec run`` and ``mlspec runs show``; output only."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

SPLITS = ("valid", "test")
SLICE_METRICS = 3  # metrics shown per slice in the compact table (the spec's first ones)


def fmt(value: Any) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"


def fmt_interval(interval: Any) -> str:
    return "" if not interval else f" [{interval[0]:.3f}, {interval[1]:.3f}]"


def metric_names(metrics: dict[str, Any], splits: list[str]) -> list[str]:
    """The metrics in the spec's order (the artifact's ``metric_names``), else as found."""
    found = list(dict.fromkeys(n for s in splits for n in metrics.get(s) or {}))
    ordered = [n for n in metrics.get("metric_names") or [] if n in found]
    return ordered + [n for n in found if n not in ordered]


def metrics_table(metrics: dict[str, Any], label: str = "") -> Table:
    """metric x split; ``value [low, high]`` where the artifact has bootstrap intervals."""
    splits = [s for s in SPLITS if isinstance(metrics.get(s), dict) and metrics[s]]
    intervals = metrics.get("intervals") or {}
    boot = metrics.get("bootstrap")
    title = f"{label}metrics ({metrics.get('task', '?')})"
    if boot and any(intervals.get(s) for s in splits):
        title += f", {boot['level']:.0%} bootstrap intervals ({boot['samples']} samples)"
    table = Table(title=title)
    table.add_column("metric")
    for s in splits:
        table.add_column(s, justify="right")
    names = metric_names(metrics, splits)
    for name in names:
        row = [name]
        for s in splits:
            row.append(fmt(metrics[s].get(name)) + fmt_interval(intervals.get(s, {}).get(name)))
        table.add_row(*row)
    threshold = metrics.get("threshold")
    if threshold:
        how = (
            f"chosen by {threshold['chosen_by']} on {threshold['split']}"
            if threshold.get("split")
            else "fixed"
        )
        table.caption = f"decision threshold {threshold['value']:.4g} ({how})"
    return table


def slices_table(metrics: dict[str, Any], label: str = "", split: str = "test") -> Table | None:
    """One row per slice of ``split``: rows and the first few metrics with intervals."""
    entries = (metrics.get("slices") or {}).get(split) or []
    skipped = (metrics.get("skipped_slices") or {}).get(split) or []
    if not entries and not skipped:
        return None
    from mlspec.evaluation.slices import describe

    names = metric_names(metrics, [split])[:SLICE_METRICS]
    order = metrics.get("slice_columns")
    table = Table(title=f"{label}slices ({split})")
    table.add_column("slice")
    table.add_column("rows", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for e in entries:
        cells = [
            fmt(e["metrics"].get(n)) + fmt_interval((e.get("intervals") or {}).get(n))
            for n in names
        ]
        table.add_row(escape(describe(e["slice"], order)), str(e["rows"]), *cells)
    if skipped:
        shown = "; ".join(f"{describe(s['slice'], order)} ({s['rows']} rows)" for s in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        table.caption = escape(f"skipped, {skipped[0]['reason']}: {shown}{more}")
    return table


def evaluation_renderable(metrics: dict[str, Any], label: str = "") -> RenderableType:
    """The metrics table, followed by the slices table when the spec declares slices."""
    table = metrics_table(metrics, label)
    slices = slices_table(metrics, label)
    return Group(table, slices) if slices is not None else table
