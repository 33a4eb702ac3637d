"""mlspec.plan: Spec -> Plan compilation, static preimages, cache keys, change explanations."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from mlspec.config.spec import Spec
from mlspec.errors import SpecError
from mlspec.plan import KEY_SCHEMA_VERSION, InputRef, Plan, cache_key, compile_plan
from mlspec.plan.keys import environment_fingerprint, explain_change, full_preimage
from mlspec.stages.api import Stage, StageContext, StageParams
from mlspec.stages.builtin.train import TrainStage
from mlspec.stages.registry import PluginEntry, StageRegistry

ORDER = ["load", "validate", "split", "profile", "features", "train", "evaluate"]


def _spec_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "bc",
        "seed": 7,
        "data": {
            "source": {"kind": "sklearn", "name": "breast_cancer"},
            "target": "target",
            "split": {"kind": "stratified", "valid": 0.15, "test": 0.2},
        },
        "features": {"numeric": {"columns": "auto", "steps": [{"impute": "median"}]}},
        "model": {"_target_": "lightgbm.LGBMClassifier", "n_estimators": 10},
        "evaluate": {"metrics": ["roc_auc", "accuracy"]},
    }
    for path, value in overrides.items():
        node = base
        *parents, last = path.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return base


def _spec(**overrides: Any) -> Spec:
    return Spec.model_validate(_spec_dict(**overrides))


@pytest.fixture(scope="module")
def registry() -> StageRegistry:
    return StageRegistry()


@pytest.fixture
def compile_(registry, tmp_path):
    def run(spec: Spec | Mapping[str, Any], reg: StageRegistry | None = None) -> Plan:
        if not isinstance(spec, Spec):
            spec = Spec.model_validate(spec)
        return compile_plan(spec, reg or registry, tmp_path)

    return run


def _statics(plan: Plan) -> dict[str, dict[str, Any]]:
    return {n.name: n.static_preimage for n in plan.nodes}


def _changed_nodes(a: Plan, b: Plan) -> set[str]:
    sa, sb = _statics(a), _statics(b)
    assert set(sa) == set(sb)
    return {name for name in sa if sa[name] != sb[name]}


# -- structure -----------------------------------------------------------------------------------


def test_node_order(compile_):
    plan = compile_(_spec())
    assert [n.name for n in plan.nodes] == ORDER
    assert plan.spec_name == "bc"


def test_inputs_are_wired(compile_):
    plan = compile_(_spec())
    assert plan.node("load").inputs == {}
    assert plan.node("validate").inputs == {"data": InputRef("load", "data")}
    assert plan.node("split").inputs == {"data": InputRef("validate", "data")}
    assert plan.node("features").inputs == {"train": InputRef("split", "train")}
    assert plan.node("train").inputs == {
        "transformer": InputRef("features", "transformer"),
        "train": InputRef("split", "train"),
        "valid": InputRef("split", "valid"),
    }
    assert plan.node("evaluate").inputs == {
        "model": InputRef("train", "model"),
        "valid": InputRef("split", "valid"),
        "test": InputRef("split", "test"),
    }


def test_topological_order(compile_):
    plan = compile_(_spec())
    seen: set[str] = set()
    for node in plan.nodes:
        assert node.upstream <= seen, node.name
        # every input names an output the upstream stage declares
        for ref in node.inputs.values():
            assert ref.output in plan.node(ref.node).stage_cls.outputs
        seen.add(node.name)


def test_plan_helpers(compile_):
    plan = compile_(_spec())
    assert plan.downstream_of("split") == {"profile", "features", "train", "evaluate"}
    assert plan.downstream_of("evaluate") == set()
    assert plan.downstream_of("load") == set(ORDER) - {"load"}
    assert plan.node("train").stage_id == f"train@{TrainStage.version}"
    assert str(plan.node("split").inputs["data"]) == "validate.data"
    with pytest.raises(KeyError):
        plan.node("nope")


def test_params_reach_stages(compile_):
    plan = compile_(_spec())
    assert plan.node("train").params.model == {
        "_target_": "lightgbm.LGBMClassifier",
        "n_estimators": 10,
    }
    assert plan.node("split").params.seed == 7
    assert plan.node("split").params.target == "target"
    assert plan.node("evaluate").params.metrics == ["roc_auc", "accuracy"]


def test_objective(compile_):
    assert compile_(_spec()).objective == "roc_auc"
    assert compile_(_spec(evaluate__objective="accuracy")).objective == "accuracy"
    assert compile_(_spec(evaluate={})).objective is None


def test_spec_path_maps_params_to_spec(compile_):
    plan = compile_(_spec())
    split = plan.node("split")
    assert split.spec_path(("seed",)) == ("seed",)
    assert split.spec_path(("target",)) == ("data", "target")
    assert split.spec_path(("kind",)) == ("data", "split", "kind")
    assert plan.node("train").spec_path(("model", "n_estimators")) == ("model", "n_estimators")


def test_no_external_files_for_sklearn_source(compile_):
    assert all(n.external_files == {} for n in compile_(_spec()).nodes)


def test_csv_source_has_external_file(compile_, tmp_path):
    plan = compile_(_spec(data__source={"kind": "csv", "path": "data/x.csv"}))
    files = plan.node("load").external_files
    # Named by their path relative to the project root: renaming the file changes the key.
    assert list(files) == ["data/x.csv"]
    assert files["data/x.csv"].name == "x.csv"


# -- static preimages ----------------------------------------------------------------------------


def test_static_preimage_shape(compile_):
    static = compile_(_spec()).node("train").static_preimage
    assert set(static) == {"key_schema_version", "stage", "params", "code", "env"}
    assert static["key_schema_version"] == KEY_SCHEMA_VERSION
    assert static["stage"] == {"name": "train", "version": TrainStage.version}
    assert static["params"]["model"]["n_estimators"] == 10
    assert static["code"].startswith("sha256:")
    assert "lightgbm" in static["env"]["libraries"]
    assert "lightgbm" not in compile_(_spec()).node("split").static_preimage["env"]["libraries"]


def test_compile_is_deterministic(compile_):
    assert _statics(compile_(_spec())) == _statics(compile_(_spec()))


def test_n_estimators_changes_only_train(compile_):
    a = compile_(_spec())
    b = compile_(_spec(model__n_estimators=20))
    assert _changed_nodes(a, b) == {"train"}
    sa, sb = a.node("train").static_preimage, b.node("train").static_preimage
    assert {k for k in sa if sa[k] != sb[k]} == {"params"}


def test_seed_changes_split_and_train_only(compile_):
    # evaluate too: the seed also seeds its bootstrap unless evaluate.bootstrap.seed is set
    assert _changed_nodes(compile_(_spec()), compile_(_spec(seed=8))) == {
        "split",
        "train",
        "evaluate",
    }
    fixed = {"evaluate__bootstrap": {"seed": 1}}
    assert _changed_nodes(compile_(_spec(**fixed)), compile_(_spec(seed=8, **fixed))) == {
        "split",
        "train",
    }


def test_metrics_change_only_evaluate(compile_):
    a = compile_(_spec())
    b = compile_(_spec(evaluate__metrics=["roc_auc", "f1"]))
    assert _changed_nodes(a, b) == {"evaluate"}


def test_objective_does_not_change_any_key(compile_):
    """The sweep objective is read by the runner, not by any stage."""
    a = compile_(_spec())
    b = compile_(_spec(evaluate__objective="accuracy"))
    assert _changed_nodes(a, b) == set()


def test_target_changes_every_stage_that_reads_it(compile_):
    a = compile_(_spec())
    b = compile_(_spec(data__target="label"))
    assert _changed_nodes(a, b) == {"validate", "split", "profile", "features", "train", "evaluate"}


def test_source_change_changes_only_load(compile_):
    a = compile_(_spec())
    b = compile_(_spec(data__source={"kind": "sklearn", "name": "iris"}))
    assert _changed_nodes(a, b) == {"load"}


def test_split_change_changes_only_split(compile_):
    a = compile_(_spec())
    b = compile_(_spec(data__split={"kind": "stratified", "valid": 0.1, "test": 0.2}))
    assert _changed_nodes(a, b) == {"split"}


def test_features_change_changes_only_features(compile_):
    a = compile_(_spec())
    b = compile_(_spec(features={"drop": ["mean radius"]}))
    assert _changed_nodes(a, b) == {"features"}


def test_model_switch_changes_train_env(compile_):
    a = compile_(_spec())
    b = compile_(_spec(model={"_target_": "sklearn.linear_model.LogisticRegression"}))
    assert _changed_nodes(a, b) == {"train"}
    env = b.node("train").static_preimage["env"]["libraries"]
    assert "lightgbm" not in env
    assert "scikit-learn" in env


def test_float_vs_int_param_differ(compile_):
    a = compile_(_spec(model__learning_rate=1))
    b = compile_(_spec(model__learning_rate=1.0))
    key_a = cache_key(a.node("train").static_preimage)
    key_b = cache_key(b.node("train").static_preimage)
    assert key_a != key_b


def test_environment_fingerprint():
    env = environment_fingerprint(("pytest", "pytest", "surely-not-installed-dist-xyz"))
    assert env["libraries"]["surely-not-installed-dist-xyz"] == "not-installed"
    assert list(env["libraries"]) == sorted(env["libraries"])
    assert env["python"].count(".") == 1


# -- cache keys ----------------------------------------------------------------------------------


def _full(plan: Plan, node: str, **inputs: str) -> dict[str, Any]:
    n = plan.node(node)
    ins = inputs or {name: f"blake3:{name}" for name in n.inputs}
    return full_preimage(n.static_preimage, ins, {})


def test_cache_key_stable_across_compiles(compile_):
    a, b = compile_(_spec()), compile_(_spec())
    for name in ORDER:
        assert cache_key(_full(a, name)) == cache_key(_full(b, name))
    key = cache_key(_full(a, "train"))
    assert len(key) == 64 and int(key, 16) >= 0


def test_cache_keys_differ_between_nodes(compile_):
    plan = compile_(_spec())
    keys = {cache_key(_full(plan, name)) for name in ORDER}
    assert len(keys) == len(ORDER)


def test_full_preimage_includes_inputs_and_external(compile_):
    static = compile_(_spec()).node("split").static_preimage
    pre = full_preimage(static, {"b": "blake3:2", "a": "blake3:1"}, {"source": "blake3:3"})
    assert pre["inputs"] == {"a": "blake3:1", "b": "blake3:2"}
    assert list(pre["inputs"]) == ["a", "b"]
    assert pre["external"] == {"source": "blake3:3"}
    for k, v in static.items():
        assert pre[k] == v
    assert "inputs" not in static  # full_preimage must not mutate the static part


@pytest.mark.parametrize(
    ("component", "mutate"),
    [
        ("key_schema_version", lambda p: p.__setitem__("key_schema_version", 2)),
        ("stage", lambda p: p["stage"].__setitem__("version", "99")),
        ("params", lambda p: p["params"]["model"].__setitem__("n_estimators", 11)),
        ("code", lambda p: p.__setitem__("code", "sha256:other")),
        ("env", lambda p: p["env"]["libraries"].__setitem__("lightgbm", "0.0.1")),
        ("python", lambda p: p["env"].__setitem__("python", "3.99")),
        ("inputs", lambda p: p["inputs"].__setitem__("train", "blake3:changed")),
        ("new input", lambda p: p["inputs"].__setitem__("extra", "blake3:x")),
        ("external", lambda p: p["external"].__setitem__("source", "blake3:y")),
    ],
)
def test_cache_key_changes_with_every_component(compile_, component, mutate):
    pre = _full(compile_(_spec()), "train")
    changed = copy.deepcopy(pre)
    mutate(changed)
    assert cache_key(changed) != cache_key(pre), component


def test_cache_key_ignores_dict_order(compile_):
    pre = _full(compile_(_spec()), "train")
    reordered = dict(reversed(list(pre.items())))
    assert cache_key(reordered) == cache_key(pre)


# -- explain_change ------------------------------------------------------------------------------


@pytest.fixture
def train_pre(compile_) -> dict[str, Any]:
    return _full(compile_(_spec()), "train")


def test_explain_never_run(train_pre):
    assert explain_change(None, train_pre) == "never run before"


def test_explain_nothing_changed(train_pre):
    assert explain_change(train_pre, copy.deepcopy(train_pre)) == "results missing from the store"


def test_explain_param(compile_, train_pre):
    new = _full(compile_(_spec(model__n_estimators=20)), "train")
    assert explain_change(train_pre, new) == "param model.n_estimators: 10 -> 20"


def test_explain_param_added_and_removed(compile_, train_pre):
    new = _full(compile_(_spec(model__max_depth=3)), "train")
    assert explain_change(train_pre, new) == "param model.max_depth added (3)"
    assert explain_change(new, train_pre) == "param model.max_depth removed (was 3)"


def test_explain_integral_float_param(compile_):
    # The cache keys differ (canonical JSON tells 1 from 1.0), so the explanation must say why.
    # BUG (mlspec/plan/keys.py, _diff_mapping): compares with Python `!=`, where 1 == 1.0 (and
    # True == 1), so it reports "results missing from the store" instead.
    old = _full(compile_(_spec(model__learning_rate=1)), "train")
    new = _full(compile_(_spec(model__learning_rate=1.0)), "train")
    assert explain_change(old, new) == "param model.learning_rate: 1 -> 1.0"


def test_explain_nan_param_is_not_a_change(compile_):
    old = _full(compile_(_spec(model__min_split_gain=float("nan"))), "train")
    new = copy.deepcopy(old)
    new["inputs"]["train"] = "blake3:other"
    assert explain_change(old, new) == "input 'train' changed"


def test_explain_code(train_pre):
    new = copy.deepcopy(train_pre)
    new["code"] = "sha256:" + "0" * 64
    reason = explain_change(train_pre, new)
    assert "code" in reason
    assert reason == "code of the stage implementation changed"


def test_explain_environment(train_pre):
    new = copy.deepcopy(train_pre)
    old_version = train_pre["env"]["libraries"]["lightgbm"]
    new["env"]["libraries"]["lightgbm"] = "99.0.0"
    reason = explain_change(train_pre, new)
    assert "environment libraries.lightgbm" in reason
    assert reason == f"environment libraries.lightgbm: {old_version} -> 99.0.0"


def test_explain_input(train_pre):
    old = dict(train_pre, inputs={"data": "blake3:" + "a" * 64})
    new = dict(train_pre, inputs={"data": "blake3:" + "b" * 64})
    assert explain_change(old, new) == "input 'data' changed"


def test_explain_external_file(train_pre):
    old = dict(train_pre, external={"source": "blake3:1"})
    new = dict(train_pre, external={"source": "blake3:2"})
    assert explain_change(old, new) == "content of external file 'source' changed"


def test_explain_stage_version_and_schema(train_pre):
    new = copy.deepcopy(train_pre)
    new["stage"]["version"] = "99"
    new["key_schema_version"] = KEY_SCHEMA_VERSION + 1
    reason = explain_change(train_pre, new)
    assert "cache-key schema changed" in reason
    assert "stage version" in reason


def test_explain_several_reasons_joined(compile_, train_pre):
    new = _full(compile_(_spec(model__n_estimators=20, seed=8)), "train")
    new["inputs"]["train"] = "blake3:other"
    reason = explain_change(train_pre, new)
    assert reason.split("; ") == [
        "param model.n_estimators: 10 -> 20",
        "param seed: 7 -> 8",
        "input 'train' changed",
    ]


def test_explain_long_values_are_shortened(train_pre):
    old = copy.deepcopy(train_pre)
    new = copy.deepcopy(train_pre)
    old["params"]["model"]["note"] = "x" * 100
    new["params"]["model"]["note"] = "y" * 100
    reason = explain_change(old, new)
    assert len(reason) < 160
    assert "..." in reason


# -- custom stages -------------------------------------------------------------------------------


class DedupeParams(StageParams):
    subset: list[str] | None = None


class DedupeStage(Stage):
    name = "dedupe"
    Params = DedupeParams
    inputs = ("data",)
    outputs = {"data": "frame"}

    def run(self, params: StageParams, inputs: Mapping[str, Any], ctx: StageContext):
        return {"data": inputs["data"]}


@pytest.fixture
def plugin_registry() -> StageRegistry:
    reg = StageRegistry()
    reg._entries["dedupe"] = [PluginEntry("dedupe", f"{__name__}:DedupeStage", "fake-dist")]
    reg._loaded["dedupe"] = DedupeStage
    return reg


def _with_stages(*stages: dict[str, Any]) -> dict[str, Any]:
    d = _spec_dict()
    d["stages"] = list(stages)
    return d


def test_custom_stage_after_validate(compile_, plugin_registry):
    plan = compile_(_with_stages({"name": "dedupe", "params": {"subset": ["a"]}}), plugin_registry)
    assert [n.name for n in plan.nodes] == [
        "load",
        "validate",
        "dedupe",
        "split",
        "profile",
        "features",
        "train",
        "evaluate",
    ]
    assert plan.node("dedupe").inputs == {"data": InputRef("validate", "data")}
    assert plan.node("split").inputs == {"data": InputRef("dedupe", "data")}
    assert plan.node("dedupe").params.subset == ["a"]
    assert plan.node("dedupe").spec_loc == ("stages", 0, "params")


def test_custom_stage_after_load_rewires_validate(compile_, plugin_registry):
    plan = compile_(
        _with_stages({"name": "d1", "uses": "dedupe", "after": "load"}), plugin_registry
    )
    names = [n.name for n in plan.nodes]
    assert names.index("load") < names.index("d1") < names.index("validate") < names.index("split")
    assert plan.node("d1").inputs == {"data": InputRef("load", "data")}
    assert plan.node("validate").inputs == {"data": InputRef("d1", "data")}
    assert plan.node("split").inputs == {"data": InputRef("validate", "data")}


def test_custom_stages_chain_in_any_declared_order(compile_, plugin_registry):
    plan = compile_(
        _with_stages(
            {"name": "second", "uses": "dedupe", "after": "first"},
            {"name": "first", "uses": "dedupe", "after": "validate"},
        ),
        plugin_registry,
    )
    assert plan.node("first").inputs == {"data": InputRef("validate", "data")}
    assert plan.node("second").inputs == {"data": InputRef("first", "data")}
    assert plan.node("split").inputs == {"data": InputRef("second", "data")}
    names = [n.name for n in plan.nodes]
    assert names.index("first") < names.index("second") < names.index("split")


def test_custom_stage_params_are_validated(compile_, plugin_registry):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "dedupe", "params": {"subsett": ["a"]}}), plugin_registry)
    problem = info.value.problems[0]
    assert problem.loc[:3] == ("stages", 0, "params")


@pytest.mark.parametrize("name", ["load", "validate", "split", "train"])
def test_custom_stage_name_clashing_with_builtin_node(compile_, plugin_registry, name):
    """A custom node named like a built-in node is refused (two nodes with one name would make
    artifacts, records and plan reasons ambiguous)."""
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": name, "uses": "dedupe"}), plugin_registry)
    assert info.value.problems[0].loc[:2] == ("stages", 0)


def test_node_names_are_unique(compile_, plugin_registry):
    plan = compile_(
        _with_stages({"name": "dedupe"}, {"name": "d2", "uses": "dedupe"}), plugin_registry
    )
    names = [n.name for n in plan.nodes]
    assert len(names) == len(set(names))


def test_unknown_custom_stage(compile_):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "x", "uses": "nosuch", "after": "validate"}))
    problem = info.value.problems[0]
    assert problem.code == "unknown_stage"
    assert problem.loc == ("stages", 0, "uses")
    assert "nosuch" in problem.message
    assert "did you mean" not in (problem.fix or "")


def test_unknown_custom_stage_did_you_mean(compile_):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "x", "uses": "splitt", "after": "validate"}))
    problem = info.value.problems[0]
    assert problem.code == "unknown_stage"
    assert "did you mean 'split'?" in (problem.fix or "")
    assert "did you mean 'split'?" in str(info.value)


def test_incompatible_custom_stage(compile_):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "x", "uses": "split", "after": "validate"}))
    problem = info.value.problems[0]
    assert problem.code == "incompatible_stage"
    assert problem.loc == ("stages", 0, "uses")
    assert "split" in problem.message


def test_custom_stage_after_unknown(compile_, plugin_registry):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "d", "uses": "dedupe", "after": "validat"}), plugin_registry)
    problem = info.value.problems[0]
    assert problem.code == "unknown_stage_ref"
    assert problem.loc == ("stages", 0, "after")
    assert "did you mean 'validate'?" in (problem.fix or "")


def test_invalid_stage_params_point_at_the_spec(compile_):
    with pytest.raises(SpecError) as info:
        compile_(_spec(evaluate__metrics=["roc_aucc"]))
    problem = info.value.problems[0]
    assert problem.loc[0] == "evaluate"


def test_spec_error_exit_code(compile_):
    with pytest.raises(SpecError) as info:
        compile_(_with_stages({"name": "x", "uses": "nosuch"}))
    assert info.value.exit_code == 2


# -- purity --------------------------------------------------------------------------------------


def test_compile_performs_no_store_io(compile_, tmp_path, plugin_registry):
    compile_(_spec())
    compile_(_with_stages({"name": "dedupe"}), plugin_registry)
    compile_(_spec(data__source={"kind": "csv", "path": "missing.csv"}))
    assert list(tmp_path.iterdir()) == []


def test_clean_node_sits_between_load_and_validate(compile_):
    d = _spec_dict()
    d["data"]["clean"] = [{"drop_duplicates": {"subset": ["a"]}}]
    plan = compile_(d)
    names = [n.name for n in plan.nodes]
    assert names[:3] == ["load", "clean", "validate"]
    assert plan.node("clean").inputs == {"data": InputRef("load", "data")}
    assert plan.node("validate").inputs == {"data": InputRef("clean", "data")}


def test_several_custom_stages_after_one_anchor_keep_spec_order(compile_, plugin_registry):
    plan = compile_(
        _with_stages({"name": "a", "uses": "dedupe"}, {"name": "b", "uses": "dedupe"}),
        plugin_registry,
    )
    names = [n.name for n in plan.nodes]
    assert names.index("validate") < names.index("a") < names.index("b") < names.index("split")
