"""The HTML report of one monitoring result: a single self-contained file.

Drawn from the result document alone (what ``--json`` prints and the database keeps), so
``mlspec monitor show ID --html`` redraws any past result. One histogram per compared column
(and one for the predictions): the reference's and the current data's shares on the *same* bins
— the reference's quantile bins fixed at training time, or its categories — as matplotlib SVGs
embedded as base64 ``data:`` images, like the evaluation report (no CDN, no external script or
font). A small inline script checks on load that every histogram decoded and marks the page:
``document.title`` starts with ``mlspec monitor report OK`` and ``<body
data-report-status="ok">``, or ``ERROR`` with the missing ids (also sent to ``console.error``).
"""

from __future__ import annotations

import base64
import html
from typing import Any

from mlspec.evaluation import plots
from mlspec.evaluation.html import PAGE_STYLE, self_check_script

# Status colours on top of the shared report style.
_STYLE = (
    PAGE_STYLE
    + ".drift{color:#b00020;font-weight:600}.ok{color:#1b7f3b}.insufficient_data{color:#a36b00}\n"
)


MAX_TICKS = 12


def plotted(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The column comparisons drawn, in order (the prediction last, when there is one)."""
    drift = result["drift"]
    items = list(drift.get("columns") or [])
    if drift.get("prediction"):
        items.append({**drift["prediction"], "is_prediction": True})
    return items


def plot_ids(result: dict[str, Any]) -> list[str]:
    """Element ids of the histograms: ``hist-0`` ... in column order (tests check these)."""
    return [f"hist-{i}" for i in range(len(plotted(result)))]


def render_html(result: dict[str, Any]) -> str:
    items = plotted(result)
    ids = plot_ids(result)
    figures = [_figure(pid, item) for pid, item in zip(ids, items, strict=True)]
    title = f"mlspec monitor report {result['id']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} (loading)</title><style>{_STYLE}</style></head>",
        '<body data-report-status="loading">',
        f"<h1>Drift of {_e(result['model']['name'])}:{_e(result['model']['version'])}"
        f" — {_e(result['id'])}</h1>",
        _summary(result),
        "<h2>Columns</h2>",
        _columns_table(items),
        _performance(result.get("performance")),
        _retrain(result),
        "<h2>Reference vs current</h2>",
        '<p class="muted">shares of rows per bin: the reference\'s quantile bins fixed at'
        " training time (values outside them fall in the end bins), or its categories</p>",
        '<div class="plots">',
        *figures,
        "</div>",
        f"<script>{self_check_script(ids, 'mlspec monitor report', result['id'])}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def _status(text: str) -> str:
    return f'<span class="{_e(text)}">{_e(text)}</span>'


def _summary(result: dict[str, Any]) -> str:
    drift, model, cur = result["drift"], result["model"], result["current"]
    rows = [
        ("status", _status(result["status"])),
        ("model", _e(f"{model['name']}:{model['version']} (asked for {model['ref']})")),
        ("spec", _e(result.get("spec"))),
        ("created", _e(result.get("created"))),
        ("current data", _e(f"{cur['source']}, {cur['rows']} rows"
                            + (f", window {cur['window']}" if cur.get("window") else ""))),
        ("reference rows", _e(drift.get("rows_reference"))),
        ("dataset drift", _e(f"{_fmt(drift['dataset_drift'])}: {drift['n_drifted']} of"
                             f" {drift['n_tested']} tested columns drifted"
                             f" ({drift['share_drifted']:.0%}; rule: at least"
                             f" {drift['options'].get('drift_share', 0.5):.0%})")),
        ("not compared", _e(", ".join(result.get("ignored") or []) or "(none)")),
        ("retrain when", _e(result["retrain_when"]["rule"])
         + f" — {'holds' if result['retrain_when']['holds'] else 'does not hold'}"),
    ]  # fmt: skip
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    why = "".join(
        f"<li>{_e(c['condition'])}: {_e(c['why'])}</li>"
        for c in result["retrain_when"]["conditions"]
    )
    return f'<table id="summary">{body}</table><ul class="muted">{why}</ul>'


def _columns_table(items: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>p-value"
        " (adjusted)</th><th>threshold</th><th>PSI</th><th>missing ref → cur</th>"
        "<th>unseen categories</th><th>status</th></tr>"
    )
    rows = []
    for c in items:
        name = "prediction: " + str(c["column"]) if c.get("is_prediction") else str(c["column"])
        p = (
            "-"
            if c.get("p_value") is None
            else f"{_fmt(c['p_value'])} ({_fmt(c.get('p_adjusted'))})"
        )
        unseen = c.get("unseen_categories") or []
        rows.append(
            f'<tr data-column="{_e(c["column"])}"><td>{_e(name)}</td><td>{_e(c["kind"])}</td>'
            f"<td>{_e(c['test'])}</td><td>{_fmt(c.get('statistic'))}</td><td>{p}</td>"
            f"<td>{_fmt(c.get('threshold'))}</td><td>{_fmt(c.get('psi'))}</td>"
            f"<td>{c['missing_rate_ref']:.1%} → {c['missing_rate_cur']:.1%}</td>"
            f"<td>{_e(', '.join(map(str, unseen[:10])) or '-')}</td>"
            f"<td>{_status(c['status'])}</td></tr>"
        )
    return f'<table id="columns">{head}{"".join(rows)}</table>'


def _performance(perf: dict[str, Any] | None) -> str:
    if not perf:
        return '<h2>Performance</h2><p class="muted">no labels in the current data</p>'
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{_fmt(m['training'])}</td><td>{_fmt(m['current'])}</td>"
        f"<td>{_fmt(m['drop'])}</td></tr>"
        for name, m in perf["metrics"].items()
    )
    return (
        f"<h2>Performance</h2><p class='muted'>{perf['rows']} labelled rows"
        f" ('{_e(perf.get('target'))}');"
        f" training values from the model's {perf['split']} split; drop &gt; 0 is worse</p>"
        f'<table id="performance"><tr><th>metric</th><th>training</th><th>current</th>'
        f"<th>drop</th></tr>{rows}</table>"
    )


def _retrain(result: dict[str, Any]) -> str:
    r = result.get("retrain")
    if not r:
        return ""
    return (
        "<h2>Retrain</h2>"
        f'<p id="retrain">run {_e(r["run_id"])}: {_e(r["outcome"])}'
        f"{' — version ' + _e(r['version']) if r.get('version') is not None else ''};"
        f" window {_e(r['window']['kind'])}, {_e(r['window']['rows'])} rows</p>"
    )


def _figure(pid: str, item: dict[str, Any]) -> str:
    title = ("prediction: " if item.get("is_prediction") else "") + str(item["column"])
    fig = _histogram(item, title)
    data = base64.b64encode(plots.svg_bytes(fig, pid)).decode("ascii")
    caption = (
        f"{title} — {item['status']}, {item['test']} {_fmt(item.get('statistic'))},"
        f" PSI {_fmt(item.get('psi'))}"
    )
    return (
        f'<figure class="plot" id="{pid}" data-column="{_e(item["column"])}">'
        f'<img alt="{_e(caption)}" src="data:image/svg+xml;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _histogram(item: dict[str, Any], title: str) -> Any:
    import numpy as np

    hist = item.get("histogram") or {}
    ref = np.asarray(hist.get("reference") or [], dtype=float)
    cur = np.asarray(hist.get("current") or [], dtype=float)
    if not len(ref) or len(ref) != len(cur):
        return plots.message("no histogram (nothing to compare)", title)
    fig, (ax,) = plots.figure(width=4.6, height=3.0)
    x = np.arange(len(ref))
    ax.bar(x - 0.2, ref, width=0.4, label="reference", color="#1f77b4")
    ax.bar(x + 0.2, cur, width=0.4, label="current", color="#d62728")
    if hist.get("labels"):
        labels = [str(v)[:12] for v in hist["labels"]]
    else:
        edges = hist.get("edges") or []
        labels = [f"{edges[i]:.3g}" for i in range(len(edges) - 1)] if len(edges) > 1 else []
        labels = labels if len(labels) == len(ref) else [str(i) for i in x]
    if len(labels) <= MAX_TICKS:
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(labels)} bins", fontsize=8)
    ax.set_ylabel("share of rows", fontsize=8)
    ax.set_title(f"{title} ({item['status']})", fontsize=9)
    ax.legend(fontsize=7)
    return fig
