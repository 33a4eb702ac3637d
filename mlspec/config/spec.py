"""The spec: what a composed Hydra config must look like.

Every model forbids unknown keys, so a typo is an error with a suggestion rather than a setting
that is silently ignored. Stage-owned sections reuse the stages' own params models.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlspec.config.deploy import DeploySpec
from mlspec.errors import choices_hint
from mlspec.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS
from mlspec.evaluation.options import EvaluateOptions
from mlspec.monitor.options import DriftOptions
from mlspec.monitor.rules import RetrainWhen
from mlspec.monitor.windows import SpanSetting, WindowSpec
from mlspec.registry.gates import GateSpec
from mlspec.stages.builtin.load import LoadParams
from mlspec.stages.builtin.validate import ColumnSchema

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InlineSchema(SpecModel):
    columns: dict[str, ColumnSchema]
    strict: bool = False


class SplitSpec(SpecModel):
    kind: Literal["random", "stratified", "group", "time"] = "random"
    valid: float = 0.15
    test: float = 0.2
    column: str | None = None
    valid_from: str | None = None
    test_from: str | None = None
    on_overlap: Literal["warn", "fail", "ignore"] = "warn"


class DataSpec(SpecModel):
    source: LoadParams
    # Ordered cleaning steps, applied before validation: [{drop_duplicates: {subset: [id]}}, ...]
    clean: list[Any] = Field(default_factory=list)
    schema_: str | InlineSchema | None = Field(None, alias="schema")
    on_invalid: Literal["fail", "quarantine", "warn"] = "fail"
    split: SplitSpec = SplitSpec()
    target: str


class EvaluateSpec(SpecModel, EvaluateOptions):
    """Metrics, objective, and the options of ``EvaluateOptions`` (slices, min_slice_size,
    bootstrap, threshold) that the evaluate stage receives as they are."""

    metrics: list[str] | None = None
    # The metric a sweep optimises, computed on the validation split (never on test).
    objective: str | None = None
    # Whether the model is blessed (registered): absolute thresholds and comparisons with the
    # champion of register.name (mlspec.registry.gates).
    gates: list[GateSpec] = Field(default_factory=list)

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = CLASSIFICATION_METRICS + REGRESSION_METRICS
        metrics = info.data.get("metrics")
        if value is None:
            return value
        if value not in known:
            raise ValueError(
                f"unknown objective '{value}'; " + choices_hint(value, metrics or known)
            )
        if metrics and value not in metrics and all(m in known for m in metrics):
            raise ValueError(
                f"objective '{value}' is not in evaluate.metrics, so it is never computed;"
                f" add it to evaluate.metrics or choose one of: {', '.join(metrics)}"
            )
        return value


class CustomStageSpec(SpecModel):
    """A plugin stage inserted into the data chain (``data`` frame in, ``data`` frame out)."""

    name: str
    uses: str | None = None  # registered stage name; defaults to ``name``
    after: str = "validate"  # load | validate | the name of another custom stage
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def stage_name(self) -> str:
        return self.uses or self.name


class RegisterSpec(SpecModel):
    """``register:`` — make a new version of a named model from the run's blessed model."""

    name: str
    alias: str | None = None  # champion | challenger | any name; moved when blessed
    tags: dict[str, str] = Field(default_factory=dict)
    compare_to: str = "champion"  # the alias comparison gates compare against

    @field_validator("name", "alias", "compare_to")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not _SLUG.match(value):
            raise ValueError(
                f"'{value}' is not a slug; use letters, digits, '-', '_' and '.',"
                " e.g. breast_cancer_clf"
            )
        return value


_MODEL_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*([:@][^:@/\s]+)?$")


class ServingLogSpec(SpecModel):
    """``monitor.serving_log``: where ``current=serving-log`` reads (``mlspec serve ...
    --log-requests DIR``) and which rows: ``last`` N rows (a count) or the last span of time
    (``24h``, ``7d``); ``--last``/``--since``/``--until`` on the command line win."""

    dir: str
    model: str | None = None  # the log's model subdirectory; default: the monitored model's name
    last: SpanSetting = None


class MonitorSpec(SpecModel):
    """``monitor:`` — what ``mlspec monitor`` watches, how it compares, when it retrains."""

    # NAME@alias, NAME:version or NAME; default register.name@champion (register.compare_to).
    model: str | None = None
    serving_log: ServingLogSpec | None = None
    # Columns not compared (ids, timestamps: always "drifted"); default: features.drop.
    ignore: list[str] | None = None
    window: WindowSpec = WindowSpec()  # the data a drift-triggered retrain trains on
    drift: DriftOptions = Field(default_factory=DriftOptions)  # type: ignore[arg-type]
    retrain_when: RetrainWhen = RetrainWhen.model_validate("dataset_drift")

    @field_validator("model")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_REF.match(value):
            raise ValueError(
                f"'{value}' is not a model reference; write NAME@ALIAS (e.g."
                " fraud-detector@champion), NAME:VERSION or NAME"
            )
        return value


class Spec(SpecModel):
    name: str
    seed: int = 0
    task: Literal["auto", "classification", "regression"] = "auto"
    data: DataSpec
    # Validated by the stages' own params models when the plan is compiled (FeaturesParams,
    # TrainParams): one source of truth for what these sections accept, errors at these keys.
    features: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any]
    train: dict[str, Any] = Field(default_factory=dict)
    evaluate: EvaluateSpec = EvaluateSpec()
    stages: list[CustomStageSpec] = Field(default_factory=list)
    # ``register`` is also a method of every pydantic model (ABCMeta.register): hence the alias.
    register_: RegisterSpec | None = Field(None, alias="register")
    # Named deploy targets (rest | batch | docker) for `mlspec deploy`: mlspec/config/deploy.py.
    deploy: DeploySpec | None = None
    monitor: MonitorSpec | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"'{value}' is not a slug; use letters, digits, '-', '_' and '.',"
                " e.g. breast-cancer"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model_target(cls, value: dict[str, Any]) -> dict[str, Any]:
        target = value.get("_target_")
        if target is None:
            raise ValueError(
                "the model needs '_target_'; set it to the estimator class,"
                " e.g. lightgbm.LGBMClassifier"
            )
        if not isinstance(target, str) or "." not in target:
            raise ValueError(
                f"unknown estimator class '{target}'; write its full dotted path,"
                " e.g. lightgbm.LGBMClassifier"
            )
        return value

    @model_validator(mode="after")
    def _unique_stage_names(self) -> Spec:
        seen: set[str] = set()
        for stage in self.stages:
            if stage.name in seen:
                raise ValueError(f"two custom stages are named '{stage.name}'")
            seen.add(stage.name)
        return self
