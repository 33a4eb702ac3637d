"""profile: a statistical profile of each split, the reference the monitoring stage compares with.

Bin edges for numeric columns are fixed here, from the training split, so that later drift tests
compare distributions on the same bins (Evidently recomputes them per report). Values of any split
outside the training edges (and infinities) are clipped into the end bins, so ``bin_counts`` add
up to the column's non-missing values.

Per column, every split: ``dtype``, ``missing_rate`` (0.0 for an empty split), ``n_unique``; then
by kind of column:

- numeric (not bool): ``quantiles``, ``mean``, ``std`` (population, ddof=0) over the finite values
  (None when there are none), ``n_infinite``, and ``bin_counts`` on the training edges (features
  with at least two distinct edges; the target gets no edges);
- datetime / timedelta: ``min`` and ``max`` as ISO text (None when all missing), no quantiles;
- anything else, bool included (and the target): ``frequencies`` of the ``top_categories`` most
  frequent values as text (ties by text, so the cut is stable) and ``other_count`` for the rest.

Everything is plain JSON: floats are finite or null, never NaN or infinity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from mlspec.stages.api import Stage, StageContext, StageParams

QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


class ProfileParams(StageParams):
    """Built from ``data.target`` (and defaults)."""

    target: str
    bins: int = Field(10, ge=2, le=100)  # numeric bin edges (quantiles of train)
    top_categories: int = Field(50, ge=1, le=1000)


class ProfileStage(Stage):
    name = "profile"
    version = "2"
    Params = ProfileParams
    inputs = ("train", "valid", "test")
    outputs = {"profile": "json"}
    libraries = ("pandas", "numpy")

    def run(  # type: ignore[override]
        self, params: ProfileParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        train = inputs["train"]
        edges = {
            str(col): _bin_edges(train[col], params.bins)
            for col in train.columns
            if _kind(train[col]) == "numeric" and str(col) != params.target
        }
        profile = {
            "target": params.target,
            "bin_edges": edges,
            "splits": {
                part: _profile_frame(inputs[part], params, edges)
                for part in ("train", "valid", "test")
            },
        }
        return {"profile": profile}


def _kind(series: Any) -> str:
    """numeric, datetime (timedeltas too) or category (bool, text, complex, mixed ...)."""
    import pandas as pd

    types = pd.api.types
    if types.is_bool_dtype(series) or types.is_complex_dtype(series):
        return "category"
    if types.is_datetime64_any_dtype(series) or types.is_timedelta64_dtype(series):
        return "datetime"
    return "numeric" if types.is_numeric_dtype(series) else "category"


def _floats(series: Any) -> Any:
    """The non-missing values as float64 (infinities kept)."""
    return series.dropna().to_numpy(dtype=float)


def _bin_edges(series: Any, bins: int) -> list[float]:
    """Quantile edges of the finite training values, deduplicated (a constant gives one edge)."""
    import numpy as np

    values = _floats(series)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    return [float(e) for e in edges]


def _profile_frame(df: Any, params: ProfileParams, edges: dict[str, list[float]]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for col in df.columns:
        series = df[col]
        entry: dict[str, Any] = {
            "dtype": str(series.dtype),
            "missing_rate": float(series.isna().mean()) if len(series) else 0.0,
            "n_unique": _n_unique(series),
        }
        kind = _kind(series)
        if kind == "numeric":
            entry.update(_numeric(series, edges.get(str(col))))
        elif kind == "datetime":
            present = series.dropna()
            entry["min"] = present.min().isoformat() if len(present) else None
            entry["max"] = present.max().isoformat() if len(present) else None
        if kind == "category" or str(col) == params.target:
            entry.update(_frequencies(series, params.top_categories))
        columns[str(col)] = entry
    return {"rows": len(df), "columns": columns}


def _numeric(series: Any, col_edges: list[float] | None) -> dict[str, Any]:
    import numpy as np

    values = _floats(series)
    finite = values[np.isfinite(values)]
    out: dict[str, Any] = {"n_infinite": int(values.size - finite.size)}
    if finite.size:
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: null, not a warning
            qs = np.quantile(finite, QUANTILES)
            out["quantiles"] = {str(q): _number(v) for q, v in zip(QUANTILES, qs, strict=True)}
            out["mean"] = _number(finite.mean())
            out["std"] = _number(finite.std(ddof=0))
    else:
        out["quantiles"] = out["mean"] = out["std"] = None
    if col_edges and len(col_edges) > 1:
        clipped = np.clip(values, col_edges[0], col_edges[-1])
        counts, _ = np.histogram(clipped, np.asarray(col_edges))
        out["bin_counts"] = [int(c) for c in counts]
    return out


def _frequencies(series: Any, top: int) -> dict[str, Any]:
    """The ``top`` most frequent values as text, ties broken by the text; the rest counted."""
    counts = series.astype("string").value_counts(dropna=True).sort_index()
    counts = counts.sort_values(ascending=False, kind="stable")  # ties stay in text order
    head = counts.iloc[:top]
    return {
        "frequencies": {str(k): int(v) for k, v in head.items()},
        "other_count": int(counts.sum() - head.sum()),
    }


def _n_unique(series: Any) -> int:
    try:
        return int(series.nunique(dropna=True))
    except TypeError:  # unhashable cells (lists, dicts): count their text
        return int(series.dropna().astype(str).nunique())


def _number(value: Any) -> float | None:
    out = float(value)
    return out if math.isfinite(out) else None
