"""mlspec serve NAME@alias | NAME:VERSION | NAME | BUNDLE_DIR — a REST endpoint for a model.

MLflow's scoring protocol (POST /invocations), the Open Inference Protocol (/v2/...), /metrics,
/openapi.json, hot swap when the alias moves. Binds 127.0.0.1 unless --host says otherwise;
with --token (or MLSPEC_SERVE_TOKEN) every non-health request needs ``Authorization: Bearer``.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console

TOKEN_ENV = "MLSPEC_SERVE_TOKEN"


def command(argv: list[str]) -> int | None:
    from mlspec.serve.server import DEFAULT_HOST, DEFAULT_PORT

    parser = make_parser("serve", "Serve a registered model (or an exported bundle) over REST.")
    parser.add_argument(
        "model", help="NAME@ALIAS, NAME:VERSION, NAME (latest) or a bundle directory"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST} (loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--token", help=f"require 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV})"
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often to check whether the alias moved (0: never; POST /reload or SIGHUP)",
    )
    parser.add_argument(
        "--log-requests", metavar="DIR", help="log scored rows as rolling JSON lines under DIR"
    )
    parser.add_argument(
        "--no-fast-path", action="store_true", help="score every request through the pipeline"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request (slower)")
    args = parser.parse_args(argv)

    from mlspec.serve.pipeline import ScoringPipeline
    from mlspec.serve.server import ServeOptions, run

    token = args.token or os.environ.get(TOKEN_ENV) or None
    opts = ServeOptions(
        ref=args.model,
        host=args.host,
        port=args.port,
        token=token,
        poll_interval=args.poll,
        log_requests=Path(args.log_requests) if args.log_requests else None,
        fast=not args.no_fast_path,
        access_log=args.access_log,
        project_root=Path.cwd(),
    )
    console = make_console()
    pipe = ScoringPipeline.load(opts.ref, opts.project_root, fast=opts.fast)
    console.print(
        f"serving [bold]{pipe.label}[/] ({opts.ref}) on http://{opts.host}:{opts.port}"
        f"  fast path {pipe.fast_status}"
        + ("; token required" if token else "")
        + (f"; logging requests to {opts.log_requests}" if opts.log_requests else ""),
        highlight=False,
    )
    run(opts, pipe)
    return 0
