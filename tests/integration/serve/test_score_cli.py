"""`mlspec score`: chunks, parquet/CSV in and out, the id column carried through, the same
numbers as the fitted model; bad input is exit 2 with a clear message and no output file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import run_cli, show
from serve_helpers import bc_frame, diab_frame

from mlspec.cli.main import main
from mlspec.serve.pipeline import ScoringPipeline


def score(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as exit_:
        main(["score", *args])
    return int(exit_.value.code or 0)


def test_chunks_formats_id_column_and_same_numbers_as_the_model(
    serve_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = bc_frame()
    frame.insert(0, "patient", [f"p{i}" for i in range(len(frame))])
    frame.to_csv(serve_project / "bc.csv", index=False)
    frame.to_parquet(serve_project / "bc.parquet")
    model = ScoringPipeline.load("bc_clf:1", serve_project).model
    X = frame.drop(columns=["patient", "target"])
    want = model.predict_proba(X)

    assert (
        score(
            serve_project,
            monkeypatch,
            "bc_clf@champion",
            "bc.csv",
            "-o",
            "out.parquet",
            "--id-column",
            "patient",
            "--probabilities",
            "--chunk-size",
            "100",
        )
        == 0
    )
    assert "scored 569 rows with bc_clf:1" in capsys.readouterr().out
    out = pd.read_parquet(serve_project / "out.parquet")
    assert list(out.columns) == ["patient", "prediction", "proba_0", "proba_1"]
    assert out["patient"].tolist() == frame["patient"].tolist()
    np.testing.assert_array_equal(out[["proba_0", "proba_1"]].to_numpy(), want)
    np.testing.assert_array_equal(out["prediction"].to_numpy(), model.predict(X))

    assert (
        score(
            serve_project,
            monkeypatch,
            "bc_clf:1",
            "bc.parquet",
            "-o",
            "out.csv",
            "--chunk-size",
            "200",
        )
        == 0
    )
    csv = pd.read_csv(serve_project / "out.csv")
    assert list(csv.columns) == ["prediction"]
    np.testing.assert_array_equal(csv["prediction"].to_numpy(), model.predict(X))


def test_regressor_with_string_column(serve_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = diab_frame()
    frame.to_csv(serve_project / "diab.csv", index=False)
    assert score(serve_project, monkeypatch, "diab_reg", "diab.csv", "-o", "diab_out.csv") == 0
    model = ScoringPipeline.load("diab_reg:1", serve_project).model
    got = pd.read_csv(serve_project / "diab_out.csv")["prediction"].to_numpy()
    np.testing.assert_allclose(
        got, model.predict(frame.drop(columns=["target"])), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["nope.parquet", "-o", "o.parquet"], "input file 'nope.parquet' does not exist"),
        ("drop", ["bad.csv", "-o", "o.parquet"], "column 'mean radius' is missing from bad.csv"),
        (
            "id",
            ["bad.csv", "-o", "o.parquet", "--id-column", "patient"],
            "id column 'patient' is not in bad.csv",
        ),
        (
            "text",
            ["bad.csv", "-o", "o.parquet", "--chunk-size", "50"],
            "column 'mean area', row 301: expected a number, got 'lots'",
        ),
        ("ok", ["bad.csv", "-o", "o.txt"], "cannot tell the format of the output file 'o.txt'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    serve_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str | None,
    args: list[str],
    message: str,
) -> None:
    frame = bc_frame().drop(columns=["target"])
    if setup == "drop":
        frame = frame.drop(columns=["mean radius"])
    if setup == "text":
        frame["mean area"] = frame["mean area"].astype(object)
        frame.loc[300, "mean area"] = "lots"  # in the 7th chunk: earlier chunks were written
    frame.to_csv(serve_project / "bad.csv", index=False)
    (serve_project / "o.parquet").unlink(missing_ok=True)
    assert score(serve_project, monkeypatch, "bc_clf@champion", *args) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (serve_project / "o.parquet").exists()
    assert not list(serve_project.glob(".o.*.tmp-*"))  # no temporary file left behind


def test_score_subprocess_exit_code(serve_project: Path) -> None:
    result = run_cli(["score", "bc_clf@champion", "missing.csv", "-o", "x.csv"], cwd=serve_project)
    assert result.returncode == 2, show(result)
    assert "does not exist" in result.stderr and not (serve_project / "x.csv").exists()


def test_output_directories_are_created_and_removed_again_when_scoring_fails(
    serve_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = bc_frame().drop(columns=["target"])
    frame.to_csv(serve_project / "good.csv", index=False)
    out = Path("preds") / "2026-11-27" / "scores.parquet"
    assert score(serve_project, monkeypatch, "bc_clf@champion", "good.csv", "-o", str(out)) == 0
    assert len(pd.read_parquet(serve_project / out)) == len(frame)

    bad = frame.astype({"mean area": object})
    bad.loc[300, "mean area"] = "lots"  # fails in a later chunk, after earlier ones were written
    bad.to_csv(serve_project / "bad.csv", index=False)
    args = ["bad.csv", "-o", "new/nested/scores.parquet", "--chunk-size", "50"]
    assert score(serve_project, monkeypatch, "bc_clf@champion", *args) == 2
    assert "expected a number, got 'lots'" in " ".join(capsys.readouterr().err.split())
    assert not (serve_project / "new").exists()  # nothing half-written, not even the directories


def test_an_output_path_under_a_file_is_a_clear_error(
    serve_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bc_frame().drop(columns=["target"]).to_csv(serve_project / "good.csv", index=False)
    (serve_project / "taken").write_text("a file\n")
    args = ["good.csv", "-o", "taken/sub/scores.csv"]
    assert score(serve_project, monkeypatch, "bc_clf@champion", *args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot create the output directory 'taken/sub': 'taken' is a file" in err, err
    assert "Traceback" not in err
    assert (serve_project / "taken").read_text() == "a file\n"
