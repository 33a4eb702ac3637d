"""mlspec.engine.sweep: direction of the objective, best member, what varies across members, and
the best flag recorded in the runs table."""

from __future__ import annotations

import enum
import io
import math
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from mlspec.config.hydra_glue import SWEEP_SUMMARY_CALLBACK, with_default_hydra_overrides
from mlspec.engine.sweep import (
    Member,
    choose_direction,
    common_overrides,
    compare_runs,
    find_sweep_dir,
    metric_direction,
    pick_best,
    print_summary,
    summarize_sweep,
    sweeper_direction,
    varying_overrides,
    varying_params,
)
from mlspec.tracking import Tracker


class Direction(enum.Enum):  # the shape of hydra_optuna_sweeper.config.Direction
    minimize = 1
    maximize = 2


@pytest.mark.parametrize(
    "name",
    ["roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "r2"],
)
def test_higher_is_better_metrics_are_maximized(name: str) -> None:
    assert metric_direction(name) == "maximize"


@pytest.mark.parametrize("name", ["rmse", "mae", "mape", "median_ae", "log_loss"])
def test_error_metrics_are_minimized(name: str) -> None:
    assert metric_direction(name) == "minimize"


def test_unknown_metric_has_no_direction() -> None:
    assert metric_direction("my_score") is None
    assert metric_direction(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("maximize", "maximize"),
        ("MINIMIZE", "minimize"),
        (Direction.maximize, "maximize"),
        (Direction.minimize, "minimize"),
        ("Direction.maximize", "maximize"),
        (["maximize"], "maximize"),
        ([Direction.minimize], "minimize"),
        (["maximize", "minimize"], None),  # multi-objective: not mlspec's single objective
        (None, None),
        ("sideways", None),
    ],
)
def test_sweeper_direction_accepts_what_the_optuna_sweeper_accepts(value, expected) -> None:
    assert sweeper_direction(value) == expected


def test_sweeper_direction_reads_an_omegaconf_list() -> None:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"hydra": {"sweeper": {"direction": ["maximize"]}}})
    assert sweeper_direction(OmegaConf.select(cfg, "hydra.sweeper.direction")) == "maximize"


def test_the_sweepers_direction_wins_and_a_contradiction_is_explained() -> None:
    assert choose_direction("roc_auc", None) == ("maximize", None)
    assert choose_direction("rmse", None) == ("minimize", None)
    assert choose_direction("roc_auc", "maximize") == ("maximize", None)
    direction, note = choose_direction("roc_auc", "minimize")
    assert direction == "minimize"
    assert note is not None and "hydra.sweeper.direction=maximize" in note
    direction, note = choose_direction("my_score", None)
    assert direction is None and note is not None and "my_score" in note
    assert choose_direction("my_score", "minimize") == ("minimize", None)


def _member(job: int, objective: float | None, status: str = "completed", name: str = "roc_auc"):
    return Member(f"run{job}", job, status, [f"model.lr={job}"], name, objective)


def test_best_member_follows_the_direction() -> None:
    members = [_member(0, 0.91), _member(1, 0.97), _member(2, 0.93)]
    assert pick_best(members, "maximize").run_id == "run1"  # type: ignore[union-attr]
    assert pick_best(members, "minimize").run_id == "run0"  # type: ignore[union-attr]
    assert pick_best(members, None) is None


def test_best_member_skips_failed_missing_and_nan_objectives() -> None:
    members = [
        _member(0, 0.99, status="failed"),
        _member(1, None),
        _member(2, math.nan),
        _member(3, 0.80, status="interrupted"),
        _member(4, 0.70),
    ]
    assert pick_best(members, "maximize").run_id == "run4"  # type: ignore[union-attr]
    assert pick_best(members[:4], "maximize") is None


def test_ties_go_to_the_lowest_job_number() -> None:
    members = [_member(2, 0.9), _member(0, 0.95), _member(1, 0.95)]
    assert pick_best(members, "maximize").run_id == "run0"  # type: ignore[union-attr]
    assert pick_best(members, "minimize").run_id == "run2"  # type: ignore[union-attr]


def test_best_member_is_judged_on_the_main_objective_only() -> None:
    members = [_member(0, 0.9), _member(1, 0.8), _member(2, 5.0, name="rmse")]
    assert pick_best(members, "maximize").run_id == "run0"  # type: ignore[union-attr]


def test_varying_overrides_are_the_keys_whose_values_differ() -> None:
    members = [
        ["model=xgboost", "model.n_estimators=20", "seed=1"],
        ["model=lightgbm", "model.n_estimators=20", "seed=1"],
        ["model=random_forest", "model.n_estimators=20"],  # seed absent: that differs too
    ]
    assert varying_overrides(members) == ["model", "seed"]
    assert common_overrides(members) == ["model.n_estimators=20"]


def test_values_with_equals_signs_are_kept_whole() -> None:
    members = [["data.filter=a=b", "x=1"], ["data.filter=a=c", "x=1"]]
    assert varying_overrides(members) == ["data.filter"]


def test_a_single_member_varies_in_nothing() -> None:
    assert varying_overrides([["model=xgboost"]]) == []
    assert varying_overrides([]) == []
    assert common_overrides([]) == []


def test_varying_params_compare_flattened_specs() -> None:
    specs = [
        {"name": "bc", "model": {"_target_": "a.X", "n": 20, "layers": [64, 32]}},
        {"name": "bc", "model": {"_target_": "a.Y", "n": 20, "layers": [64, 16]}},
        {"name": "bc", "model": {"_target_": "a.Y", "n": 20, "layers": [64, 32], "depth": 4}},
    ]
    assert varying_params(specs) == ["model._target_", "model.layers", "model.depth"]


# ---------------------------------------------------------------------------------------------
# against a real tracking database


def _record(t: Tracker, run_id: str, sweep: str | None, job: int | None, lr: float, obj: float):
    spec = {"name": "demo", "model": {"_target_": "a.B", "lr": lr}}
    t.start_run(run_id, "demo", spec, [f"model.lr={lr}", "seed=3"], None, None, sweep, job)
    t.finish_run(run_id, "completed", objective_name="rmse", objective=obj)
    t.log_metrics(run_id, {"valid": {"rmse": obj}, "test": {"rmse": obj + 1}})


@pytest.fixture
def tracker(tmp_path: Path) -> Tracker:
    t = Tracker(tmp_path / "mlspec.db")
    t.ensure_schema()
    _record(t, "a0", "multirun/s1", 0, 0.1, 3.0)
    _record(t, "a1", "multirun/s1", 1, 0.2, 2.0)
    _record(t, "a2", "multirun/s1", 2, 0.3, 2.5)
    _record(t, "b0", "multirun/s2", 0, 0.1, 9.0)
    _record(t, "c", None, None, 0.1, 1.0)
    return t


def test_summary_marks_the_best_member_of_its_sweep_only(tracker: Tracker) -> None:
    result = summarize_sweep(tracker, "multirun/s1")
    assert [m.run_id for m in result.members] == ["a0", "a1", "a2"]
    assert result.direction == "minimize"  # rmse
    assert result.best is not None and result.best.run_id == "a1"
    assert result.varying == ["model.lr"]
    assert result.common == ["seed=3"]
    flags = {r.run_id: r.sweep_best for r in tracker.list_runs()}
    assert flags == {"a0": False, "a1": True, "a2": False, "b0": False, "c": False}
    # Summarising again with a sweeper that maximised moves the flag; other sweeps untouched.
    summarize_sweep(tracker, "multirun/s1", from_sweeper="maximize")
    flags = {r.run_id: r.sweep_best for r in tracker.list_runs()}
    assert flags == {"a0": True, "a1": False, "a2": False, "b0": False, "c": False}


def test_printed_summary_lists_every_member_and_the_best(tracker: Tracker) -> None:
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=200), summarize_sweep(tracker, "multirun/s1"))
    out = buffer.getvalue()
    for run_id, value in (("a0", "3.0000"), ("a1", "2.0000"), ("a2", "2.5000")):
        line = next(ln for ln in out.splitlines() if run_id in ln and "rmse=" in ln)
        assert f"rmse={value}" in line
    assert "★" in next(ln for ln in out.splitlines() if "a1" in ln)
    assert "best job #1 a1: rmse=2.0000" in out
    assert "common overrides: seed=3" in out


def test_sweep_dirs_latest_first_and_matched_by_path(tracker: Tracker, tmp_path: Path) -> None:
    assert [d for d, _ in tracker.sweep_dirs()] == ["multirun/s2", "multirun/s1"]
    assert dict(tracker.sweep_dirs())["multirun/s1"] == 3
    assert find_sweep_dir(tracker, "multirun/s1", tmp_path) == "multirun/s1"
    assert find_sweep_dir(tracker, "multirun/s1/", tmp_path) == "multirun/s1"
    assert find_sweep_dir(tracker, str(tmp_path / "multirun" / "s1"), tmp_path) == "multirun/s1"
    assert find_sweep_dir(tracker, "multirun/s3", tmp_path) is None


def test_compare_lines_up_params_metrics_and_stage_counts(tracker: Tracker) -> None:
    comparison = compare_runs(tracker, tracker.sweep_runs("multirun/s1"))
    assert comparison.sweep_dir == "multirun/s1"
    assert comparison.varying == ["model.lr"]
    assert comparison.params == {
        "a0": {"model.lr": 0.1},
        "a1": {"model.lr": 0.2},
        "a2": {"model.lr": 0.3},
    }
    assert comparison.metric_names("valid") == ["rmse"]
    assert comparison.metrics["a1"]["test"]["rmse"] == 3.0
    payload = comparison.to_json()
    assert [m["run_id"] for m in payload["members"]] == ["a0", "a1", "a2"]
    assert payload["direction"] == "minimize"


def test_an_old_database_gains_the_sweep_best_column_on_read(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    t = Tracker(db)
    t.ensure_schema()
    _record(t, "a0", "multirun/s1", 0, 0.1, 3.0)
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN sweep_best")
    fresh = Tracker(db)
    assert [r.sweep_best for r in fresh.list_runs()] == [False]
    fresh.mark_sweep_best("multirun/s1", "a0")
    assert fresh.get_run("a0").sweep_best is True  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# the callback is registered by default, beside the user's own callbacks


def test_summary_callback_is_a_default_hydra_override() -> None:
    out = with_default_hydra_overrides(["model=xgboost"])
    assert f"++{SWEEP_SUMMARY_CALLBACK}._target_=mlspec.engine.sweep.SweepSummary" in out
    assert out[-1] == "model=xgboost"


def test_user_callbacks_sit_beside_the_summary() -> None:
    out = with_default_hydra_overrides(["+hydra.callbacks.rec._target_=x.Rec"])
    assert f"++{SWEEP_SUMMARY_CALLBACK}._target_=mlspec.engine.sweep.SweepSummary" in out
    assert "+hydra.callbacks.rec._target_=x.Rec" in out


def test_the_summary_callback_can_be_replaced_or_turned_off() -> None:
    replaced = with_default_hydra_overrides([f"++{SWEEP_SUMMARY_CALLBACK}._target_=my.Summary"])
    assert [o for o in replaced if SWEEP_SUMMARY_CALLBACK in o] == [
        f"++{SWEEP_SUMMARY_CALLBACK}._target_=my.Summary"
    ]
    off = with_default_hydra_overrides([f"~{SWEEP_SUMMARY_CALLBACK}", "model=x"])
    assert not [o for o in off if SWEEP_SUMMARY_CALLBACK in o]
    assert off[-1] == "model=x"
    assert not [o for o in with_default_hydra_overrides(["hydra.callbacks=null"]) if "++" in o]
