"""``compare``: current data against a reference profile, column by column, then for the dataset.

Per column (see :mod:`mlspec.monitor.options` for the defaults and :mod:`mlspec.monitor.stats`
for the statistics):

1. the deciding test, by column kind and reference size unless overridden: KS / chi-square
   (p-values) for references of at most ``small_reference_rows`` rows, normalised Wasserstein /
   Jensen-Shannon (distances) above;
2. PSI on the same bins as the histogram (the reference's quantile bins for numeric columns, its
   categories for categorical ones), always reported;
3. the missing-value rate: Fisher's exact test on the 2 x 2 table of missing / present counts for
   small references, the Jensen-Shannon distance of the (missing, present) shares for large
   ones — a column whose values are fine but which is now 10 % empty has drifted;
4. unseen categories: current values outside the reference's categories (listed only when the
   reference kept all its categories — a value outside a pooled reference may just be rare).

The p-values of all columns (distribution and missing-value tests) are adjusted together with
Benjamini-Hochberg, and a column drifts when an adjusted p-value is below its level or a distance
reaches its threshold. A column with fewer than ``min_rows`` values on either side is
``insufficient_data`` (unless its missing-value test alone shows drift). The dataset drifts when
at least ``drift_share`` of the testable columns drifted; when no column could be tested the
status is ``insufficient_data``, never a silent "ok". Prediction drift is tested the same way, on
its own (not part of the correction or the share).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mlspec.errors import DataError, Problem, SpecError, choices_hint
from mlspec.monitor import stats
from mlspec.monitor.options import P_VALUE_TESTS, TESTS_FOR_KIND, ColumnTest, DriftOptions
from mlspec.monitor.profile import (
    ReferenceProfile,
    category_counts,
    category_text,
    column_kind,
    numeric_values,
)

OTHER = "(other)"
MAX_UNSEEN_LISTED = 50


@dataclass
class ColumnDrift:
    """The comparison of one column (or of the predictions)."""

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    threshold: float
    drifted: bool
    status: str  # ok | drift | insufficient_data
    psi: float | None
    missing_rate_ref: float
    missing_rate_cur: float
    unseen_categories: list[Any]
    histogram: dict[str, Any]
    count_ref: int = 0
    count_cur: int = 0
    error_bound: float | None = None  # how far the profile-based statistic may be off
    missing_test: str | None = None  # fisher | jensenshannon | None (nothing missing anywhere)
    missing_statistic: float | None = None
    missing_p_value: float | None = None
    missing_p_adjusted: float | None = None
    missing_threshold: float | None = None
    missing_drifted: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftResult:
    """Every column's comparison and the dataset-level verdict."""

    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    dataset_drift: bool
    share_drifted: float
    n_drifted: int
    n_tested: int
    status: str  # ok | drift | insufficient_data
    rows_reference: int
    rows_current: int
    options: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "n_drifted": self.n_drifted,
            "n_tested": self.n_tested,
            "rows_reference": self.rows_reference,
            "rows_current": self.rows_current,
            "columns": [c.to_json() for c in self.columns],
            "prediction": self.prediction.to_json() if self.prediction else None,
            "options": self.options,
        }


def compare(
    profile: ReferenceProfile,
    current: Any,
    options: DriftOptions | None = None,
    current_predictions: Any = None,
) -> DriftResult:
    """Compare ``current`` (a DataFrame holding the profiled columns) with ``profile``."""
    opts = options or DriftOptions()
    _check_current(profile, current, opts)
    results = [
        _compare_column(name, entry, current[name], opts, opts.columns.get(name, ColumnTest()))
        for name, entry in profile.columns.items()
    ]
    if opts.correction == "bh":
        _adjust(results)
    for r in results:
        _decide(r, opts)
    prediction = None
    if profile.prediction is not None and current_predictions is not None:
        values = _prediction_series(profile.prediction, current_predictions)
        prediction = _compare_column(
            str(profile.prediction.get("name", "prediction")),
            profile.prediction,
            values,
            opts,
            opts.prediction,
            loc=("prediction",),
        )
        _decide(prediction, opts)
    tested = [r for r in results if r.status != "insufficient_data"]
    drifted = sum(r.drifted for r in tested)
    share = drifted / len(tested) if tested else 0.0
    dataset_drift = bool(tested) and share >= opts.drift_share
    status = "insufficient_data" if not tested else "drift" if dataset_drift else "ok"
    return DriftResult(
        columns=results,
        prediction=prediction,
        dataset_drift=dataset_drift,
        share_drifted=share,
        n_drifted=drifted,
        n_tested=len(tested),
        status=status,
        rows_reference=profile.rows,
        rows_current=len(current),
        options=opts.model_dump(),
    )


# -- checks -------------------------------------------------------------------------------------


def _check_current(profile: ReferenceProfile, current: Any, opts: DriftOptions) -> None:
    unknown = [c for c in opts.columns if c not in profile.columns]
    if unknown:
        raise SpecError(
            [
                Problem(
                    "unknown_column",
                    f"drift options name column '{c}', which the reference profile lacks",
                    loc=("columns", c),
                    fix=choices_hint(c, list(profile.columns)),
                )
                for c in unknown
            ]
        )
    if not hasattr(current, "columns") or len(current) == 0:
        raise DataError(
            Problem(
                "no_rows",
                "the current data has no rows: there is nothing to compare with the reference",
                fix="point the monitor at a file (or log window) that holds scored rows",
            )
        )
    names = {str(c) for c in current.columns}
    problems = [
        Problem(
            "missing_column",
            f"the current data lacks column '{name}', which the reference has",
            loc=(name,),
            fix="the reference columns are: " + ", ".join(profile.columns),
        )
        for name in profile.columns
        if name not in names
    ]
    for name, entry in profile.columns.items():
        if name in names:
            problem = _dtype_problem(name, entry, current[name])
            if problem is not None:
                problems.append(problem)
    if problems:
        raise DataError(problems)


def _prediction_series(entry: dict[str, Any], predictions: Any) -> Any:
    """The current scores as a Series, checked like a column (one value per row, same type)."""
    import pandas as pd

    name = str(entry.get("name", "prediction"))
    array = np.asarray(predictions)
    if array.ndim != 1:
        raise DataError(
            Problem(
                "prediction_shape",
                f"current predictions have shape {array.shape}; one score per row is needed",
                loc=("prediction",),
                fix=f"pass the same kind of score as the reference ({name}), e.g. with"
                " mlspec.monitor.profile.prediction_scores",
            )
        )
    series = pd.Series(array)
    problem = _dtype_problem(name, entry, series)
    if problem is not None:
        raise DataError(Problem(problem.code, problem.message, ("prediction",), fix=problem.fix))
    return series


def _numeric_reference(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "numeric" or bool(entry.get("numeric_values"))


def _dtype_problem(name: str, entry: dict[str, Any], series: Any) -> Problem | None:
    if not _numeric_reference(entry) or bool(series.isna().all()):
        return None
    ref_time = str(entry["dtype"]).startswith(("datetime64", "timedelta64"))
    import pandas as pd

    types = pd.api.types
    cur_time = types.is_datetime64_any_dtype(series) or types.is_timedelta64_dtype(series)
    if column_kind(series) == "numeric" and cur_time == ref_time:
        return None
    return Problem(
        "wrong_dtype",
        f"column '{name}' is {series.dtype} in the current data but {entry['dtype']}"
        " in the reference",
        loc=(name,),
        fix="convert the column back to its training type before monitoring",
    )


# -- one column ---------------------------------------------------------------------------------


def _choose_test(
    name: str, entry: dict[str, Any], opts: DriftOptions, override: ColumnTest, loc: tuple
) -> tuple[str, float]:
    kind = entry["kind"]
    test: str = override.test
    if test == "auto":
        test = opts.numeric_test if kind == "numeric" else opts.categorical_test
    if test == "auto":
        small = entry["rows"] <= opts.small_reference_rows
        test = {
            ("numeric", True): "ks",
            ("numeric", False): "wasserstein",
            ("categorical", True): "chisquare",
            ("categorical", False): "jensenshannon",
        }[(kind, small)]
    if test not in TESTS_FOR_KIND[kind]:
        raise SpecError(
            Problem(
                "test_for_kind",
                f"column '{name}' is {kind}; the {test} test needs a numeric column",
                loc=(*loc, "test"),
                fix="use one of: " + ", ".join(TESTS_FOR_KIND[kind]),
            )
        )
    defaults = {
        "wasserstein": opts.numeric_threshold,
        "jensenshannon": opts.categorical_threshold,
        "psi": opts.psi_threshold,
    }
    threshold = override.threshold
    if threshold is None:
        threshold = opts.alpha if test in P_VALUE_TESTS else defaults[test]
    return test, float(threshold)


def _compare_column(
    name: str,
    entry: dict[str, Any],
    series: Any,
    opts: DriftOptions,
    override: ColumnTest,
    loc: tuple = ("columns",),
) -> ColumnDrift:
    test, threshold = _choose_test(name, entry, opts, override, (*loc, name))
    kind = entry["kind"]
    rows_cur = len(series)
    if _numeric_reference(entry):
        values = numeric_values(series)
        missing_cur = int(np.isnan(values).sum())
        finite = np.sort(values[np.isfinite(values)])
    else:
        missing_cur = int(series.isna().sum())
        finite = None
    drift = ColumnDrift(
        column=name,
        kind=kind,
        test=test,
        statistic=None,
        p_value=None,
        p_adjusted=None,
        threshold=threshold,
        drifted=False,
        status="ok",
        psi=None,
        missing_rate_ref=entry["missing"] / entry["rows"] if entry["rows"] else 0.0,
        missing_rate_cur=missing_cur / rows_cur if rows_cur else 0.0,
        unseen_categories=[],
        histogram={},
        count_ref=int(entry["count"]),
    )
    if kind == "numeric":
        assert finite is not None
        drift.count_cur = int(finite.size)
        ref_cells = np.asarray(entry["bin_counts"], dtype=float)
        cur_cells = stats.binned_counts(finite, entry["edges"]) if len(entry["edges"]) > 1 else None
        if cur_cells is None:
            cur_cells = np.asarray([finite.size], dtype=float)
        drift.histogram = {"edges": list(entry["edges"]), "labels": None}
    else:
        labels, ref_cells, cur_cells, unseen = _category_cells(entry, series, finite)
        drift.count_cur = int(np.sum(cur_cells))
        drift.unseen_categories = unseen
        drift.histogram = {"edges": None, "labels": labels}
    drift.histogram["reference"] = [float(v) for v in stats.shares(ref_cells)]
    drift.histogram["current"] = [float(v) for v in stats.shares(cur_cells)]
    if drift.count_cur:
        drift.psi = stats.psi(stats.shares(ref_cells), stats.shares(cur_cells), opts.psi_epsilon)
    if opts.missing:
        _missing_test(drift, entry, missing_cur, rows_cur, opts)
    if drift.count_ref < opts.min_rows or drift.count_cur < opts.min_rows:
        drift.status = "insufficient_data"
        return drift
    if test == "ks":
        assert finite is not None
        drift.statistic, drift.p_value = stats.ks_test(
            _points(entry), finite, None if "values" in entry else drift.count_ref
        )
        drift.error_bound = None if "values" in entry else entry.get("sketch_ks")
    elif test == "wasserstein":
        assert finite is not None
        std = entry.get("std") or 0.0
        scale = std if std > 0 else 1.0
        drift.statistic = stats.wasserstein_sorted(_points(entry), finite) / scale
        drift.error_bound = None if "values" in entry else entry.get("sketch_w1", 0.0) / scale
    elif test == "chisquare":
        drift.statistic, drift.p_value = stats.chi_square(ref_cells, cur_cells)
    elif test == "jensenshannon":
        drift.statistic = stats.jensen_shannon(stats.shares(ref_cells), stats.shares(cur_cells))
    else:  # psi
        drift.statistic = drift.psi
    return drift


def _points(entry: dict[str, Any]) -> Any:
    return np.asarray(entry["values"] if "values" in entry else entry["sketch"], dtype=float)


def _category_cells(
    entry: dict[str, Any], series: Any, values: Any
) -> tuple[list[Any], Any, Any, list[Any]]:
    """(labels, reference counts, current counts, unseen categories) on common cells."""
    categories = list(entry["categories"])
    index: dict[Any, int]
    if entry.get("numeric_values"):
        assert values is not None
        uniq, counts = np.unique(values, return_counts=True)
        keys: list[Any] = [float(v) for v in uniq]
        index = {float(c): i for i, c in enumerate(categories)}
        show = [int(v) if v == int(v) else v for v in keys]
    else:
        keys, counts = category_counts(series)
        index = {str(c): i for i, c in enumerate(categories)}
        show = list(keys)
    ref_counts = list(entry["counts"])
    cur_counts = [0] * len(categories)
    unseen: list[tuple[int, Any]] = []
    for key, label, c in zip(keys, show, counts, strict=True):
        i = index.get(key)
        if i is None:
            unseen.append((int(c), label))
        else:
            cur_counts[i] += int(c)
    labels = [category_text(c) if isinstance(c, float) else c for c in categories]
    unseen.sort(key=lambda t: (-t[0], str(t[1])))
    if entry.get("other_count", 0) > 0:  # unseen values may be among the pooled reference rest
        labels.append(OTHER)
        ref_counts.append(int(entry["other_count"]))
        cur_counts.append(sum(c for c, _ in unseen))
        return [str(x) for x in labels], np.asarray(ref_counts), np.asarray(cur_counts), []
    limit = max(len(categories), 1)
    for c, label in unseen[:limit]:
        labels.append(label)
        ref_counts.append(0)
        cur_counts.append(c)
    if len(unseen) > limit:
        labels.append(OTHER)
        ref_counts.append(0)
        cur_counts.append(sum(c for c, _ in unseen[limit:]))
    listed = [label for _, label in unseen[:MAX_UNSEEN_LISTED]]
    return [str(x) for x in labels], np.asarray(ref_counts), np.asarray(cur_counts), listed


def _missing_test(
    drift: ColumnDrift, entry: dict[str, Any], missing_cur: int, rows_cur: int, opts: DriftOptions
) -> None:
    missing_ref, rows_ref = int(entry["missing"]), int(entry["rows"])
    if missing_ref == 0 and missing_cur == 0:
        return
    if min(rows_ref, rows_cur) < opts.min_rows:
        return
    if rows_ref <= opts.small_reference_rows:
        from scipy.stats import fisher_exact

        table = [[missing_ref, rows_ref - missing_ref], [missing_cur, rows_cur - missing_cur]]
        res = fisher_exact(table)
        drift.missing_test = "fisher"
        drift.missing_statistic = abs(drift.missing_rate_cur - drift.missing_rate_ref)
        drift.missing_p_value = float(res.pvalue)
        drift.missing_threshold = opts.alpha
    else:
        drift.missing_test = "jensenshannon"
        drift.missing_statistic = stats.jensen_shannon(
            [missing_ref, rows_ref - missing_ref], [missing_cur, rows_cur - missing_cur]
        )
        drift.missing_threshold = opts.missing_threshold


def _adjust(results: list[ColumnDrift]) -> None:
    """Benjamini-Hochberg over every p-value of the comparison (distribution and missing rate)."""
    slots: list[tuple[ColumnDrift, str]] = []
    p_values: list[float] = []
    for r in results:
        if r.p_value is not None:
            slots.append((r, "p_adjusted"))
            p_values.append(r.p_value)
        if r.missing_p_value is not None:
            slots.append((r, "missing_p_adjusted"))
            p_values.append(r.missing_p_value)
    for (r, attr), adjusted in zip(slots, stats.benjamini_hochberg(p_values), strict=True):
        setattr(r, attr, adjusted)


def _decide(r: ColumnDrift, opts: DriftOptions) -> None:
    if r.p_value is not None and r.p_adjusted is None:
        r.p_adjusted = r.p_value  # no correction (or a lone test)
    if r.missing_p_value is not None and r.missing_p_adjusted is None:
        r.missing_p_adjusted = r.missing_p_value
    if r.missing_test == "fisher":
        assert r.missing_p_adjusted is not None
        r.missing_drifted = r.missing_p_adjusted < opts.alpha
    elif r.missing_test == "jensenshannon":
        assert r.missing_statistic is not None and r.missing_threshold is not None
        r.missing_drifted = r.missing_statistic >= r.missing_threshold
    distribution = False
    if r.status != "insufficient_data" and r.statistic is not None:
        if r.test in P_VALUE_TESTS:
            assert r.p_adjusted is not None
            distribution = r.p_adjusted < r.threshold
        else:
            distribution = r.statistic >= r.threshold
    r.drifted = bool(distribution or r.missing_drifted)
    if r.drifted:
        r.status = "drift"
