"""Tracking through the real CLI: the fluent API from a script, then `mlspec runs ...` (issue 5,
acceptance d), and an engine run's lineage and in-stage logging."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from e2e_helpers import FAST, cli_env, derive_spec, install_plugin, ok, show

SEED_SNIPPET = """
import mlspec.tracking as mlflow
mlflow.start_run()
mlflow.log_param("algorithm", "XGBoost")
mlflow.log_metric("accuracy", 0.94)
mlflow.end_run()
"""


def _python(cwd: Path, code: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_seed_snippet_with_mlspecs_import_shows_in_runs_show(tmp_path: Path, mlspec) -> None:
    _python(tmp_path, SEED_SNIPPET)

    listed = json.loads(ok(mlspec("runs", "ls", "--json")).stdout)
    [run] = listed
    assert run["status"] == "completed" and run["source"] == "fluent"
    assert run["params"] == {"algorithm": "XGBoost"}
    assert run["metrics"] == {"accuracy": 0.94}

    text = ok(mlspec("runs", "show", run["run_id"][:12])).stdout
    assert "algorithm" in text and "XGBoost" in text, text
    assert "accuracy" in text and "0.9400" in text, text
    assert "lineage" in text and "python" in text, text

    shown = json.loads(ok(mlspec("runs", "show", run["run_id"], "--json")).stdout)
    assert shown["params"] == {"algorithm": "XGBoost"}
    assert shown["logged_metrics"]["accuracy"]["value"] == 0.94
    assert shown["logged_metrics"]["accuracy"]["step"] == 0
    assert shown["lineage"]["environment"]["python"].count(".") == 2
    assert shown["lineage"]["code"]["mlspec"]


def _two_runs(root: Path) -> None:
    _python(
        root,
        """
        import mlspec.tracking as mlflow
        for depth, auc in ((4, 0.91), (8, 0.95)):
            with mlflow.start_run(run_name=f"depth{depth}"):
                mlflow.log_params({"model": "lightgbm", "max_depth": depth})
                mlflow.log_metric("roc_auc", auc)
                for step in range(5):
                    mlflow.log_metric("loss", 1.0 / (step + depth), step=step)
                mlflow.set_tag("team", "fraud")
        with mlflow.start_run(run_name="other"):
            mlflow.log_param("model", "xgboost")
            mlflow.log_metric("roc_auc", 0.99)
        """,
    )


def test_ls_filters_sorts_limits_and_reports_bad_filters(tmp_path: Path, mlspec) -> None:
    _two_runs(tmp_path)
    flt = "metrics.roc_auc > 0.9 and params.model = lightgbm"
    rows = json.loads(ok(mlspec("runs", "ls", "--filter", flt, "--json")).stdout)
    assert sorted(r["run_name"] for r in rows) == ["depth4", "depth8"]

    rows = json.loads(
        ok(mlspec("runs", "ls", "--sort", "metrics.roc_auc desc", "--limit", "2", "--json")).stdout
    )
    assert [r["run_name"] for r in rows] == ["other", "depth8"]

    text = ok(mlspec("runs", "ls", "-f", flt, "--sort", "params.max_depth desc")).stdout
    assert "2 matching" in text and "metrics.roc_auc" in text and "params.max_depth" in text
    assert text.index("depth8") < text.index("depth4"), text

    bad = mlspec("runs", "ls", "--filter", "metrics.roc_auc > high")
    assert bad.returncode == 2, show(bad)
    assert "at position 18" in bad.stderr and "write a number" in bad.stderr, show(bad)
    assert "Traceback" not in bad.stderr


def test_compare_highlights_differences_and_export_writes_csv_and_json(
    tmp_path: Path, mlspec
) -> None:
    _two_runs(tmp_path)
    rows = json.loads(ok(mlspec("runs", "ls", "-f", "tags.team = fraud", "--json")).stdout)
    ids = sorted((r["run_name"], r["run_id"]) for r in rows)
    a, b = ids[0][1], ids[1][1]

    compared = json.loads(ok(mlspec("runs", "compare", a, b, "--json")).stdout)
    assert compared["varying"] == ["max_depth"]
    assert [m["logged_metrics"]["roc_auc"] for m in compared["members"]] == [0.91, 0.95]

    colored = ok(mlspec("runs", "compare", a, b, env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}))
    lines = colored.stdout.splitlines()
    depth_line = next(ln for ln in lines if "max_depth" in ln)
    assert "\x1b[33m" in depth_line, repr(depth_line)  # yellow: differs
    auc_line = next(ln for ln in lines if "roc_auc" in ln)
    assert "\x1b[1;32m0.9500" in auc_line, repr(auc_line)  # green: the best (higher) value
    assert "model" not in "".join(ln for ln in lines if "lightgbm" in ln and "\x1b[33m" in ln)
    plain = ok(mlspec("runs", "compare", a, b, "--all")).stdout
    assert "lightgbm" in plain and "max_depth" in plain

    out = tmp_path / "exports" / "runs.csv"
    ok(mlspec("runs", "export", "--filter", "params.model = lightgbm", "-o", str(out)))
    with out.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert sorted(r["run_name"] for r in table) == ["depth4", "depth8"]
    assert {r["metrics.loss"] for r in table} == {str(1 / 8), str(1 / 12)}
    assert {r["params.max_depth"] for r in table} == {"4", "8"}
    assert all(r["tags.team"] == "fraud" for r in table)

    ok(mlspec("runs", "export", "--sort", "metrics.roc_auc", "--format", "json", "-o", "all.json"))
    exported = json.loads((tmp_path / "all.json").read_text())
    assert [r["run_name"] for r in exported] == ["depth4", "depth8", "other"]
    bad = mlspec("runs", "export", "-o", "runs.xlsx")
    assert bad.returncode == 2 and "--format csv|json" in bad.stderr, show(bad)


def test_engine_run_records_lineage_and_stages_log_to_it(warm_bc: Path, mlspec) -> None:
    site = warm_bc / "plugin_site"
    install_plugin(
        site,
        "mlspec-logplugin",
        "mlspec_logplugin",
        "logging_stage.py",
        {"logging_stage": "mlspec_logplugin:LoggingStage"},
    )
    derive_spec(
        warm_bc, "bc_logging", "stages: [{name: logging, uses: logging_stage, after: validate}]\n"
    )
    env = {"PYTHONPATH": str(site)}
    result = ok(mlspec("run", "conf=bc_logging", *FAST, env=env))
    assert "7 cached, 1 ran" in result.stdout, show(result)  # pass-through: downstream cached

    flt = "metrics.roc_auc > 0.5 and params.model = lightgbm and metrics.stage_loss < 0.5"
    [run] = json.loads(ok(mlspec("runs", "ls", "-f", flt, "--json")).stdout)
    shown = json.loads(ok(mlspec("runs", "show", run["run_id"], "--json")).stdout)

    # Logged from inside the stage, without start_run.
    assert shown["params"]["rows_seen"] == "569"
    loss = shown["logged_metrics"]["stage_loss"]
    assert (loss["step"], loss["history"]) == (2, 3)
    assert shown["tags"]["logged_by"] == "logging"
    child = ok(mlspec("runs", "show", shown["tags"]["child_run"], "--json"))
    assert json.loads(child.stdout)["parent_run_id"] == run["run_id"]

    # Lineage: code, environment, data digests, resolved config.
    lineage = shown["lineage"]
    assert lineage["code"]["mlspec"] == "0.1.0" and "dirty" in lineage["code"]
    assert {"scikit-learn", "pandas", "lightgbm"} <= set(lineage["environment"]["libraries"])
    assert lineage["environment"]["python"] and lineage["environment"]["platform"]
    [(name, data_file)] = lineage["data"]["files"].items()
    assert name == "validate.schema" and data_file["digest"].startswith("blake3:")
    assert lineage["artifacts"]["train.model"].startswith("blake3:")
    assert lineage["config"]["choices"]["model"] == "lightgbm"
    assert shown["spec"]["model"]["_target_"] == "lightgbm.LGBMClassifier"

    text = ok(mlspec("runs", "show", run["run_id"])).stdout
    assert "lineage" in text and "validate.schema" in text and "train.model" in text
    assert "stage_loss" in text and "roc_auc" in text
