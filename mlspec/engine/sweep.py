"""Sweeps: the summary at the end of a Hydra multirun, the best member, and side-by-side comparison.

``SweepSummary`` is a Hydra callback that ``mlspec run`` registers by default (see
``mlspec.config.hydra_glue.DEFAULT_HYDRA_OVERRIDES``). Hydra calls ``on_multirun_end`` in the
process that launched the sweep, after every job has finished, whatever the launcher (basic, joblib)
or sweeper (basic, Optuna). It reads the sweep's runs from the project's database — every job
recorded its ``sweep_dir`` and job number — prints one table of the members, and flags the best
member (``runs.sweep_best``) so `mlspec runs ls/compare` can show it later.

Everything but the callback is plain functions over run records, unit-tested without Hydra.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hydra.experimental.callback import Callback

from mlspec.evaluation.names import MAXIMIZE, MINIMIZE
from mlspec.tracking import RunRecord, Tracker
from mlspec.tracking.db import flatten

if TYPE_CHECKING:
    from rich.table import Table

Direction = Literal["maximize", "minimize"]


def metric_direction(name: str | None) -> Direction | None:
    """The natural direction of a metric: higher is better (maximize) or lower (minimize)."""
    if name in MAXIMIZE:
        return "maximize"
    if name in MINIMIZE:
        return "minimize"
    return None


def sweeper_direction(value: Any) -> Direction | None:
    """``hydra.sweeper.direction`` as the Optuna sweeper accepts it: ``maximize``,
    ``Direction.maximize`` (its enum), or a one-element list of either. None when absent or when
    it names several objectives (mlspec's task function returns one)."""
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 1:
            return None
        value = value[0]
    text = str(getattr(value, "name", value)).lower().rsplit(".", 1)[-1]
    if text == "maximize":
        return "maximize"
    if text == "minimize":
        return "minimize"
    return None


def choose_direction(
    objective_name: str | None, from_sweeper: Direction | None
) -> tuple[Direction | None, str | None]:
    """The direction that decides the best member, and a note for the user (or None).

    A sweeper that optimised in a stated direction (Optuna's ``hydra.sweeper.direction``) decides:
    the summary agrees with what the sweeper did. When that contradicts the metric (minimising
    roc_auc), the note says so and how to fix it.
    """
    natural = metric_direction(objective_name)
    if from_sweeper is not None:
        note = None
        if natural is not None and natural != from_sweeper:
            better = "higher" if natural == "maximize" else "lower"
            note = (
                f"the sweeper was set to {from_sweeper} {objective_name}, but {better} is better"
                f" for {objective_name}: set hydra.sweeper.direction={natural}"
            )
        return from_sweeper, note
    if natural is None:
        if objective_name is None:
            return None, "no member recorded an objective: no best member marked"
        return None, (
            f"no known direction for objective '{objective_name}': no best member marked"
            " (with Optuna, hydra.sweeper.direction decides)"
        )
    return natural, None


def split_override(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key, value


def varying_overrides(overrides: Iterable[Sequence[str]]) -> list[str]:
    """Override keys whose value is not the same in every member (absent counts as a value),
    in order of first appearance."""
    maps = [dict(split_override(o) for o in member) for member in overrides]
    keys = list(dict.fromkeys(k for m in maps for k in m))
    return [k for k in keys if len({m.get(k) for m in maps}) > 1]


def common_overrides(overrides: Iterable[Sequence[str]]) -> list[str]:
    """Overrides every member was given with the same value."""
    maps = [dict(split_override(o) for o in member) for member in overrides]
    if not maps:
        return []
    first = maps[0]
    return [f"{k}={v}" for k, v in first.items() if all(m.get(k, None) == v for m in maps[1:])]


@dataclass
class Member:
    """One run of a sweep, as the summary and the comparison show it."""

    run_id: str
    job_num: int | None
    status: str
    overrides: list[str]
    objective_name: str | None
    objective: float | None
    ran: int = 0
    cached: int = 0
    best: bool = False
    error: str | None = None

    @classmethod
    def of(cls, run: RunRecord, counts: dict[str, tuple[int, int]]) -> Member:
        ran, cached = counts.get(run.run_id, (0, 0))
        return cls(
            run.run_id,
            run.job_num,
            run.status,
            list(run.overrides),
            run.objective_name,
            run.objective,
            ran,
            cached,
            bool(run.sweep_best),
            run.error,
        )

    @property
    def errored(self) -> bool:
        """Failed for a reason other than its gates (a crash, a stage error, an interruption):
        a sweep member the gates refused is an expected outcome of a search, not an error."""
        from mlspec.registry.report import is_refusal

        return self.status != "completed" and not is_refusal(self.error)


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def main_objective(members: Sequence[Member]) -> str | None:
    """The objective most members recorded (one spec per sweep: normally the only one)."""
    names = Counter(m.objective_name for m in members if m.objective_name)
    return names.most_common(1)[0][0] if names else None


def pick_best(members: Sequence[Member], direction: Direction | None) -> Member | None:
    """The completed member with the best objective; ties go to the lowest job number."""
    if direction is None:
        return None
    name = main_objective(members)
    candidates = [
        m
        for m in members
        if m.status == "completed" and m.objective_name == name and _usable(m.objective)
    ]
    if not candidates:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    return max(candidates, key=lambda m: (sign * float(m.objective or 0.0), -(m.job_num or 0)))


@dataclass
class SweepResult:
    sweep_dir: str
    members: list[Member]
    objective_name: str | None
    direction: Direction | None
    best: Member | None
    varying: list[str]
    common: list[str]
    notes: list[str] = field(default_factory=list)


def find_sweep_dir(tracker: Tracker, wanted: str, project_root: Path) -> str | None:
    """The sweep_dir as recorded that names the same directory as ``wanted`` (relative to the
    project root or absolute, trailing slashes and symlinks aside)."""
    known = [d for d, _ in tracker.sweep_dirs()]
    if wanted in known:
        return wanted

    def norm(p: str) -> str:
        return os.path.realpath(p if os.path.isabs(p) else os.path.join(project_root, p))

    target = norm(wanted)
    return next((d for d in known if norm(d) == target), None)


def summarize_sweep(
    tracker: Tracker, sweep_dir: str, from_sweeper: Direction | None = None, record: bool = True
) -> SweepResult:
    """The members of one sweep, its best member, and what varies; ``record`` flags the best
    member in the runs table (and clears the flag on the others)."""
    runs = tracker.sweep_runs(sweep_dir)
    counts = tracker.stage_counts([r.run_id for r in runs])
    members = [Member.of(r, counts) for r in runs]
    name = main_objective(members)
    direction, note = choose_direction(name, from_sweeper)
    best = pick_best(members, direction)
    for m in members:
        m.best = m is best
    if record and members:
        tracker.mark_sweep_best(sweep_dir, best.run_id if best else None)
    notes = [note] if note else []
    if members and len(members) > len([m for m in members if m.status == "completed"]):
        notes.append("members that did not complete are not candidates for best")
    overrides = [m.overrides for m in members]
    return SweepResult(
        sweep_dir,
        members,
        name,
        direction,
        best,
        varying_overrides(overrides),
        common_overrides(overrides),
        notes,
    )


def sweep_table(result: SweepResult) -> Table:
    from rich.markup import escape
    from rich.table import Table

    direction = f", {result.direction}" if result.direction else ""
    objective = f"objective {result.objective_name} (valid{direction})"
    table = Table(
        title=f"sweep summary: {len(result.members)} members, {objective}",
        caption=escape(result.sweep_dir),
    )
    table.add_column("best")
    table.add_column("job", justify="right")
    table.add_column("run")
    for key in result.varying:
        table.add_column(escape(key))
    table.add_column("objective", justify="right")
    table.add_column("status")
    table.add_column("stages ran/cached", justify="right")
    for m in result.members:
        values = dict(split_override(o) for o in m.overrides)
        objective_cell = f"{m.objective_name}={m.objective:.4f}" if m.objective is not None else "-"
        table.add_row(
            "★" if m.best else "",
            "-" if m.job_num is None else f"#{m.job_num}",
            m.run_id,
            *(escape(values.get(k, "-")) for k in result.varying),
            objective_cell,
            m.status,
            f"{m.ran}/{m.cached}",
            style="bold" if m.best else None,
        )
    return table


def print_summary(console: Any, result: SweepResult) -> None:
    from rich.markup import escape

    console.print(sweep_table(result))
    if result.common:
        console.print(f"common overrides: {escape(' '.join(result.common))}")
    best = result.best
    if best is not None:
        varying = dict(split_override(o) for o in best.overrides)
        detail = " ".join(f"{k}={varying[k]}" for k in result.varying if k in varying)
        console.print(
            f"[bold green]best[/] job #{best.job_num} {best.run_id}:"
            f" {best.objective_name}={best.objective:.4f}"
            + (f"  ({escape(detail)})" if detail else "")
            + "  [dim]recorded: mlspec runs ls / mlspec runs compare[/]"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    errored = [m for m in result.members if m.errored]
    for m in errored:
        first = (m.error or m.status).strip().splitlines()[0] if (m.error or m.status) else ""
        console.print(f"[bold red]job #{m.job_num} {m.run_id} {m.status}:[/] {escape(first)}")


# The last sweep summarised in this process (the callback runs in the launching process).
last_sweep: SweepResult | None = None


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, print the members and record the best one."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from omegaconf import OmegaConf

        from mlspec.engine.console import make_console
        from mlspec.engine.job import ENV_PROJECT_ROOT
        from mlspec.store import Store

        sweep_dir = OmegaConf.select(config, "hydra.sweep.dir")
        if sweep_dir is None:
            return
        root = Path(os.environ.get(ENV_PROJECT_ROOT) or os.getcwd())
        tracker = Tracker(Store.for_project(root).db_path)
        if not tracker.exists():
            return
        recorded = find_sweep_dir(tracker, str(sweep_dir), root)
        if recorded is None:
            return
        direction = sweeper_direction(
            OmegaConf.select(config, "hydra.sweeper.direction", default=None)
        )
        result = summarize_sweep(tracker, recorded, direction)
        print_summary(make_console(), result)
        global last_sweep
        last_sweep = result  # read by `mlspec run -m` for its exit code


# ---------------------------------------------------------------------------------------------
# mlspec runs compare


@dataclass
class Comparison:
    """Runs side by side: the flattened spec keys that differ, metrics, stages ran/cached."""

    sweep_dir: str | None
    members: list[Member]
    varying: list[str]
    params: dict[str, dict[str, Any]]  # run_id -> {flattened spec key: value}
    metrics: dict[str, dict[str, dict[str, float | None]]]  # run_id -> split -> name -> value
    objective_name: str | None
    direction: Direction | None

    def metric_names(self, split: str) -> list[str]:
        names = {n for per_run in self.metrics.values() for n in per_run.get(split, {})}
        return sorted(names)

    def to_json(self) -> dict[str, Any]:
        return {
            "sweep_dir": self.sweep_dir,
            "objective_name": self.objective_name,
            "direction": self.direction,
            "varying": self.varying,
            "members": [
                {
                    "run_id": m.run_id,
                    "job_num": m.job_num,
                    "status": m.status,
                    "sweep_best": m.best,
                    "objective_name": m.objective_name,
                    "objective": m.objective,
                    "params": self.params[m.run_id],
                    "metrics": self.metrics[m.run_id],
                    "stages": {"ran": m.ran, "cached": m.cached},
                    "overrides": m.overrides,
                }
                for m in self.members
            ],
        }


_MISSING = object()


def varying_params(specs: Sequence[dict[str, Any]]) -> list[str]:
    """Flattened spec keys whose value differs between the given specs (absent counts)."""
    flat = [flatten(s) for s in specs]
    keys = list(dict.fromkeys(k for f in flat for k in f))

    def canon(value: Any) -> str:
        return "\0absent" if value is _MISSING else json.dumps(value, sort_keys=True, default=str)

    return [k for k in keys if len({canon(f.get(k, _MISSING)) for f in flat}) > 1]


def compare_runs(tracker: Tracker, runs: Sequence[RunRecord]) -> Comparison:
    counts = tracker.stage_counts([r.run_id for r in runs])
    members = [Member.of(r, counts) for r in runs]
    varying = varying_params([r.spec for r in runs])
    params = {}
    for r in runs:
        flat = flatten(r.spec)
        params[r.run_id] = {k: flat[k] for k in varying if k in flat}
    metrics = {r.run_id: tracker.metrics(r.run_id) for r in runs}
    sweeps = {r.sweep_dir for r in runs}
    name = main_objective(members)
    return Comparison(
        sweeps.pop() if len(sweeps) == 1 else None,
        members,
        varying,
        params,
        metrics,
        name,
        metric_direction(name),
    )
