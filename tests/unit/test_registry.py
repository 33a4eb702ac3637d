"""mlspec.stages.registry: entry-point discovery, lazy loading, broken/duplicate/invalid plugins."""

from __future__ import annotations

import sys
import textwrap
import uuid
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from mlspec.errors import PluginError
from mlspec.stages import registry as registry_mod
from mlspec.stages.api import Stage
from mlspec.stages.registry import STAGES_GROUP, PluginEntry, StageRegistry, default_registry

GOOD = """
from mlspec.stages.api import Stage

class {cls}(Stage):
    name = "{name}"
    outputs = {{"data": "frame"}}
    inputs = ("data",)

    def run(self, params, inputs, ctx):
        return {{"data": inputs["data"]}}
"""


@dataclass(frozen=True)
class FakeDist:
    name: str


class Plugins:
    """Writes plugin modules to a temp dir on sys.path and fakes their entry points."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root = root
        self.prefix = f"mlspec_plug_{uuid.uuid4().hex[:8]}_"
        self.eps: list[EntryPoint] = []
        self.modules: list[str] = []
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
        monkeypatch.setattr(registry_mod, "entry_points_of", self._entry_points)

    def _entry_points(self, group: str) -> list[EntryPoint]:
        return [ep for ep in self.eps if ep.group == group]

    def module(self, short: str, source: str) -> str:
        name = self.prefix + short
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))
        self.modules.append(name)
        return name

    def add(self, name: str, value: str, dist: str | None, group: str = STAGES_GROUP) -> None:
        ep = EntryPoint(name, value, group)
        if dist is not None:
            ep = ep._for(FakeDist(dist))
        self.eps.append(ep)

    def good(self, name: str, dist: str = "good-pkg", cls: str = "GoodStage") -> str:
        mod = self.module(f"good_{name}", GOOD.format(cls=cls, name=name))
        self.add(name, f"{mod}:{cls}", dist)
        return mod

    def cleanup(self) -> None:
        for name in self.modules:
            sys.modules.pop(name, None)


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    import importlib

    p = Plugins(tmp_path, monkeypatch)
    importlib.invalidate_caches()
    yield p
    p.cleanup()


def _error(reg: StageRegistry, name: str) -> PluginError:
    with pytest.raises(PluginError) as info:
        reg.get(name)
    assert len(info.value.problems) == 1
    return info.value


# -- discovery and lazy loading ------------------------------------------------------------------


def test_good_stage_loads_lazily(plugins):
    mod = plugins.good("clean")
    reg = StageRegistry()
    assert "clean" in reg
    assert reg.names() == ["clean"]
    assert mod not in sys.modules  # only metadata was read
    cls = reg.get("clean")
    assert mod in sys.modules
    assert issubclass(cls, Stage)
    assert cls.name == "clean"
    assert reg.get("clean") is cls  # cached
    assert reg.broken == {}


def test_entries_and_names(plugins):
    plugins.good("b_stage", dist="pkg-b")
    plugins.good("a_stage", dist="pkg-a")
    reg = StageRegistry()
    assert reg.names() == ["a_stage", "b_stage"]
    assert reg.entries("a_stage") == [
        PluginEntry("a_stage", f"{plugins.prefix}good_a_stage:GoodStage", "pkg-a")
    ]
    assert reg.entries("nope") == []
    assert "nope" not in reg


def test_other_groups_are_ignored(plugins):
    plugins.good("mine")
    plugins.add("foreign", "x:y", "other", group="something.else")
    assert StageRegistry().names() == ["mine"]


def test_custom_group(plugins):
    mod = plugins.good("grouped")
    plugins.eps = [EntryPoint("grouped", f"{mod}:GoodStage", "my.group")._for(FakeDist("g"))]
    assert StageRegistry(group="my.group").get("grouped").name == "grouped"
    assert StageRegistry().names() == []


def test_entry_point_without_dist():
    entry = PluginEntry.from_entry_point(EntryPoint("x", "m:X", STAGES_GROUP))
    assert entry == PluginEntry("x", "m:X", "<unknown distribution>")


def test_entry_point_with_dist():
    ep = EntryPoint("x", "m:X", STAGES_GROUP)._for(FakeDist("pkg"))
    assert PluginEntry.from_entry_point(ep).distribution == "pkg"


# -- broken plugins ------------------------------------------------------------------------------


def test_broken_plugin(plugins):
    mod = plugins.module("broken", "raise RuntimeError('kaboom at import')\n")
    plugins.add("bad", f"{mod}:Whatever", "broken-pkg")
    plugins.good("fine")
    reg = StageRegistry()
    assert reg.names() == ["bad", "fine"]  # discovery never imports

    err = _error(reg, "bad")
    problem = err.problems[0]
    assert problem.code == "broken_plugin"
    assert "broken-pkg" in problem.message
    assert "kaboom at import" in problem.message
    assert "broken-pkg" in (problem.fix or "")
    assert isinstance(err.__cause__, RuntimeError)
    assert "kaboom at import" in reg.broken["bad"]
    assert err.exit_code == 2

    # other stages are unaffected
    assert reg.get("fine").name == "fine"
    assert "fine" not in reg.broken


def test_broken_plugin_missing_module(plugins):
    plugins.add("ghost", f"{plugins.prefix}does_not_exist:Stage", "ghost-pkg")
    problem = _error(StageRegistry(), "ghost").problems[0]
    assert problem.code == "broken_plugin"
    assert "ghost-pkg" in problem.message


def test_broken_plugin_missing_attribute(plugins):
    mod = plugins.good("attr")
    plugins.eps.clear()
    plugins.add("attr", f"{mod}:NoSuchClass", "attr-pkg")
    problem = _error(StageRegistry(), "attr").problems[0]
    assert problem.code == "broken_plugin"
    assert "NoSuchClass" in problem.message


def test_broken_plugin_keeps_failing(plugins):
    mod = plugins.module("broken2", "raise ImportError('no libfoo.so')\n")
    plugins.add("bad", f"{mod}:X", "broken-pkg")
    reg = StageRegistry()
    for _ in range(2):
        assert _error(reg, "bad").problems[0].code == "broken_plugin"


# -- duplicates ----------------------------------------------------------------------------------


def test_duplicate_stage_names_both_packages(plugins):
    plugins.good("dup", dist="pkg-one", cls="One")
    mod2 = plugins.module("other_dup", GOOD.format(cls="Two", name="dup"))
    plugins.add("dup", f"{mod2}:Two", "pkg-two")
    reg = StageRegistry()
    assert len(reg.entries("dup")) == 2
    problem = _error(reg, "dup").problems[0]
    assert problem.code == "duplicate_stage"
    assert "pkg-one" in problem.message
    assert "pkg-two" in problem.message
    assert "dup" in problem.message


def test_duplicate_same_value_different_distributions(plugins):
    mod = plugins.good("shared", dist="pkg-one")
    plugins.add("shared", f"{mod}:GoodStage", "pkg-fork")
    problem = _error(StageRegistry(), "shared").problems[0]
    assert problem.code == "duplicate_stage"
    assert "pkg-one" in problem.message and "pkg-fork" in problem.message


def test_same_distribution_visible_twice_is_not_a_duplicate(plugins):
    mod = plugins.good("twice", dist="pkg")
    plugins.add("twice", f"{mod}:GoodStage", "pkg")
    reg = StageRegistry()
    assert len(reg.entries("twice")) == 1
    assert reg.get("twice").name == "twice"


def test_duplicate_does_not_import(plugins):
    a = plugins.good("dup", dist="pkg-one", cls="One")
    plugins.add("dup", f"{a}:One2", "pkg-two")
    _error(StageRegistry(), "dup")
    assert a not in sys.modules


# -- contract violations -------------------------------------------------------------------------

INVALID = {
    "not_a_stage": """
        class NotAStage:
            name = "not_a_stage"
            outputs = {"data": "frame"}
    """,
    "no_outputs": """
        from mlspec.stages.api import Stage

        class NoOutputs(Stage):
            name = "no_outputs"

            def run(self, params, inputs, ctx):
                return {}
    """,
    "bad_codec": """
        from mlspec.stages.api import Stage

        class BadCodec(Stage):
            name = "bad_codec"
            outputs = {"data": "pickle"}

            def run(self, params, inputs, ctx):
                return {}
    """,
    "no_run": """
        from mlspec.stages.api import Stage

        class NoRun(Stage):
            name = "no_run"
            outputs = {"data": "frame"}
    """,
    "a_function": """
        def a_function():
            return None
    """,
}
CLASS_OF = {
    "not_a_stage": "NotAStage",
    "no_outputs": "NoOutputs",
    "bad_codec": "BadCodec",
    "no_run": "NoRun",
    "a_function": "a_function",
}
EXPECTED = {
    "not_a_stage": "not a subclass",
    "no_outputs": "at least one output",
    "bad_codec": "unknown codec 'pickle'",
    "no_run": "'run' is not implemented",
    "a_function": "not a subclass",
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_plugin(plugins, case):
    mod = plugins.module(case, INVALID[case])
    plugins.add(case, f"{mod}:{CLASS_OF[case]}", "sloppy-pkg")
    reg = StageRegistry()
    problem = _error(reg, case).problems[0]
    assert problem.code == "invalid_plugin"
    assert "sloppy-pkg" in problem.message
    assert EXPECTED[case] in problem.message
    assert case in reg.broken


def test_name_mismatch_is_invalid(plugins):
    mod = plugins.module("mismatch", GOOD.format(cls="Mis", name="actual_name"))
    plugins.add("registered_name", f"{mod}:Mis", "mis-pkg")
    reg = StageRegistry()
    problem = _error(reg, "registered_name").problems[0]
    assert problem.code == "invalid_plugin"
    assert "actual_name" in problem.message
    assert "registered_name" in problem.message
    assert "registered_name" in reg.broken


# -- unknown names -------------------------------------------------------------------------------


def test_unknown_stage_did_you_mean(plugins):
    plugins.good("dedupe")
    problem = _error(StageRegistry(), "dedup").problems[0]
    assert problem.code == "unknown_stage"
    assert "did you mean 'dedupe'?" in (problem.fix or "")


def test_unknown_stage_no_close_match(plugins):
    plugins.good("dedupe")
    problem = _error(StageRegistry(), "zzzzzz").problems[0]
    assert problem.code == "unknown_stage"
    assert "did you mean" not in (problem.fix or "")
    assert "dedupe" in (problem.fix or "")  # the valid choices are listed


def test_no_plugins_at_all(plugins):
    reg = StageRegistry()
    assert reg.names() == []
    assert reg.check_all() == {}
    assert _error(reg, "x").problems[0].code == "unknown_stage"


# -- check_all -----------------------------------------------------------------------------------


def test_check_all_reports_per_name(plugins):
    plugins.good("ok_one")
    plugins.good("ok_two", dist="other-pkg")
    broken = plugins.module("boom", "raise ValueError('nope')\n")
    plugins.add("boom", f"{broken}:X", "boom-pkg")
    invalid = plugins.module("inv", INVALID["no_outputs"])
    plugins.add("no_outputs", f"{invalid}:NoOutputs", "inv-pkg")
    plugins.good("dup", dist="d1", cls="D1")
    plugins.add("dup", f"{plugins.prefix}good_dup:D2", "d2")

    status = StageRegistry().check_all()
    assert list(status) == ["boom", "dup", "no_outputs", "ok_one", "ok_two"]
    assert status["ok_one"] is None and status["ok_two"] is None
    assert "boom-pkg" in status["boom"] and "nope" in status["boom"]
    assert "at least one output" in status["no_outputs"]
    assert "d1" in status["dup"] and "d2" in status["dup"]


# -- the real, installed registry ----------------------------------------------------------------


def test_builtin_stages_are_registered():
    reg = StageRegistry()
    builtin = {"load", "validate", "split", "features", "train", "evaluate"}
    assert builtin <= set(reg.names())
    status = reg.check_all()
    assert {name: status[name] for name in builtin} == dict.fromkeys(builtin)
    for name in builtin:
        assert reg.entries(name)[0].distribution == "mlspec"


def test_default_registry_is_shared():
    assert default_registry() is default_registry()
