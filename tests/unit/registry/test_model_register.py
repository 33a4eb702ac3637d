"""gate_and_register in-process: blessing, idempotent reruns, refused challengers, gates only."""

from __future__ import annotations

from registry_helpers import METRICS, fit_pipeline, make_frame

from mlspec.registry.gates import GateSpec
from mlspec.registry.register import gate_and_register
from mlspec.tracking import StageExecution, Tracker


def _record_train(registry, run_id: str, model_digest: str) -> None:
    """What the runner records before the register stage runs: the train node's outputs."""
    registry.store.ensure()
    tracker = Tracker(registry.store.db_path)
    tracker.ensure_schema()
    outputs = {
        "model": {"digest": model_digest, "codec": "estimator", "size": 1},
        "report": {"digest": "blake3:r", "codec": "json", "size": 1},
    }
    tracker.record_stage(
        StageExecution(run_id, "train", "train@2", "k", "miss", 0.0, 0.1, outputs, {}), "spec"
    )
    split = {"train": {"digest": "blake3:t", "codec": "frame", "size": 1}}
    tracker.record_stage(
        StageExecution(run_id, "split", "split@2", "k", "hit", 0.0, 0.1, split, {}), "spec"
    )


def _go(registry, run_id, pipeline, frame, gates, metrics=METRICS, name="clf", alias="champion"):
    return gate_and_register(
        registry,
        run_id=run_id,
        spec_name="spec",
        name=name,
        alias=alias,
        tags={"team": "a"},
        compare_to="champion",
        gates=gates,
        model=pipeline,
        train=frame,
        target="target",
        metrics=metrics,
        log=lambda msg: None,
    )


def test_rerun_and_retrain_of_the_same_model_register_nothing_new(registry, pipeline, frame):
    gates = [GateSpec(metric="roc_auc", max_drop=0.0)]
    _record_train(registry, "r1", "blake3:model-a")
    first = _go(registry, "r1", pipeline, frame, gates)
    assert first["outcome"] == "registered" and first["version"] == 1
    assert first["alias_moved"] and first["alias_previous"] is None
    assert first["gates"][0]["reason"] == "no champion yet"
    meta = registry.read_bundle(registry.resolve("clf:1"))[1]["metadata.json"]
    assert b'"split.train": "blake3:t"' in meta  # data lineage

    _record_train(registry, "r2", "blake3:model-a")  # cached rerun: the same artifact
    again = _go(registry, "r2", pipeline, frame, gates)
    assert again["outcome"] == "already_registered" and again["version"] == 1
    assert again["gates"][0]["reason"] == "this model is the champion (version 1)"

    _record_train(registry, "r3", "blake3:model-b")  # retrained, identical model
    retrained = _go(registry, "r3", fit_pipeline(make_frame()), frame, gates)
    assert retrained["outcome"] == "already_registered" and retrained["version"] == 1
    assert [v.version for v in registry.db.versions("clf")] == [1]
    assert registry.db.run_gates("r3")[0] == {
        "blessed": True,
        "model_name": "clf",
        "version": 1,
        "outcome": "already_registered",
    }


def test_worse_challenger_is_refused_and_the_champion_stays(registry, pipeline, frame):
    gates = [GateSpec(metric="roc_auc", max_drop=0.01)]
    _record_train(registry, "r1", "blake3:a")
    _go(registry, "r1", pipeline, frame, gates)
    worse = {**METRICS, "test": {"roc_auc": 0.85}}
    _record_train(registry, "r2", "blake3:b")
    other = fit_pipeline(make_frame(seed=5))
    refused = _go(registry, "r2", other, frame, gates, metrics=worse)
    assert not refused["blessed"] and refused["outcome"] == "refused"
    assert refused["gates"][0]["champion_value"] == 0.91
    assert refused["version"] is None
    assert [v.version for v in registry.db.versions("clf")] == [1]
    assert registry.db.aliases("clf") == {"champion": 1}
    blessing, rows = registry.db.run_gates("r2")
    assert blessing["blessed"] is False and rows[0]["passed"] is False
    # Not stored either: no bundle object of the refused model reached the store.
    assert len(list(registry.store.objects.iter_digests())) == 7  # 6 files + manifest of v1


def test_gates_only_register_nothing(registry, pipeline, frame):
    failing = _go(
        registry, "r1", pipeline, frame, [GateSpec(metric="roc_auc", min=0.99)], name=None
    )
    assert not failing["blessed"] and failing["outcome"] == "gates_only"
    passing = _go(registry, "r2", pipeline, frame, [GateSpec(metric="roc_auc", min=0.5)], name=None)
    assert passing["blessed"] and passing["outcome"] == "gates_only"
    assert registry.db.names() == []
