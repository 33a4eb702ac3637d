"""split: train / valid / test, seeded, by random, stratified, group or time order.

Sizes. ``n_test = ceil(n * test)`` and ``n_valid = ceil(n * valid)`` (like scikit-learn), at least
one unit left for training; the unit is a row, or a group for group splits.

Stratified. Split sizes as for random splits; class ``c`` (``n_c`` rows) gets ``floor`` or ``ceil``
of ``n_c * n_s / n`` rows in split ``s`` (``n_s`` its size), chosen so that every class and every
split adds up exactly (controlled rounding). Hence ``|count(c, s) - n_s / n * n_c| <= 1``. Which
rows of a class go where is seeded. A class with no row in a non-empty split is a data error.

Time, by ratios. Rows sorted by the column (stably); the oldest go to train, then valid, then
test. A boundary falling inside a run of equal times moves back to the start of the run, so tied
rows all land in the *later* split: ``max(train) < min(valid)`` and ``max(valid) < min(test)``
strictly, and train/valid may come out smaller than the ratios ask. Time, by cut-offs
(``valid_from`` and ``test_from``): train ``< valid_from <=`` valid ``< test_from <=`` test; the
ratios are then ignored. Numeric columns compare numerically, datetime columns as datetimes, other
columns are parsed with ``pd.to_datetime``. A naive cut-off on a tz-aware column is read in the
column's time zone. Within a time split rows are in time order; otherwise in their original order.

Checks after splitting (see ``_split_checks``): rows identical in every column in two splits
(``on_overlap``), group leakage (an invariant), classes missing from stratified splits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.builtin import _split_checks as checks

SPLITS = ("train", "valid", "test")


class SplitParams(StageParams):
    """Built from ``data.split``, ``data.target`` and ``seed``."""

    kind: Literal["random", "stratified", "group", "time"] = "random"
    valid: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.2, gt=0.0, lt=1.0)
    column: str | None = None  # the group column (group) or the ordering column (time)
    # time splits by explicit cut-offs instead of ratios: valid = [valid_from, test_from), test >=
    valid_from: str | None = None
    test_from: str | None = None
    # rows identical in every column appearing in two splits (a leak): warn, fail or ignore
    on_overlap: Literal["warn", "fail", "ignore"] = "warn"
    target: str
    seed: int = 0

    @model_validator(mode="after")
    def _coherent(self) -> SplitParams:
        if self.valid + self.test >= 1.0:
            raise ValueError(
                f"valid + test = {self.valid + self.test:g} leaves no training rows; "
                "keep it below 1"
            )
        if self.kind in ("group", "time") and not self.column:
            raise ValueError(f"split kind '{self.kind}' needs 'column'")
        if (self.valid_from or self.test_from) and self.kind != "time":
            raise ValueError("'valid_from'/'test_from' cut-offs need split kind 'time'")
        if (self.valid_from is None) != (self.test_from is None):
            raise ValueError("give both 'valid_from' and 'test_from', or neither")
        if self.valid_from is not None and self.test_from is not None:
            a, b = _parse_cutoff(self.valid_from), _parse_cutoff(self.test_from)
            try:
                after = a > b  # type: ignore[operator]
            except TypeError:  # number vs date, naive vs aware: judged against the column later
                after = False
            if after:
                raise ValueError("'valid_from' must not be after 'test_from'")
        return self


def _parse_cutoff(text: str) -> float | datetime:
    try:
        return float(text)
    except ValueError:
        pass
    try:  # a month alone (2024-01) means its first day, as pandas reads it
        return datetime.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        raise ValueError(
            f"cut-off {text!r} is neither an ISO date/datetime (2024-01-31, 2024-01-31T12:00) "
            "nor a number"
        ) from None


class SplitStage(Stage):
    name = "split"
    version = "2"
    Params = SplitParams
    inputs = ("data",)
    outputs = {"train": "frame", "valid": "frame", "test": "frame", "summary": "json"}
    libraries = ("pandas", "numpy")
    code_dependencies = ("mlspec.stages.builtin._split_checks",)

    def run(  # type: ignore[override]
        self, params: SplitParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        df = inputs["data"].reset_index(drop=True)
        _require(df, params.target, ("data", "target"), "target column")
        if params.kind in ("group", "time"):
            _require(df, str(params.column), ("data", "split", "column"), f"{params.kind} column")
        split = {"random": _random, "stratified": _stratified, "group": _group, "time": _time}
        extra: dict[str, Any] = {}
        parts = split[params.kind](df, params, extra, ctx)
        if params.kind == "stratified":
            checks.check_classes(df[params.target], parts, params.target)
        extra["overlap"] = checks.check_overlap(df, parts, params.on_overlap, ctx.log)
        out = {name: df.iloc[parts[name]].reset_index(drop=True) for name in SPLITS}
        ctx.log(
            f"{params.kind} split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in out.items())
        )
        return {**out, "summary": checks.summarise(df, out, params, extra)}


def _require(df: Any, column: str, loc: tuple[str, ...], what: str) -> None:
    if column not in df.columns:
        raise DataError(
            Problem(
                code="missing_column",
                message=f"{what} '{column}' is not in the data",
                loc=loc,
                fix="columns present: " + ", ".join(map(str, df.columns)),
            )
        )


def _counts(n: int, params: SplitParams, unit: str = "rows") -> tuple[int, int]:
    """(n_valid, n_test), rounded up like scikit-learn; at least one unit left for training."""
    # round() first: 100 * 0.15 is 15.000000000000002 in floating point, not 16 rows.
    n_test = math.ceil(round(n * params.test, 9))
    n_valid = math.ceil(round(n * params.valid, 9)) if params.valid > 0 else 0
    if n - n_test - n_valid < 1:
        raise DataError(
            Problem(
                code="too_few_rows",
                message=f"{n} {unit} are too few for valid={params.valid:g}, test={params.test:g}",
                loc=("data", "split"),
                fix="load more data or lower data.split.valid / data.split.test",
            )
        )
    return n_valid, n_test


def _parts(order: Any, n_valid: int, n_test: int) -> dict[str, Any]:
    """Cut a permutation into train / valid / test index arrays (each sorted)."""
    import numpy as np

    n_train = len(order) - n_valid - n_test
    train, valid, test = np.split(np.asarray(order), [n_train, n_train + n_valid])
    return {"train": np.sort(train), "valid": np.sort(valid), "test": np.sort(test)}


def _random(df: Any, params: SplitParams, extra: dict[str, Any], ctx: Any) -> dict[str, Any]:
    import numpy as np

    n_valid, n_test = _counts(len(df), params)
    order = np.random.default_rng(params.seed).permutation(len(df))
    return _parts(order, n_valid, n_test)


def _stratified(df: Any, params: SplitParams, extra: dict[str, Any], ctx: Any) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    y = df[params.target]
    _no_missing(y, params.target, "a stratified split needs a label for every row")
    codes, classes = pd.factorize(y)  # observed classes only, in order of appearance
    counts = np.bincount(codes, minlength=len(classes))
    rare = [(classes[i], int(c)) for i, c in enumerate(counts) if c < 2]
    if rare:
        raise DataError(
            Problem(
                code="rare_class",
                message=f"target '{params.target}' has classes with fewer than 2 rows: "
                + ", ".join(f"{k!r} ({v})" for k, v in rare),
                loc=("data", "target"),
                fix="drop or merge those classes, or use data.split.kind: random",
            )
        )
    n_valid, n_test = _counts(len(df), params)
    sizes = [len(df) - n_valid - n_test, n_valid, n_test]
    alloc = checks.allocate(counts, sizes)
    rng = np.random.default_rng(params.seed)
    chunks: dict[str, list[Any]] = {name: [] for name in SPLITS}
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(codes == c))
        cuts = np.cumsum(alloc[c])[:-1]
        for name, part in zip(SPLITS, np.split(rows, cuts), strict=True):
            chunks[name].append(part)
    return {
        name: np.sort(np.concatenate(chunks[name])).astype(np.intp, copy=False) for name in SPLITS
    }


def _group(df: Any, params: SplitParams, extra: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Whole groups go to one split: the fractions count groups, as GroupShuffleSplit does."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(df[params.column], use_na_sentinel=False)
    n_valid, n_test = _counts(len(uniques), params, unit="groups")
    order = np.random.default_rng(params.seed).permutation(len(uniques))
    groups = _parts(order, n_valid, n_test)
    parts = {name: np.flatnonzero(np.isin(codes, g)) for name, g in groups.items()}
    extra["groups"] = checks.check_groups(codes, parts)
    return parts


def _time(df: Any, params: SplitParams, extra: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Oldest rows train, then valid, then the newest rows test: no look-ahead."""
    import numpy as np

    column = str(params.column)
    _no_missing(df[column], column, "a time split needs every row to have a time")
    key, values = checks.time_key(df[column], column)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    n = len(df)
    if params.valid_from is not None and params.test_from is not None:
        v, t = (checks.cutoff(c, key, column) for c in (params.valid_from, params.test_from))
        if v > t:
            raise DataError(
                Problem(
                    code="bad_cutoffs",
                    message=f"valid_from {params.valid_from} is after test_from {params.test_from}",
                    loc=("data", "split", "valid_from"),
                    fix="swap the two cut-offs",
                )
            )
        b1, b2 = (int(np.searchsorted(ordered, x, side="left")) for x in (v, t))
        extra["cutoffs"] = {"valid_from": params.valid_from, "test_from": params.test_from}
        if b1 == 0 or b2 == n:
            empty = "train" if b1 == 0 else "test"
            lo, hi = checks.iso(key.min()), checks.iso(key.max())
            raise DataError(
                Problem(
                    code="empty_split",
                    message=f"the cut-offs valid_from={params.valid_from}, "
                    f"test_from={params.test_from} leave {empty} empty: '{column}' runs from "
                    f"{lo} to {hi}",
                    loc=("data", "split", "valid_from" if b1 == 0 else "test_from"),
                    fix=f"choose cut-offs with {lo} < valid_from <= test_from <= {hi}",
                )
            )
        ctx.log(f"time split by cut-offs on '{column}': data.split.valid / test are ignored")
    else:
        n_valid, n_test = _counts(n, params)
        b1, b2 = n - n_valid - n_test, n - n_test
        # A boundary inside a run of equal times moves back to the run's start: ties go later.
        b1, b2 = (int(np.searchsorted(ordered, ordered[b], side="left")) for b in (b1, b2))
        if b1 == 0:
            raise DataError(
                Problem(
                    code="too_few_times",
                    message=f"'{column}' has too few distinct values for a time split: rows "
                    "sharing the first time would straddle train and a later split",
                    loc=("data", "split", "column"),
                    fix="order by a finer time column, use valid_from / test_from cut-offs, "
                    "or use kind: random",
                )
            )
    if b1 == b2 and (params.valid > 0 or params.valid_from is not None):
        ctx.log(f"warning: the time split leaves valid empty (no '{column}' between its bounds)")
    parts = {"train": order[:b1], "valid": order[b1:b2], "test": order[b2:]}
    extra["time_range"] = {
        name: {"min": checks.iso(key.iloc[idx].min()), "max": checks.iso(key.iloc[idx].max())}
        if len(idx)
        else {"min": None, "max": None}
        for name, idx in parts.items()
    }
    return parts


def _no_missing(col: Any, name: str, why: str) -> None:
    missing = int(col.isna().sum())
    if missing:
        raise DataError(
            Problem(
                code="missing_values",
                message=f"column '{name}' has {missing} missing values; {why}",
                loc=(name,),
                fix=f"drop or fill the rows where '{name}' is missing before splitting",
            )
        )
