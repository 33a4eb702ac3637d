"""A sweep's variants are validated without composing each one in full, with the same result."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlspec.config.load import compose_spec, compose_variants
from mlspec.config.locate import locate_spec
from mlspec.errors import SpecError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def source():
    return locate_spec("breast_cancer", REPO)


def test_scalar_sweep_values_match_full_composition(source, monkeypatch):
    from mlspec.config import hydra_glue

    variants = [
        ["model.learning_rate=0.05", "seed=3"],
        ["model.learning_rate=0.1", "seed=3"],
        ["model.learning_rate=0.2", "seed=3"],
        ["model.learning_rate=0.05", "seed=4"],
    ]
    composed = []
    original = hydra_glue.compose
    monkeypatch.setattr(hydra_glue, "compose", lambda *a: composed.append(a[2]) or original(*a))
    fast = list(compose_variants(source, variants))
    assert composed == [variants[0]]  # only the first variant was composed
    monkeypatch.undo()
    for loaded, overrides in zip(fast, variants, strict=True):
        full = compose_spec(source, overrides)
        assert loaded.resolved == full.resolved
        assert loaded.spec == full.spec
        assert loaded.overrides == full.overrides
    assert fast[1].spec.model["learning_rate"] == 0.1


def test_group_and_container_overrides_are_composed_in_full(source, monkeypatch):
    from mlspec.config import hydra_glue

    variants = [["model=lightgbm"], ["model=xgboost"]]
    composed = []
    original = hydra_glue.compose
    monkeypatch.setattr(hydra_glue, "compose", lambda *a: composed.append(a[2]) or original(*a))
    loaded = list(compose_variants(source, variants))
    assert composed == variants
    assert "xgboost" in loaded[1].spec.model["_target_"].lower()


def test_a_bad_value_on_the_fast_path_names_the_override(source):
    variants = [["seed=3"], ["seed=many"]]
    gen = compose_variants(source, variants)
    next(gen)
    with pytest.raises(SpecError) as err:
        next(gen)
    text = err.value.render()
    assert "seed" in text and "command-line override 'seed=many'" in text
