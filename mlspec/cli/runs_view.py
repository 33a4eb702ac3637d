"""What `mlspec runs` prints: the ls table, one run in detail, runs side by side, exports."""

from __future__ import annotations

import csv
import io
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from mlspec.errors import Problem, SpecError
from mlspec.tracking import Tracker
from mlspec.tracking.filter import Key
from mlspec.tracking.query import RunDetails, RunRow, dumps_lines, export_rows

if TYPE_CHECKING:
    from mlspec.engine.sweep import Comparison

_ABSENT = object()


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return (
            "nan" if math.isnan(value) else f"{value:.4g}" if abs(value) >= 1e5 else f"{value:.4f}"
        )
    return str(value)


def _key_label(key: Key) -> str:
    return key.name if key.entity == "attr" else f"{key.entity}s.{key.name}"


def print_ls(
    console: Any,
    rows: Sequence[RunRow],
    keys: Sequence[Key],
    counts: dict[str, tuple[int, int]],
    filtered: bool,
) -> None:
    """One line per run, plus a column for each metric/param/tag the filter or sort names."""
    shown = list({(k.entity, k.name): k for k in keys if k.entity != "attr"}.values())
    title = f"runs ({len(rows)}{' matching' if filtered else ''})"
    engine = any(r.run.source != "fluent" for r in rows)
    columns = ["run", "spec", "name", "status", "started"]
    if any(r.run.job_num is not None for r in rows):
        columns.append("job")
    if engine:
        columns.append("stages ran/cached")
    if any(r.run.objective is not None for r in rows):
        columns.append("objective")
    columns += [_key_label(k) for k in shown]
    sweeps = any(r.run.sweep_best for r in rows)
    if sweeps:
        columns.append("best")
    table = Table(title=title, caption="★: best member of its sweep" if sweeps else None)
    for col in columns:
        table.add_column(escape(col))
    for row in rows:
        r = row.run
        ran, cached = counts.get(r.run_id, (0, 0))
        values = {
            "run": r.run_id,
            "spec": r.spec_name,
            "name": r.run_name or "",
            "status": r.status,
            "started": _when(r.started_at),
            "job": f"#{r.job_num}" if r.job_num is not None else "",
            "stages ran/cached": f"{ran}/{cached}" if r.source != "fluent" else "",
            "objective": f"{r.objective_name}={r.objective:.4f}" if r.objective is not None else "",
            "best": "★" if r.sweep_best else "",
        }
        values.update({_key_label(k): _key_value(row, k) for k in shown})
        table.add_row(*(escape(values[c]) for c in columns))
    console.print(table)


def _key_value(row: RunRow, key: Key) -> str:
    if key.entity == "metric":
        # As the filter reads it: the logged metric, else the validation split's.
        for candidate in (key.name, f"valid.{key.name}"):
            if candidate in row.metrics:
                return _num(row.metrics[candidate])
        return "-"
    source = row.params if key.entity == "param" else row.tags
    return source.get(key.name, "-")


def print_show(
    console: Any, tracker: Tracker, details: RunDetails, evaluation: Sequence[Any] = ()
) -> None:
    """One run; ``evaluation``: the evaluate stage's tables (metrics with intervals, slices),
    printed after the metrics table, which then leaves out the split metrics they show."""
    split_metrics_shown = any("metrics (" in str(getattr(r, "title", "")) for r in evaluation)
    run = details.run
    best = "  [bold]★ best of its sweep[/]" if run.sweep_best else ""
    name = f"  name {escape(run.run_name)}" if run.run_name else ""
    console.print(
        f"[bold]run[/] {run.run_id}{name}  spec {escape(run.spec_name)}  status {run.status}{best}"
    )
    took = f"  ({run.finished_at - run.started_at:.1f}s)" if run.finished_at else ""
    console.print(f"started {_when(run.started_at)}{took}")
    if run.parent_run_id:
        console.print(f"parent run: {run.parent_run_id}")
    if run.sweep_dir:
        console.print(f"sweep: {escape(run.sweep_dir)}  job #{run.job_num}")
    if run.source != "fluent":
        console.print(f"overrides: {escape(' '.join(run.overrides)) or '(none)'}")
        stages = tracker.stage_executions(run.run_id)
        if stages:
            table = Table(title="stages")
            for col in ("stage", "status", "seconds", "key"):
                table.add_column(col)
            for execution in stages:
                table.add_row(
                    execution.node,
                    execution.status,
                    f"{execution.duration_s:.2f}",
                    execution.key[:12],
                )
            console.print(table)
        for row in tracker.accounting(run.run_id):
            console.print(
                f"rows {row['step']}: {row['rows_in']} -> {row['rows_out']}"
                f" ({row['removed']} removed/quarantined, {row['changed']} changed)"
            )
    shown = {k: m for k, m in details.metrics.items() if m["logged"] or not split_metrics_shown}
    if shown:
        table = Table(title="metrics")
        for col in ("metric", "value", "step", "values logged"):
            table.add_column(col, justify="right" if col != "metric" else "left")
        for key, m in shown.items():
            table.add_row(
                escape(key),
                _num(m["value"]),
                "" if m["step"] is None else str(m["step"]),
                str(m["history"]) if m["logged"] else "",
            )
        console.print(table)
    for renderable in evaluation:
        console.print(renderable)
    if details.params:
        table = Table(title="params")
        table.add_column("param")
        table.add_column("value")
        for key, value in details.params.items():
            table.add_row(escape(key), escape(value))
        console.print(table)
    if details.tags:
        console.print(
            "tags: " + ", ".join(f"{escape(k)}={escape(v)}" for k, v in details.tags.items())
        )
    _print_lineage(console, details)


def _print_lineage(console: Any, details: RunDetails) -> None:
    lineage = details.lineage
    code = lineage.get("code", {})
    env = lineage.get("environment", {})
    console.print("[bold]lineage[/]")
    if code:
        dirty = {True: " (uncommitted changes)", False: " (clean)"}.get(code.get("dirty"), "")
        console.print(
            f"  code: git {code.get('commit') or '-'}{dirty}, mlspec {code.get('mlspec', '?')}"
        )
    if env:
        console.print(
            f"  python {env.get('python')} ({env.get('implementation')}) on {env.get('platform')}"
        )
        libs = env.get("libraries", {})
        if libs:
            console.print("  libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()))
    config = lineage.get("config", {})
    if config.get("choices"):
        console.print(
            "  config: "
            + ", ".join(f"{k}={v}" for k, v in config["choices"].items())
            + "  (resolved spec: --json)"
        )
    trigger = lineage.get("trigger")
    if trigger:
        what = ", ".join(f"{k} {v}" for k, v in trigger.items() if k != "kind" and v is not None)
        console.print(f"  triggered by {escape(str(trigger.get('kind', '?')))}: {escape(what)}")
    for name, f in lineage.get("data", {}).get("files", {}).items():
        console.print(f"  data {escape(name)}: {escape(f['path'])} {f['digest']}")
    for name, digest in details.outputs.items():
        console.print(f"  artifact {escape(name)}: {digest}")
    for art in details.artifacts:
        console.print(f"  logged artifact {escape(art['path'])}: {art['digest']} ({art['size']} B)")


# -- compare ---------------------------------------------------------------------------------
def _param_keys(details: dict[str, RunDetails]) -> list[str]:
    return list(dict.fromkeys(k for d in details.values() for k in d.params))


def _varying_params(details: dict[str, RunDetails]) -> list[str]:
    return [
        k
        for k in _param_keys(details)
        if len({d.params.get(k, "\0absent") for d in details.values()}) > 1
    ]


def compare_payload(comparison: Comparison, details: dict[str, RunDetails]) -> dict[str, Any]:
    payload = comparison.to_json()
    extra = [k for k in _varying_params(details) if k not in comparison.varying]
    payload["varying"] = [*comparison.varying, *extra]
    for member in payload["members"]:
        d = details[member["run_id"]]
        member["params"].update({k: d.params[k] for k in extra if k in d.params})
        member["logged_metrics"] = {k: m["value"] for k, m in d.metrics.items() if m["logged"]}
        member["tags"] = d.tags
        member["run_name"] = d.run.run_name
    return payload


def print_compare(
    console: Any, comparison: Comparison, details: dict[str, RunDetails], show_all: bool
) -> None:
    """Runs side by side: params that differ in yellow (all params with --all), each metric's
    best value in green when its direction is known."""
    from mlspec.engine.sweep import metric_direction

    members = comparison.members
    title = f"{len(members)} runs side by side"
    if comparison.sweep_dir:
        title += f" (sweep {comparison.sweep_dir})"
    table = Table(title=escape(title), caption="yellow: differs between the runs; green: best")
    table.add_column("")
    for m in members:
        job = f"#{m.job_num} " if m.job_num is not None else ""
        table.add_column(f"{job}{'★' if m.best else ''}", justify="right")

    def row(label: str, cells: list[str], style: str | None = None) -> None:
        table.add_row(escape(label), *cells, style=style)

    row("run", [m.run_id for m in members])
    names = [details[m.run_id].run.run_name or "" for m in members]
    if any(names):
        row("name", [escape(n) for n in names])
    row("status", [m.status for m in members])
    varying = _varying_params(details)
    keys = _param_keys(details) if show_all else varying
    for key in keys:
        texts = [details[m.run_id].params.get(key) for m in members]
        differs = key in varying
        row(
            key,
            [escape("-" if v is None else v) for v in texts],
            style="yellow" if differs else "dim",
        )
    if comparison.objective_name:
        way = {"maximize": "higher is better", "minimize": "lower is better"}.get(
            comparison.direction or "", "objective"
        )
        row(
            f"objective {comparison.objective_name} ({way})",
            _highlight([m.objective for m in members], comparison.direction),
            style="bold",
        )
    metric_keys = list(dict.fromkeys(k for m in members for k in details[m.run_id].metrics))
    for key in sorted(metric_keys, key=lambda k: (k.startswith(("valid.", "test.")), k)):
        values = [details[m.run_id].metrics.get(key, {}).get("value") for m in members]
        name = key.split(".", 1)[1] if key.startswith(("valid.", "test.")) else key
        label = key.replace(".", " ", 1) if key.startswith(("valid.", "test.")) else key
        row(label, _highlight(values, metric_direction(name)))
    if any(details[m.run_id].run.source != "fluent" for m in members):
        row("stages ran/cached", [f"{m.ran}/{m.cached}" for m in members])
    console.print(table)
    if not varying:
        console.print("the runs' params are identical")


def _highlight(values: list[float | None], direction: str | None) -> list[str]:
    usable = [v for v in values if v is not None and not math.isnan(v)]
    best = None
    if direction and len(set(usable)) > 1:
        best = max(usable) if direction == "maximize" else min(usable)
    cells = []
    for v in values:
        text = escape(_num(v))
        cells.append(f"[bold green]{text}[/]" if best is not None and v == best else text)
    return cells


# -- export ----------------------------------------------------------------------------------
def export_runs(rows: Sequence[RunRow], fmt: str | None, output: str | None, console: Any) -> int:
    if fmt is None:
        suffix = Path(output).suffix.lower() if output else ""
        fmt = "json" if suffix == ".json" else "csv"
        if output and suffix not in (".csv", ".json"):
            raise SpecError(
                Problem(
                    "unknown_format",
                    f"cannot tell the format of '{output}' from its suffix",
                    fix="name the file .csv or .json, or pass --format csv|json",
                )
            )
    if fmt == "json":
        text = dumps_lines([r.to_json() for r in rows]) + "\n"
    else:
        columns, flat = export_rows(rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(flat)
        text = buffer.getvalue()
    if output is None:
        sys.stdout.write(text)
        return 0
    from mlspec.store.objects import atomic_write

    target = Path(output).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text.encode("utf-8"), target.parent)
    console.print(f"wrote {len(rows)} runs to {escape(str(target))} ({fmt})")
    return 0
