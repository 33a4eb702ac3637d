"""split: train / valid / test, seeded, by random, stratified, group or time order."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem
from mlspec.stages.api import Stage, StageContext, StageParams


class SplitParams(StageParams):
    """Built from ``data.split``, ``data.target`` and ``seed``."""

    kind: Literal["random", "stratified", "group", "time"] = "random"
    valid: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.2, gt=0.0, lt=1.0)
    column: str | None = None  # the group column (group) or the ordering column (time)
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
        return self


class SplitStage(Stage):
    name = "split"
    version = "1"
    Params = SplitParams
    inputs = ("data",)
    outputs = {"train": "frame", "valid": "frame", "test": "frame"}
    libraries = ("pandas", "numpy", "scikit-learn")

    def run(  # type: ignore[override]
        self, params: SplitParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        df = inputs["data"].reset_index(drop=True)
        _require(df, params.target, ("data", "target"), "target column")
        if params.kind in ("group", "time"):
            _require(df, str(params.column), ("data", "split", "column"), f"{params.kind} column")
        split = {"random": _random, "stratified": _stratified, "group": _group, "time": _time}
        parts = split[params.kind](df, params)
        # Within each split rows keep their original order (time: sorted order), whatever the
        # kind: a stable layout that is easy to inspect and identical across reruns.
        out = {name: df.iloc[idx].reset_index(drop=True) for name, idx in parts.items()}
        ctx.log(
            f"{params.kind} split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in out.items())
        )
        return out


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


def _random(df: Any, params: SplitParams) -> dict[str, Any]:
    import numpy as np

    n_valid, n_test = _counts(len(df), params)
    order = np.random.default_rng(params.seed).permutation(len(df))
    return _parts(order, n_valid, n_test)


def _stratified(df: Any, params: SplitParams) -> dict[str, Any]:
    import numpy as np
    from sklearn.model_selection import train_test_split

    y = df[params.target]
    _no_missing(y, params.target, "a stratified split needs a label for every row")
    counts = y.value_counts(sort=False)
    rare = counts[(counts > 0) & (counts < 2)]  # unused categories count 0: not a problem
    if len(rare):
        raise DataError(
            Problem(
                code="rare_class",
                message=f"target '{params.target}' has classes with fewer than 2 rows: "
                + ", ".join(f"{k!r} ({v})" for k, v in rare.items()),
                loc=("data", "target"),
                fix="drop or merge those classes, or use data.split.kind: random",
            )
        )
    _counts(len(df), params)
    idx = np.arange(len(df))
    try:
        rest, test = train_test_split(
            idx, test_size=params.test, stratify=y.to_numpy(), random_state=params.seed
        )
        valid = idx[:0]
        if params.valid > 0:
            ratio = params.valid / (1.0 - params.test)
            rest, valid = train_test_split(
                rest, test_size=ratio, stratify=y.to_numpy()[rest], random_state=params.seed
            )
    except ValueError as exc:  # e.g. fewer test rows than classes
        raise DataError(
            Problem(
                code="stratify_failed",
                message=f"cannot stratify on '{params.target}': {exc}",
                loc=("data", "split"),
                fix="load more data, raise data.split.test / valid, or use kind: random",
            )
        ) from exc
    return {"train": np.sort(rest), "valid": np.sort(valid), "test": np.sort(test)}


def _group(df: Any, params: SplitParams) -> dict[str, Any]:
    """Whole groups go to one split: the fractions count groups, as GroupShuffleSplit does."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(df[params.column], use_na_sentinel=False)
    n_valid, n_test = _counts(len(uniques), params, unit="groups")
    order = np.random.default_rng(params.seed).permutation(len(uniques))
    groups = _parts(order, n_valid, n_test)
    return {name: np.flatnonzero(np.isin(codes, g)) for name, g in groups.items()}


def _time(df: Any, params: SplitParams) -> dict[str, Any]:
    """Oldest rows train, then valid, then the newest rows test: no look-ahead."""
    column = str(params.column)
    _no_missing(df[column], column, "a time split needs every row to have a time")
    n_valid, n_test = _counts(len(df), params)
    order = df[column].argsort(kind="mergesort").to_numpy()
    n_train = len(df) - n_valid - n_test
    return {
        "train": order[:n_train],
        "valid": order[n_train : n_train + n_valid],
        "test": order[n_train + n_valid :],
    }


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
