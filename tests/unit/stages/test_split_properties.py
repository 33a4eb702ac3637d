"""Properties of the split stage, on generated frames (each row carries a unique ``id``)."""

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlspec.errors import DataError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.split import SplitParams, SplitStage

SPLITS = ("train", "valid", "test")
FAST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
VALID = st.sampled_from([0.0, 0.1, 0.15, 0.25])
TEST = st.sampled_from([0.1, 0.2, 0.3])
SEED = st.integers(0, 2**16)


def _run(df, **params):
    params.setdefault("target", "y")
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=lambda m: None)
    return SplitStage().run(SplitParams(**params), {"data": df}, ctx)


@st.composite
def frames(draw, min_rows=3, max_rows=80):
    n = draw(st.integers(min_rows, max_rows))
    ints = lambda hi: st.lists(st.integers(0, hi), min_size=n, max_size=n)  # noqa: E731
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "y": draw(ints(draw(st.integers(1, 4)))),
            "group": draw(ints(draw(st.integers(1, 30)))),
            "t": draw(ints(draw(st.integers(1, 40)))),  # few distinct times: many ties
            "x": draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)),
        }
    ).sample(frac=1.0, random_state=draw(SEED))  # shuffled, with a non-default index


def _ids(out):
    return np.concatenate([out[s]["id"].to_numpy() for s in SPLITS])


def _assert_ordered(out, column):
    present = [out[s][column] for s in SPLITS if len(out[s])]
    for earlier, later in itertools.pairwise(present):
        assert earlier.max() < later.min()  # strictly: ties never straddle a boundary


def _kind_params():
    return st.one_of(
        st.just({"kind": "random"}),
        st.just({"kind": "stratified"}),
        st.just({"kind": "group", "column": "group"}),
        st.just({"kind": "time", "column": "t"}),
    )


@FAST
@given(df=frames(), kind=_kind_params(), valid=VALID, test=TEST, seed=SEED)
def test_every_row_lands_in_exactly_one_split_and_reruns_agree(df, kind, valid, test, seed):
    try:
        out = _run(df, valid=valid, test=test, seed=seed, **kind)
    except DataError as err:  # too few rows / times / class members for these fractions
        event(f"refused: {err.problems[0].code}")
        assert err.problems[0].code in {
            "too_few_rows",
            "too_few_times",
            "rare_class",
            "class_missing_from_split",
        }
        return
    assert sum(len(out[s]) for s in SPLITS) == len(df)
    assert sorted(_ids(out).tolist()) == list(range(len(df)))
    assert out["summary"]["sizes"] == {s: len(out[s]) for s in SPLITS}
    assert out["summary"]["overlap"] == {"train-valid": 0, "train-test": 0, "valid-test": 0}
    again = _run(df, valid=valid, test=test, seed=seed, **kind)
    for s in SPLITS:
        pd.testing.assert_frame_equal(out[s], again[s])
    assert out["summary"] == again["summary"]


@FAST
@given(df=frames(), valid=VALID, test=TEST, seed=SEED)
def test_group_splits_never_leak_a_group(df, valid, test, seed):
    try:
        out = _run(df, kind="group", column="group", valid=valid, test=test, seed=seed)
    except DataError as err:
        event(f"refused: {err.problems[0].code}")
        assert err.problems[0].code == "too_few_rows"
        g = df["group"].nunique()
        n_valid = math.ceil(round(g * valid, 9)) if valid else 0
        assert g - n_valid - math.ceil(round(g * test, 9)) < 1
        return
    groups = {s: set(out[s]["group"]) for s in SPLITS}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not groups[a] & groups[b]
    assert out["summary"]["groups"] == {s: len(groups[s]) for s in SPLITS}


@FAST
@given(df=frames(), valid=VALID, test=TEST, as_dates=st.booleans())
def test_ratio_time_splits_are_ordered_and_only_move_ties_later(df, valid, test, as_dates):
    if as_dates:
        df["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["t"], unit="h")
    n = len(df)
    try:
        out = _run(df, kind="time", column="t", valid=valid, test=test)
    except DataError as err:
        event(f"refused: {err.problems[0].code}")
        code = err.problems[0].code
        if code == "too_few_times":  # the first time fills everything up to the test rows
            n_test = math.ceil(round(n * test, 9))
            n_valid = math.ceil(round(n * valid, 9)) if valid else 0
            assert (df["t"] == df["t"].min()).sum() >= n - n_valid - n_test
        else:
            assert code == "too_few_rows"
        return
    _assert_ordered(out, "t")
    for s in SPLITS:
        assert out[s]["t"].is_monotonic_increasing
    # boundaries only move earlier: test never shrinks below its planned size, train never grows
    n_test = math.ceil(round(n * test, 9))
    n_valid = math.ceil(round(n * valid, 9)) if valid else 0
    assert len(out["test"]) >= n_test
    assert len(out["train"]) <= n - n_valid - n_test
    assert len(out["train"]) + len(out["valid"]) <= n - n_test


@FAST
@given(df=frames(), data=st.data(), as_dates=st.booleans())
def test_cutoff_time_splits_follow_the_cutoffs(df, data, as_dates):
    # cut-offs at times present in the data, or one past the last (then test is empty)
    options = sorted(int(t) for t in df["t"].unique())
    options.append(options[-1] + 1)
    lo, hi = sorted(data.draw(st.tuples(st.sampled_from(options), st.sampled_from(options))))
    if as_dates:
        start = pd.Timestamp("2024-01-01")
        df["t"] = start + pd.to_timedelta(df["t"], unit="D")
        v, t = (start + pd.Timedelta(days=c) for c in (lo, hi))
        text = (v.date().isoformat(), t.date().isoformat())
    else:
        v, t = lo, hi
        text = (str(lo), str(hi))
    try:
        out = _run(df, kind="time", column="t", valid_from=text[0], test_from=text[1])
    except DataError as err:
        event(f"refused: {err.problems[0].code}")
        assert err.problems[0].code == "empty_split"
        assert not (df["t"] < v).any() or not (df["t"] >= t).any()
        return
    assert (out["train"]["t"] < v).all()
    assert ((out["valid"]["t"] >= v) & (out["valid"]["t"] < t)).all()
    assert (out["test"]["t"] >= t).all()
    assert [len(out[s]) for s in SPLITS] == [
        int((df["t"] < v).sum()),
        int(((df["t"] >= v) & (df["t"] < t)).sum()),
        int((df["t"] >= t).sum()),
    ]
    _assert_ordered(out, "t")
    assert sorted(_ids(out).tolist()) == list(range(len(df)))


@FAST
@given(df=frames(min_rows=6), valid=VALID, test=TEST, seed=SEED)
def test_stratified_counts_are_within_one_row_of_the_split_share(df, valid, test, seed):
    """Documented rule: count(c, s) is floor or ceil of n_c * n_s / n, so the gap is below 1."""
    counts = df["y"].value_counts()
    df = df[df["y"].map(counts) >= 2]  # classes of one row are refused up front (rare_class)
    n = len(df)
    try:
        out = _run(df, kind="stratified", valid=valid, test=test, seed=seed)
    except DataError as err:
        event(f"refused: {err.problems[0].code}")
        code = err.problems[0].code
        assert code in {"too_few_rows", "class_missing_from_split"}
        if code == "class_missing_from_split":  # only when some n_c * n_s / n is below one
            n_test = math.ceil(round(n * test, 9))
            n_valid = math.ceil(round(n * valid, 9)) if valid else 0
            sizes = [n - n_valid - n_test, n_valid, n_test]
            assert any(0 < c * s < n for c in df["y"].value_counts() for s in sizes)
        return
    n_test = math.ceil(round(n * test, 9))
    n_valid = math.ceil(round(n * valid, 9)) if valid else 0
    assert [len(out[s]) for s in SPLITS] == [n - n_valid - n_test, n_valid, n_test]
    for s in SPLITS:
        for c, n_c in df["y"].value_counts().items():
            got = int((out[s]["y"] == c).sum())
            assert abs(got * n - len(out[s]) * n_c) < n  # |got - share * n_c| < 1, exactly
        if len(out[s]):
            assert set(out[s]["y"]) == set(df["y"])


@pytest.mark.parametrize("kind", ["random", "stratified", "group"])
def test_a_different_seed_gives_a_different_split(kind):
    df = pd.DataFrame({"id": np.arange(200), "y": np.arange(200) % 3, "group": np.arange(200) // 4})
    params = {"kind": kind, "column": "group" if kind == "group" else None}
    a, b = _run(df, seed=1, **params), _run(df, seed=2, **params)
    assert not a["test"]["id"].equals(b["test"]["id"])
