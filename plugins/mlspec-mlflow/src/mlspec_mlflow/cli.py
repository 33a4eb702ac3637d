"""mlspec-mlflow mirror --tracking-uri URI [--project DIR] [--filter F] [RUN_ID ...]

Copies mlspec runs to MLflow (see :mod:`mlspec_mlflow.mirror`). Errors print one screen, no
traceback, and exit non-zero, like mlspec's own commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlspec.errors import MlspecError
from mlspec.store import Store
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":  # pragma: no cover
    main()
