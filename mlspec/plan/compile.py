"""Spec -> Plan. Pure: reads installed code (for fingerprints) but no data and no store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlspec.config.errors import problems_from_validation
from mlspec.config.spec import Spec
from mlspec.errors import PluginError, Problem, SpecError, choices_hint, format_loc
from mlspec.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS
from mlspec.evaluation.options import EvaluateOptions
from mlspec.hashing import canonical_json, code_fingerprint
from mlspec.plan.keys import KEY_SCHEMA_VERSION, environment_fingerprint
from mlspec.plan.model import InputRef, Plan, StageNode
from mlspec.stages.api import Stage, StageParams
from mlspec.stages.registry import StageRegistry

DEFAULT_OBJECTIVE = {"classification": "roc_auc", "regression": "rmse"}


BUILTIN_NODES = (
    "load",
    "clean",
    "validate",
    "split",
    "profile",
    "features",
    "train",
    "evaluate",
    "register",
)


def compile_plan(spec: Spec, registry: StageRegistry, project_root: Path) -> Plan:
    builder = _Builder(registry, project_root)
    data = spec.data
    target, seed, task = ("data", "target"), ("seed",), ("task",)
    chain = _data_chain(builder, spec)
    customs = {c.name: (i, c) for i, c in enumerate(spec.stages)}
    for pos, name in enumerate(chain):
        upstream = {"data": InputRef(chain[pos - 1], "data")} if pos else {}
        if name == "load":
            builder.add("load", "load", data.source.model_dump(), {}, ("data", "source"))
        elif name == "clean":
            builder.add(
                "clean",
                "clean",
                {"steps": list(data.clean)},
                upstream,
                ("data", "clean"),
                locs={"steps": ("data", "clean")},
            )
        elif name == "validate":
            builder.add(
                "validate",
                "validate",
                {**_schema_params(spec), "on_invalid": data.on_invalid, "target": data.target},
                upstream,
                ("data", "schema"),
                locs={
                    "schema_file": ("data", "schema"),
                    "on_invalid": ("data", "on_invalid"),
                    "target": target,
                },
            )
        else:
            _add_custom(builder, name, *customs[name], upstream)
    builder.add(
        "split",
        "split",
        {**data.split.model_dump(), "target": data.target, "seed": spec.seed},
        {"data": InputRef(chain[-1], "data")},
        ("data", "split"),
        locs={"target": target, "seed": seed},
    )
    splits = {part: InputRef("split", part) for part in ("train", "valid", "test")}
    builder.add("profile", "profile", {"target": data.target}, splits, ("data",))
    _reject_reserved(builder, "features", spec.features, {"target": "data.target", "task": "task"})
    _reject_reserved(
        builder, "train", spec.train,
        {"model": "model", "seed": "seed", "target": "data.target", "task": "task"},
    )  # fmt: skip
    features: dict[str, Any] = {**spec.features, "target": data.target, "task": spec.task}
    builder.add(
        "features",
        "features",
        features,
        {"train": InputRef("split", "train")},
        ("features",),
        locs={"target": target, "task": task},
    )
    builder.add(
        "train",
        "train",
        {
            **spec.train,
            "model": dict(spec.model),
            "target": data.target,
            "seed": spec.seed,
            "task": spec.task,
        },
        {
            "transformer": InputRef("features", "transformer"),
            "train": InputRef("split", "train"),
            "valid": InputRef("split", "valid"),
        },
        ("train",),
        locs={"model": ("model",), "target": target, "seed": seed, "task": task},
    )
    builder.add(
        "evaluate",
        "evaluate",
        {
            **_evaluate_options(spec),
            "metrics": spec.evaluate.metrics,
            "target": data.target,
            "task": spec.task,
        },
        {
            "model": InputRef("train", "model"),
            "valid": InputRef("split", "valid"),
            "test": InputRef("split", "test"),
        },
        ("evaluate",),
        locs={"target": target, "task": task},
    )
    if spec.register_ is not None or spec.evaluate.gates:
        _add_register(builder, spec)
    builder.raise_problems()
    metrics = spec.evaluate.metrics or []
    objective = spec.evaluate.objective or (metrics[0] if metrics else None)
    return Plan(spec_name=spec.name, nodes=tuple(builder.nodes), objective=objective)


def _evaluate_options(spec: Spec) -> dict[str, Any]:
    """Slices, bootstrap and threshold as given; the bootstrap seed defaults to the spec's seed
    (so the seed enters the evaluate key only when intervals are drawn with it)."""
    options = spec.evaluate.model_dump(include=set(EvaluateOptions.model_fields))
    boot = options.get("bootstrap")
    if boot is not None and boot.get("seed") is None:
        options["bootstrap"] = {**boot, "seed": spec.seed}
    return options


def _add_register(builder: _Builder, spec: Spec) -> None:
    """The register node: gates, then (with a ``register:`` section) a new model version."""
    known = CLASSIFICATION_METRICS + REGRESSION_METRICS
    listed = spec.evaluate.metrics
    for i, gate in enumerate(spec.evaluate.gates):
        if gate.kind == "comparison" and spec.register_ is None:
            builder.problems.append(
                Problem(
                    "gate_without_register",
                    f"gate '{gate.rule}' compares with the champion of a registered model,"
                    " but the spec has no 'register:' section",
                    ("evaluate", "gates", i),
                    fix="add register: {name: MODEL_NAME}, or use an absolute gate (min/max)",
                )
            )
        if listed and gate.metric not in listed and all(m in known for m in listed):
            builder.problems.append(
                Problem(
                    "gate_metric_not_computed",
                    f"gate reads metric '{gate.metric}', which is not in evaluate.metrics,"
                    " so it is never computed",
                    ("evaluate", "gates", i, "metric"),
                    fix=f"add it to evaluate.metrics, or {choices_hint(gate.metric, listed)}",
                )
            )
    reg = spec.register_
    params: dict[str, Any] = {
        "gates": [g.model_dump() for g in spec.evaluate.gates],
        "target": spec.data.target,
        "spec_name": spec.name,
    }
    if reg is not None:
        params.update(name=reg.name, alias=reg.alias, tags=dict(reg.tags))
        params["compare_to"] = reg.compare_to
    builder.add(
        "register",
        "register",
        params,
        {
            "model": InputRef("train", "model"),
            "train": InputRef("split", "train"),
            "valid": InputRef("split", "valid"),
            "metrics": InputRef("evaluate", "metrics"),
        },
        ("register",),
        locs={"gates": ("evaluate", "gates"), "target": ("data", "target"), "spec_name": ("name",)},
    )


def _reject_reserved(
    builder: _Builder, section: str, values: dict[str, Any], reserved: dict[str, str]
) -> None:
    """Keys the plan fills from elsewhere in the spec must not be set here (they'd be ignored)."""
    for key, home in reserved.items():
        if key in values:
            builder.problems.append(
                Problem(
                    "misplaced_key",
                    f"'{key}' is not set under '{section}'",
                    (section, key),
                    fix=f"set it at '{home}' instead",
                )
            )


def _schema_params(spec: Spec) -> dict[str, Any]:
    schema = spec.data.schema_
    if isinstance(schema, str):
        return {"schema_file": schema}
    if schema is None:
        return {}
    return {
        "columns": {k: v.model_dump() for k, v in schema.columns.items()},
        "strict": schema.strict,
    }


def _data_chain(builder: _Builder, spec: Spec) -> list[str]:
    """Order of the nodes that turn the source into one clean, valid table: load, clean (when
    steps are given), validate, and the spec's custom stages placed ``after`` the node they name."""
    chain = ["load", *(["clean"] if spec.data.clean else []), "validate"]
    pending = []
    anchors: dict[str, str] = {}
    for i, custom in enumerate(spec.stages):
        if custom.name in BUILTIN_NODES:
            builder.problems.append(
                Problem(
                    "duplicate_node",
                    f"'{custom.name}' is the name of a built-in stage of the plan",
                    ("stages", i, "name"),
                    fix=f"give the node another name and set 'uses: {custom.stage_name}'",
                )
            )
        else:
            pending.append((i, custom))
    while pending:
        placeable = [(i, c) for i, c in pending if c.after in chain]
        if not placeable:
            for i, custom in pending:
                builder.problems.append(
                    Problem(
                        "unknown_stage_ref",
                        f"'after: {custom.after}' names no stage of the data chain",
                        ("stages", i, "after"),
                        fix=choices_hint(custom.after, chain + [c.name for _, c in pending]),
                    )
                )
            break
        for item in placeable:
            anchor = item[1].after
            pos = chain.index(anchor) + 1
            while pos < len(chain) and anchors.get(chain[pos]) == anchor:
                pos += 1  # several stages after one anchor keep the spec's order
            chain.insert(pos, item[1].name)
            anchors[item[1].name] = anchor
            pending.remove(item)
    return chain


def _add_custom(
    builder: _Builder, name: str, i: int, custom: Any, upstream: dict[str, InputRef]
) -> None:
    cls = builder.resolve_stage(custom.stage_name, ("stages", i, "uses"))
    if cls is None:
        return
    if tuple(cls.inputs) != ("data",) or cls.outputs.get("data") != "frame":
        builder.problems.append(
            Problem(
                "incompatible_stage",
                f"stage '{custom.stage_name}' cannot sit in the data chain: it must take one"
                f" input 'data' and give a 'data' frame (it takes {list(cls.inputs)},"
                f" gives {dict(cls.outputs)})",
                ("stages", i, "uses"),
                fix="use a stage that transforms a table into a table",
            )
        )
        return
    builder.add(
        name, custom.stage_name, dict(custom.params), upstream, ("stages", i, "params"), cls=cls
    )


class _Builder:
    def __init__(self, registry: StageRegistry, project_root: Path):
        self.registry = registry
        self.project_root = project_root
        self.nodes: list[StageNode] = []
        self.problems: list[Problem] = []

    def resolve_stage(self, name: str, loc: tuple[Any, ...]) -> type[Stage] | None:
        if name not in self.registry:
            self.problems.append(
                Problem(
                    "unknown_stage",
                    f"no stage named '{name}' is installed",
                    loc,
                    fix=choices_hint(name, self.registry.names())
                    + " (stages come from the 'mlspec.stages' entry-point group)",
                )
            )
            return None
        try:
            return self.registry.get(name)
        except PluginError as exc:
            self.problems.extend(Problem(p.code, p.message, loc, fix=p.fix) for p in exc.problems)
            return None

    def add(
        self,
        node: str,
        stage: str,
        raw_params: dict[str, Any],
        inputs: dict[str, InputRef],
        loc: tuple[Any, ...],
        cls: type[Stage] | None = None,
        locs: dict[str, tuple[Any, ...]] | None = None,
    ) -> None:
        cls = cls or self.resolve_stage(stage, loc)
        if cls is None:
            return
        missing = set(cls.inputs) - set(inputs)
        if missing:
            self.problems.append(
                Problem("plugin_inputs", f"stage '{stage}' needs inputs {sorted(missing)}", loc)
            )
            return
        locs = locs or {}
        try:
            params = cls.Params.model_validate(raw_params)
        except ValidationError as exc:
            probe = StageNode(node, cls, None, inputs, loc, {}, {}, locs)  # type: ignore[arg-type]
            for p in problems_from_validation(exc, cls.Params):
                where = probe.spec_path(p.loc)
                # Fix texts name the key relative to the params; users need the spec's path.
                fix = p.fix and p.fix.replace(f"'{format_loc(p.loc)}'", f"'{format_loc(where)}'")
                self.problems.append(Problem(p.code, p.message, where, fix=fix))
            return
        self.nodes.append(
            StageNode(
                name=node,
                stage_cls=cls,
                params=params,
                inputs=inputs,
                spec_loc=loc,
                static_preimage=static_preimage(cls, params),
                external_files=dict(cls.external_files(params, self.project_root)),
                param_locs=locs,
            )
        )

    def raise_problems(self) -> None:
        if self.problems:
            raise SpecError(self.problems)


def static_preimage(cls: type[Stage], params: StageParams) -> dict[str, Any]:
    modules = cls.code_objects(params)
    dumped = params.model_dump(mode="python", by_alias=True)
    canonical_json(dumped)  # fail early on an unfingerprintable param
    return {
        "key_schema_version": KEY_SCHEMA_VERSION,
        "stage": {"name": cls.name, "version": cls.version},
        "params": dumped,
        "code": code_fingerprint(cls, *modules),
        "env": environment_fingerprint(tuple(cls.libraries_for(params))),
    }
