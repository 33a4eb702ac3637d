"""mlspec schema infer DATA [-o FILE] [--force] [--sep ,] [--rows N] — a schema to start from."""

from __future__ import annotations

import sys
from pathlib import Path

from mlspec.cli.main import make_parser
from mlspec.engine.schema import ensure_writable, infer_schema_yaml, write_new_file


def command(argv: list[str]) -> int | None:
    parser = make_parser("schema", "Work with pandera schemas for data.schema.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    infer = actions.add_parser(
        "infer",
        help="infer a pandera YAML schema from a data file",
        description="Infer a pandera YAML schema (pandera's io format) from a CSV, Parquet or"
        " JSON-lines file. Every column gets coerce: true; numeric columns get the observed"
        " min/max as checks. Review the result before relying on it.",
    )
    infer.add_argument("data", type=Path, help="the data file (.csv, .tsv, .parquet, .jsonl)")
    infer.add_argument("-o", "--output", type=Path, help="write here instead of to stdout")
    infer.add_argument("--force", action="store_true", help="replace an existing output file")
    infer.add_argument("--sep", help="CSV delimiter (default: ',', or tab for .tsv)")
    infer.add_argument("--rows", type=_positive, help="infer from the first N rows only")
    args = parser.parse_args(argv)
    if args.output is not None:
        ensure_writable(args.output, force=args.force)  # before the (slow) inference
    text = infer_schema_yaml(args.data, sep=args.sep, rows=args.rows, source=str(args.data))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_new_file(args.output, text, force=args.force)
    print(f"wrote {args.output} (schema inferred from {args.data})", file=sys.stderr)
    return 0


def _positive(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of rows, got '{value}'")
    return number
