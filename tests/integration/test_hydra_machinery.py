"""`mlspec run` goes through Hydra's real machinery: introspection flags, callbacks, sweepers,
and output directories that never collide."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAST = ["model.n_estimators=10"]


def _cli() -> list[str]:
    exe = shutil.which("mlspec")
    return [exe] if exe else [sys.executable, "-m", "mlspec"]


def _run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [*_cli(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    return tmp_path


def test_cfg_job_prints_the_composed_config_and_runs_nothing(project: Path) -> None:
    out = _run(project, "run", "conf=breast_cancer", "model.num_leaves=7", "--cfg", "job")
    assert out.returncode == 0, out.stderr
    assert "num_leaves: 7" in out.stdout
    assert "_target_: lightgbm.LGBMClassifier" in out.stdout
    assert not (project / ".mlspec").exists()


def test_help_lists_config_groups_including_packaged_presets(project: Path) -> None:
    out = _run(project, "run", "conf=breast_cancer", "--help")
    assert out.returncode == 0, out.stderr
    assert "model:" in out.stdout
    for preset in ("lightgbm", "xgboost", "random_forest"):
        assert preset in out.stdout
    assert not (project / ".mlspec").exists()


def test_project_preset_wins_over_packaged_preset(project: Path) -> None:
    (project / "conf" / "model").mkdir(exist_ok=True)
    (project / "conf" / "model" / "lightgbm.yaml").write_text(
        "_target_: lightgbm.LGBMClassifier\nn_estimators: 3\nverbose: -1\n"
    )
    out = _run(project, "run", "conf=breast_cancer", "--cfg", "job")
    assert out.returncode == 0, out.stderr
    assert "n_estimators: 3" in out.stdout
    assert "num_leaves" not in out.stdout


def test_hydra_callbacks_are_called(project: Path) -> None:
    site = project / "site"
    site.mkdir()
    (site / "recorder_cb.py").write_text(
        textwrap.dedent(
            """
            import json, os
            from hydra.experimental.callback import Callback

            class Recorder(Callback):
                def on_job_end(self, config, job_return, **kwargs):
                    with open(os.environ["RECORD_TO"], "a") as fh:
                        fh.write(json.dumps({"value": job_return.return_value}) + "\\n")
            """
        )
    )
    record = project / "record.jsonl"
    out = _run(
        project,
        "run",
        "conf=breast_cancer",
        *FAST,
        "+hydra.callbacks.rec._target_=recorder_cb.Recorder",
        env={"PYTHONPATH": str(site), "RECORD_TO": str(record)},
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert len(lines) == 1
    # The task function returns the objective (roc_auc on the validation split) to Hydra.
    assert 0.5 < lines[0]["value"] <= 1.0


def test_optuna_sweeper_optimises_the_objective(project: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    out = _run(
        project,
        "run",
        "-m",
        "conf=breast_cancer",
        *FAST,
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.direction=maximize",
        "hydra.sweeper.sampler.seed=1",
        "model.learning_rate=interval(0.01,0.3)",
    )
    assert out.returncode == 0, out.stderr
    results = list(project.glob("multirun/*/*/optimization_results.yaml"))
    assert len(results) == 1
    text = results[0].read_text()
    assert "best_params" in text and "model.learning_rate" in text
    with sqlite3.connect(project / ".mlspec" / "mlspec.db") as db:
        rows = db.execute("SELECT node, status FROM stage_runs").fetchall()
    assert rows.count(("train", "miss")) == 3
    assert rows.count(("load", "miss")) == 1


def test_runs_started_in_the_same_second_get_distinct_output_dirs(project: Path) -> None:
    # First run fills the cache so the concurrent pair is quick and starts together.
    assert _run(project, "run", "conf=breast_cancer", *FAST).returncode == 0
    env = {**os.environ, "COLUMNS": "200"}
    procs = [
        subprocess.Popen(
            [*_cli(), "run", "conf=breast_cancer", *FAST],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read() if p.stderr else ""
    with sqlite3.connect(project / ".mlspec" / "mlspec.db") as db:
        dirs = [r[0] for r in db.execute("SELECT output_dir FROM runs")]
    assert len(dirs) == 4
    assert len(set(dirs)) == 4
    assert all(Path(d).is_dir() for d in dirs)


def test_a_single_run_composes_its_config_once_and_hydra_still_records_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hydra's run path composes twice (once only to read hydra.mode); mlspec shares one
    composition between the two, and what Hydra writes to the run's .hydra/ is unchanged."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    from mlspec.cli.main import main

    calls: list[str] = []
    original = ConfigLoaderImpl.load_configuration

    def counting(self, config_name, overrides, run_mode, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(run_mode))
        return original(self, config_name, overrides, run_mode, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counting)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", ["mlspec", "run", "conf=breast_cancer", *FAST])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert calls == ["RunMode.RUN"]
    assert ConfigLoaderImpl.load_configuration is counting  # the sharing is undone afterwards
    (run_dir,) = project.glob("outputs/*/*")
    hydra_yaml = (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert "mode: RUN" in hydra_yaml
    assert "model.n_estimators=10" in (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert "n_estimators: 10" in (run_dir / ".hydra" / "config.yaml").read_text()
    assert "done " in capsys.readouterr().out


def test_a_config_that_sets_hydra_mode_multirun_sweeps_without_dash_m(project: Path) -> None:
    (project / "conf" / "swept.yaml").write_text(
        textwrap.dedent(
            """
            defaults:
              - breast_cancer
              - _self_
            hydra:
              mode: MULTIRUN
              sweeper:
                params:
                  model.learning_rate: 0.1,0.2
            """
        )
    )
    out = _run(project, "run", "conf=swept", *FAST)
    assert out.returncode == 0, out.stderr
    assert len(list(project.glob("multirun/*/*/[01]/.hydra/config.yaml"))) == 2
    assert not list(project.glob("outputs/*/*"))
    with sqlite3.connect(project / ".mlspec" / "mlspec.db") as db:
        rows = db.execute("SELECT node, status FROM stage_runs").fetchall()
    assert rows.count(("train", "miss")) == 2
    assert rows.count(("load", "miss")) == 1
