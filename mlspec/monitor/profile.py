"""The reference profile: what drift detection keeps of the training data, taken at training time.

Stored as ``reference_profile.json`` in a model bundle (plain, compact JSON), it holds per column:

- every column: ``dtype``, ``rows``, ``missing`` (count of missing values), ``count`` (values
  used by the tests);
- numeric columns: ``mean``, ``std`` (population, over the finite values; the Wasserstein
  distance is normalised by it, as Evidently does), ``min``/``max``, ``infinite`` (±inf are
  counted, not tested), bin ``edges`` from the reference quantiles with their ``bin_counts`` —
  fixed here, never recomputed from current data (Evidently re-bins every report) — and either
  the sorted ``values`` themselves (up to ``exact_max_rows``: KS and Wasserstein are then exact)
  or a ``sketch`` of ``sketch_size`` quantiles at the mid-points ``(i + 0.5) / K`` with the
  approximation error it implies (``sketch_w1``: W1 between the reference and the sketch, the
  bound on the Wasserstein error; ``sketch_ks`` = 0.5 / K, the bound on the KS error);
- categorical columns (text, bool, and numeric columns with at most ``discrete_max_values``
  distinct values, as Evidently does): the ``categories`` (the ``max_categories`` most frequent,
  ties by text) with their ``counts`` and ``other_count`` for the pooled rest;
- datetimes and timedeltas are numeric, in seconds.

The prediction distribution (scores on held-out data: the positive-class probability of a binary
classifier, the label of other classifiers, the value of a regressor) is one more column profile,
and so is the target's when given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlspec.monitor.options import ProfileOptions
from mlspec.monitor.stats import binned_counts, wasserstein_sorted

FORMAT = "mlspec.reference_profile"
FORMAT_VERSION = 1


@dataclass
class ReferenceProfile:
    """The profile of a reference frame (see the module docstring); ``columns`` are JSON dicts."""

    rows: int
    columns: dict[str, dict[str, Any]]
    options: ProfileOptions = field(default_factory=ProfileOptions)
    prediction: dict[str, Any] | None = None
    target: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "rows": self.rows,
            "options": self.options.model_dump(),
            "columns": self.columns,
            "prediction": self.prediction,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferenceProfile:
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"not a version-{FORMAT_VERSION} reference profile"
                f" (format {data.get('format')!r}, version {data.get('version')!r})"
            )
        return cls(
            rows=int(data["rows"]),
            columns=dict(data["columns"]),
            options=ProfileOptions.model_validate(data.get("options", {})),
            prediction=data.get("prediction"),
            target=data.get("target"),
        )

    def to_bytes(self) -> bytes:
        """Compact JSON, columns in frame order (deterministic): what the bundle stores."""
        import json

        return json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False).encode("utf-8")


def build_reference_profile(
    features: Any,
    predictions: Any = None,
    target: Any = None,
    options: ProfileOptions | None = None,
    prediction_name: str = "prediction",
) -> ReferenceProfile:
    """Profile ``features`` (a DataFrame), and the prediction scores and target when given."""
    opts = options or ProfileOptions()
    columns = {str(c): profile_column(features[c], opts) for c in features.columns}
    pred = None
    if predictions is not None:
        import pandas as pd

        pred = profile_column(pd.Series(np.asarray(predictions)), opts)
        pred["name"] = prediction_name
    tgt = profile_column(target, opts) if target is not None else None
    return ReferenceProfile(len(features), columns, opts, pred, tgt)


# -- one column ------------------------------------------------------------------------------


def column_kind(series: Any) -> str:
    """``numeric`` (numbers, datetimes, timedeltas; not bool) or ``categorical``."""
    import pandas as pd

    types = pd.api.types
    if types.is_bool_dtype(series) or types.is_complex_dtype(series):
        return "categorical"
    if types.is_numeric_dtype(series):
        return "numeric"
    if types.is_datetime64_any_dtype(series) or types.is_timedelta64_dtype(series):
        return "numeric"
    return "categorical"


def numeric_values(series: Any) -> Any:
    """float64 values, NaN where missing; datetimes as seconds since the epoch (UTC)."""
    import pandas as pd

    types = pd.api.types
    if types.is_datetime64_any_dtype(series) or types.is_timedelta64_dtype(series):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        unit = "datetime64[us]" if types.is_datetime64_any_dtype(series) else "timedelta64[us]"
        raw = series.to_numpy(dtype=unit)  # whatever the stored resolution
        out = raw.astype("int64").astype(float) / 1e6
        out[np.isnat(raw)] = np.nan
        return out
    return series.to_numpy(dtype=float, na_value=np.nan)


def profile_column(series: Any, opts: ProfileOptions) -> dict[str, Any]:
    """One column's profile entry (plain JSON)."""
    kind = column_kind(series)
    if kind == "numeric":
        values = numeric_values(series)
        finite = np.sort(values[np.isfinite(values)])
        entry = {
            "dtype": str(series.dtype),
            "rows": int(values.size),
            "missing": int(np.isnan(values).sum()),
            "infinite": int(np.isinf(values).sum()),
        }
        distinct = _distinct_sorted(finite)
        if distinct.size <= opts.discrete_max_values or finite.size == 0:
            counts = np.diff(np.searchsorted(finite, distinct, side="left"), append=finite.size)
            entry.update(_categories([_json_number(v) for v in distinct], counts, opts))
            entry.update(kind="categorical", numeric_values=True)
            return entry
        entry.update(kind="numeric", **_numeric_summary(finite, opts))
        return entry
    return {
        "kind": "categorical",
        "dtype": str(series.dtype),
        "rows": len(series),
        "missing": int(series.isna().sum()),
        "numeric_values": False,
        **_categories(*category_counts(series), opts),
    }


def _distinct_sorted(sorted_values: Any) -> Any:
    if sorted_values.size == 0:
        return sorted_values
    keep = np.empty(sorted_values.size, dtype=bool)
    keep[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=keep[1:])
    return sorted_values[keep]


def _numeric_summary(finite: Any, opts: ProfileOptions) -> dict[str, Any]:
    n = finite.size
    mean = float(finite.mean())
    std = float(np.sqrt(np.mean((finite - mean) ** 2)))
    edges = np.unique(_linear_quantiles(finite, np.linspace(0.0, 1.0, opts.bins + 1)))
    out: dict[str, Any] = {
        "count": int(n),
        "mean": _finite(mean),
        "std": _finite(std),
        "min": float(finite[0]),
        "max": float(finite[-1]),
        "edges": [float(e) for e in edges],
        "bin_counts": [int(c) for c in binned_counts(finite, edges)] if edges.size > 1 else [n],
    }
    if n <= opts.exact_max_rows:
        out["values"] = [float(v) for v in finite]
        return out
    sketch = quantile_sketch(finite, opts.sketch_size)
    out["sketch"] = [float(v) for v in sketch]
    out["sketch_w1"] = wasserstein_sorted(finite, sketch)
    out["sketch_ks"] = 0.5 / opts.sketch_size
    return out


def quantile_sketch(sorted_values: Any, k: int) -> Any:
    """Quantiles at (i + 0.5) / k by the inverted ECDF: sup |F_sketch - F| <= 0.5 / k exactly."""
    n = sorted_values.size
    u = (np.arange(k) + 0.5) / k
    idx = np.clip(np.ceil(u * n).astype(np.int64) - 1, 0, n - 1)
    return sorted_values[idx]


def _linear_quantiles(sorted_values: Any, qs: Any) -> Any:
    """np.quantile's default (linear) method on already sorted values, without re-partitioning."""
    n = sorted_values.size
    pos = qs * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def category_counts(series: Any) -> tuple[list[Any], Any]:
    """(category texts, counts) of the non-missing values of a text-like column."""
    try:
        counts = series.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable cells (lists, dicts): count their text
        counts = series.dropna().astype(str).value_counts(sort=False)
    labels = [category_text(k) for k in counts.index]
    values = counts.to_numpy(dtype=np.int64)
    if len(set(labels)) != len(labels):  # e.g. 1 and "1" in an object column: one category
        merged: dict[str, int] = {}
        for label, c in zip(labels, values, strict=True):
            merged[label] = merged.get(label, 0) + int(c)
        labels, values = list(merged), np.asarray(list(merged.values()), dtype=np.int64)
    return labels, values


def category_text(value: Any) -> str:
    """How a category is named: its text; integral floats without ".0" (so 1 and 1.0 agree)."""
    if isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _categories(labels: list[Any], counts: Any, opts: ProfileOptions) -> dict[str, Any]:
    """The ``max_categories`` most frequent (ties by text), the rest pooled in ``other_count``."""
    order = sorted(range(len(labels)), key=lambda i: (-int(counts[i]), str(labels[i])))
    head = order[: opts.max_categories]
    return {
        "count": int(np.sum(counts)),
        "categories": [labels[i] for i in head],
        "counts": [int(counts[i]) for i in head],
        "other_count": int(np.sum(counts) - sum(int(counts[i]) for i in head)),
        "distinct": len(labels),
    }


def _json_number(value: float) -> int | float:
    return int(value) if value == int(value) and abs(value) < 2**53 else float(value)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# -- prediction scores ----------------------------------------------------------------------


def prediction_scores(
    predictions: Any, probabilities: Any = None, classes: list[Any] | None = None
) -> tuple[Any, str]:
    """(1-D scores, name) that describe a model's output distribution.

    A binary classifier with probabilities: the probability of its second class
    (``proba_<class>``); any other model: its predictions (labels or values). The register stage
    and the monitor both call this, so reference and current scores mean the same thing.
    """
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=float)
        if proba.ndim == 2 and proba.shape[1] == 2:
            label = classes[1] if classes is not None and len(classes) == 2 else 1
            return proba[:, 1], f"proba_{label}"
    return np.asarray(predictions), "prediction"
