from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import DataError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.split import SplitParams, SplitStage


def _run(df, **params):
    params.setdefault("target", "y")
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), seed=0, log=lambda m: None)
    return SplitStage().run(SplitParams(**params), {"data": df}, ctx)


@pytest.fixture
def df():
    n = 200
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(size=n),
            "y": np.r_[np.zeros(150, int), np.ones(50, int)],
            "group": np.arange(n) % 37,
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(n), unit="D"),
        },
        index=np.arange(n) * 3,  # a non-default index must not leak into the output
    )


KINDS = [
    {"kind": "random"},
    {"kind": "stratified"},
    {"kind": "group", "column": "group"},
    {"kind": "time", "column": "when"},
]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k["kind"])
def test_every_row_lands_in_exactly_one_split(df, kind):
    out = _run(df, **kind)
    ids = np.concatenate([out[s]["id"].to_numpy() for s in ("train", "valid", "test")])
    assert sorted(ids) == list(range(len(df)))
    for frame in out.values():
        assert list(frame.columns) == list(df.columns)
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k["kind"])
def test_deterministic_and_seeded(df, kind):
    a, b = _run(df, **kind), _run(df, **kind)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    if kind["kind"] != "time":  # a time split ignores the seed on purpose
        c = _run(df, seed=1, **kind)
        assert not a["test"]["id"].equals(c["test"]["id"])


def test_random_sizes(df):
    out = _run(df, kind="random", valid=0.15, test=0.2)
    assert [len(out[s]) for s in ("train", "valid", "test")] == [130, 30, 40]


def test_valid_zero_gives_an_empty_frame_with_the_columns(df):
    for kind in KINDS:
        out = _run(df, valid=0.0, **kind)
        assert len(out["valid"]) == 0
        assert list(out["valid"].columns) == list(df.columns)
        assert len(out["train"]) + len(out["test"]) == len(df)


def test_stratified_keeps_class_proportions(df):
    out = _run(df, kind="stratified", valid=0.2, test=0.2)
    for name in ("train", "valid", "test"):
        assert out[name]["y"].mean() == pytest.approx(0.25, abs=0.03)


def test_stratified_rejects_a_class_with_one_row(df):
    df.loc[df.index[0], "y"] = 7
    with pytest.raises(DataError) as err:
        _run(df, kind="stratified")
    problem = err.value.problems[0]
    assert problem.code == "rare_class"
    assert "7" in problem.message
    assert "random" in problem.fix


def test_group_split_never_shares_a_group(df):
    out = _run(df, kind="group", column="group", valid=0.2, test=0.2)
    groups = [set(out[s]["group"]) for s in ("train", "valid", "test")]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2])
    assert not (groups[1] & groups[2])
    assert sum(map(len, groups)) == 37


def test_time_split_orders_train_before_valid_before_test(df):
    out = _run(df, kind="time", column="when")
    train, valid, test = out["train"]["when"], out["valid"]["when"], out["test"]["when"]
    assert train.is_monotonic_increasing
    assert train.max() < valid.min() and valid.max() < test.min()


@pytest.mark.parametrize(
    ("params", "name", "loc"),
    [
        ({"target": "label"}, "label", ("data", "target")),
        ({"kind": "group", "column": "team"}, "team", ("data", "split", "column")),
        ({"kind": "time", "column": "date"}, "date", ("data", "split", "column")),
    ],
)
def test_missing_columns_are_data_errors(df, params, name, loc):
    with pytest.raises(DataError) as err:
        _run(df, **params)
    problem = err.value.problems[0]
    assert problem.code == "missing_column"
    assert f"'{name}'" in problem.message
    assert problem.loc == loc
    assert "group" in problem.fix  # lists the present columns


def test_too_few_rows(df):
    with pytest.raises(DataError) as err:
        _run(df.head(2), kind="random", valid=0.3, test=0.3)
    assert err.value.problems[0].code == "too_few_rows"
