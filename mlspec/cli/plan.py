"""mlspec plan conf=NAME [overrides...] [--json] — what would run and why; runs nothing."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from mlspec.config.locate import locate_spec, split_conf_arg
from mlspec.engine.console import make_console
from mlspec.engine.operations import plan_status


def command(argv: list[str]) -> int | None:
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    conf, overrides = split_conf_arg(argv)
    source = locate_spec(conf, Path.cwd())
    plan, statuses = plan_status(source, overrides)
    if as_json:
        payload = {
            "spec": plan.spec_name,
            "stages": [
                {"name": s.node, "key": s.key, "status": s.status, "reason": s.reason}
                for s in statuses
            ],
        }
        print(json.dumps(payload, indent=2))
        return 0
    console = make_console()
    table = Table(title=f"plan for {plan.spec_name}")
    for col in ("stage", "status", "key", "reason"):
        table.add_column(col)
    for node, s in zip(plan.nodes, statuses, strict=True):
        colour = "green" if s.status == "hit" else "yellow"
        status = f"[{colour}]{s.status}[/]"
        table.add_row(f"{node.name} ({node.stage_id})", status, (s.key or "?")[:12], s.reason)
    console.print(table)
    misses = sum(s.status == "miss" for s in statuses)
    console.print(f"{len(statuses) - misses} cached, {misses} would run")
    return 0
