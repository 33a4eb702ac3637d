"""Importing mlspec's entry points must not import the ML stack: cached reruns stay fast."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("pandas", "sklearn", "lightgbm", "xgboost", "pandera", "pyarrow")


def _heavy_modules_after(code: str) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_entry_modules_do_not_import_the_ml_stack():
    loaded = _heavy_modules_after(
        """
        import mlspec.cli.main
        import mlspec.engine.operations
        import mlspec.stages.registry
        import mlspec.config.load
        """
    )
    assert loaded == [], f"imported at module level: {sorted({m.split('.')[0] for m in loaded})}"


def test_core_packages_do_not_import_the_ml_stack():
    assert _heavy_modules_after("import mlspec.plan, mlspec.store, mlspec.tracking") == []


def test_compiling_a_plan_does_not_import_the_ml_stack(tmp_path):
    loaded = _heavy_modules_after(
        f"""
        from pathlib import Path
        from mlspec.config.spec import Spec
        from mlspec.plan import compile_plan
        from mlspec.stages.registry import StageRegistry

        spec = Spec.model_validate({{
            "name": "bc",
            "data": {{"source": {{"kind": "sklearn", "name": "breast_cancer"}},
                      "target": "target"}},
            "model": {{"_target_": "lightgbm.LGBMClassifier", "n_estimators": 10}},
        }})
        registry = StageRegistry()
        registry.check_all()
        compile_plan(spec, registry, Path({str(tmp_path)!r}))
        """
    )
    assert loaded == []
