"""Data preparation end to end (data-prep acceptance a and f): dirty data under `fail` and
`quarantine`, exact quarantined row sets, and row accounting that closes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml
from e2e_helpers import FAST, REPO, run_cli, show

FRACTION_PER_KIND = 7  # x 3 invalid kinds + 7 duplicates = 28 rows, ~5% of 569


def _dirty_breast_cancer(root: Path) -> dict[str, set[tuple[float, ...]]]:
    """Write data/dirty.csv and a coercing copy of the repo's schema; return the injected rows."""
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame
    rng = pd.Series(range(len(df))).sample(frac=1.0, random_state=3).tolist()
    missing, negative, wrong_type, dup_src = (
        rng[i * FRACTION_PER_KIND : (i + 1) * FRACTION_PER_KIND] for i in range(4)
    )
    dirty = df.astype({"worst area": "object"})
    dirty.loc[missing, "mean radius"] = float("nan")  # non-nullable
    dirty.loc[negative, "mean texture"] = -1.0  # greater_than_or_equal_to(0)
    dirty.loc[wrong_type, "worst area"] = "n/a"  # not a float
    dirty = pd.concat([dirty, dirty.loc[dup_src]], ignore_index=True)  # exact duplicates
    (root / "data").mkdir()
    dirty.to_csv(root / "data" / "dirty.csv", index=False)

    schema = yaml.safe_load((REPO / "schemas" / "breast_cancer.yaml").read_text())
    schema["coerce"] = True  # wrong-typed values become row-level failures, so quarantinable
    (root / "schemas" / "coerced.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))

    def key_rows(rows: list[int]) -> set[tuple[float, ...]]:
        return {_key(df.loc[i]) for i in rows}

    return {
        "invalid": key_rows(missing + negative + wrong_type),
        "missing": key_rows(missing),
        "negative": key_rows(negative),
        "wrong_type": key_rows(wrong_type),
    }


def _key(row: pd.Series) -> tuple[float, ...]:
    """Identify a row by columns the injection never touches."""
    return tuple(round(float(row[c]), 6) for c in ("mean perimeter", "mean area", "worst radius"))


def _spec(root: Path, policy: str) -> None:
    text = (root / "conf" / "breast_cancer.yaml").read_text()
    text = text.replace(
        "source: {kind: sklearn, name: breast_cancer}", "source: {kind: csv, path: data/dirty.csv}"
    )
    text = text.replace("schema: schemas/breast_cancer.yaml", "schema: schemas/coerced.yaml")
    text = text.replace("on_invalid: fail", f"on_invalid: {policy}\n  clean: [drop_duplicates]")
    assert "data/dirty.csv" in text and "coerced.yaml" in text and "drop_duplicates" in text
    (root / "conf" / "dirty.yaml").write_text(text)


@pytest.fixture
def dirty(project: Path) -> tuple[Path, dict[str, set[tuple[float, ...]]]]:
    return project, _dirty_breast_cancer(project)


def test_fail_policy_exits_1_with_a_table_of_failing_checks(dirty) -> None:
    root, _ = dirty
    _spec(root, "fail")
    result = run_cli(["run", "conf=dirty", *FAST], cwd=root)
    assert result.returncode == 1, show(result)
    err = result.stderr
    assert "Traceback" not in err + result.stdout
    for column in ("mean radius", "mean texture", "worst area"):
        assert column in err, show(result)
    assert err.count(f"failed for {FRACTION_PER_KIND} rows") >= 2, show(result)
    assert "greater_than_or_equal_to" in err


def test_quarantine_holds_exactly_the_injected_invalid_rows_and_accounting_closes(dirty) -> None:
    root, injected = dirty
    _spec(root, "quarantine")
    result = run_cli(["run", "conf=dirty", *FAST], cwd=root)
    assert result.returncode == 0, show(result)

    out = root / "quarantine.parquet"
    export = run_cli(["artifacts", "latest", "validate.quarantine", "-o", str(out)], cwd=root)
    assert export.returncode == 0, show(export)
    quarantined = pd.read_parquet(out)
    assert {_key(r) for _, r in quarantined.iterrows()} == injected["invalid"]
    assert len(quarantined) == len(injected["invalid"])
    reasons = dict(
        zip(
            map(_key, (r for _, r in quarantined.iterrows())),
            quarantined["_mlspec_reason"],
            strict=True,
        )
    )
    assert all("mean radius" in reasons[k] for k in injected["missing"])
    assert all("mean texture" in reasons[k] for k in injected["negative"])
    assert all("worst area" in reasons[k] for k in injected["wrong_type"])

    n_in = 569 + FRACTION_PER_KIND
    n_quarantined = 3 * FRACTION_PER_KIND
    n_valid = n_in - FRACTION_PER_KIND - n_quarantined
    line = (
        f"{n_in} in = {n_valid} valid + {n_quarantined} quarantined"
        f" + {FRACTION_PER_KIND} removed by cleaning: closes"
    )
    assert line in result.stdout, show(result)
    with sqlite3.connect(root / ".mlspec" / "mlspec.db") as db:
        rows = db.execute(
            "SELECT step, rows_in, rows_out, removed FROM row_accounting ORDER BY position"
        ).fetchall()
    assert rows == [
        ("clean: drop_duplicates", n_in, n_in - FRACTION_PER_KIND, FRACTION_PER_KIND),
        ("validate", n_in - FRACTION_PER_KIND, n_valid, n_quarantined),
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda root: (root / "data" / "dirty.csv").unlink(),
            ["data/dirty.csv", "does not exist", "key 'data.source.path'"],
            id="missing-file",
        ),
        pytest.param(
            lambda root: (root / "data" / "dirty.csv").write_bytes(bytes(range(256)) * 40),
            ["dirty.csv", "key 'data.source.path'"],
            id="unreadable-file",
        ),
        pytest.param(
            lambda root: (root / "schemas" / "coerced.yaml").write_text("columns: [unclosed\n"),
            ["coerced.yaml", "key 'data.schema'"],
            id="invalid-schema-yaml",
        ),
        pytest.param(
            lambda root: (root / "conf" / "dirty.yaml").write_text(
                (root / "conf" / "dirty.yaml")
                .read_text()
                .replace(
                    "numeric: {columns: auto", "numeric: {columns: [mean radius, no such column]"
                )
            ),
            ["no such column", "key 'features.numeric"],
            id="spec-column-absent-from-data",
        ),
    ],
)
def test_bad_data_inputs_exit_2_naming_what_and_where(dirty, mutate, expected) -> None:
    root, _ = dirty
    _spec(root, "quarantine")
    mutate(root)
    result = run_cli(["run", "conf=dirty", *FAST], cwd=root)
    assert result.returncode == 2, show(result)
    assert "Traceback" not in result.stdout + result.stderr
    for fragment in expected:
        assert fragment in result.stderr, show(result)
    assert "fix:" in result.stderr


def test_callable_source_from_a_project_module_is_fingerprinted_by_its_code(project: Path) -> None:
    """`kind: callable` imports a function from the project (as `python -m` would) and its code
    enters the load stage's key: editing the function reloads, a comment edit does not."""
    module = project / "synthetic_data.py"
    module.write_text(
        "import pandas as pd\n"
        "from sklearn.datasets import make_classification\n\n"
        "def make(n_rows, seed=0):\n"
        "    X, y = make_classification(n_samples=n_rows, n_features=6, random_state=seed)\n"
        "    df = pd.DataFrame(X, columns=[f'x{i}' for i in range(6)])\n"
        "    df['target'] = y\n"
        "    return df\n"
    )
    (project / "conf" / "synth.yaml").write_text(
        "defaults:\n  - model: lightgbm\n  - _self_\n"
        "name: synth\nseed: 1\n"
        "data:\n"
        "  source: {kind: callable, _target_: synthetic_data.make, kwargs: {n_rows: 400}}\n"
        "  split: {kind: stratified}\n"
        "  target: target\n"
    )
    first = run_cli(["run", "conf=synth", *FAST], cwd=project)
    assert first.returncode == 0, show(first)
    assert "7 ran" in first.stdout, show(first)

    module.write_text(module.read_text() + "# a comment changes nothing\n")
    again = run_cli(["run", "conf=synth", *FAST], cwd=project)
    assert "7 cached, 0 ran" in again.stdout, show(again)

    module.write_text(module.read_text().replace("n_features=6", "n_features=6, flip_y=0.2"))
    plan = run_cli(["plan", "conf=synth", "--json"], cwd=project)
    assert plan.returncode == 0, show(plan)
    load = next(s for s in json.loads(plan.stdout)["stages"] if s["name"] == "load")
    assert load["status"] == "miss" and "code" in load["reason"], load
