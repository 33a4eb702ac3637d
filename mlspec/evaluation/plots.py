"""The report's plots: matplotlib figures rendered to SVG (no display, no pyplot state).

Every function takes the ``metrics`` artifact and/or the ``predictions`` frame of the evaluate
stage and returns a Figure; ``report.py`` embeds each one as a base64 SVG image. Plots never
recompute the graded metrics: AUCs in legends and slice bars come from the artifact.
"""

from __future__ import annotations

from typing import Any

SPLIT_COLOURS = {"valid": "#1f77b4", "test": "#d62728"}
MAX_POINTS = 4000  # scatter points per split (subsampled, seeded) to keep the file small
MAX_CLASSES = 10  # one-vs-rest curves drawn for at most this many classes
TOP_FEATURES = 20


def figure(width: float = 6.0, height: float = 4.2, cols: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height), layout="constrained")
    axes = fig.subplots(1, cols, squeeze=False)[0]
    return fig, axes


def svg_bytes(fig: Any, salt: str) -> bytes:
    """The figure as SVG; ``salt`` keeps ids deterministic and distinct across figures."""
    import io

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def message(text: str, title: str) -> Any:
    """A figure that says why there is nothing to draw (the plot stays present)."""
    fig, (ax,) = figure(height=2.2)
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11)
    return fig


def _splits(preds: Any) -> list[tuple[str, Any]]:
    return [
        (s, preds[preds["split"] == s]) for s in ("valid", "test") if (preds["split"] == s).any()
    ]


def _ovr(metrics: dict[str, Any], rows: Any) -> list[tuple[str, Any, Any]]:
    """(label, truth, score) per curve: the positive class for binary, else one per class."""
    classes = metrics.get("classes") or []
    if "score" in rows.columns:
        pos = metrics.get("positive_label", classes[-1] if classes else 1)
        return [(str(pos), (rows["y_true"] == pos).to_numpy(), rows["score"].to_numpy())]
    out = []
    for label in classes[:MAX_CLASSES]:
        column = f"score:{label}"
        if column in rows.columns:
            out.append((str(label), (rows["y_true"] == label).to_numpy(), rows[column].to_numpy()))
    return out


def curve_points(truth: Any, score: Any) -> tuple[Any, Any, Any]:
    """(tp, fp, P) at each distinct score, highest first: the ROC and PR curves' vertices.
    numpy only, so drawing the report never imports scikit-learn."""
    import numpy as np

    order = np.argsort(-np.asarray(score, dtype=float), kind="mergesort")
    s, t = np.asarray(score, dtype=float)[order], np.asarray(truth, dtype=bool)[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp, fp = np.cumsum(t)[ends].astype(float), np.cumsum(~t)[ends].astype(float)
    return tp, fp, float(t.sum())


def _curves(metrics: dict[str, Any], preds: Any, kind: str) -> Any:
    import numpy as np

    binary = "score" in preds.columns
    title = {"roc": "ROC curve", "pr": "Precision-recall curve"}[kind]
    fig, (ax,) = figure()
    splits = _splits(preds) if binary else [s for s in _splits(preds) if s[0] == "test"][:1]
    for split, rows in splits:
        for label, truth, score in _ovr(metrics, rows):
            if truth.all() or not truth.any():
                continue
            tp, fp, positives = curve_points(truth, score)
            if kind == "roc":
                x, y = np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / positives]
            else:
                x, y = np.r_[0.0, tp / positives], np.r_[1.0, tp / (tp + fp)]
            value = metrics.get(split, {}).get("roc_auc" if kind == "roc" else "pr_auc")
            name = split if binary else f"class {label}"
            if binary and value is not None:
                name += f" ({'AUC' if kind == 'roc' else 'AP'} {value:.3f})"
            colour = SPLIT_COLOURS[split] if binary else None
            ax.plot(x, y, label=name, color=colour, drawstyle="steps-pre" if kind == "pr" else None)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate")
    else:
        ax.set(xlabel="recall", ylabel="precision")
    ax.set(title=title + ("" if binary else " (test, one-vs-rest)"), xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=8)
    return fig


def calibration_points(truth: Any, score: Any, bins: int = 10) -> tuple[Any, Any]:
    """(mean score, fraction positive) per quantile bin of the score (empty bins dropped)."""
    import numpy as np

    score = np.asarray(score, dtype=float)
    edges = np.quantile(score, np.linspace(0.0, 1.0, bins + 1))
    index = np.clip(np.searchsorted(edges[1:-1], score, side="right"), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    keep = counts > 0
    mean = np.bincount(index, weights=score, minlength=bins)[keep] / counts[keep]
    frac = np.bincount(index, weights=np.asarray(truth, float), minlength=bins)[keep] / counts[keep]
    return mean, frac


def roc(metrics: dict[str, Any], preds: Any) -> Any:
    return _curves(metrics, preds, "roc")


def pr(metrics: dict[str, Any], preds: Any) -> Any:
    return _curves(metrics, preds, "pr")


def calibration(metrics: dict[str, Any], preds: Any) -> Any:
    if metrics.get("score_kind") != "proba":
        return message(
            "The model gives decision scores, not probabilities: nothing to calibrate.",
            "Calibration",
        )
    binary = "score" in preds.columns
    fig, (ax,) = figure()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="perfectly calibrated")
    splits = _splits(preds) if binary else [s for s in _splits(preds) if s[0] == "test"][:1]
    for split, rows in splits:
        for label, truth, score in _ovr(metrics, rows):
            if truth.all() or not truth.any():
                continue
            mean, frac = calibration_points(truth, score)
            name = split if binary else f"class {label}"
            ax.plot(
                mean,
                frac,
                marker="o",
                ms=3,
                label=name,
                color=SPLIT_COLOURS[split] if binary else None,
            )
    ax.set(
        title="Calibration (quantile bins)" + ("" if binary else ", test, one-vs-rest"),
        xlabel="mean predicted probability",
        ylabel="fraction of positives",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8, loc="upper left")
    return fig


def confusion(metrics: dict[str, Any]) -> Any:
    import numpy as np

    cms = metrics.get("confusion_matrix") or {}
    splits = [s for s in ("valid", "test") if s in cms]
    if not splits:
        return message("No confusion matrix recorded.", "Confusion matrix")
    size = max(3.6, 0.45 * len(cms[splits[0]]["labels"]) + 2.2)
    fig, axes = figure(width=size, height=size * 0.9, cols=len(splits))
    for ax, split in zip(axes, splits, strict=True):
        labels, matrix = cms[split]["labels"], np.asarray(cms[split]["matrix"])
        ax.imshow(matrix, cmap="Blues")
        ticks = range(len(labels))
        ax.set_xticks(ticks, [str(v) for v in labels], rotation=45 if len(labels) > 4 else 0)
        ax.set_yticks(ticks, [str(v) for v in labels])
        peak = matrix.max() if matrix.size else 0
        for i in ticks:
            for j in ticks:
                colour = "white" if peak and matrix[i, j] > peak / 2 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour)
        ax.set(title=f"{split}", xlabel="predicted", ylabel="true")
    threshold = metrics.get("threshold")
    suffix = f" at threshold {threshold['value']:.3g}" if threshold else ""
    fig.suptitle("Confusion matrix" + suffix)
    return fig


def score_histograms(metrics: dict[str, Any], preds: Any) -> Any:
    import numpy as np

    rows = preds[preds["split"] == "test"] if (preds["split"] == "test").any() else preds
    fig, (ax,) = figure()
    if "score" in rows.columns:
        for label in metrics.get("classes") or []:
            values = rows.loc[rows["y_true"] == label, "score"].to_numpy()
            if len(values):
                ax.hist(values, bins=30, alpha=0.55, label=f"true class {label}")
        threshold = metrics.get("threshold")
        if threshold:
            ax.axvline(threshold["value"], color="black", ls="--", lw=1, label="threshold")
        xlabel = f"score of class {metrics.get('positive_label')}"
    else:
        for label in (metrics.get("classes") or [])[:MAX_CLASSES]:
            mask = (rows["y_true"] == label).to_numpy()
            column = f"score:{label}"
            if mask.any() and column in rows.columns:
                ax.hist(
                    rows.loc[mask, column].to_numpy(),
                    bins=np.linspace(0, 1, 21) if metrics.get("score_kind") == "proba" else 20,
                    alpha=0.55,
                    label=f"class {label}",
                )
        xlabel = "score of the true class"
    ax.set(title="Scores by true class (test)", xlabel=xlabel, ylabel="rows")
    ax.legend(fontsize=8)
    return fig


def _regression_rows(preds: Any) -> list[tuple[str, Any]]:
    out = []
    for split, rows in _splits(preds):
        if len(rows) > MAX_POINTS:
            rows = rows.sample(MAX_POINTS, random_state=0)
        out.append((split, rows))
    return out


def predicted_vs_true(metrics: dict[str, Any], preds: Any) -> Any:
    fig, (ax,) = figure()
    lo = float(min(preds["y_true"].min(), preds["y_pred"].min()))
    hi = float(max(preds["y_true"].max(), preds["y_pred"].max()))
    for split, rows in _regression_rows(preds):
        ax.scatter(
            rows["y_true"], rows["y_pred"], s=8, alpha=0.6, label=split, color=SPLIT_COLOURS[split]
        )
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", lw=0.8)
    ax.set(title="Predicted vs true", xlabel="true", ylabel="predicted")
    ax.legend(fontsize=8)
    return fig


def residuals(metrics: dict[str, Any], preds: Any) -> Any:
    fig, axes = figure(cols=2)
    for split, rows in _regression_rows(preds):
        resid = rows["y_true"] - rows["y_pred"]
        axes[0].scatter(
            rows["y_pred"], resid, s=8, alpha=0.6, label=split, color=SPLIT_COLOURS[split]
        )
    axes[0].axhline(0, color="grey", ls="--", lw=0.8)
    axes[0].set(title="Residuals vs predicted", xlabel="predicted", ylabel="true - predicted")
    axes[0].legend(fontsize=8)
    for split, rows in _splits(preds):
        axes[1].hist(
            rows["y_true"] - rows["y_pred"],
            bins=30,
            alpha=0.55,
            label=split,
            color=SPLIT_COLOURS[split],
        )
    axes[1].set(title="Residual distribution", xlabel="true - predicted", ylabel="rows")
    axes[1].legend(fontsize=8)
    return fig


def importance(train_report: dict[str, Any] | None) -> Any:
    values: dict[str, float] = (train_report or {}).get("feature_importances") or {}
    if not values:
        return message("The estimator reports no feature importances.", "Feature importance")
    ranking = (train_report or {}).get("feature_ranking") or sorted(
        values, key=lambda n: -values[n]
    )
    top = [n for n in ranking if n in values][:TOP_FEATURES][::-1]
    fig, (ax,) = figure(width=7.0, height=max(2.5, 0.28 * len(top) + 1.2))
    ax.barh(range(len(top)), [values[n] for n in top], color="#4c72b0")
    ax.set_yticks(range(len(top)), top, fontsize=8)
    source = (train_report or {}).get("importance_source") or "importance"
    ax.set(title=f"Feature importance (top {len(top)})", xlabel=source)
    return fig


def slice_bars(metrics: dict[str, Any], metric: str) -> Any:
    """The metric per slice with its bootstrap interval as an error bar, one panel per split."""
    import numpy as np

    from mlspec.evaluation.slices import describe

    slices = metrics.get("slices") or {}
    splits = [s for s in ("valid", "test") if slices.get(s)]
    if not splits:
        return message("Every declared slice is below min_slice_size.", "Slices")
    order = metrics.get("slice_columns")
    longest = max(len(slices[s]) for s in splits)
    fig, axes = figure(width=5.5, height=max(2.5, 0.3 * longest + 1.4), cols=len(splits))
    for ax, split in zip(axes, splits, strict=True):
        entries = slices[split][::-1]
        values = np.array([e["metrics"].get(metric, np.nan) for e in entries], dtype=float)
        lows, highs = [], []
        for e, v in zip(entries, values, strict=True):
            interval = (e.get("intervals") or {}).get(metric)
            lows.append(v - interval[0] if interval else 0.0)
            highs.append(interval[1] - v if interval else 0.0)
        y = np.arange(len(entries))
        ax.barh(y, np.nan_to_num(values), color=SPLIT_COLOURS[split], alpha=0.75)
        ax.errorbar(
            np.nan_to_num(values),
            y,
            xerr=[np.nan_to_num(lows), np.nan_to_num(highs)],
            fmt="none",
            ecolor="black",
            capsize=3,
            lw=1,
        )
        for i in np.flatnonzero(~np.isfinite(values)):
            ax.text(0, y[i], " undefined on this slice", va="center", fontsize=8, color="grey")
        overall = metrics.get(split, {}).get(metric)
        note = ""
        if overall is not None and overall == overall:
            ax.axvline(overall, color="grey", ls="--", lw=1)
            note = f"\n(dashed: whole {split}, {overall:.3f})"
        ax.set_yticks(
            y, [f"{describe(e['slice'], order)} (n={e['rows']})" for e in entries], fontsize=8
        )
        ax.set(title=f"{metric} by slice ({split}){note}", xlabel=metric)
    return fig
