"""Registered mlspec models exported as MLflow pyfunc directories (issue 5, acceptance g).

The models are real: `mlspec run` (the installed CLI, in a subprocess) trains and registers a
LightGBM classifier (breast_cancer) and an XGBoost regressor (diabetes) in a throw-away project;
the exports are loaded back with ``mlflow.pyfunc.load_model`` and must predict exactly what
``mlspec.registry.load_bundle`` predicts on the run's test split.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
from mlflow.models import Model
from mlspec_mlflow.cli import main
from mlspec_mlflow.export import export_pyfunc

from mlspec.registry import load_bundle
from mlspec.registry.register import run_outputs
from mlspec.registry.registry import Registry
from mlspec.store import Store
from mlspec.store.actions import ArtifactRef
from mlspec.tracking import Tracker

REPO = Path(__file__).resolve().parents[3]
SPECS = {
    "bc_reg.yaml": "defaults: [breast_cancer, _self_]\nregister: {name: bc_clf, alias: champion}\n",
    "diab_reg.yaml": "defaults: [diabetes, _self_]\nregister: {name: diab_reg}\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project in which `mlspec run` registered bc_clf:1 (@champion) and diab_reg:1."""
    root = tmp_path_factory.mktemp("export_project")
    shutil.copytree(REPO / "conf", root / "conf")
    shutil.copytree(REPO / "schemas", root / "schemas")
    for name, text in SPECS.items():
        (root / "conf" / name).write_text(text)
    exe = shutil.which("mlspec", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "mlspec"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLSPEC_", "PYTHONPATH"))}
    for spec in ("bc_reg", "diab_reg"):
        done = subprocess.run(
            [*command, "run", f"conf={spec}", "model.n_estimators=20"],
            cwd=root,
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and "registered" in done.stdout, done.stdout + done.stderr
    return root


@pytest.fixture(autouse=True)
def allow_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow 3.17 refuses to deserialize any scikit-learn model, skops included, unless told to.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


def _test_rows(root: Path, ref: str):
    """The test split of the run that registered ``ref``, target column included."""
    run_id = load_bundle(ref, root).metadata["run_id"]
    store = Store.for_project(root)
    outputs = run_outputs(Tracker(store.db_path), run_id)
    return store.load(ArtifactRef.from_dict(outputs["split.test"]))


def test_exported_lightgbm_classifier_predicts_exactly_what_mlspec_predicts(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bc_model"
    main(["export", "bc_clf@champion", "-o", str(out), "--project", str(project)])
    printed = capsys.readouterr().out
    version = Registry.for_project(project).resolve("bc_clf@champion")
    assert f"exported bc_clf:1 to {out}" in printed and "skops" in printed, printed

    rows = _test_rows(project, "bc_clf:1")
    bundle = load_bundle("bc_clf:1", project)
    exported = mlflow.pyfunc.load_model(str(out))
    predicted = exported.predict(rows)  # the target column is extra: MLflow drops it
    assert len(rows) > 100 and set(np.unique(predicted)) == {0, 1}
    assert np.array_equal(predicted, bundle.predict(rows))

    meta = Model.load(str(out))
    assert meta.flavors["sklearn"]["serialization_format"] == "skops"
    assert "lightgbm.sklearn.LGBMClassifier" in meta.flavors["sklearn"]["skops_trusted_types"]
    assert meta.metadata["mlspec"]["bundle_digest"] == version.bundle_digest
    assert meta.metadata["mlspec"]["model_digest"] == bundle.model_digest
    assert (meta.metadata["mlspec"]["name"], meta.metadata["mlspec"]["version"]) == ("bc_clf", 1)
    inputs = meta.signature.inputs
    assert inputs.input_names() == bundle.feature_names
    assert {t.name for t in inputs.input_types()} == {"double"}
    assert meta.load_input_example(str(out)).columns.tolist() == bundle.feature_names
    requirements = (out / "requirements.txt").read_text().split()
    assert set(bundle.requirements) <= set(requirements) and "lightgbm==" in " ".join(requirements)
    assert [r for r in requirements if r.startswith("mlflow==")]

    # Probabilities instead of labels: pyfunc's predict then calls predict_proba.
    proba_dir = tmp_path / "bc_proba"
    result = export_pyfunc("bc_clf:1", proba_dir, project_root=project, predict_fn="predict_proba")
    assert result.serialization_format == "skops" and result.fallback_reason is None
    probabilities = mlflow.pyfunc.load_model(str(proba_dir)).predict(rows)
    assert probabilities.shape == (len(rows), 2)
    assert np.array_equal(probabilities, bundle.predict_proba(rows))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bc_model", "bc_proba"]  # no staging


def test_exported_xgboost_regressor_predicts_exactly_what_mlspec_predicts(
    project: Path, tmp_path: Path
) -> None:
    result = export_pyfunc("diab_reg", tmp_path / "diab", project_root=project)
    assert (result.name, result.version, result.serialization_format) == ("diab_reg", 1, "skops")
    rows = _test_rows(project, "diab_reg:1")
    exported = mlflow.pyfunc.load_model(str(result.path))
    expected = load_bundle("diab_reg:1", project).predict(rows)
    assert np.array_equal(exported.predict(rows), expected)
    assert len(np.unique(expected)) > 10  # real regression output, not a constant
    meta = Model.load(str(result.path))
    assert [t.name for t in meta.signature.outputs.input_types()] == ["double"]
    assert "xgboost==" in (result.path / "requirements.txt").read_text()

    # Forced cloudpickle (the fallback for bundles skops cannot hold), with an example from a
    # CSV file: same predictions, and the MLmodel says which format it is.
    example = tmp_path / "example.csv"
    rows.head(3).to_csv(example, index=False)
    out = tmp_path / "diab_pickle"
    args = ["--project", str(project), "--format", "cloudpickle", "--example", str(example)]
    main(["export", "diab_reg:1", "-o", str(out), *args])
    meta = Model.load(str(out))
    assert meta.flavors["sklearn"]["serialization_format"] == "cloudpickle"
    assert meta.metadata["mlspec"]["serialization_format"] == "cloudpickle"
    assert "cloudpickle==" in (out / "requirements.txt").read_text()
    assert len(meta.load_input_example(str(out))) == 3
    assert np.array_equal(mlflow.pyfunc.load_model(str(out)).predict(rows), expected)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def test_a_tampered_bundle_is_refused_before_anything_is_decoded_or_written(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "project"
    shutil.copytree(project / ".mlspec", root / ".mlspec")
    registry = Registry.for_project(root)
    manifest, _ = registry.read_bundle(registry.resolve("bc_clf:1"))
    model_file = manifest["model"]["file"]
    _flip_one_byte(registry.store.objects.path_for(manifest["files"][model_file]["digest"]))

    import mlflow.sklearn
    import skops.io

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded or saved a tampered bundle")

    for module, name in ((skops.io, "load"), (skops.io, "loads"), (mlflow.sklearn, "save_model")):
        monkeypatch.setattr(module, name, boom)

    out = tmp_path / "exports" / "bc_model"
    with pytest.raises(SystemExit) as exited:
        main(["export", "bc_clf@champion", "-o", str(out), "--project", str(root)])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert f"{model_file} does not match its digest" in err and "refusing to load it" in err, err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "exports").exists()


def test_an_existing_output_directory_is_not_overwritten(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exited:
        main(["export", "bc_clf:1", "-o", str(out), "--project", str(project)])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "already exists; refusing to overwrite it" in err and "fix:" in err, err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
