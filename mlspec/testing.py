"""Contract tests for stage plugins. Subclass ``StageContract`` in your plugin's test suite.

    from mlspec.testing import StageContract

    class TestTrim(StageContract):
        stage_class = TrimStage
        params = {"column": "amount"}

        def make_inputs(self):
            return {"data": pd.DataFrame({"amount": [1.0, 2.0, 300.0]})}

The built-in stages run this same suite (tests/plugins/), so third-party stages are held to exactly
the standard of the built-in ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from mlspec.hashing import canonical_json
from mlspec.stages.api import Stage, StageContext, StageParams, validate_stage_class
from mlspec.store import codecs


class StageContract:
    """pytest collects the ``test_*`` methods of subclasses (name them ``Test...``)."""

    stage_class: ClassVar[type[Stage]]
    params: ClassVar[dict[str, Any]] = {}

    def make_inputs(self) -> dict[str, Any]:
        """Inputs for one representative run, keyed by the stage's declared input names."""
        return {}

    # -- helpers -------------------------------------------------------------------------------
    def _params(self) -> StageParams:
        return self.stage_class.Params.model_validate(self.params)

    def _run(self, tmp_path: Path) -> dict[str, Any]:
        ctx = StageContext(
            node="contract", run_id="contract", project_root=tmp_path, seed=0, log=lambda m: None
        )
        return self.stage_class().run(self._params(), self.make_inputs(), ctx)

    # -- the contract --------------------------------------------------------------------------
    def test_class_satisfies_the_contract(self) -> None:
        assert validate_stage_class(self.stage_class) == []

    def test_params_are_fingerprintable(self) -> None:
        canonical_json(self._params().model_dump(mode="python", by_alias=True))

    def test_unknown_param_is_rejected(self) -> None:
        import pydantic

        try:
            self.stage_class.Params.model_validate({**self.params, "surely_not_a_param": 1})
        except pydantic.ValidationError as exc:
            # extra="forbid", or a validator that names the unknown key (e.g. loader options)
            assert any(
                e["type"] == "extra_forbidden" or "surely_not_a_param" in str(e["msg"])
                for e in exc.errors()
            ), exc
        else:
            raise AssertionError("Params must forbid unknown keys (extra='forbid')")

    def test_inputs_match_declaration(self) -> None:
        assert set(self.make_inputs()) == set(self.stage_class.inputs)

    def test_run_returns_declared_outputs_that_encode(self, tmp_path: Path) -> None:
        outputs = self._run(tmp_path)
        assert isinstance(outputs, dict)
        assert set(outputs) == set(self.stage_class.outputs)
        for name, codec in self.stage_class.outputs.items():
            data = codecs.encode(codec, outputs[name])
            assert isinstance(data, bytes) and data, f"output {name!r} encodes to nothing"

    def test_deterministic_stage_gives_identical_bytes(self, tmp_path: Path) -> None:
        if not self.stage_class.deterministic:
            return
        first, second = self._run(tmp_path), self._run(tmp_path)
        for name, codec in self.stage_class.outputs.items():
            if codec == "estimator":
                continue  # pickles may embed memory addresses; compare behaviour in your own tests
            assert codecs.encode(codec, first[name]) == codecs.encode(codec, second[name]), (
                f"output {name!r} differs between two runs with the same inputs: the cache"
                " would never hit downstream of this stage"
            )

    def test_run_writes_no_files(self, tmp_path: Path) -> None:
        before = sorted(os.listdir(tmp_path))
        cwd_before = sorted(os.listdir(Path.cwd()))
        self._run(tmp_path)
        assert sorted(os.listdir(tmp_path)) == before, "stages must not write files: return outputs"
        assert sorted(os.listdir(Path.cwd())) == cwd_before

    def test_check_returns_problems_list(self, tmp_path: Path) -> None:
        problems = self.stage_class.check(self._params(), tmp_path)
        assert isinstance(problems, list)
