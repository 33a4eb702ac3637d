"""`mlspec run` / `plan` on the bundled breast_cancer spec: cold run, warm rerun, and which stages
an override invalidates (DESIGN §3, cache key)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from e2e_helpers import (
    FAST,
    STAGES,
    cli_env,
    mlspec_command,
    ok,
    plan_json,
    run_cli,
    runs,
    show,
    stage_runs,
    statuses,
)


def test_first_run_completes_prints_metrics_and_records_a_miss_per_stage(
    bc_first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = bc_first_run
    ok(result)
    out = result.stdout
    assert "roc_auc" in out, show(result)
    done = [line for line in out.splitlines() if line.startswith("done ")]
    assert len(done) == 1, show(result)
    assert "7 stages" in done[0] and "0 cached" in done[0] and "7 ran" in done[0], done[0]

    [run] = runs(root)
    assert run["status"] == "completed", run
    assert run["spec_name"] == "breast-cancer"
    assert run["run_id"] in done[0]
    assert run["objective_name"] == "roc_auc" and 0.5 < run["objective"] <= 1.0, run
    assert json.loads(run["overrides_json"]) == list(FAST)
    assert run["output_dir"] and Path(run["output_dir"]).is_dir(), run

    rows = stage_runs(root)
    assert [r["node"] for r in rows] == list(STAGES)
    assert [r["status"] for r in rows] == ["miss"] * len(STAGES)
    assert {r["run_id"] for r in rows} == {run["run_id"]}

    # The same record through the CLI.
    shown = json.loads(ok(run_cli(["runs", "show", run["run_id"], "--json"], cwd=root)).stdout)
    assert shown["status"] == "completed"
    assert [(s["node"], s["status"]) for s in shown["stages"]] == [(n, "miss") for n in STAGES]
    assert set(shown["metrics"]) == {"valid", "test"}
    assert 0.5 < shown["metrics"]["valid"]["roc_auc"] <= 1.0


def test_second_run_executes_no_stage(warm_bc: Path, mlspec) -> None:
    first_keys = {r["node"]: r["key"] for r in stage_runs(warm_bc)}

    result = ok(mlspec("run", "conf=breast_cancer", *FAST))
    assert "roc_auc" in result.stdout
    assert "7 cached, 0 ran" in result.stdout, show(result)
    # No stage starts on a fully cached run.
    assert "running" not in result.stdout, show(result)

    second = runs(warm_bc)[-1]
    assert second["status"] == "completed"
    rows = [r for r in stage_runs(warm_bc) if r["run_id"] == second["run_id"]]
    assert [(r["node"], r["status"]) for r in rows] == [(n, "hit") for n in STAGES]
    assert {r["node"]: r["key"] for r in rows} == first_keys

    plan = plan_json(warm_bc, "conf=breast_cancer", *FAST)
    assert list(plan) == list(STAGES)
    assert {n: s["status"] for n, s in plan.items()} == dict.fromkeys(STAGES, "hit")
    assert {n: s["key"] for n, s in plan.items()} == first_keys

    # `runs ls` counts what ran and what was cached.
    listed = json.loads(ok(mlspec("runs", "ls", "--json")).stdout)
    latest = next(r for r in listed if r["run_id"] == second["run_id"])
    assert (latest["ran"], latest["cached"]) == (0, len(STAGES))


def test_two_runs_get_distinct_output_dirs(warm_bc: Path, mlspec) -> None:
    # Hydra's default run dir is timestamped to the second (hydra #1817): two runs started
    # together must still not share one. Start two cached runs at once.
    procs = [
        subprocess.Popen(
            [*mlspec_command(), "run", "conf=breast_cancer", *FAST],
            cwd=warm_bc,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    new_runs = runs(warm_bc)[-2:]
    assert all(r["status"] == "completed" for r in new_runs), new_runs
    dirs = [r["output_dir"] for r in new_runs]
    assert dirs[0] != dirs[1], dirs
    assert all(Path(d).is_dir() for d in dirs), dirs


def test_model_override_reruns_only_train_and_evaluate(warm_bc: Path, mlspec) -> None:
    plan = plan_json(warm_bc, "conf=breast_cancer", *FAST, "model.learning_rate=0.3")
    for node in ("load", "validate", "split", "features"):
        assert plan[node]["status"] == "hit", plan[node]
    assert plan["train"]["status"] == "miss"
    assert "learning_rate" in plan["train"]["reason"], plan["train"]
    assert plan["evaluate"]["status"] == "miss"

    ok(mlspec("run", "conf=breast_cancer", *FAST, "model.learning_rate=0.2"))
    assert statuses(warm_bc) == {
        "load": "hit",
        "validate": "hit",
        "split": "hit",
        "profile": "hit",
        "features": "hit",
        "train": "miss",
        "evaluate": "miss",
    }
    assert runs(warm_bc)[-1]["status"] == "completed"


def test_upstream_rerun_with_identical_output_keeps_downstream_cached(
    warm_bc: Path, mlspec
) -> None:
    # The data is valid, so on_invalid=warn yields the same validated table as on_invalid=fail.
    plan = plan_json(warm_bc, "conf=breast_cancer", *FAST, "data.on_invalid=warn")
    assert plan["load"]["status"] == "hit"
    assert plan["validate"]["status"] == "miss"
    assert "on_invalid" in plan["validate"]["reason"], plan["validate"]

    ok(mlspec("run", "conf=breast_cancer", *FAST, "data.on_invalid=warn"))
    assert statuses(warm_bc) == {
        "load": "hit",
        "validate": "miss",
        "split": "hit",
        "profile": "hit",
        "features": "hit",
        "train": "hit",
        "evaluate": "hit",
    }


def test_diabetes_regression_with_xgboost(project: Path, mlspec) -> None:
    result = ok(mlspec("run", "conf=diabetes", *FAST))
    assert "rmse" in result.stdout, show(result)
    assert "XGBRegressor" in result.stdout, show(result)
    [run] = runs(project)
    assert run["status"] == "completed"
    assert run["objective_name"] == "rmse" and run["objective"] > 0, run
    assert [(r["node"], r["status"]) for r in stage_runs(project)] == [(n, "miss") for n in STAGES]
