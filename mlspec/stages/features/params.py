"""The ``features:`` section of a spec (validated without importing any ML library).

```yaml
features:
  numeric:     {columns: auto, steps: [{impute: median}, {scale: standard}]}
  categorical: {columns: [city], steps: [{onehot: {min_frequency: 20}}]}
  datetime:    {columns: [date], steps: [{parts: [year, month, dayofweek]}]}
  groups:      {te: {columns: [merchant], steps: [target_encode]}}   # more named groups
  lags:        {by: [store], order: date, columns: [customers], lags: [1, 7], windows: [7, 28]}
  interactions: [[price, promo]]
  drop: [row_id]
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from mlspec.stages.api import StageParams
from mlspec.stages.features.steps import check_step

BUILTIN_GROUPS = ("numeric", "categorical", "datetime")
RESERVED = (*BUILTIN_GROUPS, "lags", "interactions")
Stat = Literal["mean", "std", "min", "max", "sum", "median"]


def _check_steps(steps: list[Any]) -> list[Any]:
    for i, step in enumerate(steps):
        try:
            check_step(step)
        except ValueError as exc:
            raise ValueError(f"step [{i}]: {exc}") from None
    return steps


class ColumnGroup(StageParams):
    """Columns and the steps applied to them, in order. ``auto``: every column of the group's
    kind (numbers, or text/category/bool, or datetimes) that no other section names."""

    columns: list[str] | Literal["auto"] = "auto"
    steps: list[Any] = Field(default_factory=list)

    _steps_ok = field_validator("steps")(_check_steps)


class NamedGroup(ColumnGroup):
    columns: list[str]  # type: ignore[assignment]  # extra groups name their columns


class DatetimeGroup(ColumnGroup):
    columns: list[str] | Literal["auto"] = Field(default_factory=list)
    steps: list[Any] = Field(
        default_factory=lambda: [{"parts": ["year", "month", "day", "dayofweek"]}]
    )


class LagsSpec(StageParams):
    """Lags and rolling windows of ``columns`` per group, rows ordered by ``order``."""

    by: list[str] = Field(default_factory=list)
    order: str
    columns: list[str]
    lags: list[int] = Field(default_factory=lambda: [1])
    windows: list[int] = Field(default_factory=list)
    stats: list[Stat] = Field(default_factory=lambda: list[Stat](["mean"]))
    min_periods: int = Field(1, ge=1)
    # NaN where a row has too little history; set a number for models that reject NaN
    fill_value: float | None = None

    @field_validator("lags", "windows")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        bad = [v for v in values if v < 1]
        if bad:
            raise ValueError(f"must be positive integers, got {bad[0]}")
        return values

    @field_validator("columns")
    @classmethod
    def _some(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("name at least one column to lag")
        return values


class FeaturesParams(StageParams):
    """Built from ``features`` and ``data.target``."""

    numeric: ColumnGroup = ColumnGroup(steps=[{"impute": "median"}, {"scale": "standard"}])
    categorical: ColumnGroup = ColumnGroup(
        steps=[{"impute": "most_frequent"}, {"onehot": {"handle_unknown": "ignore"}}]
    )
    datetime: DatetimeGroup = DatetimeGroup()
    groups: dict[str, NamedGroup] = Field(default_factory=dict)
    lags: LagsSpec | list[LagsSpec] | None = None
    interactions: list[list[str]] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    target: str
    # How target encoding reads the target; "auto": floats and many-valued integers are
    # continuous, anything else classes. The plan may pass the spec's task here.
    task: Literal["auto", "classification", "regression"] = "auto"

    @field_validator("groups")
    @classmethod
    def _group_names(cls, groups: dict[str, NamedGroup]) -> dict[str, NamedGroup]:
        clash = [name for name in groups if name in RESERVED]
        if clash:
            raise ValueError(
                f"group name '{clash[0]}' is reserved; use another name"
                f" (reserved: {', '.join(RESERVED)})"
            )
        return groups

    @field_validator("interactions")
    @classmethod
    def _terms(cls, terms: list[list[str]]) -> list[list[str]]:
        for i, term in enumerate(terms):
            if len(term) < 2:
                raise ValueError(f"[{i}]: an interaction multiplies two or more columns: {term}")
        return terms

    def lag_specs(self) -> list[tuple[tuple[str | int, ...], LagsSpec]]:
        """Each lags section with its spec path."""
        if self.lags is None:
            return []
        if isinstance(self.lags, LagsSpec):
            return [(("features", "lags"), self.lags)]
        return [(("features", "lags", i), spec) for i, spec in enumerate(self.lags)]

    def column_groups(self) -> list[tuple[str, ColumnGroup]]:
        return [
            ("numeric", self.numeric),
            ("categorical", self.categorical),
            ("datetime", self.datetime),
            *self.groups.items(),
        ]
