"""Gates, registration, aliases and reproduce through the real CLI (acceptance c and f).

The spec `reg` is breast_cancer plus gates and a `register:` section, composed through Hydra's
defaults list, so the stages before `register` are the cached ones of the shared warm project.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from e2e_helpers import FAST, ok, run_cli, runs, show, write

REG = """
defaults:
  - breast_cancer
  - _self_
evaluate:
  gates:
    - {metric: roc_auc, min: 0.9}
    - {metric: roc_auc, max_drop: 0.005}
register: {name: bc_clf, alias: champion, tags: {team: diagnostics}}
"""
# Far fewer, slower trees: clearly worse than the champion (test ROC-AUC drops by ~0.04).
WORSE = ("model.n_estimators=3", "model.learning_rate=0.01")


def _versions(root: Path) -> list[tuple[str, int]]:
    db = root / ".mlspec" / "mlspec.db"
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "model_versions" not in tables:
            return []
        return conn.execute("SELECT name, version FROM model_versions ORDER BY version").fetchall()
    finally:
        conn.close()


def _models(root: Path) -> list[dict]:
    return json.loads(ok(run_cli(["models", "ls", "--json"], cwd=root)).stdout)


def _champion(root: Path) -> int:
    conn = sqlite3.connect(root / ".mlspec" / "mlspec.db")
    try:
        (version,) = conn.execute(
            "SELECT version FROM model_aliases WHERE name = 'bc_clf' AND alias = 'champion'"
        ).fetchone()
    finally:
        conn.close()
    return int(version)


def test_register_rerun_refuse_worse_challenger_promote_rollback_reproduce(warm_bc: Path) -> None:
    root = warm_bc
    write(root / "conf" / "reg.yaml", REG)

    first = ok(run_cli(["run", "conf=reg", *FAST], cwd=root))
    assert "registered bc_clf:1" in first.stdout, show(first)
    assert "@champion -> 1" in first.stdout
    assert "no champion yet" in first.stdout
    assert _versions(root) == [("bc_clf", 1)]

    # A rerun with identical inputs: the register stage runs (never a cache hit), finds the
    # identical model and registers nothing new.
    again = ok(run_cli(["run", "conf=reg", *FAST], cwd=root))
    assert "already registered as version 1" in again.stdout, show(again)
    assert "this model is the champion (version 1)" in again.stdout
    assert _versions(root) == [("bc_clf", 1)]

    # Acceptance c: a challenger worse than the champion is refused; the champion stays.
    worse = run_cli(["run", "conf=reg", *FAST, *WORSE], cwd=root)
    assert worse.returncode == 1, show(worse)
    assert "failed gates: not blessed" in worse.stdout
    assert "roc_auc drop <= 0.005 vs champion" in worse.stdout
    assert "champion (version 1)" in worse.stdout
    assert "model 'bc_clf' was not registered" in worse.stderr
    assert "Traceback" not in worse.stderr
    assert _versions(root) == [("bc_clf", 1)]
    assert _champion(root) == 1
    assert runs(root)[-1]["status"] == "failed"

    # The same model without the comparison gate, as a challenger: version 2.
    challenger = ok(
        run_cli(
            ["run", "conf=reg", *FAST, *WORSE, "register.alias=challenger", "evaluate.gates=[]"],
            cwd=root,
        )
    )
    assert "registered bc_clf:2" in challenger.stdout, show(challenger)
    listing = _models(root)
    assert listing[0]["aliases"] == {"champion": 1, "challenger": 2}

    promoted = ok(run_cli(["models", "promote", "bc_clf", "2", "--alias", "champion"], cwd=root))
    assert "bc_clf@champion -> version 2 (was version 1)" in promoted.stdout
    assert _champion(root) == 2
    back = ok(run_cli(["models", "rollback", "bc_clf"], cwd=root))
    assert "version 2 -> 1" in back.stdout
    assert _champion(root) == 1
    nothing = run_cli(["models", "rollback", "bc_clf"], cwd=root)
    assert nothing.returncode == 2 and "no earlier version to roll back to" in nothing.stderr

    typo = run_cli(["models", "show", "bc_clf@champoin"], cwd=root)
    assert typo.returncode == 2, show(typo)
    assert "did you mean 'champion'?" in typo.stderr and "Traceback" not in typo.stderr

    shown = ok(run_cli(["models", "show", "bc_clf:1"], cwd=root)).stdout
    assert "format skops" in shown and "team=diagnostics" in shown and "gates of its run" in shown

    # Acceptance f: rebuilding the champion from its lineage gives the same digest and metrics.
    rebuilt = run_cli(["reproduce", "bc_clf@champion"], cwd=root)
    assert rebuilt.returncode == 0, show(rebuilt)
    assert "reproduced: model digest matches, metrics match" in rebuilt.stdout
    assert "load" in rebuilt.stdout and "miss" in rebuilt.stdout  # recomputed, not cached
    assert "│ NO" not in rebuilt.stdout  # every row of the table matches


def test_impossible_threshold_exits_1_and_registers_nothing(warm_bc: Path) -> None:
    root = warm_bc
    write(root / "conf" / "reg.yaml", REG)
    result = run_cli(
        ["run", "conf=reg", *FAST, "evaluate.gates=[{metric:roc_auc,min:1.01}]"], cwd=root
    )
    assert result.returncode == 1, show(result)
    assert "roc_auc >= 1.01" in result.stdout and "< min 1.01" in result.stdout
    assert "1 of 1 gate(s) failed" in result.stderr
    assert _versions(root) == []
    assert _models(root) == []
    assert runs(root)[-1]["status"] == "failed"
    # `runs show` tells afterwards why the run failed: the gate and its outcome.
    shown = run_cli(["runs", "show", runs(root)[-1]["run_id"]], cwd=root)
    assert shown.returncode == 0, show(shown)
    assert "failed gates: not blessed" in shown.stdout
    assert "roc_auc >= 1.01" in shown.stdout and "1 of 1 gate(s) failed" in shown.stdout


def test_a_sweep_member_that_is_not_blessed_does_not_stop_the_sweep(warm_bc: Path) -> None:
    root = warm_bc
    write(root / "conf" / "reg.yaml", REG)
    result = run_cli(
        ["run", "-m", "conf=reg", "model.n_estimators=20,3", "model.learning_rate=0.1,0.01"],
        cwd=root,
    )
    assert result.returncode == 0, show(result)
    assert "registered bc_clf:1" in result.stdout
    assert "failed gates: not blessed" in result.stdout  # a later, worse member
    assert "sweep summary: 4 members" in result.stdout
    assert _versions(root) == [("bc_clf", 1)]
    assert _champion(root) == 1
    statuses = [r["status"] for r in runs(root)]
    assert statuses.count("failed") == 3 and "interrupted" not in statuses


def test_per_slice_gate_reads_the_evaluate_slices_and_names_the_failing_slice(
    warm_bc: Path,
) -> None:
    root = warm_bc
    write(root / "conf" / "reg.yaml", REG)
    result = run_cli(
        [
            "run",
            "conf=reg",
            *FAST,
            '+evaluate.slices=[{column:"mean radius",bins:2}]',
            "evaluate.gates=[{metric:roc_auc,min:0.97,per_slice:true}]",
        ],
        cwd=root,
    )
    assert result.returncode == 1, show(result)
    failed = [ln for ln in result.stdout.splitlines() if "FAIL" in ln]
    assert len(failed) == 1 and "mean radius=(" in failed[0], show(result)
    assert "1 of 2 gate(s) failed" in result.stderr
    assert _versions(root) == []
