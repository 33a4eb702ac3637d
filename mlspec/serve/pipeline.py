"""``ScoringPipeline``: a registered model, ready to score, behind one API (Interface 1).

``mlspec score``, the REST server, the ``batch`` deploy target and the monitor's prediction
drift all score through this class, so they give identical predictions for identical rows:

    pipe = ScoringPipeline.load("fraud-detector@champion")    # or NAME:3, NAME, a bundle dir
    frame = pipe.validate(df)                 # RequestError with column-level problems
    pipe.predict(frame, probabilities=True)   # {"predictions": [...], "probabilities": [[...]]}
    pipe.score_frame(df)                      # DataFrame: prediction (+ proba_<class>)

Small requests arrive as columns of plain values (``predict_columns``): they are validated
value by value and, when the pipeline compiles (``fastpath``), scored without pandas. The
compiled kernel is checked against the pipeline at load time and is bit-identical to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlspec.errors import Problem
from mlspec.registry.loader import LoadedBundle, load_bundle
from mlspec.serve.errors import RequestError
from mlspec.serve.schema import check_columns, coerce_values, dtype_kind, validate_frame

FAST_MAX_ROWS = 1000
SMALL_ROWS = 64  # up to this many rows, the DataFrame route predicts on one thread
_NUMBER_TYPES = frozenset(
    {float, int}
)  # above this, pandas' vectorised checks beat checking value by value


class ScoringPipeline:
    """A loaded bundle plus what serving needs to know about it."""

    def __init__(
        self, bundle: LoadedBundle, name: str, version: int | None, ref: str, fast: bool = True
    ):
        from mlspec.serve.fastpath import compile_fast, one_thread, split_pipeline

        self.bundle = bundle
        self.name = name
        self.version = version
        self.ref = ref
        self.model_digest = bundle.model_digest
        self.input_columns: list[tuple[str, str]] = [
            (str(c["name"]), str(c["dtype"])) for c in bundle.input_schema["columns"]
        ]
        self.column_names = [c for c, _ in self.input_columns]
        self._kinds = [dtype_kind(d) for _, d in self.input_columns]
        self._all_float = all(k == "f" for k in self._kinds)
        out = bundle.output_schema
        self.task: str = str(out.get("task", "regression"))
        self.classes: list[Any] | None = list(out["classes"]) if out.get("classes") else None
        self.model = bundle.model
        self._head, self._final = split_pipeline(self.model)
        # Small frames predict on one thread: starting a pool costs more than a few rows, and
        # on a busy machine waiting threads cost milliseconds (the estimator's own setting
        # stays for batches).
        self._final_small = one_thread(self._final)
        self.has_proba = self.task == "classification" and hasattr(self._final, "predict_proba")
        self.fast = None
        self.fast_status = "off: disabled"
        if fast:
            self.fast, self.fast_status = compile_fast(
                self.model, self.input_columns, self.task, self._reference
            )

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(
        cls, ref: str | Path, project_root: Path | None = None, fast: bool = True
    ) -> ScoringPipeline:
        """``NAME@alias`` | ``NAME:3`` | ``NAME`` (latest) | a bundle directory.

        A registry reference is resolved once, so name, version and bundle always agree even
        if the alias moves while loading.
        """
        from mlspec.registry.registry import Registry, parse_ref

        root = project_root or Path.cwd()
        path = Path(ref)
        if isinstance(ref, Path) or path.is_dir() or "/" in str(ref):
            bundle = load_bundle(path)
            name = str(bundle.metadata.get("name") or path.resolve().name)
            return cls(bundle, name, None, str(ref), fast)
        version = Registry.for_project(root).resolve(parse_ref(str(ref)))
        bundle = load_bundle(f"{version.name}:{version.version}", root)
        return cls(bundle, version.name, version.version, str(ref), fast)

    @property
    def label(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"

    @property
    def probability_columns(self) -> list[str]:
        return [f"proba_{c}" for c in self.classes or []]

    # -- validation -----------------------------------------------------------------------------
    def validate(self, df: Any, allow_extra: bool = False, first_row: int = 0) -> Any:
        """The rows as the model takes them (schema columns, order, dtypes), or RequestError
        (problems name rows counting from ``first_row``)."""
        return validate_frame(df, self.input_columns, allow_extra, first_row)

    # -- prediction -----------------------------------------------------------------------------
    def _reference(self, X: Any, probabilities: bool) -> tuple[Any, Any]:
        """Score a float array through the real pipeline (the fast path's yardstick)."""
        import pandas as pd

        frame = pd.DataFrame(X, columns=self.column_names)
        frame = frame.astype(dict(self.input_columns))
        return self._predict_arrays(frame, probabilities)

    def _predict_arrays(self, frame: Any, probabilities: bool) -> tuple[Any, Any]:
        head = self._head
        final = self._final_small if len(frame) <= SMALL_ROWS else self._final
        Z = head.transform(frame) if head is not None else frame
        preds = final.predict(Z)
        proba = final.predict_proba(Z) if probabilities and self.has_proba else None
        return preds, proba

    def predict_arrays(self, frame: Any, probabilities: bool = False) -> tuple[Any, Any]:
        """(predictions, probabilities | None) as numpy arrays for a *validated* frame."""
        try:
            return self._predict_arrays(frame, probabilities)
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
            raise model_refused(exc) from exc

    def predict(self, frame: Any, probabilities: bool = False) -> dict[str, Any]:
        """``{"predictions": list, "probabilities": list[list] | None}`` for a validated frame."""
        preds, proba = self.predict_arrays(frame, probabilities)
        return {
            "predictions": preds.tolist(),
            "probabilities": proba.tolist() if proba is not None else None,
        }

    def predict_columns(
        self, columns: dict[str, list[Any]], n_rows: int, probabilities: bool = False
    ) -> tuple[Any, Any]:
        """Score rows given as plain columns (a parsed request): validated, then the fast
        path when it is on and the request is small, else a validated DataFrame."""
        if list(columns) != self.column_names:
            check_columns(list(columns), self.input_columns)
        if self.fast is not None and n_rows <= FAST_MAX_ROWS:
            import numpy as np

            X = self._plain_floats(columns, n_rows) if self._all_float else None
            if X is None:
                problems: list[Problem] = []
                values = []
                for (name, _), kind in zip(self.input_columns, self._kinds, strict=True):
                    col, bad = coerce_values(name, kind, columns[name])
                    problems += bad
                    values.append(col)
                if problems:
                    raise RequestError(problems)
                X = np.array(values, dtype=np.float64).T.reshape(n_rows, len(values))
            try:
                return self.fast(X, probabilities)
            except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
                raise model_refused(exc) from exc
        import pandas as pd

        frame = self.validate(pd.DataFrame(columns, columns=list(columns)))
        return self.predict_arrays(frame, probabilities)

    def _plain_floats(self, columns: dict[str, list[Any]], n_rows: int) -> Any:
        """All columns float, every value a JSON number and finite: the rows as one array,
        checked in bulk. None when anything needs the value-by-value check (and its message)."""
        import numpy as np

        values = [columns[name] for name in self.column_names]
        flat = [col[0] for col in values] if n_rows == 1 else [v for col in values for v in col]
        kinds = set(map(type, flat))
        if not kinds <= _NUMBER_TYPES:
            return None
        X = np.array(flat, dtype=np.float64)
        if not np.isfinite(X).all():
            return None
        return X.reshape(1, -1) if n_rows == 1 else X.reshape(len(values), n_rows).T.copy()

    def score_frame(
        self, df: Any, probabilities: bool = True, allow_extra: bool = True, first_row: int = 0
    ) -> Any:
        """A DataFrame with ``prediction`` (+ ``proba_<class>``), on the input's index.
        Columns the model does not take are ignored unless ``allow_extra`` is False."""
        import pandas as pd

        frame = self.validate(df, allow_extra=allow_extra, first_row=first_row)
        preds, proba = self.predict_arrays(frame, probabilities)
        out = pd.DataFrame({"prediction": preds}, index=df.index)
        if proba is not None:
            for j, col in enumerate(self.probability_columns):
                out[col] = proba[:, j]
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "model_digest": self.model_digest,
            "task": self.task,
            "classes": self.classes,
            "inputs": [{"name": n, "dtype": d} for n, d in self.input_columns],
            "fast_path": self.fast_status,
        }


def model_refused(exc: Exception) -> RequestError:
    """The model raised on validated input: the input is still the cause (e.g. a missing
    value the model cannot take, a category it never saw) — a 422, never a 500."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RequestError(
        Problem(
            "model_refused_input",
            f"the model could not score these rows: {text[:300]}",
            fix="check the values against the model's input schema (GET /v2/models/NAME)",
        ),
        status=422,
        error_code="INVALID_PARAMETER_VALUE",
    )
