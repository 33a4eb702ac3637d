"""The fast path for small requests: a bundle's pipeline as plain numpy operations.

Scoring one row through the fitted scikit-learn pipeline costs milliseconds, nearly all of it
overhead: building a one-row DataFrame, ``ColumnTransformer`` slicing it, every step validating
its input again, LightGBM's wrapper re-checking the array. The arithmetic is microseconds. For
the common numeric pipeline (``SimpleImputer`` → a scaler/clipper → a tree model) this module
*compiles* the fitted objects into the same arithmetic on a float64 array:

- each ``ColumnTransformer`` block becomes column indices plus numpy operations that repeat the
  fitted step's own transform (the same operations in the same order, so the same bits);
- LightGBM predicts through its ``Booster`` with one thread (what the wrapper calls, minus its
  checks); XGBoost through the wrapper, which uses ``inplace_predict``, on a one-thread copy;
  any other scikit-learn estimator through its own methods under ``assume_finite`` (the request
  was validated already) on a one-thread copy.

Nothing is trusted blindly: ``compile_fast`` runs the compiled kernel and the real pipeline on
probe rows (around the fitted centres and scales, with missing values) and keeps the kernel only
if both give bit-identical predictions and probabilities. Anything it does not know — another
transformer, string columns, a custom objective — leaves the fast path off and every request
goes through the pipeline itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

Op = Callable[[np.ndarray], np.ndarray]
FAST_KINDS = ("f", "i", "b")


class Unsupported(Exception):
    """The pipeline holds something the fast path does not compile."""


def _step_ops(step: Any) -> list[Op]:
    """Numpy operations equivalent to one fitted transformer's ``transform``."""
    if isinstance(step, str):
        if step == "passthrough":
            return []
        raise Unsupported(f"step '{step}' is not compiled")
    cls = type(step)
    qual = f"{cls.__module__}.{cls.__name__}"
    name = cls.__name__
    if name == "Pipeline" and qual.startswith("sklearn."):
        ops: list[Op] = []
        for _, sub in step.steps:
            if sub is None or (isinstance(sub, str) and sub == "passthrough"):
                continue
            ops += _step_ops(sub)
        return ops
    if qual == "sklearn.impute._base.SimpleImputer":
        mv = step.missing_values
        stats = np.asarray(step.statistics_, dtype=float)
        if (
            step.add_indicator
            or not (isinstance(mv, float) and np.isnan(mv))
            or step.strategy not in ("mean", "median", "most_frequent", "constant")
            or not np.isfinite(stats).all()
        ):
            raise Unsupported("SimpleImputer with these options is not compiled")
        return [lambda X: np.where(np.isnan(X), stats, X)]
    if qual == "sklearn.preprocessing._data.StandardScaler":
        ops = []
        if step.with_mean:
            mean = step.mean_
            ops.append(lambda X: X - mean)
        if step.with_std:
            scale = step.scale_
            ops.append(lambda X: X / scale)
        return ops
    if qual == "sklearn.preprocessing._data.RobustScaler":
        ops = []
        if step.with_centering:
            center = step.center_
            ops.append(lambda X: X - center)
        if step.with_scaling:
            rscale = step.scale_
            ops.append(lambda X: X / rscale)
        return ops
    if qual == "sklearn.preprocessing._data.MinMaxScaler":
        mscale, mmin = step.scale_, step.min_
        ops = [lambda X: X * mscale, lambda X: X + mmin]
        if step.clip:
            lo, hi = step.feature_range
            ops.append(lambda X: np.clip(X, lo, hi))
        return ops
    if qual == "sklearn.preprocessing._data.MaxAbsScaler":
        ascale = step.scale_
        return [lambda X: X / ascale]
    if qual == "mlspec.stages.features.transformers.Clipper":
        lower, upper = step.lower_, step.upper_
        return [lambda X: np.clip(X, lower, upper)]
    if (
        qual == "sklearn.preprocessing._function_transformer.FunctionTransformer"
        and step.func is np.log1p
        and not step.kw_args
    ):
        return [np.log1p]
    raise Unsupported(f"transformer {name} is not compiled")


def _blocks(head: Any, columns: list[str]) -> list[tuple[np.ndarray, list[Op]]]:
    """(input column indices, ops) per output block of the fitted ColumnTransformer, in the
    order of its output columns."""
    if head is None:
        return [(np.arange(len(columns)), [])]
    if type(head).__name__ not in ("ColumnTransformer", "FeatureTransformer"):
        raise Unsupported(f"preprocessing {type(head).__name__} is not compiled")
    if getattr(head, "sparse_output_", False):
        raise Unsupported("sparse output is not compiled")
    position = {c: i for i, c in enumerate(columns)}
    out: list[tuple[int, np.ndarray, list[Op]]] = []
    for name, trans, cols in head.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        part = head.output_indices_[name]
        if part.stop == part.start:
            continue
        if not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols):
            raise Unsupported(f"block '{name}' selects columns by position")
        if any(c not in position for c in cols):
            raise Unsupported(f"block '{name}' uses columns outside the input schema")
        if part.stop - part.start != len(cols):
            raise Unsupported(f"block '{name}' changes the number of columns")
        out.append((part.start, np.asarray([position[c] for c in cols]), _step_ops(trans)))
    out.sort(key=lambda b: b[0])
    return [(idx, ops) for _, idx, ops in out]


def _lgbm_predictor(booster: Any) -> Callable[[np.ndarray], np.ndarray]:
    """LightGBM's own prediction on one thread; one row through its single-row fast API.

    ``Booster.predict`` sets up a predictor on every call (parameters parsed, objects copied):
    ~10x the cost of walking 200 trees for one row. LightGBM's C API has a variant for exactly
    this case, ``LGBM_BoosterPredictForMatSingleRowFast``, with the setup done once
    (``...FastInit``). It is not safe to share between threads, so a lock guards it and a
    second thread meanwhile takes ``Booster.predict``. More rows always take ``Booster.predict``.
    """
    import ctypes
    import threading
    import weakref

    def batch(Z: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(Z, num_threads=1))

    try:
        from lightgbm.basic import _LIB, _c_str, _safe_call

        n_out = int(booster.num_model_per_iteration())
        n_features = int(booster.num_feature())
        handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(0),  # C_API_PREDICT_NORMAL
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(booster.best_iteration),  # <= 0: all, as Booster.predict does
                ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
                ctypes.c_int32(n_features),
                _c_str("num_threads=1"),
                ctypes.byref(handle),
            )
        )
    except Exception:  # an older/newer LightGBM without this API: the plain route
        return batch
    weakref.finalize(booster, _LIB.LGBM_FastConfigFree, handle)
    lock = threading.Lock()
    out_len = ctypes.c_int64(0)
    predict_one = _LIB.LGBM_BoosterPredictForMatSingleRowFast

    def predict(Z: np.ndarray) -> np.ndarray:
        if Z.shape[0] != 1 or Z.shape[1] != n_features or not lock.acquire(blocking=False):
            return batch(Z)
        try:
            row = np.ascontiguousarray(Z[0], dtype=np.float64)
            out = np.empty(n_out, dtype=np.float64)
            _safe_call(
                predict_one(
                    handle,
                    ctypes.c_void_p(row.ctypes.data),
                    ctypes.byref(out_len),
                    ctypes.c_void_p(out.ctypes.data),
                )
            )
        finally:
            lock.release()
        return out if n_out == 1 else out.reshape(1, n_out)

    return predict


def one_thread(est: Any) -> Any:
    """A copy of the estimator that predicts on one thread (a single row gains nothing from
    more, and pays for starting them)."""
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    if "n_jobs" not in params:
        return est
    clone = copy.deepcopy(est)
    clone.set_params(n_jobs=1)
    return clone


def _final(est: Any, task: str) -> Callable[[np.ndarray, bool], tuple[Any, Any]]:
    """(features, probabilities?) -> (predictions, probabilities | None) for the last step."""
    module = type(est).__module__
    if module.startswith("lightgbm.") and not callable(getattr(est, "_objective", None)):
        booster = est.booster_
        raw = _lgbm_predictor(booster)
        if task == "classification":
            classes = np.asarray(est.classes_)
            binary = len(classes) == 2

            def lgbm_classify(Z: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
                result = raw(Z)
                if binary:  # what LGBMClassifier.predict_proba does: (1 - p, p) per row
                    proba = np.empty((len(result), 2))
                    proba[:, 0] = 1.0 - result
                    proba[:, 1] = result
                else:
                    proba = result
                return classes[np.argmax(proba, axis=1)], proba if probabilities else None

            return lgbm_classify

        def lgbm_regress(Z: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
            return raw(Z), None

        return lgbm_regress
    import sklearn

    single = one_thread(est)  # XGBoost's wrapper predicts through Booster.inplace_predict
    has_proba = task == "classification" and hasattr(single, "predict_proba")

    def sklearn_predict(Z: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
        # Values were validated (no infinities) and NaN rows take the checked route.
        with sklearn.config_context(assume_finite=bool(np.isfinite(Z).all())):
            preds = single.predict(Z)
            proba = single.predict_proba(Z) if probabilities and has_proba else None
        return preds, proba

    return sklearn_predict


class FastKernel:
    """A compiled pipeline: float64 rows in schema column order -> (predictions, probabilities)."""

    def __init__(self, blocks: list[tuple[np.ndarray, list[Op]]], final: Any, width: int):
        self.blocks = blocks
        self.final = final
        self.width = width
        self._identity = len(blocks) == 1 and not blocks[0][1]

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self._identity:
            return X[:, self.blocks[0][0]]
        parts = []
        for idx, ops in self.blocks:
            part = X[:, idx]
            for op in ops:
                part = op(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    def __call__(self, X: np.ndarray, probabilities: bool) -> tuple[Any, Any]:
        return self.final(self.transform(X), probabilities)


def split_pipeline(model: Any) -> tuple[Any, Any]:
    """(preprocessing or None, final estimator) of a fitted model."""
    steps = getattr(model, "steps", None)
    if type(model).__name__ == "Pipeline" and steps:
        if len(steps) == 1:
            return None, steps[0][1]
        if len(steps) == 2:
            return steps[0][1], steps[1][1]
        return model[:-1], steps[-1][1]
    return None, model


def probe_rows(model: Any, columns: list[tuple[str, str]], n: int = 24) -> np.ndarray:
    """Deterministic rows around each column's fitted centre and spread (from the first step
    that knows them), a few cells missing: what the self-check scores both ways."""
    from mlspec.serve.schema import dtype_kind

    names = [c for c, _ in columns]
    center = np.zeros(len(names))
    spread = np.ones(len(names))
    head, _ = split_pipeline(model)
    for _, trans, cols in getattr(head, "transformers_", []):
        steps = [s for _, s in getattr(trans, "steps", [])] or [trans]
        for step in steps:
            mean = getattr(step, "mean_", getattr(step, "center_", None))
            scale = getattr(step, "scale_", None)
            if mean is not None and scale is not None and isinstance(cols, list):
                for j, c in enumerate(cols):
                    if c in names and j < len(mean):
                        center[names.index(c)] = mean[j]
                        spread[names.index(c)] = scale[j] if np.isfinite(scale[j]) else 1.0
                break
    rng = np.random.default_rng(0)
    X = center + spread * rng.normal(size=(n, len(names))) * 1.5
    X[0] = center
    for j, (_, dtype) in enumerate(columns):
        kind = dtype_kind(dtype)
        if kind == "b":
            X[:, j] = rng.integers(0, 2, size=n)
        elif kind in ("i", "I"):
            X[:, j] = np.round(X[:, j])
    for i in range(n - 4, n):  # a few missing cells in float columns
        j = int(rng.integers(0, len(names)))
        if dtype_kind(columns[j][1]) == "f":
            X[i, j] = np.nan
    return X


def compile_fast(
    model: Any,
    columns: list[tuple[str, str]],
    task: str,
    reference: Callable[[np.ndarray, bool], tuple[Any, Any]],
) -> tuple[FastKernel | None, str]:
    """(kernel, "on") or (None, why not). ``reference`` scores the same rows through the real
    pipeline; the kernel is kept only if it agrees exactly on every probe row."""
    from mlspec.serve.schema import dtype_kind

    kinds = {dtype_kind(d) for _, d in columns}
    if not kinds <= set(FAST_KINDS):
        return None, "off: the model takes non-numeric columns"
    try:
        head, est = split_pipeline(model)
        kernel = FastKernel(_blocks(head, [c for c, _ in columns]), _final(est, task), len(columns))
    except Unsupported as exc:
        return None, f"off: {exc}"
    probes = probe_rows(model, columns)
    checked = 0
    for i in range(len(probes)):
        row = probes[i : i + 1]
        try:
            want = reference(row, True)
        except Exception:  # the pipeline itself refuses this probe (e.g. NaN): nothing to compare
            continue
        try:
            got = kernel(row, True)
        except Exception as exc:
            return None, f"off: the compiled pipeline failed on a probe row ({exc})"
        if not _same(want, got):
            return None, "off: the compiled pipeline disagrees with the pipeline on a probe row"
        checked += 1
    try:
        batch_ok = _same(reference(probes[:8], True), kernel(probes[:8], True))
    except Exception:
        batch_ok = checked > 0
    if checked == 0 or not batch_ok:
        return None, "off: could not check the compiled pipeline against the pipeline"
    return kernel, f"on (checked on {checked} probe rows)"


def _same(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    pa, pb = np.asarray(a[0]), np.asarray(b[0])
    if pa.shape != pb.shape or not np.array_equal(pa, pb):
        return False
    if (a[1] is None) != (b[1] is None):
        return False
    return a[1] is None or bool(np.array_equal(np.asarray(a[1]), np.asarray(b[1]), equal_nan=True))
