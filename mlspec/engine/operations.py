"""The operations behind the CLI verbs. Each takes plain arguments and returns a result."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlspec import __version__
from mlspec.config.load import LoadedSpec, attribute_file, compose_spec, compose_variants
from mlspec.config.locate import SpecSource
from mlspec.engine.accounting import Accounting, accounting_table, build_accounting
from mlspec.engine.console import ConsoleReporter, metrics_table, summary_table
from mlspec.engine.lineage import record as record_lineage
from mlspec.engine.runner import Runner, RunOutcome
from mlspec.engine.walk import NodeStatus, preflight, walk_plan
from mlspec.errors import MlspecError, Problem, SpecError
from mlspec.plan import Plan, compile_plan
from mlspec.registry.errors import GatesFailed
from mlspec.registry.report import refusal_text, registration_report
from mlspec.stages.registry import default_registry
from mlspec.store import Store
from mlspec.store.store import VerifyReport
from mlspec.tracking import Tracker


@dataclass
class RunResult:
    run_id: str
    outcome: RunOutcome
    metrics: dict[str, Any] | None
    objective_name: str | None
    objective: float | None


def new_run_id() -> str:
    import secrets

    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def attach_files(error: SpecError, loaded: LoadedSpec | None, source: SpecSource) -> SpecError:
    """Name the file for problems raised after composition (plan compile, pre-flight)."""
    choices = loaded.choices if loaded else {}
    overrides = loaded.overrides if loaded else ()
    problems = [
        p
        if p.file
        else Problem(
            p.code, p.message, p.loc, attribute_file(p.loc, source, choices, overrides), p.fix
        )
        for p in error.problems
    ]
    return SpecError(problems)


def compile_checked(loaded: LoadedSpec) -> Plan:
    try:
        return compile_plan(loaded.spec, default_registry(), loaded.source.project_root)
    except SpecError as exc:
        raise attach_files(exc, loaded, loaded.source) from None


def check_spec(source: SpecSource, overrides: list[str]) -> tuple[LoadedSpec, Plan]:
    """Everything `run` verifies before writing anything: compose, validate, compile, pre-flight."""
    loaded = compose_spec(source, overrides)
    return loaded, prepare_run(loaded)


def check_sweep(source: SpecSource, variants: list[list[str]]) -> None:
    """`check_spec` for every variant of a sweep (see `compose_variants`)."""
    for loaded in compose_variants(source, variants):
        prepare_run(loaded)


def prepare_run(loaded: LoadedSpec) -> Plan:
    """Compile and pre-flight a validated spec, reading the store but writing nothing: a
    problem found here leaves the project exactly as it was."""
    plan = compile_checked(loaded)
    store = Store.for_project(loaded.source.project_root)
    try:
        preflight(plan, walk_plan(plan, store, Tracker(store.db_path)), loaded.source.project_root)
    except SpecError as exc:
        raise attach_files(exc, loaded, loaded.source) from None
    return plan


def plan_status(source: SpecSource, overrides: list[str]) -> tuple[Plan, list[NodeStatus]]:
    loaded = compose_spec(source, overrides)
    plan = compile_checked(loaded)
    store = Store.for_project(source.project_root)
    try:
        return plan, walk_plan(plan, store, Tracker(store.db_path))
    except SpecError as exc:
        raise attach_files(exc, loaded, source) from None


def execute_run(
    loaded: LoadedSpec,
    console: Any,
    output_dir: str | None = None,
    sweep_dir: str | None = None,
    job_num: int | None = None,
    plan: Plan | None = None,
    run_id: str | None = None,
    trigger: dict[str, Any] | None = None,
) -> RunResult:
    """Execute a validated spec. ``plan``: the result of `prepare_run` on the same spec, when the
    caller already has it (compiling and pre-flighting again would only cost time). ``run_id``:
    chosen by the caller (a retrain names its run before it starts); ``trigger``: what started
    the run (a monitoring result), recorded in its lineage."""
    source = loaded.source
    if plan is None:
        plan = prepare_run(loaded)
    store = Store.for_project(source.project_root)
    tracker = Tracker(store.db_path)
    store.ensure()
    store.clean_tmp()  # temp files a crashed writer left behind (older than an hour)
    gitignore = store.root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# mlspec's artifact store and run database\n*\n")
    # One database connection for the run's records (see Tracker.session).
    with tracker.session():
        tracker.ensure_schema()
        run_id = run_id or new_run_id()
        tracker.start_run(
            run_id,
            plan.spec_name,
            loaded.resolved,
            list(loaded.overrides),
            None,  # the git commit comes with the lineage, recorded next
            output_dir,
            sweep_dir,
            job_num,
            __version__,
        )
        record_lineage(tracker, run_id, loaded, plan, store, trigger=trigger)
        prefix = f"[dim]#{job_num}[/] " if job_num is not None else ""
        console.print(
            f"{prefix}[bold]run[/] {run_id}  spec [bold]{plan.spec_name}[/]"
            f"  ({len(plan.nodes)} stages)"
        )
        runner = Runner(
            plan,
            store,
            tracker,
            run_id,
            source.project_root,
            loaded.spec.seed,
            ConsoleReporter(console, prefix),
        )
        try:
            outcome = runner.execute()
        except SpecError as exc:
            tracker.finish_run(run_id, "failed", error=exc.render())
            raise attach_files(exc, loaded, source) from None
        except MlspecError as exc:
            tracker.finish_run(run_id, "failed", error=exc.render())
            raise
        except BaseException as exc:
            tracker.finish_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        accounting = _row_accounting(outcome, runner)
        if accounting is not None:
            tracker.log_accounting(run_id, [asdict(r) for r in accounting.rows])
        metrics = None
        ref = outcome.artifacts.get(("evaluate", "metrics"))
        if ref is not None:
            metrics = runner.load_output(ref)
            tracker.log_metrics(
                run_id,
                {
                    k: v
                    for k, v in metrics.items()
                    if isinstance(v, dict) and k in ("valid", "test")
                },
            )
        objective_name, objective = _objective(plan, metrics)
        reg_ref = outcome.artifacts.get(("register", "registration"))
        registration = runner.load_output(reg_ref) if reg_ref is not None else None
        refused = registration is not None and not registration["blessed"]
        tracker.finish_run(
            run_id,
            "failed" if refused else "completed",
            error=refusal_text(registration) if refused else None,
            objective_name=objective_name,
            objective=objective,
        )
    hits = sum(r.status == "hit" for r in outcome.results)
    label = f"job #{job_num} " if job_num is not None else ""
    console.print(summary_table(outcome.results, title=f"{label}stages"))
    if accounting is not None and accounting.rows:
        console.print(accounting_table(accounting, label))
    if metrics:
        console.print(metrics_table(metrics, label))
    if registration is not None:
        for renderable in registration_report(registration, label):
            console.print(renderable)
    total = sum(r.duration_s for r in outcome.results)
    console.print(
        f"{prefix}[bold green]done[/] {run_id}: {len(outcome.results)} stages,"
        f" {hits} cached, {len(outcome.results) - hits} ran, {total:.2f}s"
        + (
            f"; objective {objective_name} (valid) = {objective:.4f}"
            if objective is not None
            else ""
        )
    )
    # A not-blessed member of a sweep is recorded (status failed) and the sweep goes on: one
    # model worse than the champion must not stop the search for a better one.
    if refused and job_num is None:
        raise GatesFailed(
            Problem(
                "not_blessed",
                refusal_text(registration),
                loc=("evaluate", "gates"),
                fix="see the table of failed gates above; nothing was registered",
            )
        )
    return RunResult(run_id, outcome, metrics, objective_name, objective)


def _row_accounting(outcome: RunOutcome, runner: Runner) -> Accounting | None:
    def json_output(node: str, name: str) -> Any:
        ref = outcome.artifacts.get((node, name))
        return runner.load_output(ref) if ref is not None else None

    return build_accounting(json_output("clean", "accounting"), json_output("validate", "report"))


def _objective(plan: Plan, metrics: dict[str, Any] | None) -> tuple[str | None, float | None]:
    if not metrics:
        return None, None
    task = metrics.get("task", "classification")
    name = plan.objective or ("roc_auc" if task == "classification" else "rmse")
    split = metrics.get("valid") or metrics.get("test") or {}
    value = split.get(name)
    return name, (float(value) if value is not None else None)


def verify_store(project_root: Path, repair: bool = False) -> VerifyReport:
    return Store.for_project(project_root).verify(repair=repair)
