"""Acceptance b: the HTML report renders in headless Chromium — a screenshot is taken, every
plot is present and loaded, the console shows nothing (no errors). Also `runs show` text.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it when missing); the
browser tests skip, saying so, only when no chromium binary is found.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import runs, show

from mlspec.evaluation.report import plot_ids, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (install Debian's 'chromium' package; .ci/run does)",
)
WIDTH, HEIGHT = 1300, 2400


def chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local file; console messages are logged to stderr."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            *args,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console, and uncaught exceptions (Chromium logs both as
    ``INFO:CONSOLE``); the report writes nothing there unless something is wrong."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def check_in_browser(page: Path, tmp: Path, ids: list[str], screenshot: bool) -> dict[str, Any]:
    """Dump the DOM after load (and take a screenshot); returns what was seen."""
    dom = chromium(page, tmp, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    console = console_lines(dom.stderr)
    shot = None
    if screenshot:
        shot = tmp / f"{page.stem}.png"
        snap = chromium(page, tmp, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
        assert snap.returncode == 0, snap.stderr[-3000:]
        console += console_lines(snap.stderr)
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    body = re.search(r"<body[^>]*>", dom.stdout)
    return {
        "title": title.group(1) if title else "",
        "body": body.group(0) if body else "",
        "present": [i for i in ids if f'id="{i}"' in dom.stdout],
        "console": console,
        "screenshot": shot,
    }


def assert_rendered(seen: dict[str, Any], ids: list[str]) -> None:
    assert seen["title"].startswith("mlspec report OK"), seen["title"]
    assert 'data-report-status="ok"' in seen["body"], seen["body"]
    assert f'data-plots-loaded="{len(ids)}"' in seen["body"], seen["body"]
    assert seen["present"] == ids
    assert seen["console"] == []
    if seen["screenshot"] is not None:
        png = seen["screenshot"].read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)
        assert len(png) > 50_000  # a page of plots, not a blank or tiny image


@pytest.fixture(scope="module")
def bc_report(
    tmp_path_factory: pytest.TempPathFactory, bc_first_run: tuple[Path, Any]
) -> tuple[Path, str, subprocess.CompletedProcess[str]]:
    """`mlspec runs show RUN --html` on the shared breast_cancer run (declares a slice)."""
    from e2e_helpers import run_cli

    root, first = bc_first_run
    if first.returncode != 0:
        pytest.fail("the shared breast_cancer run failed:\n" + show(first))
    run_id = runs(root)[0]["run_id"]
    out = tmp_path_factory.mktemp("report") / "bc.html"
    return out, run_id, run_cli(["runs", "show", run_id, "--html", "-o", str(out)], cwd=root)


def test_runs_show_html_writes_the_report_and_prints_its_path(bc_report) -> None:
    out, run_id, result = bc_report
    assert result.returncode == 0, show(result)
    assert result.stdout.strip() == str(out.resolve())
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # Self-contained: no external script, stylesheet, image or font.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "<script src" not in page
    assert f"Evaluation of run {run_id}" in page


@needs_chromium
def test_breast_cancer_report_renders_in_headless_chromium(bc_report, tmp_path) -> None:
    out, _, result = bc_report
    assert result.returncode == 0, show(result)
    ids = [
        "plot-roc",
        "plot-pr",
        "plot-calibration",
        "plot-confusion",
        "plot-score-hist",
        "plot-importance",
        "plot-slices",  # conf/breast_cancer.yaml declares a binned slice
    ]
    assert_rendered(check_in_browser(out, tmp_path, ids, screenshot=True), ids)


@needs_chromium
def test_the_check_fails_on_a_broken_plot(bc_report, tmp_path) -> None:
    """The page's own check can fail: a plot whose image does not decode is reported."""
    out, _, _ = bc_report
    page = out.read_text()
    start = page.index('id="plot-pr"')
    marker = "base64,"
    at = page.index(marker, start) + len(marker)
    broken = tmp_path / "broken.html"
    broken.write_text(page[:at] + base64.b64encode(b"<svg broken").decode() + page[at + 400 :])
    seen = check_in_browser(broken, tmp_path, ["plot-pr"], screenshot=False)
    assert seen["title"].startswith("mlspec report ERROR: plot-pr")
    assert 'data-report-status="error"' in seen["body"]
    assert any("plot-pr" in line for line in seen["console"])


@needs_chromium
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_multiclass_and_regression_reports_render(kind: str, tmp_path: Path) -> None:
    metrics, predictions, report = _evaluated(kind)
    run = {"run_id": f"test-{kind}", "spec_name": kind, "status": "completed"}
    page = tmp_path / f"{kind}.html"
    page.write_text(render_html(run, metrics, predictions, report))
    ids = plot_ids(metrics)
    expected_first = "plot-roc" if kind == "multiclass" else "plot-pred-vs-true"
    assert ids[0] == expected_first and ids[-1] == "plot-slices"
    # The screenshot is the breast_cancer test's; here the DOM check and the console suffice.
    assert_rendered(check_in_browser(page, tmp_path, ids, screenshot=False), ids)


def _evaluated(kind: str) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Run the real evaluate stage on a small model (iris with a linear SVM's decision scores,
    or diabetes), with slices, and the train stage's importances."""
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from mlspec.stages.api import StageContext
    from mlspec.stages.builtin._fit import importances
    from mlspec.stages.builtin.evaluate import EvaluateParams, EvaluateStage

    loader, est = (load_iris, LinearSVC()) if kind == "multiclass" else (load_diabetes, Ridge())
    df = loader(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    features = [c for c in df.columns if c != "target"]
    transformer = ColumnTransformer([("numeric", StandardScaler(), features)])
    n = len(df)
    train = df.iloc[: n // 2]
    X = transformer.fit_transform(train[features])
    est.fit(X, train["target"])
    model = Pipeline([("features", transformer), ("model", est)])
    params = EvaluateParams(
        target="target",
        slices=[{"column": features[0], "bins": 2}],
        min_slice_size=5,
    )
    ctx = StageContext(node="e", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)
    inputs = {"model": model, "valid": df.iloc[n // 2 : 3 * n // 4], "test": df.iloc[3 * n // 4 :]}
    out = EvaluateStage().run(params, inputs, ctx)
    return out["metrics"], out["predictions"], importances(est, transformer, X.shape[1])


def test_runs_show_text_and_default_report_path(warm_bc: Path, mlspec) -> None:
    run_id = runs(warm_bc)[0]["run_id"]
    result = mlspec("runs", "show", run_id)
    assert result.returncode == 0, show(result)
    assert "95% bootstrap intervals (200 samples)" in result.stdout
    assert re.search(r"roc_auc\s*│\s*\d\.\d{4} \[\d\.\d{3}, \d\.\d{3}\]", result.stdout)
    assert "slices (test)" in result.stdout and "mean radius=" in result.stdout
    result = mlspec("runs", "show", run_id, "--html")
    assert result.returncode == 0, show(result)
    path = Path(result.stdout.strip())
    assert path == (warm_bc / ".mlspec" / "reports" / f"{run_id}.html").resolve()
    assert path.stat().st_size > 10_000


def test_run_prints_the_slices_table(bc_first_run) -> None:
    _, first = bc_first_run
    assert first.returncode == 0, show(first)
    assert "slices (test)" in first.stdout
    assert "mean radius=[" in first.stdout
