import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlspec.stages.api import StageContext, validate_stage_class
from mlspec.stages.builtin.profile import QUANTILES, ProfileParams, ProfileStage

SPLITS = ("train", "valid", "test")


def _profile(train, valid, test=None, **params):
    params.setdefault("target", "y")
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=lambda m: None)
    test = valid.iloc[:0] if test is None else test
    inputs = {"train": train, "valid": valid, "test": test}
    return ProfileStage().run(ProfileParams(**params), inputs, ctx)["profile"]


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, 3.0, 4.0, np.nan],
            "cat": ["a", "b", "a", None, "c"],
            "flag": [True, False, True, True, False],
            "when": pd.to_datetime(["2024-01-03", None, "2024-01-01", "2024-02-01", "2024-01-02"]),
            "y": [0, 1, 0, 1, 1],
        }
    )


@pytest.fixture
def valid():
    return pd.DataFrame(
        {
            "num": [-10.0, 2.5, 100.0],
            "cat": ["a", "z", "z"],
            "flag": [True, True, True],
            "when": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"]),
            "y": [0, 0, 1],
        }
    )


def test_the_profile_has_the_documented_shape(train, valid):
    profile = _profile(train, valid)
    assert set(profile) == {"target", "bin_edges", "splits"}
    assert profile["target"] == "y"
    assert set(profile["splits"]) == set(SPLITS)
    assert [profile["splits"][s]["rows"] for s in SPLITS] == [5, 3, 0]
    for split in profile["splits"].values():
        assert set(split["columns"]) == {"num", "cat", "flag", "when", "y"}


def test_numeric_column(train, valid):
    num = _profile(train, valid)["splits"]["train"]["columns"]["num"]
    assert num["dtype"] == "float64"
    assert num["missing_rate"] == pytest.approx(0.2)
    assert num["n_unique"] == 4
    assert num["n_infinite"] == 0
    assert list(num["quantiles"]) == [str(q) for q in QUANTILES]
    assert num["quantiles"]["0.0"] == 1.0
    assert num["quantiles"]["0.5"] == 2.5
    assert num["quantiles"]["1.0"] == 4.0
    assert num["mean"] == pytest.approx(2.5)
    assert num["std"] == pytest.approx(np.std([1, 2, 3, 4]))  # population std (ddof=0)
    assert "frequencies" not in num and "min" not in num


def test_categorical_column_with_top_n_and_other(train, valid):
    profile = _profile(train, valid, top_categories=2)
    cat = profile["splits"]["train"]["columns"]["cat"]
    assert cat["missing_rate"] == pytest.approx(0.2)
    assert cat["n_unique"] == 3
    assert cat["frequencies"] == {"a": 2, "b": 1}  # ties between b and c broken by the text
    assert cat["other_count"] == 1
    assert "quantiles" not in cat
    assert "cat" not in profile["bin_edges"]


def test_bool_column_is_a_category(train, valid):
    profile = _profile(train, valid)
    flag = profile["splits"]["train"]["columns"]["flag"]
    assert flag["frequencies"] == {"True": 3, "False": 2}
    assert flag["other_count"] == 0
    assert "quantiles" not in flag and "mean" not in flag
    assert "flag" not in profile["bin_edges"]


def test_datetime_column_records_iso_min_max_and_no_quantiles(train, valid):
    profile = _profile(train, valid)
    when = profile["splits"]["train"]["columns"]["when"]
    assert when["missing_rate"] == pytest.approx(0.2)
    assert when["min"] == "2024-01-01T00:00:00"
    assert when["max"] == "2024-02-01T00:00:00"
    assert not {"quantiles", "mean", "frequencies", "bin_counts"} & set(when)
    assert "when" not in profile["bin_edges"]
    assert profile["splits"]["test"]["columns"]["when"]["min"] is None  # empty split


def test_target_gets_frequencies_and_no_bin_edges(train, valid):
    profile = _profile(train, valid)
    y = profile["splits"]["train"]["columns"]["y"]
    assert y["frequencies"] == {"1": 3, "0": 2}
    assert y["mean"] == pytest.approx(0.6)
    assert "y" not in profile["bin_edges"]


def test_bin_edges_come_from_train_only(train, valid):
    profile = _profile(train, valid, bins=4)
    edges = profile["bin_edges"]["num"]
    assert edges == [1.0, 1.75, 2.5, 3.25, 4.0]  # quantiles of train's 1, 2, 3, 4
    other = valid.assign(num=[1e9, -1e9, 0.0])
    assert _profile(train, other, bins=4)["bin_edges"] == profile["bin_edges"]
    train_bins = profile["splits"]["train"]["columns"]["num"]["bin_counts"]
    assert train_bins == [1, 1, 1, 1]


def test_values_outside_the_train_edges_are_clipped_into_the_end_bins(train, valid):
    profile = _profile(train, valid, bins=4)
    # valid: -10 -> first bin, 2.5 -> third bin ([2.5, 3.25)), 100 -> last bin
    assert profile["splits"]["valid"]["columns"]["num"]["bin_counts"] == [1, 0, 1, 1]
    assert profile["splits"]["test"]["columns"]["num"]["bin_counts"] == [0, 0, 0, 0]


def test_constant_and_empty_numeric_columns(train, valid):
    train = train.assign(const=5.0, empty=np.nan)
    valid = valid.assign(const=6.0, empty=np.nan)
    profile = _profile(train, valid)
    assert profile["bin_edges"]["const"] == [5.0]
    assert profile["bin_edges"]["empty"] == []
    const = profile["splits"]["valid"]["columns"]["const"]
    assert "bin_counts" not in const and const["mean"] == 6.0
    empty = profile["splits"]["train"]["columns"]["empty"]
    assert empty["missing_rate"] == 1.0
    assert empty["quantiles"] is None and empty["mean"] is None and empty["std"] is None


def test_json_serialisable_without_nan_or_infinity(train, valid):
    train = train.assign(
        inf=[np.inf, 1.0, 2.0, -np.inf, np.nan],
        big=[1e308, 1e308, 1e308, 1e308, 1e308],  # its mean overflows to infinity
        nullable=pd.array([1, None, 3, 4, 5], dtype="Int64"),
        boolean=pd.array([True, None, False, True, True], dtype="boolean"),
        aware=pd.date_range("2024-01-01", periods=5, tz="UTC"),
        span=pd.to_timedelta([1, 2, None, 4, 5], unit="h"),
    )
    valid = valid.assign(
        inf=np.nan, big=1.0, nullable=pd.array([None] * 3, dtype="Int64"), boolean=True
    )
    valid = valid.assign(
        aware=pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"),
        span=pd.Series([pd.NaT] * 3, dtype="timedelta64[ns]"),
    )
    profile = _profile(train, valid)
    text = json.dumps(profile, allow_nan=False)
    assert json.loads(text) == profile
    cols = profile["splits"]["train"]["columns"]
    assert cols["inf"]["n_infinite"] == 2 and cols["inf"]["mean"] == pytest.approx(1.5)
    assert cols["inf"]["bin_counts"] is not None and sum(cols["inf"]["bin_counts"]) == 4
    assert cols["big"]["mean"] is None
    assert cols["nullable"]["mean"] == pytest.approx(13 / 4)
    assert cols["boolean"]["frequencies"] == {"True": 3, "False": 1}
    assert cols["aware"]["min"] == "2024-01-01T00:00:00+00:00"
    assert cols["span"]["max"] == pd.Timedelta(hours=5).isoformat()
    assert profile["splits"]["valid"]["columns"]["aware"]["max"] is None


def test_deterministic_and_independent_of_row_order(train, valid):
    a = _profile(train, valid)
    b = _profile(train, valid)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    shuffled = _profile(train.sample(frac=1.0, random_state=3), valid.iloc[::-1])
    assert json.dumps(shuffled) == json.dumps(a)  # key order included


def test_profile_stage_satisfies_the_contract():
    assert validate_stage_class(ProfileStage) == []


def test_importing_the_profile_module_does_not_import_pandas():
    code = (
        "import sys, mlspec.stages.builtin.profile, mlspec.stages.builtin.split\n"
        "print(','.join(m for m in ('pandas', 'numpy', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
