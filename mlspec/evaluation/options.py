"""The ``evaluate:`` options beyond the metric list: slices, bootstrap, decision threshold.

One set of pydantic models serves both the spec (``mlspec.config.spec.EvaluateSpec``, so a typo
is an error at its key path before anything runs) and the evaluate stage's params (so the
options enter the stage's cache key and nothing else's).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SliceColumn(_Options):
    """One slice column; ``bins: N`` cuts a numeric column into N quantile bins (fewer when
    quantiles coincide) whose edges come from the evaluated rows (valid and test together), so
    a bin is the same interval in both splits."""

    column: str
    bins: int | None = Field(default=None, ge=2, le=100)


# ``colA``, ``{column: age, bins: 4}``, or a list of those: the crossed slice colA x age-bin.
SliceItem = str | SliceColumn | list[str | SliceColumn]


def slice_groups(items: list[SliceItem]) -> list[tuple[SliceColumn, ...]]:
    """The declared slices as tuples of columns (one column, or several crossed)."""
    groups = []
    for item in items:
        parts = item if isinstance(item, list) else [item]
        groups.append(tuple(SliceColumn(column=p) if isinstance(p, str) else p for p in parts))
    return groups


class BootstrapOptions(_Options):
    """Percentile intervals from resampling the evaluated rows (the model is not refitted).
    ``samples: 0`` turns intervals off; ``seed`` defaults to the spec's seed."""

    samples: int = Field(default=200, ge=0, le=100_000)
    seed: int | None = None
    level: float = Field(default=0.95, gt=0.0, lt=1.0)


ChooseBy = Literal["f1", "youden", "accuracy", "balanced_accuracy"]


class ThresholdOptions(_Options):
    """Choose the binary decision threshold on a split's scores: maximise F1, Youden's J
    (TPR - FPR), accuracy or balanced accuracy. Only the validation split may choose it:
    choosing on test would grade the threshold on the rows that picked it."""

    choose_by: ChooseBy
    split: Literal["valid"] = "valid"


class EvaluateOptions(_Options):
    """Shared by the spec's ``evaluate:`` section and the stage's params."""

    slices: list[SliceItem] = Field(default_factory=list)
    min_slice_size: int = Field(default=30, ge=1)
    bootstrap: BootstrapOptions | None = BootstrapOptions()
    # A fixed threshold on the positive class's score, or how to choose one; null: predict().
    threshold: float | ThresholdOptions | None = None

    @model_validator(mode="after")
    def _no_column_twice(self) -> EvaluateOptions:
        for i, group in enumerate(slice_groups(self.slices)):
            names = [c.column for c in group]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(
                    f"slices item {i} crosses column '{twice[0]}' with itself;"
                    " list each column once per crossed slice"
                )
        return self
