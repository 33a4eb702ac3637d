"""Run the app on uvicorn: load the model first (a bad reference fails before binding), then
serve until interrupted. Binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mlspec.serve.pipeline import ScoringPipeline

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


@dataclass
class ServeOptions:
    ref: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    poll_interval: float = 5.0
    log_requests: Path | None = None
    fast: bool = True
    access_log: bool = False
    project_root: Path | None = None


def build_app(opts: ServeOptions, pipe: ScoringPipeline | None = None):  # type: ignore[no-untyped-def]
    """The ASGI app for these options (loads the model unless given)."""
    from mlspec.serve.app import ServeSettings, create_app
    from mlspec.serve.hotswap import ModelHolder

    root = opts.project_root or Path.cwd()
    pipe = pipe or ScoringPipeline.load(opts.ref, root, fast=opts.fast)
    holder = ModelHolder(pipe, root, fast=opts.fast)
    settings = ServeSettings(
        token=opts.token, poll_interval=opts.poll_interval, log_requests=opts.log_requests
    )
    return create_app(holder, settings)


def run(opts: ServeOptions, pipe: ScoringPipeline | None = None) -> None:
    import uvicorn

    app = build_app(opts, pipe)
    logging.getLogger("mlspec.serve").setLevel(logging.INFO)
    config = uvicorn.Config(
        app,
        host=opts.host,
        port=opts.port,
        access_log=opts.access_log,
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
