"""Bootstrap percentile intervals of the metrics, vectorised over the resamples.

A resample is represented by its row counts ``W`` (samples x rows): row i drawn k times has
weight k. Every metric below is the count-weighted form of scikit-learn's definition, so its
value on ``W[b]`` equals scikit-learn's metric on the rows of resample b (the unit tests check
this against scikit-learn on the expanded rows). Sorting, the one-hot confusion counts and the
per-sample losses are computed once; each metric is then a few matrix operations for all
resamples together, instead of thousands of scikit-learn calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlspec.evaluation.metrics import Predictions

# Float round-off between scikit-learn's and these formulas (e.g. an AUC of 1.0 computed as
# 0.9999999999999999): a point estimate this close to an interval's end counts as inside it.
_ROUND_OFF = 1e-9
MAX_UNDEFINED = 0.1


def resample_counts(n: int, samples: int, rng: Any) -> Any:
    """``samples`` x ``n`` matrix of how often each row is drawn (rows drawn with replacement)."""
    import numpy as np

    idx = rng.integers(0, n, size=(samples, n))
    offsets = (np.arange(samples) * n)[:, None]
    return np.bincount((idx + offsets).ravel(), minlength=samples * n).reshape(samples, n)


def replicates(p: Predictions, names: list[str], W: Any) -> dict[str, Any]:
    """Each metric on each resample: name -> array of ``len(W)`` values (NaN: undefined)."""
    import numpy as np

    W = np.asarray(W, dtype=np.float64)
    table = _classification(p, W, names) if p.task == "classification" else _regression(p, W)
    return {m: table[m]() for m in names}


def intervals(
    p: Predictions,
    names: list[str],
    points: dict[str, float],
    samples: int,
    level: float,
    rng: Any,
) -> dict[str, list[float] | None]:
    """Percentile intervals at ``level``; None where the metric is undefined (e.g. no positive
    row drawn) on more than ``MAX_UNDEFINED`` of the resamples: the rest would be a biased
    selection, so no interval is claimed."""
    import numpy as np

    n = len(p.y)
    if n == 0 or samples == 0:
        return {}
    reps = replicates(p, names, resample_counts(n, samples, rng))
    tail = (1.0 - level) / 2.0 * 100.0
    out: dict[str, list[float] | None] = {}
    for name in names:
        values = reps[name]
        finite = values[np.isfinite(values)]
        if len(finite) < (1.0 - MAX_UNDEFINED) * samples:
            out[name] = None
            continue
        lo, hi = (float(v) for v in np.percentile(finite, [tail, 100.0 - tail]))
        point = points.get(name, float("nan"))
        if point == point:  # snap round-off so that the interval holds its point estimate
            if lo - _ROUND_OFF <= point < lo:
                lo = point
            if hi < point <= hi + _ROUND_OFF:
                hi = point
        out[name] = [lo, hi]
    return out


# ---------------------------------------------------------------------------------------------
# classification


def _classification(p: Predictions, W: Any, names: list[str]) -> dict[str, Callable[[], Any]]:
    import numpy as np

    labels = np.unique(np.concatenate([np.asarray(p.classes), p.y, p.pred]))
    K = len(labels)
    yi, pi = np.searchsorted(labels, p.y), np.searchsorted(labels, p.pred)
    cache: dict[str, Any] = {}

    def counts() -> Any:
        if "C" not in cache:  # (samples, K, K) weighted confusion matrices
            onehot = np.zeros((len(yi), K * K))
            onehot[np.arange(len(yi)), yi * K + pi] = 1.0
            C = (W @ onehot).reshape(len(W), K, K)
            tp = np.einsum("bkk->bk", C)
            cache["C"] = (C, tp, C.sum(axis=2), C.sum(axis=1))
        return cache["C"]

    def per_class(kind: str) -> Any:
        _, tp, support, predicted = counts()
        denom = {"precision": predicted, "recall": support, "f1": support + predicted}[kind]
        num = 2.0 * tp if kind == "f1" else tp
        return np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)

    pos = int(np.searchsorted(labels, p.positive)) if p.binary else None

    def averaged(kind: str, average: str) -> Callable[[], Any]:
        def compute() -> Any:
            _, _, support, predicted = counts()
            values = per_class(kind)
            if average == "binary":
                return values[:, pos]
            if average == "weighted":
                total = support.sum(axis=1)
                return np.divide(
                    (values * support).sum(axis=1), total, out=np.zeros(len(W)), where=total > 0
                )
            present = (support + predicted) > 0  # scikit-learn averages over labels present
            return (values * present).sum(axis=1) / present.sum(axis=1)

        return compute

    def accuracy() -> Any:
        _, tp, support, _ = counts()
        return tp.sum(axis=1) / support.sum(axis=1)

    def balanced_accuracy() -> Any:
        _, _, support, _ = counts()
        recall = per_class("recall")
        present = support > 0
        return (recall * present).sum(axis=1) / present.sum(axis=1)

    main = "binary" if p.binary else "macro"
    table: dict[str, Callable[[], Any]] = {
        "accuracy": accuracy,
        "balanced_accuracy": balanced_accuracy,
        "precision": averaged("precision", main),
        "recall": averaged("recall", main),
        "f1": averaged("f1", main),
    }
    for kind in ("precision", "recall", "f1"):
        for average in ("macro", "weighted"):
            table[f"{kind}_{average}"] = averaged(kind, average)
    if any(m in names for m in ("roc_auc", "pr_auc", "log_loss", "brier")):
        table.update(_score_metrics(p, W))
    return table


def _score_metrics(p: Predictions, W: Any) -> dict[str, Callable[[], Any]]:
    import numpy as np

    classes = np.asarray(p.classes)
    score = np.asarray(p.score, dtype=np.float64)
    if p.binary:
        truth = (p.y == p.positive)[:, None]
        columns = score[:, None]
    else:
        truth = p.y[:, None] == classes[None, :]
        columns = score

    def over_classes(fn: Callable[[Any, Any, Any], Any]) -> Callable[[], Any]:
        # One-vs-rest: the mean over classes (one column for binary); NaN if any is undefined.
        return lambda: np.mean(
            [fn(truth[:, k], columns[:, k], W) for k in range(columns.shape[1])], axis=0
        )

    def mean_loss(per_row: Any) -> Callable[[], Any]:
        return lambda: (W @ per_row) / W.sum(axis=1)

    table = {"roc_auc": over_classes(_auc), "pr_auc": over_classes(_average_precision)}
    if p.proba:
        full = np.column_stack([1.0 - score, score]) if p.binary else score
        onehot = p.y[:, None] == classes[None, :]
        # scikit-learn's log_loss clips at the dtype's eps and renormalises rows.
        eps = np.finfo(full.dtype).eps
        clipped = np.clip(full, eps, 1.0 - eps)
        clipped = clipped / clipped.sum(axis=1, keepdims=True)
        true_p = np.where(onehot.any(axis=1), (clipped * onehot).sum(axis=1), np.nan)
        table["log_loss"] = mean_loss(-np.log(true_p))
        if p.binary:
            table["brier"] = mean_loss((truth[:, 0] - score) ** 2)
        else:
            table["brier"] = mean_loss(((onehot - score) ** 2).sum(axis=1))
    return table


def _curve(truth: Any, score: Any, W: Any) -> tuple[Any, Any]:
    """Weighted true/false positive counts at each distinct score, highest score first."""
    import numpy as np

    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last row of each tie group
    Ws = W[:, order]
    t = truth[order].astype(np.float64)
    tps = np.cumsum(Ws * t, axis=1)[:, ends]
    fps = np.cumsum(Ws * (1.0 - t), axis=1)[:, ends]
    return tps, fps


def _auc(truth: Any, score: Any, W: Any) -> Any:
    """ROC AUC by the trapezoidal rule on the weighted ROC curve (ties count one half)."""
    import numpy as np

    tps, fps = _curve(truth, score, W)
    zero = np.zeros((len(W), 1))
    tps, fps = np.hstack([zero, tps]), np.hstack([zero, fps])
    P, N = tps[:, -1], fps[:, -1]
    area = (np.diff(fps, axis=1) * (tps[:, 1:] + tps[:, :-1]) / 2.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((P > 0) & (N > 0), area / (P * N), np.nan)


def _average_precision(truth: Any, score: Any, W: Any) -> Any:
    """Average precision: sum over thresholds of (recall step) x precision, as scikit-learn."""
    import numpy as np

    tps, fps = _curve(truth, score, W)
    P = tps[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tps / (tps + fps))  # 0/0 only where the recall step is 0
        recall = tps / P[:, None]
        steps = np.diff(np.hstack([np.zeros((len(W), 1)), recall]), axis=1)
        return np.where(P > 0, (steps * precision).sum(axis=1), np.nan)


# ---------------------------------------------------------------------------------------------
# regression


def _regression(p: Predictions, W: Any) -> dict[str, Callable[[], Any]]:
    import numpy as np

    y = np.asarray(p.y, dtype=np.float64)
    err = y - np.asarray(p.pred, dtype=np.float64)
    total = W.sum(axis=1)

    def mean(values: Any) -> Any:
        return (W @ values) / total

    def r2() -> Any:
        y_mean = mean(y)
        ss_tot = (W * (y[None, :] - y_mean[:, None]) ** 2).sum(axis=1)
        ss_res = W @ (err**2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)

    def median_ae() -> Any:
        abs_err = np.abs(err)
        order = np.argsort(abs_err, kind="mergesort")
        cum = np.cumsum(W[:, order], axis=1)
        sorted_err = abs_err[order]
        n = cum[:, -1]
        lo = sorted_err[(cum > ((n - 1) // 2)[:, None]).argmax(axis=1)]
        hi = sorted_err[(cum > (n // 2)[:, None]).argmax(axis=1)]
        return (lo + hi) / 2.0

    eps = np.finfo(np.float64).eps
    return {
        "rmse": lambda: np.sqrt(mean(err**2)),
        "mae": lambda: mean(np.abs(err)),
        "r2": r2,
        "mape": lambda: mean(np.abs(err) / np.maximum(np.abs(y), eps)),
        "median_ae": median_ae,
        "max_error": lambda: np.where(W > 0, np.abs(err)[None, :], -np.inf).max(axis=1),
    }
