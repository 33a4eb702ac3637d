"""Rich rendering of monitoring results and their history. Output only; no decisions here."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from rich.table import Table

_STYLE = {"drift": "bold red", "ok": "green", "insufficient_data": "yellow"}


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if value and abs(value) < 1e-3 else f"{value:.{digits}f}"
    return str(value)


def _status(text: str) -> str:
    style = _STYLE.get(text, "")
    return f"[{style}]{escape(text)}[/]" if style else escape(text)


def columns_table(result: dict[str, Any]) -> Table:
    drift = result["drift"]
    table = Table(title=f"drift per column ({result['id']})")
    for name in ("column", "kind", "test", "statistic", "p adj", "threshold", "PSI", "missing"):
        table.add_column(name, justify="left" if name in ("column", "kind", "test") else "right")
    table.add_column("unseen")
    table.add_column("status")
    items = list(drift.get("columns") or [])
    if drift.get("prediction"):
        items.append(
            {**drift["prediction"], "column": f"prediction ({drift['prediction']['column']})"}
        )
    for c in items:
        unseen = c.get("unseen_categories") or []
        table.add_row(
            escape(str(c["column"])),
            c["kind"],
            c["test"],
            _num(c.get("statistic")),
            _num(c.get("p_adjusted")),
            _num(c.get("threshold")),
            _num(c.get("psi")),
            f"{c['missing_rate_ref']:.1%}→{c['missing_rate_cur']:.1%}",
            escape(", ".join(map(str, unseen[:5])) + (" ..." if len(unseen) > 5 else "")),
            _status(c["status"]),
        )
    return table


def print_result(console: Any, result: dict[str, Any]) -> None:
    model, cur, drift = result["model"], result["current"], result["drift"]
    window = f", window {cur['window']}" if cur.get("window") else ""
    console.print(
        f"[bold]monitor[/] {result['id']}  model [bold]{escape(model['name'])}:{model['version']}"
        f"[/] ({escape(model['ref'])})  current {escape(cur['source'])}: {cur['rows']} rows"
        f"{escape(window)}, reference {drift.get('rows_reference')} rows"
    )
    if result.get("ignored"):
        console.print(f"[dim]not compared: {escape(', '.join(result['ignored']))}[/]")
    console.print(columns_table(result))
    perf = result.get("performance")
    if perf:
        table = Table(
            title=f"performance on {perf['rows']} labelled rows vs training ({perf['split']})"
        )
        for name in ("metric", "training", "current", "drop"):
            table.add_column(name, justify="left" if name == "metric" else "right")
        for name, m in perf["metrics"].items():
            worse = m["drop"] is not None and m["drop"] > 0
            drop = _num(m["drop"])
            table.add_row(
                name, _num(m["training"]), _num(m["current"]), f"[red]{drop}[/]" if worse else drop
            )
        console.print(table)
    rule = result["retrain_when"]
    for c in rule["conditions"]:
        mark = "[bold]holds[/]" if c["holds"] else "does not hold"
        console.print(f"  retrain_when {escape(c['condition'])}: {mark} ({escape(c['why'])})")
    console.print(
        f"{_status(result['status'])}: dataset drift {'yes' if drift['dataset_drift'] else 'no'}"
        f" ({drift['n_drifted']} of {drift['n_tested']} columns, {drift['share_drifted']:.0%}),"
        f" prediction drift {'yes' if (drift.get('prediction') or {}).get('drifted') else 'no'};"
        f" retrain rule {'holds' if rule['holds'] else 'does not hold'}"
    )
    r = result.get("retrain")
    if r:
        version = f" version {r['version']}" if r.get("version") is not None else ""
        console.print(
            f"[bold]retrained[/] run {r['run_id']}: {r['outcome']}{version}"
            f" (window {r['window']['kind']}, {r['window']['rows']} rows)"
        )


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def print_history(
    console: Any, rows: list[Any], columns: dict[str, list[dict[str, Any]]], column: str | None
) -> None:
    """Results newest first; then each column's statistic across the results (oldest left)."""
    table = Table(title=f"monitoring results ({len(rows)})")
    for name in ("result", "created", "version", "rows", "status", "share drifted", "retrain"):
        table.add_column(name)
    for r in rows:
        retrain = f"{r.retrain_outcome} ({r.retrain_run_id})" if r.retrain_run_id else "-"
        table.add_row(
            r.id,
            _when(r.created_at),
            str(r.model_version),
            str(r.rows_current),
            _status(r.status),
            f"{r.share_drifted:.0%}" if r.share_drifted is not None else "-",
            escape(retrain),
        )
    console.print(table)
    ordered = list(reversed(rows))
    names = list(dict.fromkeys(c["column"] for r in ordered for c in columns.get(r.id, [])))
    if not names:
        return
    grid = Table(
        title=f"{'column ' + column if column else 'drift per column'}: statistic per result"
        " (red: drifted), oldest first"
    )
    grid.add_column("column")
    for r in ordered:
        grid.add_column(r.id.split("-", 1)[1], justify="right")
    for name in names:
        cells = []
        for r in ordered:
            hit = next((c for c in columns.get(r.id, []) if c["column"] == name), None)
            if hit is None:
                cells.append("")
                continue
            text = _num(hit["statistic"], 3)
            cells.append(f"[red]{text}[/]" if hit["drifted"] else text)
        grid.add_row(escape(name), *cells)
    console.print(grid)
