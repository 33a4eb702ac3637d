"""Lazy validation that pins every failure it can to rows: what the on_invalid policies act on.

pandera's lazy failure cases come in two kinds:

- row-level ones carry the index of the failing row: a value out of range, a null in a
  non-nullable column, an ``isin`` miss, a value that does not convert to the column's dtype
  when the column (or the schema) has ``coerce: true``. These rows can be quarantined.
- schema-level ones cannot be pinned to rows: a missing column, a column the strict schema does
  not name, a column of the wrong dtype without coerce, an aggregate check, a check that could
  not run at all.

A value that does not coerce hides the checks behind it (the column keeps its raw dtype, so e.g.
``ge`` cannot even compare), so validation repeats without the failing rows until it passes or
only schema-level failures remain. Every row removed along the way is a failing row; each round
removes at least one row, so this ends. Failures that vanish once the failing rows are gone (the
check that could not run) were only a symptom and are not reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Frame-level checks report the column name as the failure case, not in the column field.
COLUMN_LEVEL = ("column_in_dataframe", "column_in_schema")

Key = tuple[str, str]  # (column, check)


@dataclass
class Outcome:
    """What validating a frame found, row by row where possible."""

    validated: Any  # the schema's output for the rows that pass (None: schema-level fails)
    failures: list[dict[str, Any]]  # {column, check, count, samples}, ordered by column
    schema_level: list[dict[str, Any]]  # the failures no row can be blamed for
    reasons: dict[int, str] = field(default_factory=dict)  # failing row position -> its checks

    @property
    def failing_rows(self) -> list[int]:
        return sorted(self.reasons)


def analyse(schema: Any, df: Any) -> Outcome:
    """Validate ``df`` lazily, repeating without failing rows until only the truth is left."""
    import numpy as np
    from pandera.errors import SchemaErrors

    # Failure cases name rows by index label: make labels unique so each names one row.
    work = df if df.index.is_unique else df.reset_index(drop=True)
    order = _ColumnOrder(df, schema)
    rows: dict[Key, dict[str, Any]] = {}  # row-level failures over all rounds
    row_keys: dict[int, list[Key]] = {}  # failing row position -> its (column, check)s
    alive = np.ones(len(work), dtype=bool)
    while True:
        current = work if alive.all() else work.iloc[np.flatnonzero(alive)]
        try:
            validated = schema.validate(current, lazy=True)
        except SchemaErrors as exc:
            # Keep the message, not the exception: its traceback references this frame, and that
            # cycle would pin every DataFrame here until a garbage collection (~470 MB at 1M rows).
            err, cases = str(exc)[:200], exc.failure_cases
        else:
            return _outcome(validated, rows, {}, row_keys, order)
        schema_level: dict[Key, dict[str, Any]] = {}
        found: dict[int, list[tuple[Key, Any]]] = {}
        positions = _positions(work, cases["index"])
        # Row order (stable): samples then list failing values in the order of the data.
        listed = sorted(
            zip(
                positions,
                cases["schema_context"],
                cases["column"],
                cases["check"],
                cases["failure_case"],
                strict=True,
            ),
            key=lambda case: case[0],
        )
        for pos, context, column, check, value in listed:
            column, check, value = _name(context, column, str(check), value)
            if pos < 0 or (check.startswith("dtype(") and not _coerces(schema, column)):
                _add(schema_level, (column, check), value)
            else:
                found.setdefault(int(pos), []).append(((column, check), value))
        for pos, items in found.items():
            seen = {key for key, _ in items}
            for (column, check), value in items:
                if check.startswith("dtype(") and (column, "coerce_" + check) in seen:
                    continue  # the same bad value again: coercion failed, so the dtype is off
                keys = row_keys.setdefault(pos, [])
                if (column, check) not in keys:
                    keys.append((column, check))
                    _add(rows, (column, check), value)
        if not found:
            if not schema_level:  # pandera failed without saying where: never pass silently
                _add(schema_level, ("<frame>", "validation"), err)
            return _outcome(None, rows, schema_level, row_keys, order)
        alive[list(found)] = False
        if not schema_level and _rows_judged_alone(schema):
            # Every check judges a row by its own values and the schema changes no data, so the
            # rows left pass as they are: another full round would only confirm it.
            return _outcome(work.iloc[np.flatnonzero(alive)], rows, {}, row_keys, order)


# pandera's built-in checks whose verdict on a value does not depend on the other rows.
_ELEMENT_CHECKS = frozenset(
    {
        "equal_to",
        "not_equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "in_range",
        "isin",
        "notin",
        "str_matches",
        "str_contains",
        "str_startswith",
        "str_endswith",
        "str_length",
    }
)


def _rows_judged_alone(schema: Any) -> bool:
    """True when removing the failing rows cannot make another row fail, nor change the rows
    that pass: only element-wise built-in checks (and nullability), no uniqueness, no
    frame-level checks, and no coercion, defaults, parsers or column filtering."""
    if (
        getattr(schema, "coerce", False)
        or getattr(schema, "add_missing_columns", False)
        or getattr(schema, "strict", False) == "filter"
        or getattr(schema, "unique", None)
        or getattr(schema, "checks", None)
        or getattr(schema, "parsers", None)
        or getattr(schema, "index", None) is not None
    ):
        return False
    for column in schema.columns.values():
        if (
            column.coerce
            or column.unique
            or column.default is not None
            or getattr(column, "parsers", None)
            or getattr(column, "regex", False)
            or any(check.name not in _ELEMENT_CHECKS for check in column.checks)
        ):
            return False
    return True


def _outcome(
    validated: Any,
    rows: dict[Key, dict[str, Any]],
    schema_level: dict[Key, dict[str, Any]],
    row_keys: dict[int, list[Key]],
    order: _ColumnOrder,
) -> Outcome:
    merged = {key: dict(entry, samples=list(entry["samples"])) for key, entry in rows.items()}
    for key, entry in schema_level.items():
        if key in merged:
            merged[key]["count"] += entry["count"]
            room = 5 - len(merged[key]["samples"])
            merged[key]["samples"].extend(entry["samples"][: max(room, 0)])
        else:
            merged[key] = entry
    ranked = sorted(merged, key=order.rank)
    reasons = {
        pos: "; ".join(f"{c}: {k}" for c, k in sorted(keys, key=order.rank))
        for pos, keys in row_keys.items()
    }
    return Outcome(
        validated,
        [merged[key] for key in ranked],
        [schema_level[key] for key in sorted(schema_level, key=order.rank)],
        reasons,
    )


class _ColumnOrder:
    """Deterministic order of (column, check): the data's column order, then first seen."""

    def __init__(self, df: Any, schema: Any):
        names = [str(c) for c in df.columns]
        names += [str(c) for c in schema.columns if str(c) not in names]
        self.columns = {name: i for i, name in enumerate(names)}
        self.seen: dict[Key, int] = {}

    def rank(self, key: Key) -> tuple[int, int]:
        first = self.seen.setdefault(key, len(self.seen))
        return (self.columns.get(key[0], len(self.columns)), first)


def _positions(work: Any, labels: Any) -> list[int]:
    """Row positions of failure-case index labels; -1 where the case names no row."""
    present = [i for i, label in enumerate(labels) if not _missing(label)]
    out = [-1] * len(labels)
    if present:
        found = work.index.get_indexer([labels.iloc[i] for i in present])
        for i, pos in zip(present, found, strict=True):
            out[i] = int(pos)
    return out


def _missing(label: Any) -> bool:
    return label is None or (isinstance(label, float) and math.isnan(label))


def _name(context: Any, column: Any, check: str, value: Any) -> tuple[str, str, Any]:
    """(column, check, sample) with the column-level and frame-level cases made readable."""
    if check in COLUMN_LEVEL:
        return str(value), check, None
    if jsonable(column) is None:
        return ("<index>" if str(context) == "Index" else "<frame>"), check, value
    return str(column), check, value


def _coerces(schema: Any, column: str) -> bool:
    col = schema.columns.get(column)
    return bool(getattr(schema, "coerce", False) or getattr(col, "coerce", False))


def _add(groups: dict[Key, dict[str, Any]], key: Key, value: Any) -> None:
    entry = groups.setdefault(key, {"column": key[0], "check": key[1], "count": 0, "samples": []})
    entry["count"] += 1
    value = jsonable(value)
    if value is not None and len(entry["samples"]) < 5:
        entry["samples"].append(value)


def jsonable(value: Any) -> Any:
    """A plain JSON value: numpy scalars unwrapped, NaN as null, anything else as text."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def failure_table(failures: list[dict[str, Any]]) -> list[str]:
    """One aligned line per (column, check), under a header line: what ``ctx.log`` prints."""
    rows = [("column", "check", "count", "samples")]
    for f in failures:
        samples = ", ".join(str(v) for v in f["samples"])
        if len(samples) > 60:
            samples = samples[:57] + "..."
        rows.append((f["column"], f["check"], str(f["count"]), samples))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        f"  {c:<{widths[0]}}  {k:<{widths[1]}}  {n:>{widths[2]}}  {s}".rstrip()
        for c, k, n, s in rows
    ]
