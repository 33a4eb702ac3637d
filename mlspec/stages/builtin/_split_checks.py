"""Helpers of the split stage: stratified allocation, time keys, checks after splitting, summary.

Overlap counts, per pair of splits ``a-b`` (``train-valid``, ``train-test``, ``valid-test``): the
rows of ``b`` identical in every column to some row of ``a``, i.e. the evaluation rows the earlier
split has already seen. Rows are compared by 64-bit hashes (``pd.util.hash_pandas_object``,
index excluded), so a collision could in principle count one row too many.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlspec.errors import DataError, Problem

PAIRS = (("train", "valid"), ("train", "test"), ("valid", "test"))
MAX_CLASSES = 50  # a target with at most this many distinct values is summarised as classes


def allocate(class_counts: Any, sizes: list[int]) -> Any:
    """Rows of each class per split: ``floor`` or ``ceil`` of ``n_c * n_s / n``, sums exact.

    The floors leave class ``c`` short of ``r_c`` rows and split ``s`` short of ``d_s`` rows
    (``sum r = sum d``). A 0/1 matrix with those row and column sums, zero where ``n_c * n_s / n``
    is already whole, exists (the fractional parts are one, and transport polytopes are integral);
    a greedy pass (largest shortfall, then largest fractional part) finds most of it and
    augmenting paths the rest. Hence ``|count(c, s) - n_s / n * n_c| < 1``.
    """
    import numpy as np

    n_c = np.asarray(class_counts, dtype=np.int64)
    n_s = np.asarray(sizes, dtype=np.int64)
    num = np.outer(n_c, n_s)
    alloc, rem = num // int(n_c.sum()), num % int(n_c.sum())
    row_left = (n_c - alloc.sum(axis=1)).tolist()
    col_left = (n_s - alloc.sum(axis=0)).tolist()
    extra = np.zeros(alloc.shape, dtype=bool)
    for c in range(len(n_c)):
        ranked = sorted(range(len(n_s)), key=lambda s: (-col_left[s], -rem[c, s], s))
        for s in ranked:
            if row_left[c] and col_left[s] > 0 and rem[c, s]:
                extra[c, s], row_left[c], col_left[s] = True, row_left[c] - 1, col_left[s] - 1
    for c in range(len(n_c)):
        while row_left[c]:
            _augment(c, extra, rem, col_left)
            row_left[c] -= 1
    alloc += extra
    if (alloc.sum(axis=1) != n_c).any() or (alloc.sum(axis=0) != n_s).any():
        raise RuntimeError("stratified allocation failed: please report this")
    return alloc


def _augment(start: int, extra: Any, rem: Any, col_left: list[int]) -> None:
    """One more extra row for class ``start``: the shortest alternating path to a short split."""
    import numpy as np

    came_from: dict[int, int] = {}  # split -> the class that reached it
    taken_by: dict[int, int] = {start: -1}  # class -> the split it gives up (-1: the start)
    queue = [start]
    while queue:
        c = queue.pop(0)
        for s in range(extra.shape[1]):
            if s in came_from or not rem[c, s] or extra[c, s]:
                continue
            came_from[s] = c
            if col_left[s] > 0:
                col_left[s] -= 1
                while s >= 0:  # flip the path back to the start
                    c = came_from[s]
                    extra[c, s] = True
                    s = taken_by[c]
                    if s >= 0:
                        extra[c, s] = False
                return
            for other in np.flatnonzero(extra[:, s]).tolist():
                if other not in taken_by:
                    taken_by[other] = s
                    queue.append(other)
    raise RuntimeError("stratified allocation failed: please report this")


def time_key(col: Any, column: str) -> tuple[Any, Any]:
    """(the column as datetimes or numbers, its values as a sortable numpy array)."""
    import pandas as pd

    types = pd.api.types
    if not types.is_datetime64_any_dtype(col) and not types.is_numeric_dtype(col):
        try:
            col = _to_datetime(col)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                Problem(
                    code="bad_time_column",
                    message=f"time column '{column}' (dtype {col.dtype}) is neither numeric nor "
                    f"parseable as datetimes: {exc}",
                    loc=("data", "split", "column"),
                    fix=f"give '{column}' consistent ISO dates, or parse it when loading "
                    "(data.source dtypes)",
                )
            ) from exc
    if types.is_datetime64_any_dtype(col):
        naive = col.dt.tz_convert("UTC").dt.tz_localize(None) if col.dt.tz is not None else col
        return col, naive.to_numpy()
    dtype = "int64" if types.is_integer_dtype(col) else "float64"
    return col, col.to_numpy(dtype=dtype)


def _to_datetime(col: Any) -> Any:
    """ISO 8601 text (any precision) first; else pandas' inference, without its format warning."""
    import warnings

    import pandas as pd

    try:
        return pd.to_datetime(col, format="ISO8601")
    except (ValueError, TypeError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(col)


def cutoff(text: str, key: Any, column: str) -> Any:
    """A cut-off in the comparable form of the column's values."""
    import pandas as pd

    if not pd.api.types.is_datetime64_any_dtype(key):
        try:
            return float(text)
        except ValueError:
            raise DataError(
                Problem(
                    code="bad_cutoff",
                    message=f"cut-off {text!r} is not a number but '{column}' is numeric",
                    loc=("data", "split"),
                    fix="give valid_from / test_from as numbers",
                )
            ) from None
    stamp = pd.Timestamp(text)
    tz = key.dt.tz
    if tz is None and stamp.tz is not None:
        raise DataError(
            Problem(
                code="bad_cutoff",
                message=f"cut-off {text!r} has a time zone but '{column}' has none",
                loc=("data", "split"),
                fix="drop the offset from valid_from / test_from",
            )
        )
    if tz is not None:
        stamp = stamp.tz_localize(tz) if stamp.tz is None else stamp
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_datetime64()


def check_overlap(
    df: Any, parts: dict[str, Any], on_overlap: str, log: Callable[[str], None]
) -> dict[str, int]:
    """Rows identical in every column found in two splits; warn, fail or ignore (always counted)."""
    import numpy as np
    import pandas as pd

    try:
        hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts): compare their text instead
        hashes = pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy()
    counts = {f"{a}-{b}": int(np.isin(hashes[parts[b]], hashes[parts[a]]).sum()) for a, b in PAIRS}
    total = sum(counts.values())
    if not total or on_overlap == "ignore":
        return counts
    listing = ", ".join(f"{pair}: {n}" for pair, n in counts.items() if n)
    what = "rows identical in every column appear in two splits (" + listing + ")"
    fix = (
        "drop duplicate rows before splitting (data.clean: [drop_duplicates: {}]), or set "
        "data.split.on_overlap: ignore if the duplicates are genuine"
    )
    if on_overlap == "fail":
        raise DataError(
            Problem(code="overlapping_rows", message=what, loc=("data", "split"), fix=fix)
        )
    log(f"warning: {what}; fix: {fix}")
    return counts


def check_groups(codes: Any, parts: dict[str, Any]) -> dict[str, int]:
    """Groups per split; a group in two splits is a bug, never the user's doing."""
    import numpy as np

    sets = {name: np.unique(codes[idx]) for name, idx in parts.items()}
    for a, b in PAIRS:
        shared = np.intersect1d(sets[a], sets[b])
        if shared.size:
            raise RuntimeError(f"group split leaked {shared.size} groups into {a} and {b}")
    return {name: int(s.size) for name, s in sets.items()}


def check_classes(y: Any, parts: dict[str, Any], target: str) -> None:
    """Every class of a stratified target has rows in every non-empty split."""
    import pandas as pd

    codes, classes = pd.factorize(y)
    totals = pd.Series(codes).value_counts()
    for name, idx in parts.items():
        if not len(idx):
            continue
        present = set(codes[idx].tolist())
        for c, label in enumerate(classes):
            if c not in present:
                raise DataError(
                    Problem(
                        code="class_missing_from_split",
                        message=f"class {label!r} of target '{target}' ({int(totals[c])} rows) "
                        f"has no row in the {name} split",
                        loc=("data", "split"),
                        fix=f"make the {name} split larger (data.split.{name}), use fewer splits "
                        "(data.split.valid: 0), or merge rare classes",
                    )
                )


def summarise(df: Any, out: dict[str, Any], params: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """Sizes, target balance (or mean/std), overlap, groups and time ranges, JSON-ready."""
    import pandas as pd

    target = params.target
    summary: dict[str, Any] = {
        "kind": params.kind,
        "sizes": {name: len(frame) for name, frame in out.items()},
    }
    if df[target].nunique(dropna=True) <= MAX_CLASSES:
        classes = _labels(df[target]).value_counts(dropna=False).index
        balance = {}
        for name, frame in out.items():
            counts = _labels(frame[target]).value_counts(dropna=False)
            counts = counts.reindex(classes, fill_value=0).sort_index()
            n = len(frame)
            balance[name] = {
                "counts": {str(k): int(v) for k, v in counts.items()},
                "ratios": {str(k): (int(v) / n if n else None) for k, v in counts.items()},
            }
        summary["target_type"], summary["target"] = "classes", balance
    else:
        col = df[target]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        summary["target_type"] = "numeric" if numeric else "other"
        summary["target"] = {
            name: {"mean": number(frame[target].mean()), "std": number(frame[target].std())}
            if numeric
            else {"n_unique": int(frame[target].nunique())}
            for name, frame in out.items()
        }
    summary.update(extra)
    return summary


def _labels(series: Any) -> Any:
    """Class labels as text (missing labels as '<NA>'), so JSON keys sort the same everywhere."""
    return series.astype("string").fillna("<NA>")


def number(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN or infinity)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def iso(value: Any) -> Any:
    """A time for JSON: ISO text for datetimes, a plain number for numeric times."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    item = value.item() if hasattr(value, "item") else value
    return number(item) if isinstance(item, float) else item
