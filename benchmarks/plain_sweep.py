"""Hand-written baseline for benchmarks/sweep_sharing.py: a plain Hydra app, no mlspec.

Two ways to run it, both on the project that sweep_sharing.py (via engine_overhead.py) generates:

1. A plain Hydra multirun, the way a person writes a sweepable training script: every job does
   the whole pipeline from scratch (nothing is shared or cached between jobs):

       python benchmarks/plain_sweep.py -m workdir=/tmp/bench model.learning_rate=0.05,0.1

   read_csv -> pandera validate -> stratified split + checks -> profile -> ColumnTransformer
   (impute median, scale standard) fitted on train -> LightGBM (mlspec's `model=lightgbm`
   preset, learning rate from the override, no early stopping) -> metrics on valid and test ->
   joblib.dump(model) + metrics.json in the job's Hydra output directory. The task function
   returns valid roc_auc to Hydra, like mlspec's.

2. The reference (``--reference``): the least work a sweep can do, in one process without Hydra:
   the upstream steps once, then one training + evaluation + save per learning rate:

       python benchmarks/plain_sweep.py --reference --workdir /tmp/bench --lrs 0.05,0.1

Both print one ``PLAIN_SWEEP_RESULT {json}`` line per job (or one for the reference) with
per-step seconds and metrics.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # before the heavy imports: they are part of the cost

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import hydra  # noqa: E402
import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pandera.pandas as pa  # noqa: E402
from hydra.core.config_store import ConfigStore  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from lightgbm import LGBMClassifier  # noqa: E402
from omegaconf import MISSING  # noqa: E402
from plain_helpers import profile, split_checks, stratified_split  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

T_IMPORTED = time.perf_counter()

TARGET = "target"
VALID, TEST = 0.15, 0.2


@dataclass
class ModelConf:  # mlspec/conf/model/lightgbm.yaml
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    subsample: float = 0.8
    subsample_freq: int = 1
    colsample_bytree: float = 0.8
    n_jobs: int = 1


@dataclass
class Conf:
    workdir: str = MISSING
    data: str = "data/bench.csv"
    schema: str = "schemas/bench.yaml"
    seed: int = 7
    model: ModelConf = field(default_factory=ModelConf)


ConfigStore.instance().store(name="plain_sweep", node=Conf)


class Laps:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.t = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.t
        self.t = now


def upstream(root: Path, data: str, schema: str, seed: int, lap: Laps) -> dict[str, Any]:
    """load, validate, split (+ checks), profile, features: what the sweep members share."""
    df = pd.read_csv(root / data)
    lap("load")
    df = pa.DataFrameSchema.from_yaml(root / schema).validate(df, lazy=True).reset_index(drop=True)
    lap("validate")
    ix = stratified_split(df, TARGET, VALID, TEST, seed)
    split_checks(df, ix, TARGET)
    parts = {name: df.iloc[i].reset_index(drop=True) for name, i in ix.items()}
    lap("split")
    profile(parts, TARGET)
    lap("profile")
    X_train = parts["train"].drop(columns=[TARGET])
    numeric = [str(c) for c in X_train.select_dtypes(include="number").columns]
    steps = [("0_impute", SimpleImputer(strategy="median")), ("1_scale", StandardScaler())]
    transformer = ColumnTransformer(
        [("numeric", Pipeline(steps), numeric)], remainder="drop", verbose_feature_names_out=False
    )
    Xt = transformer.fit_transform(X_train)
    lap("features")
    return {"parts": parts, "transformer": transformer, "X_train": Xt}


def evaluate(model: Pipeline, df: pd.DataFrame) -> dict[str, float]:
    X, y = df.drop(columns=[TARGET]), df[TARGET].to_numpy()
    classes = np.asarray(model.classes_)
    positive = classes.max()
    pred = model.predict(X)
    proba = model.predict_proba(X)
    score = proba[:, list(classes).index(positive)]
    return {
        "roc_auc": float(skm.roc_auc_score(y == positive, score)),
        "pr_auc": float(skm.average_precision_score(y == positive, score)),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "f1": float(skm.f1_score(y, pred, pos_label=positive, zero_division=0)),
        "log_loss": float(skm.log_loss(y, proba, labels=classes)),
    }


def train_and_evaluate(
    shared: dict[str, Any], params: dict[str, Any], seed: int, out: Path, lap: Laps
) -> dict[str, Any]:
    parts = shared["parts"]
    est = LGBMClassifier(**params, random_state=seed, verbose=-1)
    est.fit(shared["X_train"], parts["train"][TARGET].to_numpy())
    model = Pipeline([("features", shared["transformer"]), ("model", est)])
    lap("train")
    metrics = {"valid": evaluate(model, parts["valid"]), "test": evaluate(model, parts["test"])}
    lap("evaluate")
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lap("persist")
    return metrics


@hydra.main(version_base="1.3", config_path=None, config_name="plain_sweep")
def app(cfg: Conf) -> float:
    t0 = time.perf_counter()
    lap = Laps()
    root = Path(cfg.workdir)
    shared = upstream(root, cfg.data, cfg.schema, cfg.seed, lap)
    params = dict(cfg.model)  # type: ignore[call-overload]
    out = Path(HydraConfig.get().runtime.output_dir)
    metrics = train_and_evaluate(shared, params, cfg.seed, out, lap)
    result = {
        "learning_rate": params["learning_rate"],
        "steps": lap.steps,
        "job_s": time.perf_counter() - t0,
        "metrics": metrics,
    }
    print("PLAIN_SWEEP_RESULT " + json.dumps(result), flush=True)
    return metrics["valid"]["roc_auc"]


def reference(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description="one upstream + one training per learning rate")
    p.add_argument("--reference", action="store_true")
    p.add_argument("--workdir", required=True)
    p.add_argument("--lrs", required=True, help="comma-separated learning rates")
    p.add_argument("--out", default="reference_out")
    args = p.parse_args(argv)
    root = Path(args.workdir)
    conf = Conf(workdir=args.workdir)
    lap = Laps()
    shared = upstream(root, conf.data, conf.schema, conf.seed, lap)
    upstream_steps = dict(lap.steps)
    per_lr: dict[str, Any] = {}
    for lr in [float(x) for x in args.lrs.split(",")]:
        job = Laps()
        params = {**vars(ModelConf()), "learning_rate": lr}
        metrics = train_and_evaluate(shared, params, conf.seed, root / args.out / str(lr), job)
        per_lr[str(lr)] = {"steps": job.steps, "metrics": metrics}
    result = {
        "imports_s": T_IMPORTED - T_START,
        "upstream_steps": upstream_steps,
        "members": per_lr,
        "total_in_process_s": time.perf_counter() - T_START,
    }
    print("PLAIN_SWEEP_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    if "--reference" in sys.argv[1:]:
        reference(sys.argv[1:])
    else:
        app()
