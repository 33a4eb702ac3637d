"""Hand-written helpers shared by the plain (no mlspec) benchmark scripts.

plain_pipeline.py and plain_data_prep.py do by hand what mlspec's split and profile stages do, so
that a benchmark compares the same work. Only pandas and numpy are used here; nothing is imported
from mlspec. The functions mirror mlspec's results exactly (the benchmarks check that the metrics
and the profile JSON come out identical), but they are written the way a person would write them
for one known table: two-class or few-class targets, numeric and text columns only.

- ``stratified_split``: the row allocation and seeded shuffles of mlspec's stratified split
  (floor of ``n_c * n_s / n`` rows per class and split, the leftover rows handed out by largest
  shortfall then largest remainder; one ``default_rng(seed).permutation`` per class).
- ``split_checks``: rows identical in every column found in two splits (a leak) and the class
  balance per split, as mlspec's split stage reports them.
- ``profile``: per split and column: dtype, missing rate, distinct values; quantiles, mean, std
  and counts on ten training-quantile bins for numeric columns; top-50 frequencies for text
  columns and the target.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def stratified_split(
    df: pd.DataFrame, target: str, valid: float, test: float, seed: int
) -> dict[str, np.ndarray]:
    """Sorted row positions of train / valid / test, stratified by ``target``."""
    n = len(df)
    n_test = math.ceil(round(n * test, 9))
    n_valid = math.ceil(round(n * valid, 9)) if valid > 0 else 0
    sizes = np.array([n - n_valid - n_test, n_valid, n_test], dtype=np.int64)
    codes, classes = pd.factorize(df[target])  # classes in order of appearance
    counts = np.bincount(codes, minlength=len(classes)).astype(np.int64)
    share = np.outer(counts, sizes)
    alloc, rem = share // n, share % n
    class_left = counts - alloc.sum(axis=1)
    split_left = sizes - alloc.sum(axis=0)
    for c in range(len(classes)):  # hand out the leftover rows (exact for two classes)
        ranked = sorted(range(3), key=lambda s: (-split_left[s], -rem[c, s], s))
        for s in ranked:
            if class_left[c] and split_left[s] > 0 and rem[c, s]:
                alloc[c, s] += 1
                class_left[c] -= 1
                split_left[s] -= 1
    assert (alloc.sum(axis=1) == counts).all() and (alloc.sum(axis=0) == sizes).all()
    rng = np.random.default_rng(seed)
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(codes == c))
        for name, part in zip(SPLITS, np.split(rows, np.cumsum(alloc[c])[:-1]), strict=True):
            chunks[name].append(part)
    return {name: np.sort(np.concatenate(chunks[name])) for name in SPLITS}


def split_checks(df: pd.DataFrame, parts: dict[str, np.ndarray], target: str) -> dict[str, Any]:
    """Leak check (identical rows in two splits, by row hash) and class balance per split."""
    hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    overlap = {
        f"{a}-{b}": int(np.isin(hashes[parts[b]], hashes[parts[a]]).sum())
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test"))
    }
    if any(overlap.values()):
        print(f"warning: rows identical in every column appear in two splits: {overlap}")
    y = df[target].astype("string").fillna("<NA>")
    balance = {}
    for name, idx in parts.items():
        counts = y.iloc[idx].value_counts().sort_index()
        if len(counts) < y.nunique():
            raise SystemExit(f"a class of '{target}' has no row in the {name} split")
        balance[name] = {str(k): int(v) for k, v in counts.items()}
    return {"sizes": {k: len(v) for k, v in parts.items()}, "overlap": overlap, "target": balance}


def _number(value: Any) -> float | None:
    out = float(value)
    return out if math.isfinite(out) else None


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def profile(
    parts: dict[str, pd.DataFrame], target: str, bins: int = 10, top: int = 50
) -> dict[str, Any]:
    """Column statistics of every split; numeric bins on the training split's quantiles."""
    train = parts["train"]
    edges: dict[str, list[float]] = {}
    for col in train.columns:
        if col != target and _is_numeric(train[col]):
            v = train[col].dropna().to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            cut = np.unique(np.quantile(v, np.linspace(0.0, 1.0, bins + 1))) if v.size else []
            edges[col] = [float(e) for e in cut]
    splits = {}
    for name, df in parts.items():
        columns: dict[str, Any] = {}
        for col in df.columns:
            s = df[col]
            entry: dict[str, Any] = {
                "dtype": str(s.dtype),
                "missing_rate": float(s.isna().mean()) if len(s) else 0.0,
                "n_unique": int(s.nunique(dropna=True)),
            }
            numeric = _is_numeric(s)
            if numeric:
                v = s.dropna().to_numpy(dtype=float)
                finite = v[np.isfinite(v)]
                entry["n_infinite"] = int(v.size - finite.size)
                if finite.size:
                    qs = np.quantile(finite, QUANTILES)
                    entry["quantiles"] = {
                        str(q): _number(x) for q, x in zip(QUANTILES, qs, strict=True)
                    }
                    entry["mean"] = _number(finite.mean())
                    entry["std"] = _number(finite.std(ddof=0))
                else:
                    entry["quantiles"] = entry["mean"] = entry["std"] = None
                e = edges.get(col)
                if e and len(e) > 1:
                    counts, _ = np.histogram(np.clip(v, e[0], e[-1]), np.asarray(e))
                    entry["bin_counts"] = [int(c) for c in counts]
            if not numeric or col == target:
                counts = s.astype("string").value_counts(dropna=True).sort_index()
                counts = counts.sort_values(ascending=False, kind="stable")
                head = counts.iloc[:top]
                entry["frequencies"] = {str(k): int(v) for k, v in head.items()}
                entry["other_count"] = int(counts.sum() - head.sum())
            columns[str(col)] = entry
        splits[name] = {"rows": len(df), "columns": columns}
    return {"target": target, "bin_edges": edges, "splits": splits}


def first_difference(a: Any, b: Any, path: str = "", rel: float = 1e-9) -> str | None:
    """Where two JSON-like values differ (floats within ``rel``); None when they agree."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}/{key}: only on one side"
            found = first_difference(a[key], b[key], f"{path}/{key}", rel)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]", rel)
            if found:
                return found
        return None
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
            return f"{path}: {a!r} != {b!r}"
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"
