"""The six stages chained as the engine would, on a frame with mixed column types."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlspec.stages.api import StageContext
from mlspec.stages.builtin.evaluate import EvaluateParams, EvaluateStage
from mlspec.stages.builtin.features import FeaturesParams, FeaturesStage
from mlspec.stages.builtin.load import LoadParams, LoadStage
from mlspec.stages.builtin.split import SplitParams, SplitStage
from mlspec.stages.builtin.train import TrainParams, TrainStage
from mlspec.stages.builtin.validate import ValidateParams, ValidateStage


def _chain(root: Path) -> tuple[dict, np.ndarray]:
    ctx = StageContext(node="x", run_id="t", project_root=root, seed=0, log=lambda m: None)
    load = LoadParams(kind="csv", path="d.csv", dtypes={"plan": "category"})
    schema = {"spend": {"dtype": "float64", "nullable": True, "checks": {"ge": 0}}}
    validate = ValidateParams(target="churn", columns=schema)
    split = SplitParams(kind="stratified", target="churn", valid=0.2, test=0.2)
    model_spec = {"_target_": "lightgbm.LGBMClassifier", "n_estimators": 20}

    data = LoadStage().run(load, {}, ctx)["data"]
    data = ValidateStage().run(validate, {"data": data}, ctx)["data"]
    splits = SplitStage().run(split, {"data": data}, ctx)
    features = FeaturesStage().run(FeaturesParams(target="churn"), {"train": splits["train"]}, ctx)
    inputs = {"transformer": features["transformer"], **splits}
    model = TrainStage().run(TrainParams(model=model_spec, target="churn"), inputs, ctx)["model"]
    inputs = {"model": model, **splits}
    metrics = EvaluateStage().run(EvaluateParams(target="churn"), inputs, ctx)["metrics"]
    return metrics, model.predict_proba(splits["test"])


def test_chain_is_deterministic_and_json_clean(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    spend = rng.gamma(2.0, 10.0, n)
    spend[::17] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = ((np.nan_to_num(spend) < 15) ^ (plan == "pro") ^ (rng.random(n) < 0.1)).astype(int)
    region = rng.choice(["n", "s"], n)
    frame = pd.DataFrame({"spend": spend, "plan": plan, "region": region, "churn": churn})
    frame.to_csv(tmp_path / "d.csv", index=False)

    metrics, proba = _chain(tmp_path)
    again, proba_again = _chain(tmp_path)
    assert json.dumps(metrics, sort_keys=True) == json.dumps(again, sort_keys=True)
    np.testing.assert_array_equal(proba, proba_again)
    assert metrics["rows"] == {"valid": 60, "test": 60}
    assert metrics["test"]["accuracy"] > 0.7
