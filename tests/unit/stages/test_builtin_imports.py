"""The built-in stage modules must import without the ML stack (cached reruns stay fast)."""

import subprocess
import sys

import pytest

from mlspec.stages.api import validate_stage_class
from mlspec.stages.builtin.evaluate import EvaluateStage
from mlspec.stages.builtin.features import FeaturesStage
from mlspec.stages.builtin.load import LoadStage
from mlspec.stages.builtin.split import SplitStage
from mlspec.stages.builtin.train import TrainStage
from mlspec.stages.builtin.validate import ValidateStage

MODULES = ("load", "validate", "split", "features", "train", "evaluate")
HEAVY = ("pandas", "numpy", "sklearn", "pandera", "lightgbm", "xgboost", "pyarrow")


def test_importing_the_stage_modules_does_not_import_the_ml_stack():
    code = (
        "import sys\n"
        + "".join(f"import mlspec.stages.builtin.{m}\n" for m in MODULES)
        + f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"imported at module level: {out.stdout.strip()}"


@pytest.mark.parametrize(
    "cls", [LoadStage, ValidateStage, SplitStage, FeaturesStage, TrainStage, EvaluateStage]
)
def test_stage_classes_satisfy_the_contract(cls):
    assert validate_stage_class(cls) == []
