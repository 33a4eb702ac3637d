"""Hand-written baseline for benchmarks/engine_overhead.py: the bench spec's pipeline, no mlspec.

It does what `mlspec run conf=bench` does, step for step, with the same libraries and the same
parameters, the way a careful person would write it as one script:

    read_csv -> pandera DataFrameSchema.from_yaml + validate(lazy=True)
    -> stratified train/valid/test split (mlspec's allocation and seeded shuffles, indices
       sorted), then the split stage's checks: rows shared by two splits, class balance
    -> profile of each split (plain_helpers.profile: what mlspec's profile stage computes)
    -> ColumnTransformer([impute median, scale standard]) fitted on train
    -> LightGBM with the parameters of mlspec's `model=lightgbm` preset, stopping early on the
       transformed valid split (patience 50, as mlspec's train stage does by default)
    -> roc_auc, pr_auc, accuracy, f1, log_loss on valid and test
    -> joblib.dump(model) + metrics.json + profile.json

Usage (the project directory is the one engine_overhead.py generates; `--setup-only` makes one):

    python benchmarks/engine_overhead.py --setup-only --workdir /tmp/bench
    python benchmarks/plain_pipeline.py --workdir /tmp/bench

Writes <workdir>/plain_out/{model.joblib,metrics.json,profile.json}. The last line of stdout is a
JSON object (prefix ``PLAIN_RESULT``) with per-step wall-clock seconds and the metrics.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # before the heavy imports: they are part of the cost

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

import joblib  # noqa: E402
import lightgbm  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pandera.pandas as pa  # noqa: E402
from lightgbm import LGBMClassifier  # noqa: E402
from plain_helpers import profile, split_checks, stratified_split  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

T_IMPORTED = time.perf_counter()

# Must stay identical to the bench spec written by engine_overhead.py (and to mlspec's
# `model=lightgbm` preset, mlspec/conf/model/lightgbm.yaml). mlspec adds random_state=seed and
# verbose=-1 when the spec does not set them; so does this script.
SEED = 7
TARGET = "target"
VALID, TEST = 0.15, 0.2
LGBM_PARAMS = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "n_jobs": 1,
}
METRICS = ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss")
EARLY_STOPPING_ROUNDS = 50  # mlspec's train.early_stopping_rounds default


def split(df: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """Stratified train/valid/test with the rows mlspec's split stage picks (same seed)."""
    parts = stratified_split(df, TARGET, VALID, TEST, seed)
    split_checks(df, parts, TARGET)
    return {name: df.iloc[ix].reset_index(drop=True) for name, ix in parts.items()}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="project dir made by engine_overhead.py")
    parser.add_argument("--data", default="data/bench.csv")
    parser.add_argument("--schema", default="schemas/bench.yaml")
    parser.add_argument("--out", default="plain_out")
    args = parser.parse_args()
    root = Path(args.workdir)
    steps: dict[str, float] = {"imports": T_IMPORTED - T_START}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = now - t
        t = now

    df = pd.read_csv(root / args.data)
    lap("load")

    schema = pa.DataFrameSchema.from_yaml(root / args.schema)
    df = schema.validate(df, lazy=True).reset_index(drop=True)  # raises SchemaErrors if invalid
    lap("validate")

    parts = split(df, SEED)
    lap("split")

    stats = profile(parts, TARGET)
    lap("profile")

    X_train = parts["train"].drop(columns=[TARGET])
    numeric = [str(c) for c in X_train.select_dtypes(include="number").columns]
    transformer = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("0_impute", SimpleImputer(strategy="median")), ("1_scale", StandardScaler())]
                ),
                numeric,
            )
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    transformer.fit(X_train)
    lap("features")

    est = LGBMClassifier(**LGBM_PARAMS, random_state=SEED, verbose=-1)
    X_valid = transformer.transform(parts["valid"].drop(columns=[TARGET]))
    est.fit(
        transformer.transform(X_train),
        parts["train"][TARGET].to_numpy(),
        eval_X=(X_valid,),
        eval_y=(parts["valid"][TARGET].to_numpy(),),
        callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    model = Pipeline([("features", transformer), ("model", est)])
    lap("train")

    metrics = {"valid": evaluate(model, parts["valid"]), "test": evaluate(model, parts["test"])}
    lap("evaluate")

    out = root / args.out
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "profile.json").write_text(json.dumps(stats))
    lap("persist")

    for split_name in ("valid", "test"):
        print(
            f"{split_name}: "
            + ", ".join(f"{k}={v:.4f}" for k, v in metrics[split_name].items() if not math.isnan(v))
        )
    steps["total_in_process"] = time.perf_counter() - T_START
    rows = {k: len(v) for k, v in parts.items()}
    print("PLAIN_RESULT " + json.dumps({"steps": steps, "metrics": metrics, "rows": rows}))


if __name__ == "__main__":
    main()
