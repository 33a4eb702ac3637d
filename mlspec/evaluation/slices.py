"""Per-slice metrics: rows grouped by declared columns (crossed when several), binned numeric
columns, a minimum size, and the same metrics and intervals as the whole split.

Slice codes are computed on valid and test together, so a category or a bin is the same slice
in both splits (bin edges are quantiles of the evaluated rows, not of each split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlspec.errors import Problem, SpecError, did_you_mean
from mlspec.evaluation.options import SliceColumn

# A column without ``bins`` with more distinct values than this is almost surely numeric:
# thousands of one-row slices help nobody, so the spec must say how to bin it.
MAX_VALUES = 100


@dataclass
class SliceCodes:
    """One declared slice (columns crossed) over every split: per-split row codes and, per
    column, the JSON value of each code."""

    columns: tuple[str, ...]
    codes: dict[str, Any]  # split -> (rows, columns) int array
    values: list[list[Any]]  # per column: code -> value (a category, a bin label, None)

    def groups(self, split: str) -> list[tuple[dict[str, Any], Any]]:
        """(slice, row indices) for every combination present in the split, in code order."""
        import numpy as np

        codes = self.codes[split]
        if len(codes) == 0:
            return []
        combos, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        out = []
        for k, combo in enumerate(combos):
            key = {c: self.values[j][int(combo[j])] for j, c in enumerate(self.columns)}
            out.append((key, np.flatnonzero(inverse == k)))
        return out


def slice_codes(frames: dict[str, Any], group: tuple[SliceColumn, ...], index: int) -> SliceCodes:
    """Codes of ``group``'s columns on every split (frames: split -> DataFrame)."""
    import numpy as np
    import pandas as pd

    splits = list(frames)
    sizes = [len(frames[s]) for s in splits]
    columns, values = [], []
    codes = []
    for j, col in enumerate(group):
        loc: tuple[Any, ...] = ("evaluate", "slices", index) + ((j,) if len(group) > 1 else ())
        for s in splits:
            if col.column not in frames[s].columns:
                present = [str(c) for c in frames[s].columns]
                raise SpecError(
                    Problem(
                        "unknown_slice_column",
                        f"slice column '{col.column}' is not in the {s} split",
                        loc,
                        fix=(did_you_mean(col.column, present) or "check the name;")
                        + " columns present: "
                        + ", ".join(present),
                    )
                )
        data = pd.concat([frames[s][col.column] for s in splits], ignore_index=True)
        code, labels = _bin(data, col, loc) if col.bins else _categories(data, col, loc)
        columns.append(col.column)
        values.append(labels)
        codes.append(code)
    matrix = np.column_stack(codes) if codes else np.zeros((sum(sizes), 0), dtype=int)
    bounds = np.cumsum([0, *sizes])
    per_split = {s: matrix[bounds[i] : bounds[i + 1]] for i, s in enumerate(splits)}
    return SliceCodes(tuple(columns), per_split, values)


def _categories(data: Any, col: SliceColumn, loc: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    import numpy as np
    import pandas as pd

    try:
        code, uniques = pd.factorize(data, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed types that do not sort: order of appearance
        code, uniques = pd.factorize(data, sort=False, use_na_sentinel=True)
    if len(uniques) > MAX_VALUES:
        numeric = pd.api.types.is_numeric_dtype(data)
        raise SpecError(
            Problem(
                "too_many_slices",
                f"slice column '{col.column}' has {len(uniques)} distinct values"
                f" (more than {MAX_VALUES})",
                loc,
                fix=(
                    f"bin it: {{column: {col.column}, bins: 4}}"
                    if numeric
                    else "slice by a coarser column"
                ),
            )
        )
    labels = [_json_scalar(v) for v in uniques]
    code = np.asarray(code)
    if (code < 0).any():  # missing values are a slice of their own, last
        code = np.where(code < 0, len(labels), code)
        labels.append(None)
    return code, labels


def _bin(data: Any, col: SliceColumn, loc: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    import numpy as np
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(data) or pd.api.types.is_bool_dtype(data):
        raise SpecError(
            Problem(
                "bins_need_numbers",
                f"slice column '{col.column}' is not numeric ({data.dtype}): it cannot be binned",
                (*loc, "bins"),
                fix=f"slice by its values instead: write '{col.column}' without bins",
            )
        )
    values = data.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        edges = np.array([0.0, 0.0])
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, (col.bins or 1) + 1)))
        if len(edges) == 1:  # a constant column: one bin
            edges = np.array([edges[0], edges[0]])
    inner = edges[1:-1]
    # Bins (e0, e1], (e1, e2], ... with the lowest edge included in the first bin.
    code = np.searchsorted(inner, values, side="left")
    labels: list[Any] = [
        ("[" if i == 0 else "(") + f"{edges[i]:.4g}, {edges[i + 1]:.4g}]"
        for i in range(len(edges) - 1)
    ]
    missing = ~np.isfinite(values)
    if missing.any():
        code = np.where(missing, len(labels), code)
        labels.append(None)
    return code, labels


def _json_scalar(value: Any) -> Any:
    """A slice value as JSON can hold it: numpy scalars unwrapped, timestamps as ISO text."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str):
        value = item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    iso = getattr(value, "isoformat", None)
    return iso() if callable(iso) else str(value)


def describe(key: dict[str, Any], order: list[list[str]] | None = None) -> str:
    """``colA=x, colB=(1, 2]`` for tables and plots, columns in declared ``order`` (the
    artifact's ``slice_columns``) where given."""
    rank = {c: i for i, c in enumerate(dict.fromkeys(c for g in order or [] for c in g))}
    keys = sorted(key, key=lambda k: rank.get(k, len(rank)))
    return ", ".join(f"{k}={_show(key[k])}" for k in keys)


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
