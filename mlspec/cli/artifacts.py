"""mlspec artifacts [RUN_ID|latest] [NODE.OUTPUT -o FILE] — list or export a run's artifacts."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from mlspec.cli.main import make_parser
from mlspec.engine.artifacts import export_artifact, find_artifact, resolve_run, run_artifacts
from mlspec.engine.console import make_console
from mlspec.errors import Problem, SpecError
from mlspec.store import Store
from mlspec.tracking import Tracker


def command(argv: list[str]) -> int | None:
    parser = make_parser("artifacts", "List a run's artifacts, or export one (verified) to a file.")
    parser.add_argument("run_id", nargs="?", default="latest")
    parser.add_argument("artifact", nargs="?", help="NODE.OUTPUT, e.g. validate.quarantine")
    parser.add_argument("-o", "--output", help="file to write (.parquet/.csv, .json, .joblib)")
    args = parser.parse_args(argv)
    store = Store.for_project(Path.cwd())
    tracker = Tracker(store.db_path)
    run = resolve_run(tracker, args.run_id)
    artifacts = run_artifacts(tracker, run)
    console = make_console()
    if args.artifact is None:
        table = Table(title=f"artifacts of run {run.run_id}")
        for col in ("artifact", "codec", "bytes", "digest"):
            table.add_column(col)
        for a in artifacts:
            table.add_row(a.name, a.ref.codec, str(a.ref.size), a.ref.digest[:19])
        console.print(table)
        return 0
    artifact = find_artifact(artifacts, args.artifact)
    if not args.output:
        raise SpecError(
            Problem("missing_argument", "where to?", fix=f"add -o FILE to export {artifact.name}")
        )
    path = export_artifact(store, artifact, Path(args.output))
    console.print(f"wrote {artifact.name} ({artifact.ref.codec}) to {path}")
    return 0
