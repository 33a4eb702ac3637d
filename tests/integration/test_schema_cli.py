"""`mlspec schema infer` through the real CLI, in a subprocess, in a throw-away directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
from e2e_helpers import run_cli, show


@pytest.fixture(scope="module")
def bc_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast_cancer with a string id column and a category column, as a CSV."""
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame
    df.insert(0, "patient_id", [f"P-{i:05d}" for i in range(len(df))])
    df["site"] = pd.Categorical(["north", "south", "east"] * (len(df) // 3) + ["north"] * 2)
    path = tmp_path_factory.mktemp("bc_csv") / "data.csv"
    df.to_csv(path, index=False)
    return path


def _infer(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["schema", "infer", *args], cwd=cwd, timeout=120)


def test_infer_writes_a_schema_that_validates_its_data(tmp_path: Path, bc_csv: Path) -> None:
    (tmp_path / "data.csv").write_bytes(bc_csv.read_bytes())
    proc = _infer(tmp_path, "data.csv", "-o", "schemas/x.yaml")
    assert proc.returncode == 0, show(proc)
    out = tmp_path / "schemas" / "x.yaml"
    assert "schemas/x.yaml" in proc.stderr
    schema = pa.DataFrameSchema.from_yaml(out)
    data = pd.read_csv(tmp_path / "data.csv")
    assert list(schema.columns) == list(data.columns)
    assert all(column.coerce for column in schema.columns.values())
    validated = schema.validate(data, lazy=True)
    assert len(validated) == len(data)


def test_infer_to_stdout(tmp_path: Path, bc_csv: Path) -> None:
    proc = _infer(tmp_path, str(bc_csv), "--rows", "50")
    assert proc.returncode == 0, show(proc)
    assert proc.stdout.startswith("# pandera schema inferred")
    assert "(50 rows)" in proc.stdout
    assert "patient_id" in pa.DataFrameSchema.from_yaml(proc.stdout).columns


def test_existing_output_needs_force(tmp_path: Path, bc_csv: Path) -> None:
    target = tmp_path / "schemas" / "x.yaml"
    target.parent.mkdir()
    target.write_text("# mine\n")
    proc = _infer(tmp_path, str(bc_csv), "-o", "schemas/x.yaml")
    assert proc.returncode == 2, show(proc)
    assert "schemas/x.yaml" in proc.stderr
    assert "--force" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert target.read_text() == "# mine\n"
    proc = _infer(tmp_path, str(bc_csv), "-o", "schemas/x.yaml", "--force")
    assert proc.returncode == 0, show(proc)
    pa.DataFrameSchema.from_yaml(target)


def test_missing_data_exits_2_naming_the_file(tmp_path: Path) -> None:
    proc = _infer(tmp_path, "nope.csv", "-o", "x.yaml")
    assert proc.returncode == 2, show(proc)
    assert "nope.csv" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_unreadable_data_exits_2(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_text("this is not parquet")
    proc = _infer(tmp_path, "broken.parquet")
    assert proc.returncode == 2, show(proc)
    assert "broken.parquet" in proc.stderr
    assert "Traceback" not in proc.stderr
