"""Acceptance a: the drift tests are calibrated under the null and detect the listed shifts.

Reference and current samples come from one generator per seed (numeric: standard normal;
categorical: four categories with shares 40/30/20/10 %). With the defaults, references of 100 and
1000 rows get p-value tests (KS, chi-square) and 10k / 100k rows get distance tests (normalised
Wasserstein, Jensen-Shannon), so:

- null, p-value tests (the default at n <= 1000, and forced at every n): the alarm rate is alpha
  within two standard errors over SEEDS seeds; BH is switched off here because each case is one
  test (the correction across columns has its own test in test_drift.py);
- null, distance tests (the default at n >= 10k): alarms in at most 1 % of seeds;
- shifted current data at n = 10k, defaults: detected in at least 95 % of seeds — except one
  case the default Jensen-Shannon threshold cannot meet (see ``test_share_shift_of_a_large_...``);
- shuffling the rows of either side changes nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlspec.monitor.drift import compare
from mlspec.monitor.options import ColumnTest, DriftOptions
from mlspec.monitor.profile import ReferenceProfile, build_reference_profile

SEEDS = 200
ALPHA = 0.05
SHARES = np.array([0.4, 0.3, 0.2, 0.1])
LABELS = np.array(["a", "b", "c", "d", "e"])
NO_BH = DriftOptions(correction="none")
FORCED_P = DriftOptions(correction="none", numeric_test="ks", categorical_test="chisquare")


def _categorical(rng: np.random.Generator, n: int, shares) -> pd.Categorical:
    u = rng.random(n)
    codes = np.zeros(n, dtype=np.int8)
    for cut in np.cumsum(shares)[:-1]:
        codes += u >= cut
    return pd.Categorical.from_codes(codes, LABELS[: len(shares)])


def _null(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({"num": rng.standard_normal(n), "cat": _categorical(rng, n, SHARES)})


def _alarm_rates(n: int, options: list[DriftOptions]) -> list[dict[str, float]]:
    """Per option set, the share of seeds in which each column drifted (same data for all)."""
    hits = [{"num": 0, "cat": 0} for _ in options]
    for seed in range(SEEDS):
        rng = np.random.default_rng([n, seed])
        prof = build_reference_profile(_null(rng, n))
        current = _null(rng, n)
        for h, opts in zip(hits, options, strict=True):
            result = compare(prof, current, opts)
            for col in h:
                h[col] += result.column(col).drifted
    return [{c: v / SEEDS for c, v in h.items()} for h in hits]


SE = math.sqrt(ALPHA * (1 - ALPHA) / SEEDS)
# The acceptance band is alpha +- 2 SE for each case. A calibrated test leaves that band in 5 % of
# seed sets, and there are 8 cases (4 sizes x 2 columns) here: asserting 2 SE on all of them at
# once would fail ~1 run in 3 by chance alone. Each case is asserted at 3 SE (Bonferroni for 8
# checks: 2.73 SE); the rates measured and whether each is inside 2 SE are in the report.
BAND = 3 * SE


@pytest.mark.parametrize("n", [100, 1000, 10_000, 100_000])
def test_null_alarm_rates(n):
    default, forced = _alarm_rates(n, [NO_BH, FORCED_P])
    for col in ("num", "cat"):
        assert abs(forced[col] - ALPHA) <= BAND, (n, col, forced[col])
        if n <= 1000:  # the defaults are these p-value tests
            assert default[col] == forced[col]
        else:  # the defaults are distances
            assert default[col] <= 0.01, (n, col, default[col])


def _shifted(case: str, rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = rng.standard_normal(n)
    shares = SHARES
    if case == "mean+0.25sd":
        x = x + 0.25
    elif case == "mean+0.5sd":
        x = x + 0.5
    elif case == "mean+1sd":
        x = x + 1.0
    elif case == "scale x2":
        x = x * 2
    elif case == "unit x1000":
        x = x * 1000
    elif case == "missing 0 -> 10%":
        x[rng.random(n) < 0.1] = np.nan
    elif case == "share of the rarest +10 points":
        shares = np.array([0.3, 0.3, 0.2, 0.2])
    elif case == "share of the largest +10 points":
        shares = np.array([0.5, 0.3 - 0.1 / 3, 0.2 - 0.1 / 3, 0.1 - 0.1 / 3])
    elif case == "new category (5%)":
        shares = np.append(SHARES * 0.95, 0.05)
    elif case != "none":
        raise ValueError(case)
    return pd.DataFrame({"num": x, "cat": _categorical(rng, n, shares)})


NUMERIC_CASES = ["mean+0.25sd", "mean+0.5sd", "mean+1sd", "scale x2", "unit x1000"]
NUMERIC_CASES += ["missing 0 -> 10%"]
CATEGORICAL_CASES = ["share of the rarest +10 points", "new category (5%)"]
LARGEST = "share of the largest +10 points"
CHI_SQUARE = DriftOptions(columns={"cat": ColumnTest(test="chisquare")})


@pytest.fixture(scope="module")
def detection() -> dict[tuple[str, str], float]:
    """(case, "default" | "chisquare") -> share of seeds in which the shifted column drifted, at
    n = 10k; one reference profile per seed serves every case."""
    n = 10_000
    cases = [*NUMERIC_CASES, *CATEGORICAL_CASES, LARGEST]
    hits = dict.fromkeys([(c, "default") for c in cases] + [(LARGEST, "chisquare")], 0)
    for seed in range(SEEDS):
        rng = np.random.default_rng([n, seed, 7])
        full = build_reference_profile(_null(rng, n))
        for case in cases:
            column = "num" if case in NUMERIC_CASES else "cat"
            prof = ReferenceProfile(n, {column: full.columns[column]}, full.options)
            current = _shifted(case, rng, n)[[column]]
            hits[(case, "default")] += compare(prof, current).column(column).drifted
            if case == LARGEST:
                hits[(case, "chisquare")] += (
                    compare(prof, current, CHI_SQUARE).column("cat").drifted
                )
    return {k: v / SEEDS for k, v in hits.items()}


@pytest.mark.parametrize("case", NUMERIC_CASES + CATEGORICAL_CASES)
def test_shifts_are_detected_with_the_defaults(detection, case):
    assert detection[(case, "default")] >= 0.95


def test_a_new_category_is_named():
    rng = np.random.default_rng(1)
    prof = build_reference_profile(_null(rng, 10_000))
    current = _shifted("new category (5%)", rng, 10_000)
    assert compare(prof, current).column("cat").unseen_categories == ["e"]


@pytest.mark.xfail(
    strict=True,
    reason="known limit of the default: moving the largest category from 40 to 50 % (the other"
    " three lose 3.3 points each) is a Jensen-Shannon distance of ~0.075, under Evidently's 0.1;"
    " it is detected in 0 % of seeds. A chi-square test (columns: {c: {test: chisquare}}) or a"
    " lower threshold catches it (next test).",
)
def test_share_shift_of_a_large_category_with_the_default_threshold(detection):
    assert detection[(LARGEST, "default")] >= 0.95


def test_share_shift_of_a_large_category_with_chi_square(detection):
    assert detection[(LARGEST, "chisquare")] >= 0.95


def test_shuffling_rows_changes_nothing():
    rng = np.random.default_rng(5)
    for n in (300, 20_000):  # exact values and p-value tests; sketches and distances
        ref = _shifted("missing 0 -> 10%", rng, n)
        cur = _shifted("mean+0.25sd", rng, n).assign(num=lambda d: d["num"].where(d.index % 7 > 0))
        scores_ref, scores_cur = rng.random(n), rng.random(n) ** 2
        prof = build_reference_profile(ref, predictions=scores_ref)
        expected = compare(prof, cur, current_predictions=scores_cur).to_json()
        p, q = rng.permutation(n), rng.permutation(n)
        prof2 = build_reference_profile(ref.iloc[p].reset_index(drop=True), scores_ref[p])
        assert prof2.to_bytes() == prof.to_bytes()
        shuffled = cur.iloc[q].reset_index(drop=True)
        assert compare(prof2, shuffled, current_predictions=scores_cur[q]).to_json() == expected
