"""Spec -> Plan. Pure: reads installed code (for fingerprints) but no data and no store."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlspec.config.errors import problems_from_validation
from mlspec.config.spec import Spec
from mlspec.errors import PluginError, Problem, SpecError, choices_hint
from mlspec.hashing import canonical_json, code_fingerprint
from mlspec.plan.keys import KEY_SCHEMA_VERSION, environment_fingerprint
from mlspec.plan.model import InputRef, Plan, StageNode
from mlspec.stages.api import Stage, StageParams
from mlspec.stages.registry import StageRegistry

DEFAULT_OBJECTIVE = {"classification": "roc_auc", "regression": "rmse"}


def compile_plan(spec: Spec, registry: StageRegistry, project_root: Path) -> Plan:
    builder = _Builder(registry, project_root)
    data = spec.data
    builder.add("load", "load", data.source.model_dump(), {}, ("data", "source"))
    target, seed, task = ("data", "target"), ("seed",), ("task",)
    schema: dict[str, Any] = {}
    if isinstance(data.schema_, str):
        schema = {"schema_file": data.schema_}
    elif data.schema_ is not None:
        schema = {
            "columns": {k: v.model_dump() for k, v in data.schema_.columns.items()},
            "strict": data.schema_.strict,
        }
    builder.add(
        "validate",
        "validate",
        {**schema, "on_invalid": data.on_invalid, "target": data.target},
        {"data": InputRef("load", "data")},
        ("data", "schema"),
        locs={
            "schema_file": ("data", "schema"),
            "on_invalid": ("data", "on_invalid"),
            "target": target,
        },
    )
    tail = _insert_custom_stages(builder, spec)
    builder.add(
        "split",
        "split",
        {**data.split.model_dump(), "target": data.target, "seed": spec.seed},
        {"data": InputRef(tail, "data")},
        ("data", "split"),
        locs={"target": target, "seed": seed},
    )
    features: dict[str, Any] = {"drop": list(spec.features.drop), "target": data.target}
    for group in ("numeric", "categorical"):
        value = getattr(spec.features, group)
        if value is not None:
            features[group] = value.model_dump()
    builder.add(
        "features",
        "features",
        features,
        {"train": InputRef("split", "train")},
        ("features",),
        locs={"target": target},
    )
    builder.add(
        "train",
        "train",
        {"model": dict(spec.model), "target": data.target, "seed": spec.seed, "task": spec.task},
        {
            "transformer": InputRef("features", "transformer"),
            "train": InputRef("split", "train"),
            "valid": InputRef("split", "valid"),
        },
        ("model",),
        locs={"model": ("model",), "target": target, "seed": seed, "task": task},
    )
    builder.add(
        "evaluate",
        "evaluate",
        {"metrics": spec.evaluate.metrics, "target": data.target, "task": spec.task},
        {
            "model": InputRef("train", "model"),
            "valid": InputRef("split", "valid"),
            "test": InputRef("split", "test"),
        },
        ("evaluate",),
        locs={"target": target, "task": task},
    )
    builder.raise_problems()
    metrics = spec.evaluate.metrics or []
    objective = spec.evaluate.objective or (metrics[0] if metrics else None)
    return Plan(spec_name=spec.name, nodes=tuple(builder.nodes), objective=objective)


def _insert_custom_stages(builder: _Builder, spec: Spec) -> str:
    """Insert plugin stages into the data chain; return the name of the chain's last node."""
    chain = ["load", "validate"]
    reserved = {"load", "validate", "split", "features", "train", "evaluate"}
    for i, custom in enumerate(spec.stages):
        if custom.name in reserved:
            builder.problems.append(
                Problem(
                    "duplicate_node",
                    f"'{custom.name}' is the name of a built-in stage of the plan",
                    ("stages", i, "name"),
                    fix=f"give the node another name and set 'uses: {custom.stage_name}'",
                )
            )
    pending = [(i, c) for i, c in enumerate(spec.stages) if c.name not in reserved]
    placed: list[tuple[int, Any]] = []
    while pending:
        progressed = False
        for item in list(pending):
            i, custom = item
            if custom.after in chain:
                chain.insert(chain.index(custom.after) + 1, custom.name)
                placed.append(item)
                pending.remove(item)
                progressed = True
        if not progressed:
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
    # Re-wire: every custom node reads the frame of the node before it in the chain.
    by_name = dict((c.name, (i, c)) for i, c in placed)
    for pos, name in enumerate(chain):
        if name not in by_name:
            continue
        i, custom = by_name[name]
        cls = builder.resolve_stage(custom.stage_name, ("stages", i, "uses"))
        if cls is None:
            continue
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
            continue
        builder.add(
            name,
            custom.stage_name,
            dict(custom.params),
            {"data": InputRef(chain[pos - 1], "data")},
            ("stages", i, "params"),
            cls=cls,
        )
    _rewire_validate(builder, chain)
    return chain[-1]


def _rewire_validate(builder: _Builder, chain: list[str]) -> None:
    idx = chain.index("validate")
    if idx == 1:
        return
    for pos, node in enumerate(builder.nodes):
        if node.name == "validate":
            builder.nodes[pos] = _with_inputs(node, {"data": InputRef(chain[idx - 1], "data")})
    # validate must come after whatever it reads: move it to the end of the nodes so far.
    builder.nodes.sort(key=lambda n: chain.index(n.name) if n.name in chain else len(chain))


def _with_inputs(node: StageNode, inputs: dict[str, InputRef]) -> StageNode:
    return StageNode(
        node.name,
        node.stage_cls,
        node.params,
        inputs,
        node.spec_loc,
        node.static_preimage,
        node.external_files,
        node.param_locs,
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
                self.problems.append(Problem(p.code, p.message, probe.spec_path(p.loc), fix=p.fix))
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
    modules = [importlib.import_module(m) for m in cls.code_dependencies]
    dumped = params.model_dump(mode="python", by_alias=True)
    canonical_json(dumped)  # fail early on an unfingerprintable param
    return {
        "key_schema_version": KEY_SCHEMA_VERSION,
        "stage": {"name": cls.name, "version": cls.version},
        "params": dumped,
        "code": code_fingerprint(cls, *modules),
        "env": environment_fingerprint(tuple(cls.libraries_for(params))),
    }
