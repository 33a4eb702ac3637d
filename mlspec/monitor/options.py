"""Options of the reference profile and of the drift comparison (pydantic, unknown keys refused).

The defaults follow DESIGN §5 (borrowed from Evidently, then made stricter):

- the test is picked by column kind and *reference* size: with at most ``small_reference_rows``
  (1000) reference rows, two-sample Kolmogorov-Smirnov for numeric columns and a chi-square test of
  homogeneity for categorical ones, drift when the (Benjamini-Hochberg adjusted) p-value is below
  ``alpha`` (0.05); above that, the Wasserstein distance normalised by the reference's standard
  deviation for numeric columns and the Jensen-Shannon distance for categorical ones, drift when
  the distance is at least 0.1;
- PSI is always reported (and can be made the deciding test of a column);
- the dataset drifts when at least ``drift_share`` (0.5) of the columns that could be tested
  drifted;
- a column with fewer than ``min_rows`` non-missing values on either side gets the status
  ``insufficient_data`` instead of a silent "no drift".

``DriftOptions`` is what the ``monitor:`` section of a spec embeds; ``ProfileOptions`` fixes how the
reference is summarised at training time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TestName = Literal["auto", "ks", "chisquare", "wasserstein", "jensenshannon", "psi"]
P_VALUE_TESTS = frozenset({"ks", "chisquare"})
# Tests a column kind can take: ks and wasserstein need an order and distances between values.
TESTS_FOR_KIND = {
    "numeric": ("ks", "wasserstein", "chisquare", "jensenshannon", "psi"),
    "categorical": ("chisquare", "jensenshannon", "psi"),
}
DEFAULT_THRESHOLDS = {"wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileOptions(_Strict):
    """How the reference is summarised (fixed at training time, stored with the profile)."""

    bins: int = Field(
        default=10, ge=2, le=100, description="numeric bins, from reference quantiles"
    )
    sketch_size: int = Field(
        default=1000, ge=100, le=100_000, description="quantile points kept per numeric column"
    )
    exact_max_rows: int = Field(
        default=2000,
        ge=0,
        le=100_000,
        description="up to this many values, a numeric column keeps them all (exact tests)",
    )
    max_categories: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="most frequent categories kept; the rest are pooled",
    )
    discrete_max_values: int = Field(
        default=5,
        ge=0,
        le=100,
        description="numeric columns with at most this many distinct values count as categorical",
    )


class ColumnTest(_Strict):
    """A per-column override: which test decides drift, and at what threshold."""

    test: TestName = "auto"
    # p-value tests: the significance level (defaults to DriftOptions.alpha); distance tests and
    # PSI: the distance at or above which the column drifts.
    threshold: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _p_value_threshold(self) -> ColumnTest:
        if self.test in P_VALUE_TESTS and self.threshold is not None and self.threshold >= 1:
            raise ValueError(f"threshold of a {self.test} test is a p-value level, below 1")
        return self


class DriftOptions(_Strict):
    """How current data is compared with a reference profile (see the module docstring)."""

    small_reference_rows: int = Field(default=1000, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    numeric_test: TestName = "auto"
    categorical_test: TestName = "auto"
    numeric_threshold: float = Field(default=0.1, gt=0)  # normalised Wasserstein
    categorical_threshold: float = Field(default=0.1, gt=0)  # Jensen-Shannon distance
    psi_threshold: float = Field(default=0.1, gt=0)
    correction: Literal["bh", "none"] = "bh"
    drift_share: float = Field(default=0.5, gt=0, le=1)
    min_rows: int = Field(default=30, ge=1)
    missing: bool = Field(
        default=True, description="test the missing-value rate of every column too"
    )
    # Large references: Jensen-Shannon distance between the (missing, present) shares.
    missing_threshold: float = Field(default=0.1, gt=0)
    psi_epsilon: float = Field(default=1e-4, gt=0, lt=0.01)
    columns: dict[str, ColumnTest] = Field(default_factory=dict)
    prediction: ColumnTest = Field(default_factory=ColumnTest)
