"""Acceptance b: every drift statistic agrees with scipy's on the same inputs, directly and through
a reference profile wherever the profile path is exact (and within its stated bound where not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from mlspec.monitor import stats
from mlspec.monitor.drift import compare
from mlspec.monitor.options import ColumnTest, DriftOptions, ProfileOptions
from mlspec.monitor.profile import build_reference_profile

SIZES = [(1, 1), (1, 7), (5, 3), (40, 60), (500, 700), (1500, 20_000), (3000, 3000)]


def _pair(n: int, m: int, seed: int, discrete: bool = False):
    rng = np.random.default_rng(seed)
    if discrete:  # ties everywhere
        return rng.integers(0, 8, n).astype(float), rng.integers(0, 9, m).astype(float)
    return rng.normal(0, 1, n), rng.normal(0.2, 1.3, m)


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_statistic_and_p_value_match_ks_2samp(n, m, discrete):
    a, b = _pair(n, m, n * 7 + m, discrete)
    expected = sps.ks_2samp(a, b)
    assert stats.ks_statistic(np.sort(a), np.sort(b)) == pytest.approx(
        expected.statistic, abs=1e-12
    )
    d, p = stats.ks_test(np.sort(a), np.sort(b))
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_ks_asymptotic_p_is_scipys_beyond_its_exact_range():
    a, b = _pair(12_000, 30_000, 1)
    expected = sps.ks_2samp(a, b)  # 'auto' -> asymptotic above 10 000 values
    d, p = stats.ks_test(np.sort(a), np.sort(b))
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_wasserstein_matches_scipy(n, m):
    for discrete in (False, True):
        a, b = _pair(n, m, n + m, discrete)
        expected = sps.wasserstein_distance(a, b)
        assert stats.wasserstein_sorted(np.sort(a), np.sort(b)) == pytest.approx(
            expected, rel=1e-9, abs=1e-12
        )


def test_wasserstein_keeps_its_precision_far_from_zero():
    a, b = _pair(300, 5000, 2)
    expected = sps.wasserstein_distance(a + 1e9, b + 1e9)
    assert stats.wasserstein_sorted(np.sort(a + 1e9), np.sort(b + 1e9)) == pytest.approx(
        expected, rel=1e-6
    )


def test_chi_square_is_scipys_test_of_homogeneity():
    ref, cur = [30, 50, 20, 0, 7], [25, 70, 10, 3, 0]
    res = sps.chi2_contingency(np.array([ref, cur]), correction=False)
    assert stats.chi_square(ref, cur) == pytest.approx((res.statistic, res.pvalue), rel=1e-12)
    # cells empty on both sides are dropped; identical shares give no evidence
    assert stats.chi_square([10, 0, 5], [20, 0, 10]) == pytest.approx((0.0, 1.0))
    assert stats.chi_square([10], [3]) == (0.0, 1.0)


def test_jensen_shannon_and_psi():
    p, q = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.3, 0.3, 0.3, 0.1])
    assert stats.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q), rel=1e-12)
    assert stats.jensen_shannon(p, p) == 0.0
    rng = np.random.default_rng(4)
    for k in (2, 3, 10, 200):  # unnormalised counts with empty cells on either side
        a, b = rng.integers(0, 5, k).astype(float), rng.integers(0, 50, k).astype(float)
        a[0], b[-1] = 1.0, 0.0
        assert stats.jensen_shannon(a, b) == pytest.approx(jensenshannon(a, b), rel=1e-12)
    eps = 1e-4
    r, c = np.maximum(p, eps), np.maximum(q, eps)
    assert stats.psi(p, q, eps) == pytest.approx(float(np.sum((c - r) * np.log(c / r))))


def test_benjamini_hochberg_by_hand():
    ps = [0.01, 0.04, 0.03, 0.20]
    # sorted: 0.01, 0.03, 0.04, 0.20 -> p * m / rank = 0.04, 0.06, 0.0533, 0.20, then cummin
    assert stats.benjamini_hochberg(ps) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2])
    assert stats.benjamini_hochberg([]) == []


def test_binned_counts_are_histogram_counts_of_clipped_values():
    rng = np.random.default_rng(3)
    x = np.sort(rng.normal(size=1000) * 2)
    edges = np.array([-1.0, -0.2, 0.0, 0.5, 1.5])
    expected, _ = np.histogram(np.clip(x, edges[0], edges[-1]), edges)
    assert np.array_equal(stats.binned_counts(x, edges), expected)


# -- through the profile ---------------------------------------------------------------------


def _compare_one(ref, cur, test, **profile_kw):
    prof = build_reference_profile(pd.DataFrame({"v": ref}), options=ProfileOptions(**profile_kw))
    opts = DriftOptions(columns={"v": ColumnTest(test=test)}, min_rows=1)
    return prof, compare(prof, pd.DataFrame({"v": cur}), opts).column("v")


def test_profile_ks_is_exact_for_small_references():
    a, b = _pair(800, 2500, 5)
    _, col = _compare_one(a, b, "ks")
    expected = sps.ks_2samp(a, b)
    assert col.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert col.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert col.error_bound is None


def test_profile_ks_from_a_sketch_is_within_its_bound_and_conservative():
    a, b = _pair(50_000, 40_000, 6)
    prof, col = _compare_one(a, b * 0.99, "ks")
    expected = sps.ks_2samp(a, b * 0.99)
    assert "sketch" in prof.columns["v"] and col.error_bound == pytest.approx(0.0005)
    assert abs(col.statistic - expected.statistic) <= 2 * col.error_bound
    assert col.statistic <= expected.statistic + 1e-12
    assert col.p_value >= expected.pvalue


def test_profile_wasserstein_is_scipys_normalised_by_the_reference_std():
    a, b = _pair(1500, 4000, 7)
    _, col = _compare_one(a, b, "wasserstein")
    expected = sps.wasserstein_distance(a, b) / np.std(a)
    assert col.statistic == pytest.approx(expected, rel=1e-9)


def test_profile_wasserstein_from_a_sketch_is_within_the_stored_bound():
    a, b = _pair(200_000, 30_000, 8)
    prof, col = _compare_one(a, b, "wasserstein")
    entry = prof.columns["v"]
    assert entry["sketch_w1"] == pytest.approx(sps.wasserstein_distance(a, entry["sketch"]))
    expected = sps.wasserstein_distance(a, b) / np.std(a)
    assert abs(col.statistic - expected) <= col.error_bound + 1e-12
    assert col.error_bound < 0.01  # the sketch costs less than a tenth of the threshold


def _categorical(n, shares, seed, labels="abcde"):
    rng = np.random.default_rng(seed)
    return pd.Series(np.asarray(list(labels))[rng.choice(len(shares), n, p=shares)])


def test_profile_chi_square_and_jensen_shannon_match_scipy_on_counts():
    ref = _categorical(900, [0.4, 0.3, 0.2, 0.1], 1)
    cur = _categorical(1200, [0.3, 0.3, 0.2, 0.1, 0.1], 2)  # "e" is new
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref.to_numpy(), cur.to_numpy()]
    ).to_numpy()
    _, col = _compare_one(ref, cur, "chisquare")
    res = sps.chi2_contingency(table, correction=False)
    assert (col.statistic, col.p_value) == pytest.approx((res.statistic, res.pvalue), rel=1e-9)
    assert col.unseen_categories == ["e"]
    _, col = _compare_one(ref, cur, "jensenshannon")
    expected = jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum())
    assert col.statistic == pytest.approx(expected, rel=1e-12)


def test_profile_psi_on_the_reference_bins():
    a, b = _pair(5000, 5000, 9)
    prof, col = _compare_one(a, b, "psi")
    edges = np.asarray(prof.columns["v"]["edges"])
    r, _ = np.histogram(a, edges)
    c, _ = np.histogram(np.clip(b, edges[0], edges[-1]), edges)
    r, c = np.maximum(r / r.sum(), 1e-4), np.maximum(c / c.sum(), 1e-4)
    assert col.statistic == col.psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))))
