"""mlspec-mlflow mirror --tracking-uri URI [--project DIR] [--filter F] [RUN_ID ...]
mlspec-mlflow export NAME[:VERSION|@ALIAS] -o DIR [--predict-fn predict_proba] [--example FILE]

``mirror`` copies mlspec runs to MLflow (see :mod:`mlspec_mlflow.mirror`); ``export`` writes a
registered version as an MLflow pyfunc model directory (see :mod:`mlspec_mlflow.export`).
Errors print one screen, no traceback, and exit non-zero, like mlspec's own commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlspec.errors import MlspecError
from mlspec.store import Store
from mlspec_mlflow.export import FORMATS, PREDICT_FNS
from mlspec_mlflow.mirror import ARTIFACT_MODES, mirror_runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="mlspec-mlflow", description="MLflow interop for mlspec projects."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mirror = sub.add_parser("mirror", help="copy mlspec runs to an MLflow tracking URI")
    mirror.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="runs (ids or prefixes)")
    mirror.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="e.g. sqlite:///mlflow.db or http://host:5000 (default: $MLFLOW_TRACKING_URI)",
    )
    mirror.add_argument("--project", default=".", help="the mlspec project (default: here)")
    mirror.add_argument("--filter", "-f", help='mlspec\'s run filter, e.g. "status = completed"')
    mirror.add_argument(
        "--artifacts",
        choices=ARTIFACT_MODES,
        default="small",
        help="stage outputs to copy: JSON ones (small, default), all of them, or none",
    )
    mirror.add_argument(
        "--artifact-location", help="artifact root for experiments this command creates"
    )
    mirror.add_argument("--force", action="store_true", help="replace runs mirrored before")
    export = sub.add_parser("export", help="write a registered version as an MLflow pyfunc model")
    export.add_argument("ref", metavar="REF", help="NAME, NAME:VERSION, NAME@ALIAS or a bundle dir")
    export.add_argument("-o", "--output", required=True, help="the new model directory")
    export.add_argument("--project", default=".", help="the mlspec project (default: here)")
    export.add_argument(
        "--predict-fn",
        choices=PREDICT_FNS,
        default="predict",
        help="what pyfunc's predict returns: labels/values (default) or class probabilities",
    )
    export.add_argument(
        "--format", choices=FORMATS, help="force a serialization (default: skops when possible)"
    )
    export.add_argument(
        "--example", help="CSV or Parquet file whose first rows become the input example"
    )
    args = parser.parse_args(argv)
    if args.command == "export":
        _export(args)
        return
    if not args.tracking_uri:
        parser.error("--tracking-uri is required (or set MLFLOW_TRACKING_URI)")
    db_path = Store.for_project(Path(args.project).resolve()).db_path
    try:
        results = mirror_runs(
            args.tracking_uri,
            db_path,
            args.run_ids,
            args.filter,
            args.artifacts,
            args.artifact_location,
            args.force,
        )
    except MlspecError as exc:
        print(exc.render(), file=sys.stderr)
        sys.exit(exc.exit_code)
    for r in results:
        detail = (
            f"{r.params} params, {r.metric_values} metric values, {r.artifacts} artifacts"
            if r.status != "skipped"
            else "already mirrored (--force replaces it)"
        )
        print(f"{r.status:<9} {r.run_id} -> {r.mlflow_run_id} ({r.experiment}): {detail}")
    print(
        f"{sum(r.status != 'skipped' for r in results)} of {len(results)} runs mirrored to"
        f" {args.tracking_uri}"
    )


def _export(args: argparse.Namespace) -> None:
    from mlspec_mlflow.export import export_pyfunc

    try:
        example = _read_example(args.example) if args.example else None
        result = export_pyfunc(
            args.ref,
            args.output,
            project_root=args.project,
            predict_fn=args.predict_fn,
            input_example=example,
            serialization_format=args.format,
        )
    except MlspecError as exc:
        print(exc.render(), file=sys.stderr)
        sys.exit(exc.exit_code)
    label = f"{result.name}:{result.version}" if result.version is not None else result.name
    print(
        f"exported {label} to {result.path} (MLflow pyfunc, {result.serialization_format},"
        f" predict_fn={result.predict_fn}, bundle {result.bundle_digest})"
    )
    if result.fallback_reason:
        print(f"saved with {result.serialization_format}: {result.fallback_reason}")


def _read_example(path: str) -> object:
    import pandas as pd

    from mlspec.errors import DataError, Problem

    file = Path(path)
    if not file.is_file():
        raise DataError(Problem("missing_file", f"no example file '{path}'", file=path))
    if file.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(file)
    return pd.read_csv(file)


if __name__ == "__main__":  # pragma: no cover
    main()
