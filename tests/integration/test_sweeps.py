"""Sweeps end to end (issue 4, acceptance c, d, e): a model sweep trains every model on upstream
stages computed once, prints a summary and flags the best member; an Optuna sweep with parallel
jobs records every trial; a parallel joblib sweep computes no stage twice and leaves a store that
`mlspec verify` finds clean. `mlspec runs ls/compare` show the members afterwards."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import FAST, ok, runs, show, stage_runs

UPSTREAM = ("load", "validate", "split", "profile", "features")
MODELS = ("random_forest", "xgboost", "lightgbm", "mlp")


def _overrides(run: dict[str, Any]) -> dict[str, str]:
    return dict(o.split("=", 1) for o in json.loads(run["overrides_json"]))


def _summary(stdout: str) -> list[str]:
    """The lines of the sweep summary table printed at the end of a multirun."""
    assert "sweep summary" in stdout, stdout
    return stdout[stdout.rindex("sweep summary") :].splitlines()


def _sweep_members(root: Path) -> list[dict[str, Any]]:
    members = [r for r in runs(root) if r["sweep_dir"]]
    assert len({r["sweep_dir"] for r in members}) == 1, members
    return members


@pytest.mark.slow
def test_model_sweep_trains_each_model_once_on_shared_upstream_and_marks_the_best(
    project: Path, mlspec
) -> None:
    result = ok(mlspec("run", "-m", "conf=breast_cancer", "model=" + ",".join(MODELS)))

    members = _sweep_members(project)
    assert sorted(_overrides(r)["model"] for r in members) == sorted(MODELS), members
    assert all(r["status"] == "completed" for r in members), members
    assert all(r["objective_name"] == "roc_auc" for r in members), members

    # The summary shows every member with its model and its metric.
    summary = _summary(result.stdout)
    for r in members:
        line = next((ln for ln in summary if r["run_id"] in ln), None)
        assert line is not None, show(result)
        assert _overrides(r)["model"] in line, line
        assert f"roc_auc={r['objective']:.4f}" in line, line

    # Upstream stages ran once for the whole sweep (from the run records); train once per model.
    rows = stage_runs(project)
    misses = Counter(r["node"] for r in rows if r["status"] == "miss")
    assert {n: misses[n] for n in UPSTREAM} == dict.fromkeys(UPSTREAM, 1), misses
    assert misses["train"] == 4 and misses["evaluate"] == 4, misses
    assert not [r for r in rows if r["status"] not in ("hit", "miss")], rows

    # Exactly one member is flagged best, and it has the best (highest) roc_auc.
    best = [r for r in members if r["sweep_best"] == 1]
    assert len(best) == 1, members
    assert best[0]["objective"] == max(r["objective"] for r in members)
    assert "★" in next(ln for ln in summary if best[0]["run_id"] in ln)
    assert f"best job #{best[0]['job_num']} {best[0]['run_id']}" in result.stdout

    # runs ls shows the flag; runs compare (default: the latest sweep) lines the members up.
    listed = json.loads(ok(mlspec("runs", "ls", "--json")).stdout)
    assert [r["run_id"] for r in listed if r["sweep_best"]] == [best[0]["run_id"]]
    ls_line = next(
        ln for ln in ok(mlspec("runs", "ls")).stdout.splitlines() if best[0]["run_id"] in ln
    )
    assert "★" in ls_line

    compared = json.loads(ok(mlspec("runs", "compare", "--json")).stdout)
    assert compared["sweep_dir"] == members[0]["sweep_dir"]
    assert {m["run_id"] for m in compared["members"]} == {r["run_id"] for r in members}
    assert "model._target_" in compared["varying"], compared["varying"]
    assert "name" not in compared["varying"]
    for m in compared["members"]:
        assert m["metrics"]["valid"]["roc_auc"] == pytest.approx(m["objective"])
        assert set(m["metrics"]["test"]) >= {"roc_auc", "pr_auc", "accuracy", "f1", "log_loss"}
        assert m["stages"]["ran"] + m["stages"]["cached"] == 7
        assert m["sweep_best"] == (m["run_id"] == best[0]["run_id"])
    assert sum(m["stages"]["ran"] for m in compared["members"]) == 5 + 2 * 4

    text = ok(mlspec("runs", "compare")).stdout
    for target in ("RandomForestClassifier", "XGBClassifier", "LGBMClassifier", "MLPClassifier"):
        assert target in text, text
    assert "test roc_auc" in text and "stages ran/cached" in text

    # Named runs (prefixes work), and a clear error for an unknown sweep directory.
    two = [members[0]["run_id"], members[1]["run_id"][:-2]]
    named = json.loads(ok(mlspec("runs", "compare", *two, "--json")).stdout)
    assert [m["run_id"] for m in named["members"]] == [members[0]["run_id"], members[1]["run_id"]]
    by_dir = json.loads(
        ok(mlspec("runs", "compare", "--sweep", members[0]["sweep_dir"] + "/", "--json")).stdout
    )
    assert len(by_dir["members"]) == 4
    bad = mlspec("runs", "compare", "--sweep", "multirun/nope")
    assert bad.returncode == 2 and "unknown_sweep" in bad.stdout + bad.stderr, show(bad)
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_optuna_sweep_with_parallel_jobs_records_every_trial_and_beats_the_default(
    project: Path, mlspec
) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    ok(mlspec("run", "conf=breast_cancer", *FAST))
    (default,) = runs(project)
    assert default["objective_name"] == "roc_auc" and default["objective"] is not None

    result = ok(
        mlspec(
            "run",
            "-m",
            "conf=breast_cancer",
            *FAST,
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=20",
            "hydra.sweeper.n_jobs=2",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.direction=maximize",
            "hydra.sweeper.sampler.seed=7",
            "model.learning_rate=interval(0.01,0.3)",
            "model.num_leaves=range(4,64)",
        )
    )

    trials = _sweep_members(project)
    assert len(trials) == 20, trials
    assert all(r["status"] == "completed" for r in trials), trials
    assert sorted(r["job_num"] for r in trials) == list(range(20))
    assert all(r["objective"] is not None for r in trials)
    assert len({(r["objective"], r["overrides_json"]) for r in trials}) > 1  # really searched

    best_value = max(r["objective"] for r in trials)
    assert best_value >= default["objective"], (best_value, default["objective"])
    flagged = [r for r in trials if r["sweep_best"] == 1]
    assert len(flagged) == 1 and flagged[0]["objective"] == best_value, flagged

    # Optuna's own record agrees with mlspec's.
    results = yaml.safe_load(
        Path(project, trials[0]["sweep_dir"], "optimization_results.yaml").read_text()
    )
    assert results["best_value"] == pytest.approx(best_value), results

    summary = _summary(result.stdout)
    assert "20 members" in summary[0], summary[0]
    assert all(any(r["run_id"] in ln for ln in summary) for r in trials), show(result)
    assert "model.num_leaves" in "\n".join(summary[:4])  # the varying overrides are columns

    # Upstream was cached by the default run: every trial trained, none reloaded the data.
    misses = Counter(r["node"] for r in stage_runs(project) if r["status"] == "miss")
    assert {n: misses[n] for n in UPSTREAM} == dict.fromkeys(UPSTREAM, 1), misses


RECORDER = """
import json, os
from hydra.experimental.callback import Callback

class Recorder(Callback):
    def on_job_end(self, config, job_return, **kwargs):
        self._write({"job": job_return.return_value})

    def on_multirun_end(self, config, **kwargs):
        self._write({"multirun_end": True})

    def _write(self, record):
        with open(os.environ["RECORD_TO"], "a") as fh:
            fh.write(json.dumps(record) + "\\n")
"""


@pytest.mark.slow
def test_parallel_joblib_sweep_computes_no_stage_twice_and_verifies_clean(
    project: Path, mlspec
) -> None:
    site = project / "site"
    site.mkdir()
    (site / "recorder_cb.py").write_text(textwrap.dedent(RECORDER))
    record = project / "record.jsonl"
    result = ok(
        mlspec(
            "run",
            "-m",
            "conf=breast_cancer",
            *FAST,
            "model.learning_rate=0.05,0.1,0.2,0.3",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            # A callback of the user's own runs beside mlspec's summary.
            "+hydra.callbacks.rec._target_=recorder_cb.Recorder",
            env={"PYTHONPATH": str(site), "RECORD_TO": str(record)},
        )
    )

    members = _sweep_members(project)
    assert len(members) == 4 and all(r["status"] == "completed" for r in members), members
    rows = stage_runs(project)
    assert len(rows) == 4 * 7, rows
    misses = Counter(r["key"] for r in rows if r["status"] == "miss")
    twice = {k: n for k, n in misses.items() if n > 1}
    assert not twice, twice  # no cache key was computed by two jobs
    for node in UPSTREAM:
        keys = {r["key"] for r in rows if r["node"] == node}
        assert len(keys) == 1, (node, keys)
        assert misses[keys.pop()] == 1
    assert len({r["key"] for r in rows if r["node"] == "train"}) == 4

    assert len([r for r in members if r["sweep_best"] == 1]) == 1
    table_rows = [ln for ln in _summary(result.stdout) if "roc_auc=" in ln and "│" in ln]
    assert len(table_rows) == 4, show(result)

    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert sorted(x["job"] for x in lines if "job" in x) == sorted(r["objective"] for r in members)
    assert lines.count({"multirun_end": True}) == 1

    verify = ok(mlspec("verify"))
    assert " 0 problems" in verify.stdout, show(verify)


def test_a_member_that_fails_does_not_stop_the_sweep_and_the_sweep_exits_1(
    warm_bc: Path, mlspec
) -> None:
    # num_leaves=1 passes validation and fails inside LightGBM's fit: a stage error in job #0.
    result = mlspec("run", "-m", "conf=breast_cancer", *FAST, "model.num_leaves=1,31")
    assert result.returncode == 1, show(result)
    members = sorted(_sweep_members(warm_bc), key=lambda r: r["job_num"])
    assert [r["status"] for r in members] == ["failed", "completed"], members
    assert "num_leaves" in (members[0]["error"] or ""), members[0]
    summary = _summary(result.stdout)
    assert any(members[1]["run_id"] in ln and "completed" in ln for ln in summary), show(result)
    assert f"job #0 {members[0]['run_id']} failed" in result.stdout, show(result)
    assert "stage 'train'" in result.stderr, show(result)
