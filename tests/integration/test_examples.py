"""The repository's example specs run as the README says (from the project root)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_cli, show


@pytest.fixture
def repo_like(tmp_path: Path) -> Path:
    for part in ("conf", "schemas", "examples"):
        shutil.copytree(REPO / part, tmp_path / part)
    return tmp_path


def test_fraud_example_cleans_quarantines_and_accounts_for_every_row(repo_like: Path) -> None:
    result = run_cli(["run", "conf=fraud", "model.n_estimators=30"], cwd=repo_like)
    assert result.returncode == 0, show(result)
    # 20,000 generated rows + 600 replayed: 600 duplicates removed, 4 x 600 dirty values of
    # which 1,800 break the schema (negative, missing amounts, bad countries; the re-cased
    # merchants are repaired by normalize_text).
    assert "20600 in = 18200 valid + 1800 quarantined + 600 removed by cleaning: closes" in (
        result.stdout
    ), show(result)
    assert "pr_auc" in result.stdout


def test_diabetes_example_regression(repo_like: Path) -> None:
    result = run_cli(["run", "conf=diabetes", "model.n_estimators=20"], cwd=repo_like)
    assert result.returncode == 0, show(result)
    assert "rmse" in result.stdout
