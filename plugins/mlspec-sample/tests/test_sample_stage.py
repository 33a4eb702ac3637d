"""The plugin's own tests: mlspec's contract suite plus behaviour of the stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlspec_sample.stage import SampleStage

from mlspec.errors import DataError
from mlspec.stages.api import StageContext
from mlspec.testing import StageContract


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": range(1000), "y": [i % 4 == 0 for i in range(1000)]})


class TestSampleContract(StageContract):
    stage_class = SampleStage
    params = {"fraction": 0.2, "stratify": "y", "seed": 3}

    def make_inputs(self) -> dict[str, object]:
        return {"data": _frame()}


def _run(tmp_path: Path, **params: object) -> pd.DataFrame:
    ctx = StageContext("s", "r", tmp_path, log=lambda m: None)
    return SampleStage().run(SampleStage.Params(**params), {"data": _frame()}, ctx)["data"]


def test_stratified_sample_keeps_class_ratio(tmp_path: Path) -> None:
    out = _run(tmp_path, fraction=0.2, stratify="y")
    assert len(out) == 200
    assert out["y"].mean() == pytest.approx(0.25, abs=0.01)


def test_fixed_n_and_original_order(tmp_path: Path) -> None:
    out = _run(tmp_path, n=50)
    assert len(out) == 50
    assert out["x"].is_monotonic_increasing


def test_missing_stratify_column_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="stratify column 'nope'"):
        _run(tmp_path, fraction=0.5, stratify="nope")


def test_fraction_and_n_are_exclusive() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SampleStage.Params(fraction=0.5, n=3)
