"""`mlspec run -m` sweeps through Hydra's launchers share cached stages: the data stages run once
for the whole sweep, train once per swept value, whether jobs run one after another (basic
launcher) or at the same time (joblib launcher, per-key locks)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import FAST, STAGES, ok, runs, show, stage_runs

SWEEP = ("model.learning_rate=0.05,0.1,0.2",)


def _check_sweep(root: Path, stdout: str) -> None:
    done = [ln for ln in stdout.splitlines() if "done" in ln and "stages" in ln]
    assert len(done) == 3, stdout

    sweep_runs = runs(root)
    assert len(sweep_runs) == 3, sweep_runs
    assert all(r["status"] == "completed" for r in sweep_runs), sweep_runs
    assert sorted(r["job_num"] for r in sweep_runs) == [0, 1, 2], sweep_runs
    dirs = [r["output_dir"] for r in sweep_runs]
    assert len(set(dirs)) == 3, dirs
    assert all(Path(d).is_dir() for d in dirs), dirs

    rows = stage_runs(root)
    assert len(rows) == 3 * len(STAGES), rows
    assert not [r for r in rows if r["status"] not in ("hit", "miss")], rows
    misses = Counter(r["node"] for r in rows if r["status"] == "miss")
    assert misses == {
        "load": 1,
        "validate": 1,
        "split": 1,
        "profile": 1,
        "features": 1,
        "train": 3,
        "evaluate": 3,
    }, misses
    # Every job saw the same data stages (same keys), and its own train key.
    keys = {node: {r["key"] for r in rows if r["node"] == node} for node in STAGES}
    assert all(len(keys[n]) == 1 for n in ("load", "validate", "split", "profile", "features")), (
        keys
    )
    assert len(keys["train"]) == 3, keys


@pytest.mark.slow
def test_sweep_with_basic_launcher_shares_data_stages(project: Path, mlspec) -> None:
    result = ok(mlspec("run", "-m", "conf=breast_cancer", *FAST, *SWEEP))
    _check_sweep(project, result.stdout)
    assert len({r["sweep_dir"] for r in runs(project)}) == 1
    for run in runs(project):
        hydra_yaml = (Path(run["output_dir"]) / ".hydra" / "hydra.yaml").read_text()
        assert "BasicLauncher" in hydra_yaml, show(result)


@pytest.mark.slow
def test_parallel_sweep_with_joblib_launcher_computes_each_stage_once(
    project: Path, mlspec
) -> None:
    result = mlspec(
        "run",
        "-m",
        "conf=breast_cancer",
        *FAST,
        *SWEEP,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=3",
    )
    ok(result)
    _check_sweep(project, result.stdout)
    # The jobs really went through the joblib launcher (Hydra records its config per job).
    for run in runs(project):
        hydra_yaml = (Path(run["output_dir"]) / ".hydra" / "hydra.yaml").read_text()
        assert "JoblibLauncher" in hydra_yaml, show(result)
