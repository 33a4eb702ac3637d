"""Transformer classes of the built-in steps, and the top-level ``FeatureTransformer``.

This module imports scikit-learn and numpy at module level (the classes subclass sklearn's
bases, and pickled models need them at module scope). It is imported only when the features
stage runs or a fitted model is loaded, never while planning; the stage fingerprints its source
without importing it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.utils.validation import check_is_fitted


def _names_in(est: Any, X: Any) -> None:
    """Record ``feature_names_in_`` / ``n_features_in_`` like sklearn estimators do."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        est.feature_names_in_ = np.asarray([str(c) for c in columns], dtype=object)
    est.n_features_in_ = X.shape[1]


def _input_names(est: Any, input_features: Any) -> list[str]:
    if input_features is not None:
        return [str(c) for c in input_features]
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        return [str(c) for c in names]
    return [f"x{i}" for i in range(est.n_features_in_)]


def _as_float(X: Any) -> np.ndarray:
    values = X.to_numpy(dtype=float, na_value=np.nan) if hasattr(X, "to_numpy") else X
    return np.asarray(values, dtype=float)


class Clipper(TransformerMixin, BaseEstimator):
    """Clip each column to fixed bounds, or to quantiles of the data it is fitted on."""

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        quantiles: tuple[float, float] | None = None,
    ):
        self.lower = lower
        self.upper = upper
        self.quantiles = quantiles

    def fit(self, X: Any, y: Any = None) -> Clipper:
        _names_in(self, X)
        values = _as_float(X)
        n = values.shape[1]
        if self.quantiles is not None:
            lo, hi = self.quantiles
            with np.errstate(all="ignore"):
                self.lower_ = (
                    np.nanquantile(values, lo, axis=0) if values.size else np.full(n, -np.inf)
                )
                self.upper_ = (
                    np.nanquantile(values, hi, axis=0) if values.size else np.full(n, np.inf)
                )
        else:
            self.lower_ = np.full(n, -np.inf if self.lower is None else float(self.lower))
            self.upper_ = np.full(n, np.inf if self.upper is None else float(self.upper))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "lower_")
        return np.clip(_as_float(X), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(_input_names(self, input_features), dtype=object)


_PANDAS_NAMES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Calendar parts of datetime columns (strings are parsed); NaN where the time is missing."""

    def __init__(self, parts: tuple[str, ...] = ("year", "month", "day", "dayofweek")):
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DatetimeParts:
        _names_in(self, X)
        for name, col in self._columns(X):
            if col.notna().sum() == 0 and X[name].notna().sum() > 0:
                raise ValueError(f"column '{name}' holds no parseable dates")
        return self

    def _columns(self, X: Any) -> list[tuple[str, Any]]:
        import pandas as pd

        if not hasattr(X, "columns"):
            X = pd.DataFrame(X)
        out = []
        for name in X.columns:
            col = X[name]
            if not isinstance(col.dtype, pd.DatetimeTZDtype) and col.dtype.kind != "M":
                col = pd.to_datetime(col, errors="coerce", format="mixed")
            out.append((str(name), col))
        return out

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        blocks = []
        for _, col in self._columns(X):
            dt, missing = col.dt, col.isna().to_numpy()
            for part in self.parts:
                if part == "week":
                    values = dt.isocalendar().week
                elif part == "is_weekend":
                    values = dt.day_of_week >= 5
                else:
                    values = getattr(dt, _PANDAS_NAMES.get(part, part))
                block = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
                block[missing] = np.nan  # NaT: the boolean parts say False; missing is missing
                blocks.append(block)
        return np.column_stack(blocks) if blocks else np.empty((len(X), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [f"{c}_{p}" for c in _input_names(self, input_features) for p in self.parts]
        return np.asarray(names, dtype=object)


class Interactions(TransformerMixin, BaseEstimator):
    """Products of column tuples, e.g. ``price * promo``. Missing inputs are filled with their
    training median first, so one missing factor does not blank the product."""

    def __init__(self, terms: tuple[tuple[str, ...], ...] = ()):
        self.terms = terms

    def fit(self, X: Any, y: Any = None) -> Interactions:
        _names_in(self, X)
        values = _as_float(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
            medians = np.nanmedian(values, axis=0) if len(values) else np.zeros(values.shape[1])
        self.fill_ = np.where(np.isnan(medians), 0.0, medians)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "fill_")
        values = _as_float(X)
        values = np.where(np.isnan(values), self.fill_, values)
        index = {name: i for i, name in enumerate(self.feature_names_in_)}
        out = np.ones((values.shape[0], len(self.terms)))
        for j, term in enumerate(self.terms):
            for name in term:
                out[:, j] *= values[:, index[name]]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(["_x_".join(term) for term in self.terms], dtype=object)


class FeatureTransformer(ColumnTransformer):
    """The ColumnTransformer the features stage fits, which also remembers what training rows
    got from ``fit_transform``.

    Some steps transform the rows they were fitted on differently from new rows: target encoding
    is cross-fitted (a training row's value never uses its own target). ``fit`` keeps the output
    blocks where ``fit_transform`` differs from ``transform`` together with a digest of the
    training frame; ``transform`` of that exact frame (the train stage asks for it) returns them,
    so the model is trained on the cross-fitted values. Any other frame is transformed normally.
    The output is always dense.
    """

    def fit(self, X: Any, y: Any = None, **params: Any) -> FeatureTransformer:
        self.fit_transform(X, y, **params)
        return self

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        out = np.asarray(super().fit_transform(X, y, **params))
        self.train_memo_: dict[str, np.ndarray] = {}
        self.train_digest_: str | None = None
        plain = np.asarray(super().transform(X))
        for name, part in self.output_indices_.items():
            if part.stop > part.start and not _same(out[:, part], plain[:, part]):
                self.train_memo_[name] = out[:, part].copy()
        if self.train_memo_:
            self.train_digest_ = frame_digest(X)
        return out

    def transform(self, X: Any, **params: Any) -> Any:
        out = np.asarray(super().transform(X, **params))
        memo: dict[str, np.ndarray] = getattr(self, "train_memo_", None) or {}
        rows = next(iter(memo.values())).shape[0] if memo else -1
        if len(X) == rows and frame_digest(X) == self.train_digest_:
            out = out.copy()
            for name, block in memo.items():
                out[:, self.output_indices_[name]] = block
        return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return bool(np.array_equal(a, b, equal_nan=True))
    import pandas as pd

    return bool(pd.DataFrame(a).equals(pd.DataFrame(b)))  # object blocks (passthrough text)


def frame_digest(X: Any) -> str | None:
    """A content digest of a frame (values, column names, dtypes); None if it has none."""
    import hashlib

    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        return None
    try:
        rows = pd.util.hash_pandas_object(X, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts)
        return None
    h = hashlib.sha256(rows.tobytes())
    h.update(repr([(str(c), str(t)) for c, t in X.dtypes.items()]).encode())
    return h.hexdigest()
