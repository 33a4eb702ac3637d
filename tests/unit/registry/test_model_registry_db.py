"""Versions, aliases (with history and rollback), tags and references."""

from __future__ import annotations

import pytest
from registry_helpers import METRICS, fit_pipeline, make_frame, register

from mlspec.registry.errors import RegistryError
from mlspec.registry.registry import ModelRef, parse_ref


def test_parse_ref() -> None:
    assert parse_ref("churn") == ModelRef("churn")
    assert parse_ref("churn:3") == ModelRef("churn", version=3)
    assert parse_ref("churn@champion") == ModelRef("churn", alias="champion")
    with pytest.raises(RegistryError, match="is not a number"):
        parse_ref("churn:latest")
    with pytest.raises(RegistryError, match="not a model reference"):
        parse_ref("a:b:c")


def test_identical_model_is_not_registered_twice(registry, pipeline, frame) -> None:
    assert register(registry, pipeline, frame, run="r1") == 1
    assert register(registry, pipeline, frame, run="r2") == 1  # same model digest
    other = fit_pipeline(make_frame(seed=3))
    assert register(registry, other, frame, run="r3") == 2
    assert [v.version for v in registry.db.versions("clf")] == [1, 2]
    assert registry.db.get_version("clf", 1).run_id == "r1"
    assert registry.db.get_version("clf", 1).metrics == METRICS
    assert registry.db.get_version("clf", 1).tags == {"team": "a"}


def test_aliases_history_and_rollback(registry) -> None:
    db = registry.db
    for v in (1, 2, 3):
        db.add_version("m", f"b{v}", f"d{v}", "skops", f"r{v}", "s", {}, {})
    assert db.set_alias("m", "champion", 1, "run r1") is None
    assert db.set_alias("m", "champion", 2, "run r2") == 1
    assert db.set_alias("m", "champion", 3, "promote") == 2
    assert db.set_alias("m", "champion", 3, "promote") == 3  # no-op: no history entry
    assert db.rollback_alias("m", "champion") == (3, 2)
    assert db.rollback_alias("m", "champion") == (2, 1)
    assert db.rollback_alias("m", "champion") is None  # nothing before version 1
    assert db.aliases("m") == {"champion": 1}
    db.set_alias("m", "challenger", 3, "promote")
    assert [v.aliases for v in db.versions("m")] == [["champion"], [], ["challenger"]]
    actions = [(h["alias"], h["action"], h["version"]) for h in db.alias_history("m")]
    assert actions == [
        ("champion", "set", 1),
        ("champion", "set", 2),
        ("champion", "set", 3),
        ("champion", "rollback", 2),
        ("champion", "rollback", 1),
        ("challenger", "set", 3),
    ]


def test_tags(registry) -> None:
    registry.db.add_version("m", "b", "d", "skops", "r", "s", {}, {"a": "1"})
    registry.db.set_tags("m", 1, {"b": "2", "a": "3"})
    registry.db.remove_tags("m", 1, ["b"])
    assert registry.db.get_version("m", 1).tags == {"a": "3"}


def test_unknown_name_version_alias_say_what_exists(registry) -> None:
    registry.db.add_version("breast_cancer_clf", "b", "d", "skops", "r", "s", {}, {})
    registry.db.set_alias("breast_cancer_clf", "champion", 1, "x")
    with pytest.raises(RegistryError) as err:
        registry.resolve("breast_cancer_cl")
    assert "no registered model named 'breast_cancer_cl'" in err.value.render()
    assert "did you mean 'breast_cancer_clf'?" in err.value.render()
    with pytest.raises(RegistryError, match="has no version 4") as err:
        registry.resolve("breast_cancer_clf:4")
    assert "versions: 1" in err.value.render()
    with pytest.raises(RegistryError) as err:
        registry.resolve("breast_cancer_clf@champoin")
    assert "has no alias 'champoin'" in err.value.render()
    assert "did you mean 'champion'?" in err.value.render()
