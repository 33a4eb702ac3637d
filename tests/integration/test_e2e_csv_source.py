"""External data files are part of the cache key by *content* (DESIGN §3): one changed byte
reruns everything; a new mtime with the same bytes reruns nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from e2e_helpers import FAST, STAGES, ok, plan_json, stage_runs, statuses, write

CSV_SPEC = """
    # breast_cancer read from a CSV file instead of scikit-learn's bundled copy.
    defaults:
      - model: lightgbm
      - _self_

    name: bc-csv
    seed: 7
    data:
      source: {kind: csv, path: data/bc.csv}
      schema: schemas/breast_cancer.yaml
      on_invalid: fail
      split: {kind: stratified, valid: 0.15, test: 0.2}
      target: target
    features:
      numeric: {columns: auto, steps: [{impute: median}, {scale: standard}]}
    evaluate:
      metrics: [roc_auc, accuracy]
"""


def _write_csv(path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    path.parent.mkdir(parents=True, exist_ok=True)
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)


def _first_training_row(root: Path, csv: Path) -> int:
    """Index (0-based, data rows) in the CSV of a row the split put in the training set.

    The changed value must reach the training set: a change only in test rows would rightly
    leave train (and features) cached.
    """
    import pandas as pd

    split = next(r for r in stage_runs(root) if r["node"] == "split")
    digest = json.loads(split["outputs_json"])["train"]["digest"].split(":", 1)[1]
    train = pd.read_feather(root / ".mlspec" / "objects" / digest[:2] / digest)  # Arrow IPC
    data = pd.read_csv(csv)  # the same parser the load stage uses
    row = train.iloc[0]
    matches = data.index[(data[train.columns] == row).all(axis=1)]
    assert len(matches) == 1, f"cannot locate the first training row in the CSV: {matches}"
    return int(matches[0])


def _bump_one_digit(csv: Path, row: int) -> None:
    """Change the last digit of the row's first value ('mean radius'), which stays valid."""
    lines = csv.read_bytes().split(b"\n")
    fields = lines[row + 1].split(b",")
    value = fields[0]
    last = value[-1:]
    assert last.isdigit(), value
    new_digit = b"8" if last == b"9" else bytes([last[0] + 1])
    fields[0] = value[:-1] + new_digit
    lines[row + 1] = b",".join(fields)
    before = csv.stat().st_size
    csv.write_bytes(b"\n".join(lines))
    assert csv.stat().st_size == before  # exactly one byte differs


@pytest.mark.slow
def test_csv_content_change_reruns_everything_and_touch_reruns_nothing(
    project: Path, mlspec
) -> None:
    write(project / "conf" / "bc_csv.yaml", CSV_SPEC)
    csv = project / "data" / "bc.csv"
    _write_csv(csv)

    ok(mlspec("run", "conf=bc_csv", *FAST))
    assert statuses(project) == dict.fromkeys(STAGES, "miss")

    # One byte of the file changes (a value of a training row): load's input changed.
    _bump_one_digit(csv, _first_training_row(project, csv))
    plan = plan_json(project, "conf=bc_csv", *FAST)
    assert plan["load"]["status"] == "miss"
    reason = plan["load"]["reason"]
    assert "external file" in reason and "content" in reason, reason
    assert all(s["status"] == "miss" for s in plan.values()), plan

    ok(mlspec("run", "conf=bc_csv", *FAST))
    assert statuses(project) == dict.fromkeys(STAGES, "miss")

    # Same bytes, new mtime: rehashed through the stat cache, same digest, nothing reruns.
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert {n: s["status"] for n, s in plan_json(project, "conf=bc_csv", *FAST).items()} == (
        dict.fromkeys(STAGES, "hit")
    )
    ok(mlspec("run", "conf=bc_csv", *FAST))
    assert statuses(project) == dict.fromkeys(STAGES, "hit")
