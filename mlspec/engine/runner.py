"""Execute a plan: the only place stage inputs are loaded and outputs saved.

For each node, in order: compute the full cache key from its static preimage and the digests of
its inputs; a deterministic node whose key has an action record is a hit and loads nothing;
otherwise take the key's lock (so parallel sweep jobs compute it once), look again, and run.
Objects are durable before the action record is written, so a crash at any instant leaves the
store consistent and the next run resumes from the completed stages. The writing itself happens
on a background thread (`mlspec.store.commit`) while the next stage computes; the key's lock is
held until the record is written.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlspec.engine.walk import external_digests, node_preimage
from mlspec.errors import MlspecError, Problem, StageFailed
from mlspec.plan.keys import cache_key
from mlspec.plan.model import Plan, StageNode
from mlspec.stages.api import StageContext
from mlspec.store import ActionRecord, ArtifactRef, Store
from mlspec.store.commit import CommitQueue
from mlspec.tracking import StageExecution, Tracker


@dataclass
class NodeResult:
    node: str
    status: str  # hit | miss
    key: str
    duration_s: float
    outputs: dict[str, ArtifactRef]
    waited_for_other_job: bool = False


@dataclass
class RunOutcome:
    run_id: str
    results: list[NodeResult] = field(default_factory=list)
    artifacts: dict[tuple[str, str], ArtifactRef] = field(default_factory=dict)


class Reporter:
    """Progress callbacks; the console implementation lives in engine.console."""

    def stage_started(self, node: StageNode) -> None: ...
    def stage_finished(self, result: NodeResult) -> None: ...
    def stage_log(self, node: str, message: str) -> None: ...


class Runner:
    def __init__(
        self,
        plan: Plan,
        store: Store,
        tracker: Tracker,
        run_id: str,
        project_root: Path,
        seed: int,
        reporter: Reporter | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.plan = plan
        self.store = store
        self.tracker = tracker
        self.run_id = run_id
        self.project_root = project_root
        self.seed = seed
        self.reporter = reporter or Reporter()
        self.clock = clock
        self._cache: dict[str, Any] = {}  # digest -> decoded object, within this run
        # Decoded objects are dropped as soon as no later node reads them: a run holds only the
        # frames still needed, not every intermediate table.
        self._consumers = Counter(
            (ref.node, ref.output) for n in plan.nodes for ref in n.inputs.values()
        )
        self._pending: Counter[str] = Counter()  # digest -> reads still to come
        self._commits: CommitQueue | None = None
        self._scope: contextlib.ExitStack | None = None  # execute()'s: closes the fluent run
        self._tracking_open = False

    def execute(self) -> RunOutcome:
        with contextlib.ExitStack() as self._scope:
            self._commits = self.store.commit_queue()
            try:
                outcome = self._execute_all()
            except BaseException:
                with contextlib.suppress(BaseException):  # the stage's error is the one to report
                    self._commits.close()
                raise
            self._commits.close()
            return outcome

    def _execute_all(self) -> RunOutcome:
        outcome = RunOutcome(self.run_id)
        for node in self.plan.nodes:
            result = self._execute_node(node, outcome.artifacts)
            outcome.results.append(result)
            for name, ref in result.outputs.items():
                outcome.artifacts[(node.name, name)] = ref
                self._pending[ref.digest] += self._consumers[(node.name, name)]
                self._evict_if_unused(ref.digest)
            for source in node.inputs.values():
                digest = outcome.artifacts[(source.node, source.output)].digest
                self._pending[digest] -= 1
                self._evict_if_unused(digest)
        return outcome

    def _open_tracking(self) -> None:
        """Make this run the one stages that call mlspec.tracking.log_* (or start_run) log to,
        from the first stage that runs on: a run where every stage is a hit never imports the
        fluent API."""
        if self._tracking_open:
            return
        from mlspec.tracking.fluent import engine_run

        assert self._scope is not None, "execute() opens the scope"

        self._scope.enter_context(
            engine_run(self.tracker.db_path, self.run_id, self.plan.spec_name)
        )
        self._tracking_open = True

    def _evict_if_unused(self, digest: str) -> None:
        if self._pending[digest] <= 0:
            self._cache.pop(digest, None)

    def _execute_node(
        self, node: StageNode, artifacts: dict[tuple[str, str], ArtifactRef]
    ) -> NodeResult:
        preimage = node_preimage(node, artifacts, external_digests(node, self.store))
        assert preimage is not None, "plan order guarantees inputs are known"
        key = cache_key(preimage)
        started = time.time()
        t0 = self.clock()
        if node.stage_cls.is_deterministic(node.params):
            record = self.store.get_action(key)
            if record is not None:
                return self._finish(node, key, "hit", t0, started, record.outputs, preimage)
        self._open_tracking()
        self.reporter.stage_started(node)
        assert self._commits is not None, "execute() opens the commit queue"
        lock = self.store.acquire(key)
        try:
            if node.stage_cls.is_deterministic(node.params):
                record = self.store.get_action(key)
                if record is not None:  # another job computed it while we waited for the lock
                    lock.release()
                    return self._finish(
                        node, key, "hit", t0, started, record.outputs, preimage, waited=True
                    )
            outputs, unwritten = self._compute(node, key, artifacts, t0)
            record = ActionRecord(
                key=key,
                stage=node.stage_id,
                node=node.name,
                outputs=outputs,
                preimage=preimage,
                run_id=self.run_id,
                started_at=started,
                duration_s=self.clock() - t0,
            )
        except BaseException:
            lock.release()
            raise
        # Objects, then the record, then the lock: written while the next stage computes.
        self._commits.submit(unwritten, record, lock.release)
        return self._finish(node, key, "miss", t0, started, outputs, preimage)

    def _compute(
        self,
        node: StageNode,
        key: str,
        artifacts: dict[tuple[str, str], ArtifactRef],
        t0: float,
    ) -> tuple[dict[str, ArtifactRef], dict[str, bytes | Path]]:
        """Run the stage; its outputs' refs, and the staged encodings not yet in the store."""
        input_refs = {name: artifacts[(ref.node, ref.output)] for name, ref in node.inputs.items()}
        inputs = {name: self._load(ref) for name, ref in input_refs.items()}
        ctx = StageContext(
            node=node.name,
            run_id=self.run_id,
            project_root=self.project_root,
            seed=self.seed,
            log=lambda msg: self.reporter.stage_log(node.name, msg),
        )
        try:
            produced = node.stage_cls().run(node.params, inputs, ctx)
        except MlspecError:
            self._record_failure(node, key, t0)
            raise
        except Exception as exc:
            self._record_failure(node, key, t0)
            raise StageFailed(
                Problem(
                    code="stage_exception",
                    message=f"stage '{node.name}' ({node.stage_id}) raised"
                    f" {type(exc).__name__}: {exc}",
                    loc=node.spec_loc,
                    fix="rerun with --debug for the traceback; completed stages stay cached",
                )
            ) from exc
        expected = dict(node.stage_cls.outputs)
        if not isinstance(produced, dict) or set(produced) != set(expected):
            got = sorted(produced) if isinstance(produced, dict) else type(produced).__name__
            raise StageFailed(
                Problem(
                    "bad_outputs",
                    f"stage '{node.name}' returned {got}, declared {sorted(expected)}",
                    node.spec_loc,
                )
            )
        return self._encode_outputs(expected, produced, inputs, input_refs)

    def _encode_outputs(
        self,
        expected: dict[str, str],
        produced: dict[str, Any],
        inputs: dict[str, Any],
        input_refs: dict[str, ArtifactRef],
    ) -> tuple[dict[str, ArtifactRef], dict[str, bytes | Path]]:
        saved: dict[str, ArtifactRef] = {}
        unwritten: dict[str, bytes | Path] = {}
        try:
            for name, codec in expected.items():
                value = produced[name]
                # An input passed through untouched (validate on clean data, a no-op clean) is
                # the same artifact: reuse its digest instead of encoding and hashing it again.
                same = next(
                    (
                        input_refs[i]
                        for i, obj in inputs.items()
                        if obj is value and input_refs[i].codec == codec
                    ),
                    None,
                )
                if same is not None:
                    ref = same
                else:
                    # Encoded straight into a staged file: a 1M-row frame's encoding is never
                    # held in memory next to the frame (the commit queue moves it into place).
                    ref, staged = self.store.encode_staged(value, codec)
                    if self.store.objects.has(ref.digest) or ref.digest in unwritten:
                        staged.unlink(missing_ok=True)
                    else:
                        unwritten[ref.digest] = staged
                self._cache[ref.digest] = value
                saved[name] = ref
        except BaseException:
            for staged_file in unwritten.values():
                if isinstance(staged_file, Path):
                    staged_file.unlink(missing_ok=True)
            raise
        return saved, unwritten

    def _load(self, ref: ArtifactRef) -> Any:
        if ref.digest not in self._cache:
            queued = self._commits.pending_bytes(ref.digest) if self._commits else None
            self._cache[ref.digest] = (
                self.store.decode(ref, queued) if queued is not None else self.store.load(ref)
            )
        return self._cache[ref.digest]

    def _record_failure(self, node: StageNode, key: str, t0: float) -> None:
        self.tracker.record_stage(
            StageExecution(
                self.run_id,
                node.name,
                node.stage_id,
                key,
                "failed",
                time.time(),
                self.clock() - t0,
                {},
                {"error": traceback.format_exc(limit=3)},
            ),
            self.plan.spec_name,
        )

    def _finish(
        self,
        node: StageNode,
        key: str,
        status: str,
        t0: float,
        started: float,
        outputs: dict[str, ArtifactRef],
        preimage: dict[str, Any],
        waited: bool = False,
    ) -> NodeResult:
        result = NodeResult(node.name, status, key, self.clock() - t0, outputs, waited)
        self.tracker.record_stage(
            StageExecution(
                self.run_id,
                node.name,
                node.stage_id,
                key,
                status,
                started,
                result.duration_s,
                {k: asdict(v) for k, v in outputs.items()},
                preimage,
            ),
            self.plan.spec_name,
        )
        self.reporter.stage_finished(result)
        return result

    def load_output(self, ref: ArtifactRef) -> Any:
        return self._load(ref)
