"""Acceptance (b): per-group lags and rolling windows use no value after their row's time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlspec.stages.features.timeseries import LagFeatures

SPEC = {"by": ("store",), "order": "date", "columns": ("sales",)}


def _series(values_a: list[float], values_b: list[float] | None = None) -> pd.DataFrame:
    rows = [("a", d, v) for d, v in enumerate(values_a)]
    rows += [("b", d, v) for d, v in enumerate(values_b or [])]
    df = pd.DataFrame(rows, columns=["store", "day", "sales"])
    df["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["day"], "D")
    return df.drop(columns="day")


def _lagger(**kw) -> LagFeatures:
    return LagFeatures(**{**SPEC, "lags": (1, 2), "windows": (2,), "stats": ("mean", "max"), **kw})


def test_hand_computed_values_and_names():
    df = _series([1.0, 2.0, 4.0, 8.0], [10.0, 20.0])
    lf = _lagger()
    out = lf.fit_transform(df)
    names = list(lf.get_feature_names_out())
    assert names == [
        "sales_lag_1",
        "sales_lag_2",
        "sales_roll_mean_2",
        "sales_roll_max_2",
    ]
    got = pd.DataFrame(out, columns=names)
    np.testing.assert_array_equal(got["sales_lag_1"], [np.nan, 1, 2, 4, np.nan, 10])
    np.testing.assert_array_equal(got["sales_lag_2"], [np.nan, np.nan, 1, 2, np.nan, np.nan])
    # the window covers the rows strictly before: never the row's own value
    np.testing.assert_array_equal(got["sales_roll_mean_2"], [np.nan, 1, 1.5, 3, np.nan, 10])
    np.testing.assert_array_equal(got["sales_roll_max_2"], [np.nan, 1, 2, 4, np.nan, 10])


def test_rows_come_back_in_input_order_and_groups_never_mix():
    df = _series([1.0, 2.0, 4.0, 8.0], [10.0, 20.0, 30.0])
    shuffled = df.sample(frac=1.0, random_state=3)
    lf = _lagger(lags=(1,), windows=())
    out = lf.fit_transform(shuffled)[:, 0]
    expected = lf.fit_transform(df)[:, 0]
    by_row = dict(zip(df.index, expected, strict=True))
    np.testing.assert_array_equal(out, [by_row[i] for i in shuffled.index])
    # store b's first row has no history: it never sees store a's values
    assert np.isnan(by_row[4])


def test_transforming_the_training_frame_equals_fit_transform():
    df = _series(list(map(float, range(20))), list(map(float, range(100, 110))))
    lf = _lagger(lags=(1, 7), windows=(3,))
    np.testing.assert_array_equal(lf.fit_transform(df), lf.transform(df))


def test_later_rows_get_lags_from_the_training_history():
    full = _series(list(map(float, range(30))), list(map(float, range(100, 130))))
    train = full[full["date"] < "2024-01-21"]
    valid = full[full["date"] >= "2024-01-21"]
    lf = _lagger(lags=(1, 7), windows=(3,), stats=("mean",)).fit(train)
    on_valid = lf.transform(valid)
    computed_on_all = lf.transform(full)  # what the whole history gives these rows
    np.testing.assert_array_equal(on_valid, computed_on_all[full["date"] >= "2024-01-21"])
    assert not np.isnan(on_valid).any()  # first valid day: lag 7 reaches back into train
    first = valid.index[valid["store"].eq("a")][0]
    assert on_valid[list(valid.index).index(first)][0] == 19.0  # lag 1 = last train value


def test_history_kept_is_only_the_tail():
    df = _series(list(map(float, range(50))))
    lf = _lagger(lags=(1, 7), windows=(14,)).fit(df)
    assert len(lf.history_) == 14


def test_bad_parameters_are_reported():
    df = _series([1.0, 2.0])
    with pytest.raises(ValueError, match="stat"):
        _lagger(stats=("mode",)).fit(df)
    with pytest.raises(ValueError, match="positive"):
        _lagger(lags=(0,)).fit(df)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=25),
    b=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=25),
    cut=st.integers(0, 24),
    noise=st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v != 0),
    seed=st.integers(0, 2**16),
)
def test_no_feature_at_time_t_uses_a_value_after_t(a, b, cut, noise, seed):
    """Perturb every value after time t (in every group): features at times <= t are unchanged,
    whatever the row order of the input. Perturbing the values *at* t as well changes nothing
    either: a row's own value never enters its features."""
    df = _series(a, b).sample(frac=1.0, random_state=seed)
    t = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut)
    lf = _lagger(lags=(1, 3), windows=(2, 5), stats=("mean", "std", "min", "max", "sum"))
    upto_t = (df["date"] <= t).to_numpy()
    original = lf.fit_transform(df)[upto_t]
    for changed in (df["date"] > t, df["date"] >= t):
        perturbed = df.assign(sales=df["sales"].where(~changed, df["sales"] + noise))
        np.testing.assert_array_equal(lf.fit_transform(perturbed)[upto_t], original)


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(3, 30), split=st.integers(1, 29), noise=st.floats(1.0, 100.0), seed=st.integers()
)
def test_valid_rows_see_train_history_but_nothing_after_their_time(n, split, noise, seed):
    split = min(split, n - 1)
    rng = np.random.default_rng(abs(seed) % 2**32)
    df = _series(list(rng.normal(size=n)), list(rng.normal(size=n)))
    train, valid = df[df["date"] < df["date"].iloc[split]], df[df["date"] >= df["date"].iloc[split]]
    lf = _lagger(lags=(1, 2), windows=(3,)).fit(train)
    t = valid["date"].min()
    later = valid.assign(sales=np.where(valid["date"] > t, valid["sales"] + noise, valid["sales"]))
    first = (valid["date"] == t).to_numpy()
    np.testing.assert_array_equal(lf.transform(valid)[first], lf.transform(later)[first])
    # the first valid rows' lag 1 is the last training value of their store
    last = train.sort_values("date").groupby("store")["sales"].last()
    got = lf.transform(valid)[first][:, 0]
    np.testing.assert_array_equal(got, last.loc[valid.loc[first, "store"]].to_numpy())
