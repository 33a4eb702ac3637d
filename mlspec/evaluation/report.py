"""The HTML evaluation report of one run: a single self-contained file.

Plots are matplotlib SVGs embedded as base64 ``data:`` images (no CDN, no external script or
font; text is drawn as paths so it renders identically everywhere). A small inline script
checks on load that every plot's image decoded and marks the page: ``document.title`` starts
with ``mlspec report OK`` and ``<body data-report-status="ok">``, or ``ERROR`` / ``error`` with
the missing plot ids (also sent to ``console.error``). Headless browsers and tests read that.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

from mlspec.evaluation import plots
from mlspec.evaluation.html import PAGE_STYLE, self_check_script
from mlspec.evaluation.tables import fmt, fmt_interval, metric_names

SPLITS = ("valid", "test")


def plot_ids(metrics: dict[str, Any]) -> list[str]:
    """The plots a report of these metrics holds, by element id (tests check these)."""
    if metrics.get("task") == "classification":
        ids = ["plot-roc", "plot-pr", "plot-calibration", "plot-confusion", "plot-score-hist"]
    else:
        ids = ["plot-pred-vs-true", "plot-residuals"]
    ids.append("plot-importance")
    if has_slices(metrics):
        ids.append("plot-slices")
    return ids


def has_slices(metrics: dict[str, Any]) -> bool:
    """Whether the spec declared slices (even if every one was too small)."""
    found = [metrics.get(k) or {} for k in ("slices", "skipped_slices")]
    return bool(metrics.get("slice_columns")) or any(any(f.values()) for f in found)


def render_html(
    run: dict[str, Any],
    metrics: dict[str, Any],
    predictions: Any,
    train_report: dict[str, Any] | None,
) -> str:
    """The report as one HTML document. ``run``: id, spec, status, started, objective ..."""
    figures = _figures(run, metrics, predictions, train_report)
    ids = plot_ids(metrics)
    assert [f[0] for f in figures] == ids, "plot_ids and _figures disagree"
    title = f"mlspec report {run.get('run_id', '')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} (loading)</title><style>{PAGE_STYLE}</style></head>",
        '<body data-report-status="loading">',
        f"<h1>Evaluation of run {_e(run.get('run_id', '?'))}</h1>",
        _summary(run, metrics),
        "<h2>Metrics</h2>",
        _metrics_table(metrics),
        _confusion_tables(metrics),
        "<h2>Plots</h2>",
        '<div class="plots">',
        *(_figure_html(pid, caption, fig) for pid, caption, fig in figures),
        "</div>",
        _slices_html(metrics),
        f"<script>{self_check_script(ids, 'mlspec report', run.get('run_id', ''))}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _figures(
    run: dict[str, Any], metrics: dict[str, Any], preds: Any, train_report: dict[str, Any] | None
) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Callable[[], Any]]] = []
    if metrics.get("task") == "classification":
        out += [
            ("plot-roc", "ROC curve", lambda: plots.roc(metrics, preds)),
            ("plot-pr", "Precision-recall curve", lambda: plots.pr(metrics, preds)),
            ("plot-calibration", "Calibration", lambda: plots.calibration(metrics, preds)),
            ("plot-confusion", "Confusion matrices", lambda: plots.confusion(metrics)),
            ("plot-score-hist", "Score histograms", lambda: plots.score_histograms(metrics, preds)),
        ]
    else:
        out += [
            (
                "plot-pred-vs-true",
                "Predicted vs true",
                lambda: plots.predicted_vs_true(metrics, preds),
            ),
            ("plot-residuals", "Residuals", lambda: plots.residuals(metrics, preds)),
        ]
    out.append(("plot-importance", "Feature importance", lambda: plots.importance(train_report)))
    if has_slices(metrics):
        metric = _slice_metric(run, metrics)
        out.append(
            (
                "plot-slices",
                f"{metric} per slice with {_level(metrics)} bootstrap intervals",
                lambda: plots.slice_bars(metrics, metric),
            )
        )
    return [(pid, caption, make()) for pid, caption, make in out]


def _slice_metric(run: dict[str, Any], metrics: dict[str, Any]) -> str:
    names = metric_names(metrics, list(SPLITS))
    objective = run.get("objective_name")
    return objective if objective in names else (names[0] if names else "?")


def _level(metrics: dict[str, Any]) -> str:
    boot = metrics.get("bootstrap")
    return f"{boot['level']:.0%}" if boot else "no"


def _figure_html(pid: str, caption: str, fig: Any) -> str:
    data = base64.b64encode(plots.svg_bytes(fig, pid)).decode("ascii")
    return (
        f'<figure class="plot" id="{pid}"><img alt="{_e(caption)}" '
        f'src="data:image/svg+xml;base64,{data}"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def _summary(run: dict[str, Any], metrics: dict[str, Any]) -> str:
    rows = [
        ("spec", run.get("spec_name")),
        ("status", run.get("status")),
        ("started", run.get("started")),
        ("git commit", run.get("git_commit") or "-"),
        ("overrides", " ".join(run.get("overrides") or []) or "(none)"),
        ("task", metrics.get("task")),
        ("rows evaluated", ", ".join(f"{k} {v}" for k, v in (metrics.get("rows") or {}).items())),
    ]
    if run.get("objective") is not None:
        rows.append(("objective (valid)", f"{run['objective_name']} = {run['objective']:.4f}"))
    threshold = metrics.get("threshold")
    if threshold:
        how = (
            f"chosen by {threshold['chosen_by']} on {threshold['split']}"
            if threshold.get("split")
            else "fixed"
        )
        rows.append(("decision threshold", f"{threshold['value']:.4g} ({how})"))
    boot = metrics.get("bootstrap")
    if boot:
        rows.append(
            (
                "intervals",
                f"{boot['level']:.0%} percentile bootstrap,"
                f" {boot['samples']} samples, seed {boot['seed']}",
            )
        )
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table id="summary">{body}</table>'


def _metrics_table(metrics: dict[str, Any]) -> str:
    splits = [s for s in SPLITS if metrics.get(s)]
    intervals = metrics.get("intervals") or {}
    head = "".join(f"<th>{s}</th>" for s in splits)
    body = []
    for name in metric_names(metrics, splits):
        cells = "".join(
            f"<td>{fmt(metrics[s].get(name))}<span class='muted'>"
            f"{fmt_interval((intervals.get(s) or {}).get(name))}</span></td>"
            for s in splits
        )
        body.append(f"<tr><td>{_e(name)}</td>{cells}</tr>")
    return f'<table id="metrics"><tr><th>metric</th>{head}</tr>{"".join(body)}</table>'


def _confusion_tables(metrics: dict[str, Any]) -> str:
    out = []
    matrices = metrics.get("confusion_matrix") or {}
    for split, cm in ((s, matrices[s]) for s in SPLITS if s in matrices):
        labels = cm["labels"]
        head = "".join(f"<th>pred {_e(v)}</th>" for v in labels)
        rows = "".join(
            f"<tr><th>true {_e(v)}</th>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
            for v, row in zip(labels, cm["matrix"], strict=True)
        )
        out.append(
            f"<p class='muted'>confusion matrix, {split}</p>"
            f"<table><tr><th></th>{head}</tr>{rows}</table>"
        )
    return "".join(out)


def _slices_html(metrics: dict[str, Any]) -> str:
    if not has_slices(metrics):
        return ""
    from mlspec.evaluation.slices import describe

    order = metrics.get("slice_columns")
    out = ["<h2>Slices</h2>"]
    for split in SPLITS:
        entries = (metrics.get("slices") or {}).get(split) or []
        skipped = (metrics.get("skipped_slices") or {}).get(split) or []
        if not entries and not skipped:
            continue
        names = metric_names(metrics, [split])
        head = "".join(f"<th>{_e(n)}</th>" for n in names)
        rows = []
        for e in entries:
            cells = "".join(
                f"<td>{fmt(e['metrics'].get(n))}<span class='muted'>"
                f"{fmt_interval((e.get('intervals') or {}).get(n))}</span></td>"
                for n in names
            )
            rows.append(
                f"<tr><td>{_e(describe(e['slice'], order))}</td><td>{e['rows']}</td>{cells}</tr>"
            )
        out.append(
            f"<p class='muted'>{split}</p><table class='slices' id=\"slices-{split}\">"
            f"<tr><th>slice</th><th>rows</th>{head}</tr>{''.join(rows)}</table>"
        )
        if skipped:
            items = "".join(
                f"<li>{_e(describe(s['slice'], order))}: {s['rows']} rows, {_e(s['reason'])}</li>"
                for s in skipped
            )
            out.append(f"<p class='muted'>skipped in {split}:</p><ul class='muted'>{items}</ul>")
    return "".join(out)
