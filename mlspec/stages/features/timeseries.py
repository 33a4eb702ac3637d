"""Per-group lags and rolling windows with no look-ahead.

A row's features come only from rows of its group that sort strictly before it by
``(by, order)``: ``lag k`` is the value k rows earlier (``shift(k)``), a rolling window of w is a
statistic of the w values before the row (rolling over ``shift(1)``), so the row's own value is
never used either. Lags count rows, not time: they assume one row per period and group.

``fit`` keeps the tail of each group's training history (as many rows as the longest lag or
window needs). ``transform`` prepends the kept rows of a group that are strictly earlier than the
group's first new row, computes, and drops them again: validation, test and serving rows get
their first lags from the end of the training history, while transforming the training frame
itself (whose rows start before the kept tail) uses no kept row and equals ``fit_transform``.
Rows come back in the input order.

Imports scikit-learn at module level (see ``transformers``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

STATS = ("mean", "std", "min", "max", "sum", "median")
_POS = "__mlspec_pos__"


class LagFeatures(TransformerMixin, BaseEstimator):
    def __init__(
        self,
        by: tuple[str, ...] = (),
        order: str | None = None,
        columns: tuple[str, ...] = (),
        lags: tuple[int, ...] = (1,),
        windows: tuple[int, ...] = (),
        stats: tuple[str, ...] = ("mean",),
        min_periods: int = 1,
        fill_value: float | None = None,
    ):
        self.by = by
        self.order = order
        self.columns = columns
        self.lags = lags
        self.windows = windows
        self.stats = stats
        self.min_periods = min_periods
        self.fill_value = fill_value

    # -- sklearn API -----------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> LagFeatures:
        self._check_params()
        frame = self._frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        depth = max([*self.lags, *self.windows])
        ordered = frame.sort_values(self._sort_keys(), kind="stable")
        if self.by:
            tail = ordered.groupby(list(self.by), sort=False, dropna=False).tail(depth)
        else:
            tail = ordered.tail(depth)
        self.history_ = tail.reset_index(drop=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        import pandas as pd

        check_is_fitted(self, "history_")
        new = self._frame(X).reset_index(drop=True)
        new[_POS] = np.arange(len(new))
        history = self._earlier_history(new)
        history[_POS] = -1
        both = pd.concat([history, new], ignore_index=True)
        both = both.sort_values(self._sort_keys(), kind="stable").reset_index(drop=True)
        if self.by:
            group = both.groupby(list(self.by), sort=False, dropna=False).ngroup().to_numpy()
        else:
            group = np.zeros(len(both), dtype=int)
        values = both[list(self.columns)].apply(pd.to_numeric, errors="coerce").astype(float)
        grouped = values.groupby(group, sort=False)
        blocks: list[Any] = []
        for k in self.lags:
            blocks.append(grouped.shift(k).to_numpy())
        if self.windows:
            before = grouped.shift(1)  # the rows strictly before each row
            by_group = before.groupby(group, sort=False)
            for w in self.windows:
                rolling = by_group.rolling(w, min_periods=min(self.min_periods, w))
                for stat in self.stats:
                    result = getattr(rolling, stat)().reset_index(level=0, drop=True)
                    blocks.append(result.sort_index().to_numpy())
        out = np.column_stack(blocks) if blocks else np.empty((len(both), 0))
        out = self._reorder(out, both[_POS].to_numpy())
        if self.fill_value is not None:  # no history yet (a group's first rows)
            out[np.isnan(out)] = float(self.fill_value)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [f"{c}_lag_{k}" for k in self.lags for c in self.columns]
        names += [
            f"{c}_roll_{stat}_{w}"
            for w in self.windows
            for stat in self.stats
            for c in self.columns
        ]
        return np.asarray(names, dtype=object)

    # -- helpers ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        if not self.order:
            raise ValueError("lags need 'order': the column that orders each group's rows")
        if not self.columns:
            raise ValueError("lags need 'columns': the columns to lag")
        if not self.lags and not self.windows:
            raise ValueError("give at least one of 'lags' and 'windows'")
        for name, values in (("lags", self.lags), ("windows", self.windows)):
            bad = [v for v in values if not isinstance(v, int | np.integer) or v < 1]
            if bad:
                raise ValueError(f"{name} must be positive integers, got {bad[0]!r}")
        unknown = [s for s in self.stats if s not in STATS]
        if unknown:
            raise ValueError(f"unknown stat '{unknown[0]}' (valid: {', '.join(STATS)})")
        if self.windows and not self.stats:
            raise ValueError("windows need at least one stat")
        if self.min_periods < 1:
            raise ValueError(f"min_periods must be >= 1, got {self.min_periods}")

    def _sort_keys(self) -> list[str]:
        return [*self.by, str(self.order)]

    def _frame(self, X: Any) -> Any:
        if not hasattr(X, "columns"):
            raise TypeError("LagFeatures needs a DataFrame with named columns")
        wanted = list(dict.fromkeys([*self.by, str(self.order), *self.columns]))
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise ValueError(f"column(s) {', '.join(missing)} missing from the input")
        return X[wanted].copy()

    def _earlier_history(self, new: Any) -> Any:
        """The kept rows of each group that sort strictly before the group's first new row."""
        history = self.history_.copy()
        if history.empty or new.empty:
            return history.iloc[0:0]
        order = str(self.order)
        if not self.by:
            return history[history[order] < new[order].min()].copy()
        keys = list(self.by)
        first = new.groupby(keys, sort=False, dropna=False)[order].min().rename("__first__")
        joined = history.merge(first.reset_index(), on=keys, how="inner")
        keep = joined[order] < joined["__first__"]
        return joined.loc[keep, history.columns].reset_index(drop=True)

    @staticmethod
    def _reorder(out: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Drop the history rows (pos -1) and put the rest back in input order."""
        mask = pos >= 0
        result = np.empty((int(mask.sum()), out.shape[1]))
        result[pos[mask]] = out[mask]
        return result
