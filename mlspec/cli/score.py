"""mlspec score MODEL INPUT -o OUTPUT [--id-column C] [--probabilities] — batch scoring.

MODEL is NAME@ALIAS, NAME:VERSION, NAME or a bundle directory; INPUT and OUTPUT are parquet or
CSV (by suffix). Rows are scored in chunks through the same pipeline as ``mlspec serve``; the
output appears only when every row was scored.
"""

from __future__ import annotations

from pathlib import Path

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console


def command(argv: list[str]) -> int | None:
    parser = make_parser("score", "Score a parquet or CSV file with a registered model.")
    parser.add_argument(
        "model", help="NAME@ALIAS, NAME:VERSION, NAME (latest) or a bundle directory"
    )
    parser.add_argument("input", help="rows to score: *.parquet or *.csv")
    parser.add_argument("-o", "--output", required=True, help="where to write: *.parquet or *.csv")
    parser.add_argument("--id-column", help="an input column copied to the output (row ids)")
    parser.add_argument(
        "--probabilities", action="store_true", help="add proba_<class> columns (classifiers)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=200_000, help="rows per chunk (default 200000)"
    )
    args = parser.parse_args(argv)
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlspec.errors import Problem
    from mlspec.serve.batch import file_format, score_file
    from mlspec.serve.errors import RequestError
    from mlspec.serve.pipeline import ScoringPipeline

    console = make_console()
    input_path, output_path = Path(args.input), Path(args.output)
    if not input_path.is_file():  # before loading the model: a typo should not cost seconds
        raise RequestError(
            Problem(
                "missing_input",
                f"input file '{input_path}' does not exist",
                file=str(input_path),
                fix="pass the path of a parquet or CSV file",
            )
        )
    file_format(input_path, "input")
    file_format(output_path, "output")
    pipe = ScoringPipeline.load(args.model, Path.cwd(), fast=False)
    if args.probabilities and not pipe.has_proba:
        raise RequestError(
            Problem(
                "no_probabilities",
                f"model {pipe.label} is a {pipe.task} model without probabilities",
                fix="drop --probabilities",
            )
        )
    with Progress(
        TextColumn(f"scoring with {pipe.label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("rows", total=None)

        def on_progress(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        result = score_file(
            pipe,
            input_path,
            output_path,
            id_column=args.id_column,
            probabilities=args.probabilities,
            chunk_rows=args.chunk_size,
            on_progress=on_progress,
        )
    console.print(
        f"scored {result.rows} rows with {pipe.label} -> {result.output}"
        f" ({', '.join(result.columns)})",
        highlight=False,
    )
    return 0
