"""Drift statistics, computed from a reference *summary* (sorted points, counts) and current data.

Every function takes what a reference profile keeps (see :mod:`mlspec.monitor.profile`), so the
raw reference is never needed at monitoring time:

- **Kolmogorov-Smirnov** (:func:`ks_statistic`): the reference is a sorted array of equally
  weighted points — its values themselves for small references (then ``D`` is exactly scipy's
  ``ks_2samp`` statistic) or ``K`` quantiles at the mid-points ``(i + 0.5) / K`` of the reference
  ECDF (``inverted_cdf``). For that sketch ``|F_sketch(x) - F_ref(x)| <= 0.5 / K`` at every ``x``,
  so the statistic is off by at most ``0.5 / K`` (0.0005 with the default ``K = 1000``); being a
  maximum over rounded steps it errs upwards, so :func:`ks_test` subtracts the bound and stays a
  valid (slightly conservative) test. Only ``2K`` binary searches into the sorted current values
  are needed, not a merge of both samples.
- **Wasserstein-1** (:func:`wasserstein_sorted`): exact between two equally weighted sorted
  samples, integrating ``|Q_a(u) - Q_b(u)|`` piece by piece with prefix sums (O(m) after
  sorting). With a sketch, the triangle inequality bounds the error by ``W1(reference, sketch)``,
  which the profile computes at training time and stores (``sketch_w1``).
- **chi-square** (:func:`chi_square`): a test of homogeneity on the 2 x k table of reference and
  current counts (scipy's ``chi2_contingency``, without Yates' correction). Evidently compares the
  current counts with the reference shares as if those were exact (a goodness-of-fit test); that
  ignores the reference's own sampling noise and alarms far more often than ``alpha`` when both
  samples are of similar size. The profile keeps counts, so the homogeneity test is exact.
- **Jensen-Shannon distance** (:func:`jensen_shannon`): scipy's formula, natural logarithm (as
  Evidently), so it lies in ``[0, sqrt(ln 2)]``; no smoothing is needed.
- **PSI** (:func:`psi`): ``sum((c - r) * ln(c / r))`` over the same bins, shares floored at
  ``epsilon`` (default 1e-4, Evidently's value) so an empty bin gives a large finite value.
- **Benjamini-Hochberg** (:func:`benjamini_hochberg`): scipy's ``false_discovery_control``.

scipy is imported inside the functions, and only the compute modules (this one, ``profile``,
``drift``) import numpy: the CLI imports ``mlspec.monitor.options`` at start-up, never these.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def ks_statistic(ref_sorted: Any, cur_sorted: Any) -> float:
    """sup_x |F_ref(x) - F_cur(x)| for two sorted samples of equally weighted points.

    F_ref is a step function with jumps at its (few) distinct points ``u``; on ``[u_i, u_i+1)``
    it is constant, while F_cur rises from F_cur(u_i) to F_cur(u_i+1 -), so the supremum is at one
    of those two ends (or just before ``u_0``). That needs 2 searches per reference point.
    """
    ref = np.asarray(ref_sorted, dtype=float)
    cur = np.asarray(cur_sorted, dtype=float)
    n, m = ref.size, cur.size
    if n == 0 or m == 0:
        raise ValueError("KS needs two non-empty samples")
    u = np.unique(ref)
    f_ref = np.searchsorted(ref, u, side="right") / n
    at = np.searchsorted(cur, u, side="right") / m
    before = np.searchsorted(cur, u, side="left") / m
    d = max(before[0], float(np.max(np.abs(f_ref - at))))
    if u.size > 1:
        d = max(d, float(np.max(np.abs(f_ref[:-1] - before[1:]))))
    return float(d)


def ks_asymptotic_p(d: float, n: int, m: int) -> float:
    """Two-sided p-value of Smirnov's asymptotic distribution, as scipy's ``ks_2samp`` ('asymp')."""
    from scipy.stats import kstwo

    big, small = sorted((float(n), float(m)), reverse=True)
    en = big * small / (big + small)
    return float(np.clip(kstwo.sf(d, np.round(en)), 0.0, 1.0))


def ks_test(ref_sorted: Any, cur_sorted: Any, n_ref: int | None = None) -> tuple[float, float]:
    """(D, p-value). ``ref_sorted`` holds the reference values themselves when ``n_ref`` is None
    (or equals their number), else a quantile sketch of ``n_ref`` values.

    With the exact values and both samples of at most 10 000 values: scipy's ``ks_2samp`` itself
    (its exact distribution); otherwise D from :func:`ks_statistic` and the asymptotic p-value
    scipy uses beyond that size, for sample sizes ``n_ref`` and the current count. A sketch's D
    is lowered by its error bound 0.5/K, so the p-value is never smaller than the exact one (the
    test keeps its level; it loses a little power, ~0.5/K in D, for references above
    ``exact_max_rows`` - only when KS is chosen for them, the default there is Wasserstein).
    """
    ref = np.asarray(ref_sorted, dtype=float)
    cur = np.asarray(cur_sorted, dtype=float)
    exact = n_ref is None or n_ref == ref.size
    if exact and max(ref.size, cur.size) <= 10_000:
        from scipy.stats import ks_2samp

        res = ks_2samp(ref, cur, alternative="two-sided", method="auto")
        return float(res.statistic), float(res.pvalue)
    d = ks_statistic(ref, cur)
    if not exact:  # the sketch's D is within 0.5/K of the true one and biased up (a max over
        d = max(d - 0.5 / ref.size, 0.0)  # rounded steps): lowering it keeps the level valid
    return d, ks_asymptotic_p(d, ref.size if exact else int(n_ref or 0), cur.size)


def wasserstein_sorted(a_sorted: Any, b_sorted: Any) -> float:
    """W1 between two sorted samples of equally weighted points: the integral of |Q_a - Q_b|.

    Q_a (the smaller sample, ``n`` points) is constant, ``a_i``, on ``[i/n, (i+1)/n)``; Q_b rises
    through it and crosses ``a_i`` at ``t = #{b < a_i} / m``, so the piece is
    ``a_i (t - lo) - (G(t) - G(lo)) + (G(hi) - G(t)) - a_i (hi - t)`` with ``G`` the integral of
    Q_b, read off the prefix sums of ``b``. O(m) for the prefix sums, O(n log m) for the rest.
    Values are centred on a's median first, so the prefix sums lose no precision to an offset.
    """
    a = np.asarray(a_sorted, dtype=float)
    b = np.asarray(b_sorted, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("Wasserstein needs two non-empty samples")
    if a.size > b.size:
        a, b = b, a
    n, m = a.size, b.size
    shift = a[n // 2]
    a = a - shift
    prefix = np.concatenate(([0.0], np.cumsum(b - shift)))

    def integral(u: Any) -> Any:  # G(u) = integral of Q_b over [0, u]
        j = np.minimum((u * m).astype(np.int64), m - 1)
        return (prefix[j] + (u * m - j) * (b[j] - shift)) / m

    lo = np.arange(n) / n
    hi = np.arange(1, n + 1) / n
    t = np.clip(np.searchsorted(b, a + shift, side="left") / m, lo, hi)
    g_lo, g_hi, g_t = integral(lo), integral(hi), integral(t)
    pieces = a * (2 * t - lo - hi) - 2 * g_t + g_lo + g_hi
    return float(max(np.sum(pieces), 0.0))


def chi_square(ref_counts: Any, cur_counts: Any) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square test of homogeneity of two count vectors.

    Cells empty on both sides carry no information and are dropped (scipy refuses zero expected
    counts); with fewer than two cells left the samples cannot differ: (0, 1).
    """
    from scipy.stats import chi2_contingency

    table = np.vstack([np.asarray(ref_counts, float), np.asarray(cur_counts, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    res = chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def shares(counts: Any) -> Any:
    """Counts as shares of their total (zeros when the total is zero)."""
    c = np.asarray(counts, dtype=float)
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def jensen_shannon(ref_shares: Any, cur_shares: Any) -> float:
    """Jensen-Shannon *distance* (square root of the divergence), natural logarithm.

    scipy's ``jensenshannon`` formula (both vectors normalised, ``0 * log 0 = 0``) in numpy:
    importing ``scipy.spatial`` costs about a second, more than the whole default comparison of
    a large frame, and the default large-reference path needs nothing else from scipy.
    """
    p = np.asarray(ref_shares, dtype=float)
    q = np.asarray(cur_shares, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sqrt(max((left.sum() + right.sum()) / 2, 0.0)))


def psi(ref_shares: Any, cur_shares: Any, epsilon: float = 1e-4) -> float:
    """Population stability index; shares below ``epsilon`` are raised to it (empty bins)."""
    r = np.maximum(np.asarray(ref_shares, dtype=float), epsilon)
    c = np.maximum(np.asarray(cur_shares, dtype=float), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``)."""
    if not p_values:
        return []
    from scipy.stats import false_discovery_control

    adjusted = false_discovery_control(np.asarray(p_values, dtype=float), method="bh")
    return [float(v) for v in np.atleast_1d(adjusted)]


def binned_counts(sorted_values: Any, edges: Any) -> Any:
    """Counts of sorted values in the bins of ``edges``, values outside them clipped into the end
    bins (``np.histogram`` of the clipped values: bins closed on the left, the last on both)."""
    values = np.asarray(sorted_values, dtype=float)
    e = np.asarray(edges, dtype=float)
    cuts = np.searchsorted(values, e[1:-1], side="left")
    bounds = np.concatenate(([0], cuts, [values.size]))
    return np.diff(bounds)
