"""Bad input through the real CLI: one clear screen, exit 2, no traceback, nothing written.

Every case runs ``mlspec run`` in a throw-away project (conf/ and schemas/ copied from the
repository) and checks the contract of ``mlspec.errors``: the error names the FILE to edit, the KEY
PATH and the FIX; the exit code is 2; there is no traceback; the ``.mlspec`` store is byte-for-byte
unchanged (or, in a fresh project, not created) and Hydra's ``outputs/`` / ``multirun/`` are not
created, since validation happens before Hydra runs anything.

Cases with ``store=True`` start from a copy of a project holding the store of one successful run.
Cases that fail only in pre-flight (after the plan was walked against the store: estimator class
and parameter checks, multirun sweeps) start from a fresh project instead; see
``test_preflight_failure_with_a_stale_stat_cache_leaves_the_store_alone`` for why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 180
SPEC = "conf/breast_cancer.yaml"


# -- helpers -----------------------------------------------------------------------------------


def mlspec_command() -> list[str]:
    found = shutil.which("mlspec")
    if found:
        return [found]
    sibling = Path(sys.executable).with_name("mlspec")  # the venv's console script
    if sibling.is_file():
        return [str(sibling)]
    return [sys.executable, "-m", "mlspec"]


def run_mlspec(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLSPEC_DEBUG", "HYDRA_FULL_ERROR")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [*mlspec_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def show(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit code {result.returncode}\n--- stdout ---\n{result.stdout[-3000:]}"
        f"\n--- stderr ---\n{result.stderr[-3000:]}"
    )


def fresh_project(root: Path) -> Path:
    for name in ("conf", "schemas"):
        shutil.copytree(REPO / name, root / name)
    return root


def table_rows(db: Path) -> dict[str, int]:
    """Row count of every table, read from a copy so the project's files are never opened."""
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in ("", "-wal"):
            src = db.with_name(db.name + suffix)
            if src.exists():
                shutil.copy2(src, Path(tmp) / src.name)
        conn = sqlite3.connect(Path(tmp) / db.name)
        try:
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = [r[0] for r in conn.execute(query)]
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            conn.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_snapshot(root: Path) -> tuple[list[tuple[str, int, str]], dict[str, int]] | None:
    """(relative path, size, sha256) of every file under .mlspec, plus mlspec.db's row counts."""
    store = root / ".mlspec"
    if not store.exists():
        return None
    files = sorted(
        (p.relative_to(store).as_posix(), p.stat().st_size, sha256(p))
        for p in store.rglob("*")
        if p.is_file()
    )
    db = store / "mlspec.db"
    return files, (table_rows(db) if db.exists() else {})


def bad_spec(root: Path, old: str, new: str, name: str = "bad") -> None:
    """conf/<name>.yaml: conf/breast_cancer.yaml with ``old`` replaced by ``new``."""
    text = (root / SPEC).read_text()
    assert old in text, f"{old!r} is not in {SPEC}: the case needs updating"
    (root / "conf" / f"{name}.yaml").write_text(text.replace(old, new, 1))


def assert_problem(stderr: str, file: str, key: str | None, message: str, fix: str | None) -> None:
    """One rendered Problem: "<file>, key '<key>': <message> [<code>]" then "  fix: <fix>"."""
    lines = stderr.splitlines()
    heads = [
        i
        for i, line in enumerate(lines)
        if message in line and (key is None or f"key '{key}'" in line)
    ]
    assert heads, f"no line with key {key!r} and message {message!r} in:\n{stderr}"
    head = lines[heads[0]]
    assert file in head, f"{file!r} not named in {head!r}"
    if key is None:
        assert ", key '" not in head, head
    if fix is not None:
        nxt = lines[heads[0] + 1] if heads[0] + 1 < len(lines) else ""
        assert nxt.startswith("  fix: "), f"no fix line after {head!r}:\n{stderr}"
        assert fix in nxt, f"{fix!r} not in {nxt!r}"


def assert_nothing_written(
    root: Path, before: object, result: subprocess.CompletedProcess[str]
) -> None:
    after = store_snapshot(root)
    if before is None:
        assert after is None, ".mlspec was created:\n" + show(result)
    else:
        assert after == before, "the store changed:\n" + show(result)
    for hydra_dir in ("outputs", "multirun"):
        assert not (root / hydra_dir).exists(), f"{hydra_dir}/ was created:\n" + show(result)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose store holds one successful breast_cancer run (built once per module)."""
    root = fresh_project(tmp_path_factory.mktemp("spec_errors_store"))
    result = run_mlspec(["run", "conf=breast_cancer", "model.n_estimators=10"], root)
    if result.returncode != 0:
        pytest.fail("the prior successful run failed:\n" + show(result))
    shutil.rmtree(root / "outputs", ignore_errors=True)
    assert store_snapshot(root) is not None
    return root


def project_for(tmp_path: Path, with_store: bool, stored: Path | None) -> Path:
    if with_store:
        assert stored is not None
        shutil.copytree(stored, tmp_path, dirs_exist_ok=True)
    else:
        fresh_project(tmp_path)
    return tmp_path


# -- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # after `mlspec run`
    file: str  # the file (or override) the error must name
    key: str | None  # the key path it must name; None: no key
    message: str
    fix: str | None
    edit: tuple[str, str] | None = None  # conf/bad.yaml = breast_cancer.yaml with old -> new
    files: dict[str, str] = field(default_factory=dict)  # more files to write
    store: bool = True  # start from the project with a prior run's store


BAD = ("conf=bad",)
CASES = [
    # --- the spec file: keys, types, values --------------------------------------------------
    Case(
        "unknown-top-level-key",
        BAD,
        "conf/bad.yaml",
        "sed",
        "unknown key 'sed'",
        "did you mean 'seed'?",
        edit=("seed: 7", "sed: 7"),
    ),
    Case(
        "unknown-nested-key",
        BAD,
        "conf/bad.yaml",
        "data.splt",
        "unknown key 'splt'",
        "did you mean 'split'?",
        edit=("  split:", "  splt:"),
    ),
    Case(
        "unknown-key-in-list-item",
        BAD,
        "conf/bad.yaml",
        "stages[0].use",
        "unknown key 'use'",
        "did you mean 'uses'?",
        edit=("seed: 7", "seed: 7\nstages: [{name: x, use: validate}]"),
    ),
    Case(
        "deploy-target-without-a-model-to-deploy",
        BAD,
        "conf/bad.yaml",
        "deploy.targets.api.model",
        "deploy target 'api' names no model, and the spec registers none",
        "set model: NAME@champion",
        edit=("seed: 7", "seed: 7\ndeploy: {targets: {api: {kind: rest}}}"),
    ),
    Case(
        "wrong-type",
        BAD,
        "conf/bad.yaml",
        "seed",
        "expected an integer, got 'abc'",
        "set 'seed' to an integer",
        edit=("seed: 7", "seed: abc"),
    ),
    Case(
        "wrong-type-union",
        BAD,
        "conf/bad.yaml",
        "features.numeric.columns",
        "expected a list or 'auto', got 'mean radius'",
        "set 'features.numeric.columns' to",
        edit=("numeric: {columns: auto", "numeric: {columns: mean radius"),
    ),
    Case(
        "missing-value",
        BAD,
        "conf/bad.yaml",
        "data.target",
        "required value is missing ('???')",
        "data.target=VALUE",
        edit=("target: target", "target: ???"),
    ),
    Case(
        "missing-key",
        BAD,
        "conf/bad.yaml",
        "data.target",
        "required key is missing",
        "add 'target' to the spec",
        edit=("  target: target\n", ""),
    ),
    Case(
        "bad-literal",
        BAD,
        "conf/bad.yaml",
        "data.split.kind",
        "'strat' is not allowed",
        "did you mean 'stratified'?",
        edit=("kind: stratified", "kind: strat"),
    ),
    Case(
        "split-leaves-no-training-rows",
        BAD,
        "conf/bad.yaml",
        "data.split",
        "valid + test = 1 leaves no training rows",
        "keep it below 1",
        edit=("valid: 0.15, test: 0.2", "valid: 0.5, test: 0.5"),
    ),
    Case(
        "unknown-sklearn-dataset",
        BAD,
        "conf/bad.yaml",
        "data.source.name",
        "unknown scikit-learn dataset 'breast_cancr'",
        "did you mean 'breast_cancer'?",
        edit=("name: breast_cancer}", "name: breast_cancr}"),
    ),
    Case(
        "source-needs-path",
        BAD,
        "conf/bad.yaml",
        "data.source.path",
        "kind 'csv' needs 'path'",
        None,
        edit=("{kind: sklearn, name: breast_cancer}", "{kind: csv}"),
    ),
    Case(
        "unknown-metric",
        BAD,
        "conf/bad.yaml",
        "evaluate.metrics[0]",
        "unknown metric 'roc_au'",
        "did you mean 'roc_auc'?",
        edit=("metrics: [roc_auc,", "metrics: [roc_au,"),
    ),
    Case(
        "unknown-objective",
        BAD,
        "conf/bad.yaml",
        "evaluate.objective",
        "unknown objective 'roc_au'",
        "did you mean 'roc_auc'?",
        edit=("objective: roc_auc", "objective: roc_au"),
    ),
    Case(
        "unknown-feature-step",
        BAD,
        "conf/bad.yaml",
        "features.numeric.steps[1].scal",
        "unknown step 'scal'",
        "did you mean 'scale'?",
        edit=("{scale: standard}", "{scal: standard}"),
    ),
    Case(
        "unknown-feature-step-option",
        BAD,
        "conf/bad.yaml",
        "features.numeric.steps[1].scale",
        "unknown option 'standrd'",
        "did you mean 'standard'?",
        edit=("{scale: standard}", "{scale: standrd}"),
    ),
    Case(
        "unknown-custom-stage",
        BAD,
        "conf/bad.yaml",
        "stages[0].uses",
        "no stage named 'valdate' is installed",
        "did you mean 'validate'?",
        edit=("seed: 7", "seed: 7\nstages: [{name: x, uses: valdate, after: validate}]"),
    ),
    Case(
        "custom-stage-after-names-no-stage",
        BAD,
        "conf/bad.yaml",
        "stages[0].after",
        "'after: valdate' names no stage of the data chain",
        "did you mean 'validate'?",
        edit=("seed: 7", "seed: 7\nstages: [{name: x, uses: validate, after: valdate}]"),
    ),
    Case(
        "unknown-model-option-in-defaults",
        BAD,
        "conf/bad.yaml",
        "model",
        "no config 'lightgbmm' in group 'model'",
        "did you mean 'lightgbm'?",
        edit=("  - model: lightgbm", "  - model: lightgbmm"),
    ),
    Case(
        "missing-defaults-entry",
        BAD,
        "conf/bad.yaml",
        None,
        "the defaults list names 'breast_cancr', which does not exist",
        "did you mean 'breast_cancer'?",
        edit=("  - _self_", "  - _self_\n  - breast_cancr"),
    ),
    Case(
        "missing-config-in-project-model-file",
        ("conf=breast_cancer", "model=mine"),
        "conf/model/mine.yaml",
        "model",
        "no config 'nosuch' in group 'model'",
        "valid choices: lightgbm,",
        files={"conf/model/mine.yaml": "defaults:\n  - /model/nosuch@_here_\n"},
    ),
    Case(
        "bad-yaml-syntax",
        BAD,
        "conf/bad.yaml",
        None,
        "invalid YAML at line 12, column",
        "fix the YAML at line 12",
        edit=("on_invalid: fail", "on_invalid: [fail"),
    ),
    Case(
        "yaml-tab",
        BAD,
        "conf/bad.yaml",
        None,
        "invalid YAML at line 8, column 1",
        "a tab",
        edit=("seed: 7", "seed: 7\n\ttab: 1"),
    ),
    # --- referenced files ----------------------------------------------------------------------
    Case(
        "missing-data-file",
        BAD,
        "conf/bad.yaml",
        "data.source.path",
        "data/nope.csv' does not exist",
        "check the path",
        edit=("{kind: sklearn, name: breast_cancer}", "{kind: csv, path: data/nope.csv}"),
    ),
    Case(
        "missing-schema-file",
        BAD,
        "conf/bad.yaml",
        "data.schema",
        "schemas/nope.yaml' does not exist",
        "check the path",
        edit=("schema: schemas/breast_cancer.yaml", "schema: schemas/nope.yaml"),
    ),
    Case(
        "unknown-spec-name",
        ("conf=breast_cancr",),
        "conf/breast_cancr.yaml",
        None,
        "no spec named 'breast_cancr'",
        "did you mean 'breast_cancer'? specs here: breast_cancer",
    ),
    Case(
        "unknown-spec-path",
        ("conf=conf/nope.yaml",),
        "conf/nope.yaml",
        None,
        "spec file 'conf/nope.yaml' does not exist",
        "relative to the current directory",
    ),
    # --- command-line overrides ----------------------------------------------------------------
    Case(
        "wrong-type-override",
        ("conf=breast_cancer", "seed=abc"),
        "command-line override 'seed=abc'",
        "seed",
        "expected an integer, got 'abc'",
        "set 'seed' to an integer",
    ),
    Case(
        "bad-literal-override",
        ("conf=breast_cancer", "data.split.kind=strat"),
        "command-line override 'data.split.kind=strat'",
        "data.split.kind",
        "'strat' is not allowed",
        "did you mean 'stratified'?",
    ),
    Case(
        "out-of-range-override",
        ("conf=breast_cancer", "data.split.valid=-0.1"),
        "command-line override 'data.split.valid=-0.1'",
        "data.split.valid",
        "-0.1 is out of range",
        "use a number >= 0",
    ),
    Case(
        "unknown-param-override",
        ("conf=breast_cancer", "model.n_estimator=5"),
        "command-line override 'model.n_estimator=5'",
        "model.n_estimator",
        "cannot override 'model.n_estimator'",
        "did you mean 'n_estimators'?",
    ),
    Case(
        "override-key-not-in-spec",
        ("conf=breast_cancer", "data.nosuch=1"),
        "command-line override 'data.nosuch=1'",
        "data.nosuch",
        "cannot override 'data.nosuch'",
        "keys there: clean, on_invalid, schema, source, split, target",
    ),
    Case(
        "override-of-a-defaulted-key-needs-plus",
        ("conf=breast_cancer", "task=regression"),
        "command-line override 'task=regression'",
        "task",
        "'task' is not set in conf/breast_cancer.yaml",
        "+task=regression",
    ),
    Case(
        "plus-on-an-existing-key",
        ("conf=breast_cancer", "+seed=3"),
        "command-line override '+seed=3'",
        "seed",
        "'seed' is already in the spec",
        "drop the '+' (seed=3)",
    ),
    Case(
        "unknown-model-option",
        ("conf=breast_cancer", "model=xgbost"),
        "command-line override 'model=xgbost'",
        "model",
        "no config 'xgbost' in group 'model'",
        "did you mean 'xgboost'?",
    ),
    Case(
        "unknown-hydra-launcher",
        ("conf=breast_cancer", "hydra/launcher=basc"),
        "command-line override 'hydra/launcher=basc'",
        "hydra/launcher",
        "no config 'basc' in group 'hydra/launcher'",
        "did you mean 'basic'?",
    ),
    Case(
        "group-choice-without-a-config",
        ("conf=breast_cancer", "model=null"),
        "command-line override 'model=null'",
        "model",
        "'model' is a config group",
        "valid choices: lightgbm,",
    ),
    Case(
        "delete-of-a-missing-key",
        ("conf=breast_cancer", "~data.targt"),
        "command-line override '~data.targt'",
        "data.targt",
        "'data.targt' does not exist",
        "did you mean 'target'?",
    ),
    Case(
        "bad-interpolation",
        ("conf=breast_cancer", "data.target=${data.nosuch}"),
        "command-line override 'data.target=${data.nosuch}'",
        "data.target",
        "Interpolation key 'data.nosuch' not found",
        "check the ${...} interpolation",
    ),
    Case(
        "bad-override-syntax",
        ("conf=breast_cancer", "model.learning_rate=[0.1"),
        "command-line override 'model.learning_rate=[0.1'",
        None,
        "cannot parse override",
        "write overrides as key=value",
    ),
    Case(
        "override-without-key",
        ("conf=breast_cancer", "=5"),
        "command-line override '=5'",
        None,
        "override has no key",
        "write overrides as key=value",
    ),
    Case(
        "override-without-equals",
        ("conf=breast_cancer", "model.n_estimators"),
        "command-line override 'model.n_estimators'",
        None,
        "no '=' (did you mean model.n_estimators=VALUE?)",
        "write overrides as key=value",
    ),
    Case(
        "sweep-without-multirun",
        ("conf=breast_cancer", "model.learning_rate=0.1,0.2"),
        "command-line override 'model.learning_rate=0.1,0.2'",
        None,
        "lists several values",
        "add -m",
    ),
    Case(
        "unknown-hydra-sweeper-in-multirun",
        ("conf=breast_cancer", "-m", "hydra/sweeper=basc", "seed=1,2"),
        "command-line override 'hydra/sweeper=basc'",
        "hydra/sweeper",
        "no config 'basc' in group 'hydra/sweeper'",
        "did you mean 'basic'?",
    ),
    # --- pre-flight (estimator checks, sweeps): fresh project, no store -----------------------
    Case(
        "unknown-target-class",
        ("conf=breast_cancer", "model._target_=lightgbm.LGBMClassifer"),
        "command-line override 'model._target_=lightgbm.LGBMClassifer'",
        "model._target_",
        "module 'lightgbm' has no class 'LGBMClassifer'",
        "did you mean 'LGBMClassifier'?",
        store=False,
    ),
    Case(
        "unknown-target-module",
        BAD,
        "conf/bad.yaml",
        "model._target_",
        "cannot import module 'lightgbmx'",
        "did you mean 'lightgbm'?",
        edit=("seed: 7", "seed: 7\nmodel:\n  _target_: lightgbmx.LGBMClassifier"),
        store=False,
    ),
    Case(
        "target-without-module",
        ("conf=breast_cancer", "model._target_=LGBMClassifier"),
        "command-line override 'model._target_=LGBMClassifier'",
        "model._target_",
        "unknown estimator class 'LGBMClassifier'",
        "write its full dotted path",
    ),
    Case(
        "unknown-param-added-with-plus",
        ("conf=breast_cancer", "+model.n_estimator=5"),
        "command-line override '+model.n_estimator=5'",
        "model.n_estimator",
        "LGBMClassifier has no parameter 'n_estimator'",
        "did you mean 'n_estimators'?",
        store=False,
    ),
    Case(
        "unknown-param-in-project-model-file",
        ("conf=breast_cancer", "model=mine"),
        "conf/model/mine.yaml",
        "model.n_estimator",
        "LGBMClassifier has no parameter 'n_estimator'",
        "did you mean 'n_estimators'?",
        files={"conf/model/mine.yaml": "_target_: lightgbm.LGBMClassifier\nn_estimator: 5\n"},
        store=False,
    ),
    Case(
        "packaged-preset-param-unknown-to-new-target",
        ("conf=breast_cancer", "model._target_=sklearn.ensemble.RandomForestClassifier"),
        "mlspec/conf/model/lightgbm.yaml (packaged preset)",
        "model.num_leaves",
        "RandomForestClassifier has no parameter 'num_leaves'",
        "RandomForestClassifier takes:",
        store=False,
    ),
    Case(
        "multirun-one-bad-value",
        ("conf=breast_cancer", "-m", "data.split.kind=stratified,strat"),
        "command-line override 'data.split.kind=strat'",
        "data.split.kind",
        "'strat' is not allowed",
        "did you mean 'stratified'?",
        store=False,
    ),
    Case(
        "multirun-one-bad-typed-value",
        ("conf=breast_cancer", "-m", "seed=1,abc"),
        "command-line override 'seed=abc'",
        "seed",
        "expected an integer, got 'abc'",
        "set 'seed' to an integer",
        store=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error_and_writes_nothing(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stored = request.getfixturevalue("stored_project") if case.store else None
    root = project_for(tmp_path, case.store, stored)
    if case.edit:
        bad_spec(root, *case.edit)
    for rel, text in case.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    before = store_snapshot(root)
    assert (before is not None) == case.store

    result = run_mlspec(["run", *case.args], root)

    assert result.returncode == 2, show(result)
    assert "Traceback" not in result.stdout + result.stderr, show(result)
    assert result.stderr.startswith("spec error"), show(result)
    assert_problem(result.stderr, case.file, case.key, case.message, case.fix)
    assert_nothing_written(root, before, result)


def test_plan_reports_the_same_error(tmp_path: Path) -> None:
    root = fresh_project(tmp_path)
    bad_spec(root, "kind: stratified", "kind: strat")
    ran = run_mlspec(["run", "conf=bad"], root)
    planned = run_mlspec(["plan", "conf=bad"], root)
    assert planned.returncode == 2, show(planned)
    assert "Traceback" not in planned.stdout + planned.stderr, show(planned)
    assert_problem(
        planned.stderr,
        "conf/bad.yaml",
        "data.split.kind",
        "'strat' is not allowed",
        "did you mean 'stratified'?",
    )
    assert planned.stderr == ran.stderr
    assert_nothing_written(root, None, planned)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    root = fresh_project(tmp_path)
    result = run_mlspec(["--debug", "run", "conf=breast_cancer", "sed=1"], root)
    assert result.returncode == 2, show(result)
    assert "Traceback" in result.stderr, show(result)
    assert "SpecError" in result.stderr, show(result)
    assert_problem(
        result.stderr,
        "command-line override 'sed=1'",
        "sed",
        "cannot override 'sed'",
        "did you mean 'seed'?",
    )
    assert_nothing_written(root, None, result)


# -- checks that need the engine and the stages' pre-flight ---------------------------------


def test_preflight_failure_with_a_stale_stat_cache_leaves_the_store_alone(
    tmp_path: Path, stored_project: Path
) -> None:
    root = project_for(tmp_path, True, stored_project)  # a copy: every stat-cache entry is stale
    before = store_snapshot(root)
    typo = "model._target_=lightgbm.LGBMClassifer"
    result = run_mlspec(["run", "conf=breast_cancer", typo], root)
    assert result.returncode == 2, show(result)
    assert_problem(
        result.stderr,
        "command-line override",
        "model._target_",
        "has no class 'LGBMClassifer'",
        "did you mean 'LGBMClassifier'?",
    )
    assert_nothing_written(root, before, result)


def test_sweep_with_a_bad_estimator_value_fails_before_any_job(tmp_path: Path) -> None:
    root = fresh_project(tmp_path)
    result = run_mlspec(
        ["run", "conf=breast_cancer", "-m", "model.learning_rate=0.1,abc", "model.n_estimators=5"],
        root,
    )
    assert result.returncode == 2, show(result)
    assert "model.learning_rate" in result.stderr, show(result)
    assert_nothing_written(root, None, result)


def test_unknown_inline_schema_dtype_fails_before_anything_runs(tmp_path: Path) -> None:
    root = fresh_project(tmp_path)
    bad_spec(
        root, "schema: schemas/breast_cancer.yaml", "schema: {columns: {target: {dtype: int46}}}"
    )
    result = run_mlspec(["run", "conf=bad"], root)
    assert result.returncode == 2, show(result)
    assert_problem(
        result.stderr, "conf/bad.yaml", "data.schema.columns.target.dtype", "int46", None
    )
    assert_nothing_written(root, None, result)
