"""sample: keep a seeded fraction (or a fixed number) of rows, optionally stratified by a column.

Put it first in the data chain while iterating on a large table:

    stages:
      - {name: sample, after: load, params: {fraction: 0.1, stratify: is_fraud}}

Everything downstream then trains on the sample; delete the entry for the full run (the upstream
load stays cached either way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from mlspec.errors import DataError, Problem
from mlspec.stages import Stage, StageContext
from mlspec.stages.api import StageParams


class SampleParams(StageParams):
    fraction: float | None = Field(None, gt=0.0, le=1.0)
    n: int | None = Field(None, gt=0)
    stratify: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _one_size(self) -> SampleParams:
        if (self.fraction is None) == (self.n is None):
            raise ValueError("give exactly one of 'fraction' or 'n'")
        return self


class SampleStage(Stage):
    name = "sample"
    version = "1"
    Params = SampleParams
    inputs = ("data",)
    outputs = {"data": "frame"}
    libraries = ("pandas",)

    def run(  # type: ignore[override]
        self, params: SampleParams, inputs: Mapping[str, Any], ctx: StageContext
    ) -> dict[str, Any]:
        df = inputs["data"]
        if params.stratify is not None and params.stratify not in df.columns:
            raise DataError(
                Problem(
                    "missing_column",
                    f"stratify column '{params.stratify}' is not in the data",
                    (params.stratify,),
                    fix="columns present: " + ", ".join(map(str, df.columns[:20])),
                )
            )
        fraction = (
            params.fraction if params.fraction is not None else min(1.0, params.n / max(len(df), 1))
        )  # type: ignore[operator]
        if params.stratify is None:
            out = df.sample(frac=fraction, random_state=params.seed)
        else:
            out = df.groupby(params.stratify, group_keys=False, sort=True).sample(
                frac=fraction, random_state=params.seed
            )
        out = out.sort_index(kind="mergesort")  # keep the original row order: stable for time data
        if params.n is not None:
            out = out.iloc[: params.n]
        ctx.log(f"kept {len(out)} of {len(df)} rows")
        return {"data": out.reset_index(drop=True)}
