"""Hand-written baseline for benchmarks/data_prep.py: the prep spec's pipeline, no mlspec.

It does what `mlspec run conf=prep` does, with the same libraries and parameters, the way a
careful person would write it as one script:

    pd.read_parquet
    -> clean: drop_duplicates() (every column), then dropna(subset=[f00, f01])
    -> pandera DataFrameSchema.from_yaml + validate(lazy=True); on SchemaErrors the rows named
       in failure_cases["index"] are set aside (quarantine, with a reason column) and dropped
    -> stratified train/valid/test split (mlspec's allocation and seeded shuffles), then the
       split stage's checks: rows shared by two splits, class balance
    -> profile of each split (plain_helpers.profile: what mlspec's profile stage computes)
    -> ColumnTransformer([impute median]) on the numeric columns, fitted on train
    -> DummyClassifier(strategy="prior"): the same trivially cheap model the prep spec uses
    -> roc_auc, accuracy, log_loss on valid and test
    -> joblib.dump(model) + metrics.json + profile.json + quarantine.parquet

One difference is deliberate: quarantined rows are dropped after ONE lazy validation. mlspec
validates the remaining rows again (and again, while rows keep failing), because a value that
does not coerce can hide other checks; without coerce (as here) the second round finds nothing.

Usage (the project directory is the one data_prep.py generates; `--setup-only` makes one):

    python benchmarks/data_prep.py --setup-only --workdir /tmp/prep
    python benchmarks/plain_data_prep.py --workdir /tmp/prep

The last line of stdout is a JSON object (prefix ``PLAIN_RESULT``) with per-step wall-clock
seconds, row counts and the metrics. Each step also prints ``STEP <name>`` when it starts, so that
data_prep.py --trace-memory can attribute memory to steps.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # before the heavy imports: they are part of the cost

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pandera.pandas as pa  # noqa: E402
from pandera.errors import SchemaErrors  # noqa: E402
from plain_helpers import profile, split_checks, stratified_split  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

T_IMPORTED = time.perf_counter()

# Must stay identical to the prep spec written by data_prep.py.
SEED = 7
TARGET = "target"
ID = "id"
DROPNA = ["f00", "f01"]
VALID, TEST = 0.15, 0.2


def quarantine(df: pd.DataFrame, schema: pa.DataFrameSchema) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows that pass, rows that fail with a ``reason`` column): one lazy validation."""
    try:
        return schema.validate(df, lazy=True), df.iloc[0:0].assign(reason=pd.Series(dtype=str))
    except SchemaErrors as exc:
        cases = exc.failure_cases
    located = cases.dropna(subset=["index"])
    if len(located) < len(cases):  # a missing column, a wrong dtype: nothing to quarantine
        raise SystemExit("schema-level failures:\n" + cases[cases["index"].isna()].to_string())
    index = located["index"].astype("int64")
    reason = (located["column"].astype(str) + ": " + located["check"].astype(str)).groupby(
        index.to_numpy()
    )
    reasons = reason.agg(lambda r: "; ".join(dict.fromkeys(r)))
    bad = df.index.isin(reasons.index)
    held = df[bad].assign(reason=reasons.reindex(df.index[bad]).to_numpy())
    return df[~bad], held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="project dir made by data_prep.py")
    parser.add_argument("--data", default="data/prep.parquet")
    parser.add_argument("--schema", default="schemas/prep.yaml")
    parser.add_argument("--out", default="plain_out")
    args = parser.parse_args()
    root = Path(args.workdir)
    steps: dict[str, float] = {"imports": T_IMPORTED - T_START}
    rows: dict[str, int] = {}
    t = time.perf_counter()

    def lap(name: str, following: str | None) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = now - t
        t = now
        if following:
            print(f"STEP {following}", flush=True)

    print("STEP load", flush=True)
    df = pd.read_parquet(root / args.data)
    rows["loaded"] = len(df)
    lap("load", "clean")

    df = df.drop_duplicates()
    rows["after_drop_duplicates"] = len(df)
    df = df.dropna(subset=DROPNA).reset_index(drop=True)
    rows["after_dropna"] = len(df)
    lap("clean", "validate")

    schema = pa.DataFrameSchema.from_yaml(root / args.schema)
    df, held = quarantine(df, schema)
    df = df.reset_index(drop=True)
    rows["quarantined"], rows["passed_validation"] = len(held), len(df)
    lap("validate", "split")

    idx = stratified_split(df, TARGET, VALID, TEST, SEED)
    summary = split_checks(df, idx, TARGET)
    parts = {name: df.iloc[ix].reset_index(drop=True) for name, ix in idx.items()}
    del df  # only the splits are needed from here on
    rows.update({name: len(part) for name, part in parts.items()})
    lap("split", "profile")

    stats = profile(parts, TARGET)
    lap("profile", "features")

    X_train = parts["train"].drop(columns=[TARGET])
    numeric = [c for c in X_train.select_dtypes(include="number").columns if c != ID]
    transformer = ColumnTransformer(
        [("numeric", Pipeline([("0_impute", SimpleImputer(strategy="median"))]), numeric)],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    transformer.fit(X_train)
    lap("features", "train")

    est = DummyClassifier(strategy="prior", random_state=SEED)
    est.fit(transformer.transform(X_train), parts["train"][TARGET].to_numpy())
    model = Pipeline([("features", transformer), ("model", est)])
    del X_train
    lap("train", "evaluate")

    metrics = {}
    for name in ("valid", "test"):
        X, y = parts[name].drop(columns=[TARGET]), parts[name][TARGET].to_numpy()
        proba = model.predict_proba(X)
        positive = model.classes_.max()
        metrics[name] = {
            "roc_auc": float(skm.roc_auc_score(y == positive, proba[:, -1])),
            "accuracy": float(skm.accuracy_score(y, model.predict(X))),
            "log_loss": float(skm.log_loss(y, proba, labels=model.classes_)),
        }
    lap("evaluate", "persist")

    out = root / args.out
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "profile.json").write_text(json.dumps(stats))
    held.to_parquet(out / "quarantine.parquet", index=False)
    lap("persist", None)

    steps["total_in_process"] = time.perf_counter() - T_START
    result = {"steps": steps, "rows": rows, "metrics": metrics, "overlap": summary["overlap"]}
    print("PLAIN_RESULT " + json.dumps(result, default=lambda v: np.asarray(v).tolist()))


if __name__ == "__main__":
    main()
