import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlspec.errors import DataError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.split import SplitParams, SplitStage

SPLITS = ("train", "valid", "test")


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
    for frame in (out[s] for s in SPLITS):
        assert list(frame.columns) == list(df.columns)
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k["kind"])
def test_deterministic_and_seeded(df, kind):
    a, b = _run(df, **kind), _run(df, **kind)
    for name in SPLITS:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a["summary"] == b["summary"]
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


# --- time splits: cut-offs and ties -------------------------------------------------------------


def _days(n, start="2024-01-01"):
    return pd.Timestamp(start) + pd.to_timedelta(np.arange(n), unit="D")


def test_time_cutoffs_assign_by_date_and_ignore_the_ratios():
    df = pd.DataFrame({"id": np.arange(30), "when": _days(30), "y": np.arange(30) % 2})
    out = _run(
        df.sample(frac=1, random_state=0),
        kind="time",
        column="when",
        valid_from="2024-01-11",
        test_from="2024-01-21",
        valid=0.5,  # ignored with cut-offs
    )
    assert [len(out[s]) for s in SPLITS] == [10, 10, 10]
    assert out["train"]["when"].max() < pd.Timestamp("2024-01-11") <= out["valid"]["when"].min()
    assert out["valid"]["when"].max() < pd.Timestamp("2024-01-21") <= out["test"]["when"].min()
    assert out["test"]["when"].is_monotonic_increasing
    summary = out["summary"]
    assert summary["cutoffs"] == {"valid_from": "2024-01-11", "test_from": "2024-01-21"}
    assert summary["time_range"]["valid"] == {
        "min": "2024-01-11T00:00:00",
        "max": "2024-01-20T00:00:00",
    }


def test_time_cutoffs_parse_text_columns_and_accept_datetimes():
    when = [f"2024-03-{d:02d}T{h:02d}:00:00" for d in (1, 2, 3) for h in (0, 12)]
    df = pd.DataFrame({"when": when, "y": [0, 1] * 3})
    out = _run(df, kind="time", column="when", valid_from="2024-03-02", test_from="2024-03-03")
    assert [len(out[s]) for s in SPLITS] == [2, 2, 2]
    assert list(out["test"]["when"]) == ["2024-03-03T00:00:00", "2024-03-03T12:00:00"]  # as given
    out = _run(
        df, kind="time", column="when", valid_from="2024-03-01T06", test_from="2024-03-03T06"
    )
    assert [len(out[s]) for s in SPLITS] == [1, 4, 1]


def test_time_cutoffs_on_a_numeric_column_compare_numbers():
    df = pd.DataFrame({"step": [10, 9, 100, 2, 50, 11], "y": np.arange(6)})
    out = _run(df, kind="time", column="step", valid_from="10", test_from="50")
    assert list(out["train"]["step"]) == [2, 9]  # numerically, not "10" < "2" < "9"
    assert list(out["valid"]["step"]) == [10, 11]
    assert list(out["test"]["step"]) == [50, 100]
    assert out["summary"]["time_range"]["test"] == {"min": 50, "max": 100}


def test_time_cutoffs_naive_on_an_aware_column_use_its_time_zone():
    when = pd.date_range("2024-01-01", periods=6, freq="D", tz="Europe/Paris")
    df = pd.DataFrame({"when": when, "y": np.arange(6)})
    out = _run(df, kind="time", column="when", valid_from="2024-01-03", test_from="2024-01-05")
    assert [len(out[s]) for s in SPLITS] == [2, 2, 2]
    assert out["summary"]["time_range"]["train"]["min"] == "2024-01-01T00:00:00+01:00"


@pytest.mark.parametrize(
    ("cutoffs", "empty"),
    [(("2023-01-01", "2024-01-05"), "train"), (("2024-01-02", "2030-01-01"), "test")],
)
def test_time_cutoffs_leaving_train_or_test_empty_are_data_errors(cutoffs, empty):
    df = pd.DataFrame({"when": _days(10), "y": np.arange(10)})
    with pytest.raises(DataError) as err:
        _run(df, kind="time", column="when", valid_from=cutoffs[0], test_from=cutoffs[1])
    problem = err.value.problems[0]
    assert problem.code == "empty_split"
    assert f"leave {empty} empty" in problem.message
    assert cutoffs[0] in problem.message and cutoffs[1] in problem.message
    assert "2024-01-01T00:00:00" in problem.message and "2024-01-10T00:00:00" in problem.message
    assert "valid_from" in problem.fix


def test_time_cutoffs_are_validated_with_the_params():
    with pytest.raises(ValueError, match="after"):
        SplitParams(target="y", kind="time", column="t", valid_from="2024-02", test_from="2024-01")
    with pytest.raises(ValueError, match="after"):  # numbers compare as numbers
        SplitParams(target="y", kind="time", column="t", valid_from="10", test_from="9")
    with pytest.raises(ValueError, match="ISO"):
        SplitParams(target="y", kind="time", column="t", valid_from="soon", test_from="later")
    with pytest.raises(ValueError, match="both"):
        SplitParams(target="y", kind="time", column="t", valid_from="2024-01-01")
    with pytest.raises(ValueError, match="kind 'time'"):
        SplitParams(target="y", valid_from="2024-01-01", test_from="2024-02-01")


def test_time_cutoffs_against_the_wrong_kind_of_column():
    df = pd.DataFrame({"step": np.arange(10), "when": _days(10), "y": np.arange(10)})
    with pytest.raises(DataError) as err:
        _run(df, kind="time", column="step", valid_from="2024-01-01", test_from="2024-02-01")
    assert err.value.problems[0].code == "bad_cutoff"
    with pytest.raises(DataError) as err:
        _run(
            df,
            kind="time",
            column="when",
            valid_from="2024-01-03T00:00Z",
            test_from="2024-01-05T00:00Z",
        )
    assert err.value.problems[0].code == "bad_cutoff"
    df["when"] = ["not a date"] * 10
    with pytest.raises(DataError) as err:
        _run(df, kind="time", column="when")
    assert err.value.problems[0].code == "bad_time_column"


def test_time_ratio_split_never_cuts_through_a_tie():
    # 10 rows on 4 days; ceil(10 * 0.2) = 2 test rows would cut day 4 (3 rows): all 3 go to test.
    days = ["2024-01-01"] * 3 + ["2024-01-02"] * 2 + ["2024-01-03"] * 2 + ["2024-01-04"] * 3
    df = pd.DataFrame({"id": np.arange(10), "when": pd.to_datetime(days), "y": np.arange(10)})
    out = _run(df, kind="time", column="when", valid=0.3, test=0.2)
    # planned 5 / 3 / 2; the valid boundary (after row 5) falls between days: kept
    assert [len(out[s]) for s in SPLITS] == [5, 2, 3]
    assert out["train"]["when"].max() < out["valid"]["when"].min()
    assert out["valid"]["when"].max() < out["test"]["when"].min()


def test_time_ratio_split_with_one_time_cannot_train():
    df = pd.DataFrame({"when": ["2024-01-01"] * 10, "y": np.arange(10)})
    with pytest.raises(DataError) as err:
        _run(df, kind="time", column="when")
    assert err.value.problems[0].code == "too_few_times"


def test_time_split_warns_when_ties_empty_valid():
    logs = []
    df = pd.DataFrame({"when": [1] * 6 + [2] * 4, "y": np.arange(10)})
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=logs.append)
    params = SplitParams(kind="time", column="when", target="y", valid=0.1, test=0.2)
    out = SplitStage().run(params, {"data": df}, ctx)
    assert [len(out[s]) for s in SPLITS] == [6, 0, 4]
    assert any("valid empty" in m for m in logs)


# --- identical rows across splits ---------------------------------------------------------------


@pytest.fixture
def dupes():
    # 40 distinct rows, each present twice: a random split spreads copies over the splits
    base = pd.DataFrame({"x": np.arange(40), "y": np.arange(40) % 2})
    return pd.concat([base, base], ignore_index=True)


def test_overlap_warns_by_default_and_counts(dupes):
    logs = []
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=logs.append)
    out = SplitStage().run(SplitParams(target="y"), {"data": dupes}, ctx)
    overlap = out["summary"]["overlap"]
    assert set(overlap) == {"train-valid", "train-test", "valid-test"}
    hashes = {s: set(map(tuple, out[s].to_numpy().tolist())) for s in SPLITS}
    for pair, n in overlap.items():
        a, b = pair.split("-")
        assert n == sum(tuple(r) in hashes[a] for r in out[b].to_numpy().tolist())
    assert sum(overlap.values()) > 0
    warning = [m for m in logs if m.startswith("warning")]
    assert len(warning) == 1 and "drop_duplicates" in warning[0]


def test_overlap_fail_raises_with_counts(dupes):
    with pytest.raises(DataError) as err:
        _run(dupes, on_overlap="fail")
    problem = err.value.problems[0]
    assert problem.code == "overlapping_rows"
    assert "train-test:" in problem.message
    assert "drop_duplicates" in problem.fix


def test_overlap_ignore_is_silent_but_still_counted(dupes):
    logs = []
    ctx = StageContext(node="x", run_id="t", project_root=Path("."), log=logs.append)
    params = SplitParams(target="y", on_overlap="ignore")
    out = SplitStage().run(params, {"data": dupes}, ctx)
    assert sum(out["summary"]["overlap"].values()) > 0
    assert not [m for m in logs if m.startswith("warning")]


def test_no_overlap_on_distinct_rows(df):
    out = _run(df, on_overlap="fail")
    assert out["summary"]["overlap"] == {"train-valid": 0, "train-test": 0, "valid-test": 0}


def test_rows_differing_in_one_column_are_not_overlap():
    df = pd.DataFrame({"x": [1.0] * 20, "y": [0, 1] * 10, "z": np.arange(20)})
    out = _run(df, on_overlap="fail")
    assert sum(out["summary"]["overlap"].values()) == 0


# --- stratified and group checks ----------------------------------------------------------------


def test_stratified_class_missing_from_a_split_is_a_data_error():
    # class 2 has 2 rows for three splits: one split cannot get it
    df = pd.DataFrame({"x": np.arange(100), "y": [0] * 49 + [1] * 49 + [2] * 2})
    with pytest.raises(DataError) as err:
        _run(df, kind="stratified", valid=0.2, test=0.2)
    problem = err.value.problems[0]
    assert problem.code == "class_missing_from_split"
    assert "class 2" in problem.message and "split" in problem.message
    assert "fewer splits" in problem.fix and "merge rare classes" in problem.fix
    out = _run(df, kind="stratified", valid=0.0, test=0.5)  # the fix: fewer, larger splits
    assert set(out["test"]["y"]) == {0, 1, 2}


def test_stratified_counts_are_floor_or_ceil_of_the_share(df):
    out = _run(df, kind="stratified", valid=0.15, test=0.2)
    n = len(df)
    for s in SPLITS:
        share = len(out[s]) / n
        for c, total in df["y"].value_counts().items():
            assert abs(int((out[s]["y"] == c).sum()) - share * total) < 1


def test_group_summary_counts_groups(df):
    out = _run(df, kind="group", column="group", valid=0.2, test=0.2)
    groups = out["summary"]["groups"]
    assert groups == {s: out[s]["group"].nunique() for s in SPLITS}
    assert sum(groups.values()) == 37


# --- summary ------------------------------------------------------------------------------------


def test_summary_for_a_class_target(df):
    out = _run(df, kind="stratified", valid=0.2, test=0.2)
    summary = out["summary"]
    assert summary["kind"] == "stratified"
    assert summary["sizes"] == {"train": 120, "valid": 40, "test": 40}
    assert summary["target_type"] == "classes"
    assert summary["target"]["test"] == {
        "counts": {"0": 30, "1": 10},
        "ratios": {"0": 0.75, "1": 0.25},
    }
    json.dumps(summary, allow_nan=False)


def test_summary_lists_every_class_in_every_split():
    df = pd.DataFrame({"y": ["a"] * 9 + ["b"], "t": np.arange(10)})
    out = _run(df, kind="time", column="t", valid=0.0, test=0.1)
    assert out["summary"]["target"]["test"]["counts"] == {"a": 0, "b": 1}
    assert out["summary"]["target"]["valid"] == {
        "counts": {"a": 0, "b": 0},
        "ratios": {"a": None, "b": None},
    }


def test_summary_for_a_numeric_target(df):
    df["y"] = np.linspace(0.0, 1.0, len(df))
    out = _run(df, valid=0.0)
    summary = out["summary"]
    assert summary["target_type"] == "numeric"
    assert summary["target"]["train"]["mean"] == pytest.approx(out["train"]["y"].mean())
    assert summary["target"]["train"]["std"] == pytest.approx(out["train"]["y"].std())
    assert summary["target"]["valid"] == {"mean": None, "std": None}
    assert "groups" not in summary and "time_range" not in summary
    json.dumps(summary, allow_nan=False)


def test_summary_for_a_time_split(df):
    out = _run(df, kind="time", column="when")
    ranges = out["summary"]["time_range"]
    for s in SPLITS:
        assert ranges[s]["min"] == out[s]["when"].min().isoformat()
        assert ranges[s]["max"] == out[s]["when"].max().isoformat()
    json.dumps(out["summary"], allow_nan=False)
