"""Rich rendering of gate outcomes and registrations (output only; no decisions here)."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.markup import escape
from rich.table import Table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _slice(value: dict[str, Any] | None) -> str:
    return "all rows" if not value else ", ".join(f"{k}={v}" for k, v in value.items())


def gates_table(gates: list[dict[str, Any]], title: str, only_failed: bool = False) -> Table:
    table = Table(title=title)
    for col in ("gate", "metric", "split", "slice", "value", "threshold", "champion", "result"):
        numeric = col in ("value", "threshold", "champion")
        table.add_column(col, justify="right" if numeric else "left")
    table.add_column("reason")
    for g in gates:
        if only_failed and g["passed"]:
            continue
        table.add_row(
            escape(g["gate"]),
            escape(g["metric"]),
            g["split"],
            escape(_slice(g.get("slice"))),
            _fmt(g.get("value")),
            _fmt(g.get("threshold")),
            _fmt(g.get("champion_value")),
            "[green]pass[/]" if g["passed"] else "[red]FAIL[/]",
            escape(g["reason"]),
        )
    return table


_REFUSAL = re.compile(r"^\d+ of \d+ gate\(s\) failed")


def is_refusal(error: str | None) -> bool:
    """Whether a failed run's recorded error is its gates' refusal (see ``refusal_text``)."""
    return bool(error and _REFUSAL.match(error))


def refusal_text(registration: dict[str, Any] | None) -> str:
    if not registration:
        return ""
    failed = [g for g in registration["gates"] if not g["passed"]]
    reasons = "; ".join(f"{g['gate']} ({_slice(g.get('slice'))}): {g['reason']}" for g in failed)
    what = f"model '{registration['name']}' was not registered" if registration["name"] else ""
    head = f"{len(failed)} of {len(registration['gates'])} gate(s) failed"
    return f"{head}: {reasons}" + (f"; {what}" if what else "")


def registration_report(registration: dict[str, Any], label: str = "") -> list[Any]:
    """What the run summary shows about gates and registration."""
    out: list[Any] = []
    gates = registration["gates"]
    if gates:
        if registration["blessed"]:
            out.append(gates_table(gates, f"{label}gates: blessed"))
        else:
            out.append(gates_table(gates, f"{label}failed gates: not blessed", only_failed=True))
    name = registration.get("name")
    if not registration["blessed"]:
        out.append(
            "[bold red]not blessed[/]: "
            + escape(refusal_text(registration))
            + ("" if name else " (gates only: no register section)")
        )
        return out
    if not name:
        out.append("[bold green]blessed[/] (gates only: no register section, nothing registered)")
        return out
    ref = f"{name}:{registration['version']}"
    if registration["created"]:
        line = f"[bold green]registered[/] {escape(ref)}"
    else:
        line = f"[bold]already registered[/] as version {registration['version']} ({escape(ref)})"
    line += f"  model digest {str(registration['model_digest'])[7:19]}"
    line += f"  format {registration['model_format']}"
    alias = registration.get("alias")
    if alias:
        if registration["alias_moved"]:
            before = registration["alias_previous"]
            moved = f" (was version {before})" if before is not None else ""
            line += f"; @{escape(alias)} -> {registration['version']}{moved}"
        else:
            line += f"; @{escape(alias)} already on {registration['version']}"
    out.append(line)
    if registration.get("fallback_reason"):
        out.append(f"[yellow]saved with joblib[/]: {escape(registration['fallback_reason'])}")
    return out


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
