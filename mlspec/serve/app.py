"""The ASGI app (Starlette): MLflow's scoring protocol, the Open Inference Protocol (V2),
health, metrics, reload, and an OpenAPI document of the served model.

Every reply names the model and version (``X-Model-Name`` / ``X-Model-Version`` headers, and
``model`` / ``version`` fields in JSON bodies). Client errors are 4xx with column-level problems;
anything else is logged and answered 500 without stopping the server.

Small requests are scored inline on the event loop: with the fast path a row takes tens of
microseconds, less than a hop to a worker thread. Larger ones, and CSV/parquet bodies, are
parsed and scored in a thread so the loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlspec import __version__
from mlspec.serve.errors import RequestError, bad_request
from mlspec.serve.hotswap import ModelHolder
from mlspec.serve.metrics import CONTENT_TYPE, Metrics
from mlspec.serve.pipeline import FAST_MAX_ROWS, ScoringPipeline
from mlspec.serve.protocol import (
    Rows,
    load_json,
    parse_csv,
    parse_mlflow_json,
    parse_parquet,
    parse_v2,
    v2_datatype,
)
from mlspec.serve.requestlog import RequestLog

log = logging.getLogger("mlspec.serve")
JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (JSON, CSV, PARQUET)
OPEN_PATHS = frozenset({"/ping", "/health", "/v2/health/live", "/v2/health/ready"})
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


@dataclass
class ServeSettings:
    token: str | None = None
    poll_interval: float = 5.0
    max_body_bytes: int = 64 * 1024 * 1024
    log_requests: Path | None = None


class Service:
    """What the handlers share: the model holder, metrics, the request log, settings."""

    def __init__(self, holder: ModelHolder, settings: ServeSettings):
        self.holder = holder
        self.settings = settings
        self.metrics = Metrics()
        self.metrics.set_model(holder.pipe.name, holder.pipe.version, holder.pipe.model_digest)
        holder.on_swap = self._swapped
        self.request_log: RequestLog | None = None
        if settings.log_requests is not None:
            self.request_log = RequestLog(
                settings.log_requests,
                holder.pipe.name,
                on_drop=lambda n: self.metrics.log_dropped.inc(n),
            )
        self._token = settings.token.encode() if settings.token else None

    def _swapped(self, pipe: ScoringPipeline) -> None:
        self.metrics.set_model(pipe.name, pipe.version, pipe.model_digest)
        self.metrics.reloads.labels("swapped").inc()

    def authorised(self, request: Request) -> bool:
        if self._token is None or request.url.path in OPEN_PATHS:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self._token
        )


# Where SIGHUP cannot be handled: no SIGHUP on the platform (AttributeError), a loop without
# signal support (NotImplementedError), or a server run outside the main thread, as tests and
# embedding applications do (ValueError / RuntimeError). POST /reload still works there.
_NO_SIGNAL_HANDLERS = (NotImplementedError, RuntimeError, ValueError, AttributeError)


def _headers(pipe: ScoringPipeline) -> dict[str, str]:
    return {"x-model-name": pipe.name, "x-model-version": str(pipe.version or "")}


def _default(value: Any) -> Any:
    """What orjson does not write itself: non-contiguous arrays, object arrays, numpy scalars."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def json_response(body: dict[str, Any], pipe: ScoringPipeline, status: int = 200) -> Response:
    return Response(orjson.dumps(body, _default, _NUMPY), status, _headers(pipe), JSON)


def _plain(values: Any) -> Any:
    """orjson writes numeric numpy arrays itself; object arrays (string labels) as lists."""
    if values is None:
        return None
    return (
        values.tolist()
        if getattr(values, "dtype", None) is not None and values.dtype.kind == "O"
        else values
    )


def error_body(exc: RequestError, pipe: ScoringPipeline, v2: bool) -> dict[str, Any]:
    problems = [
        {
            "code": p.code,
            "message": p.message,
            **({"column": str(p.loc[0])} if p.loc else {}),
            **({"fix": p.fix} if p.fix else {}),
        }
        for p in exc.problems
    ]
    message = "; ".join(p.message for p in exc.problems)
    if v2:
        return {"error": message, "problems": problems, "model_name": pipe.name}
    return {
        "error_code": exc.error_code,
        "message": message,
        "problems": problems,
        "model": pipe.name,
        "version": pipe.version,
    }


Handler = Callable[[Request, Service, ScoringPipeline], Awaitable[Response]]


def endpoint(service: Service, name: str, handler: Handler, v2: bool = False) -> Any:
    """Auth, timing, metrics and error mapping around one handler."""
    metrics = service.metrics

    async def run(request: Request) -> Response:
        start = time.perf_counter()
        pipe = service.holder.pipe  # read once: this request finishes on this model
        if not service.authorised(request):
            response = json_response(
                {"error_code": "UNAUTHENTICATED", "message": "missing or wrong bearer token"},
                pipe,
                401,
            )
            response.headers["www-authenticate"] = "Bearer"
            metrics.error(name, "unauthenticated")
        else:
            try:
                response = await handler(request, service, pipe)
            except RequestError as exc:
                response = json_response(error_body(exc, pipe, v2), pipe, exc.status)
                metrics.error(name, exc.problems[0].code if exc.problems else "bad_request")
            except Exception:  # a bug, not the client's fault: log it, answer, keep serving
                log.exception("%s failed", name)
                response = json_response(
                    {"error_code": "INTERNAL_ERROR", "message": "internal error; see server log"},
                    pipe,
                    500,
                )
                metrics.error(name, "internal")
        metrics.observe(name, response.status_code, time.perf_counter() - start)
        return response

    return run


# -- bodies ---------------------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise bad_request("body_too_large", f"the body exceeds {limit} bytes", status=413)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise bad_request("body_too_large", f"the body exceeds {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def content_type(request: Request) -> str:
    """The media type, or 415 as MLflow answers (other types, other charsets, other params)."""
    raw = request.headers.get("content-type")
    if not raw:
        raise RequestError(
            [_problem_415("the request has no Content-Type")], status=415, error_code="BAD_REQUEST"
        )
    mime, *params = (p.strip() for p in raw.split(";"))
    mime = mime.lower()
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() != "charset" or value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise RequestError([_problem_415(f"unsupported Content-Type parameter '{param}'")], 415)
    if mime not in CONTENT_TYPES:
        raise RequestError([_problem_415(f"unsupported Content-Type '{mime}'")], 415)
    return mime


def _problem_415(message: str) -> Any:
    from mlspec.errors import Problem

    return Problem(
        "unsupported_media_type",
        message,
        fix="send application/json (UTF-8), text/csv or application/vnd.apache.parquet",
    )


def _query_flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise bad_request("bad_query", f"query parameter '{name}' must be true or false")


async def score(service: Service, pipe: ScoringPipeline, rows: Rows) -> tuple[Any, Any, str]:
    """(predictions, probabilities | None, request id); logs the rows when asked to."""
    if rows.n_rows == 0:
        raise bad_request("no_rows", "the request holds no rows", fix="send at least one row")
    if rows.probabilities and not pipe.has_proba:
        raise bad_request(
            "no_probabilities",
            f"model {pipe.label} is a {pipe.task} model without probabilities",
            fix="drop the probabilities parameter",
        )
    if rows.columns is not None and rows.n_rows <= FAST_MAX_ROWS:
        preds, proba = pipe.predict_columns(rows.columns, rows.n_rows, rows.probabilities)
        columns: Any = rows.columns
    else:
        from starlette.concurrency import run_in_threadpool

        def frame_route() -> tuple[Any, Any, Any]:
            import pandas as pd

            frame = rows.frame
            if frame is None:
                frame = pd.DataFrame(rows.columns, columns=list(rows.columns or {}))
            valid = pipe.validate(frame)
            p, q = pipe.predict_arrays(valid, rows.probabilities)
            return p, q, valid

        preds, proba, valid = await run_in_threadpool(frame_route)
        columns = {c: valid[c].to_numpy() for c in valid.columns}
    request_id = uuid.uuid4().hex
    service.metrics.rows.inc(rows.n_rows)
    if service.request_log is not None:
        service.request_log.submit(pipe.name, pipe.version, request_id, columns, preds, proba)
    return preds, proba, request_id


# -- handlers -------------------------------------------------------------------------------------


async def invocations(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    mime = content_type(request)
    body = await read_body(request, service.settings.max_body_bytes)
    if mime == JSON:
        rows = parse_mlflow_json(load_json(body), pipe.column_names)
    else:
        from starlette.concurrency import run_in_threadpool

        if mime == CSV:
            strings = [c for c, d in pipe.input_columns if d in ("object", "string", "str")]
            rows = await run_in_threadpool(parse_csv, body, strings)
        else:
            rows = await run_in_threadpool(parse_parquet, body)
    rows.probabilities = rows.probabilities or _query_flag(request, "probabilities")
    preds, proba, request_id = await score(service, pipe, rows)
    out: dict[str, Any] = {
        "predictions": _plain(preds),
        "model": pipe.name,
        "version": pipe.version,
    }
    if proba is not None:
        out["probabilities"] = proba
        out["classes"] = pipe.classes
    response = json_response(out, pipe)
    response.headers["x-request-id"] = request_id
    return response


async def ping(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return json_response({"status": "ok", "model": pipe.name, "version": pipe.version}, pipe)


async def version(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return json_response(
        {
            "mlspec": __version__,
            "model": pipe.name,
            "version": pipe.version,
            "ref": service.holder.ref,
            "model_digest": pipe.model_digest,
            "fast_path": pipe.fast_status,
        },
        pipe,
    )


async def reload(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    force = _query_flag(request, "force")
    try:
        result = await service.holder.reload(force=force)
    except Exception as exc:  # the old model keeps serving; say why the new one did not load
        service.metrics.reloads.labels("failed").inc()
        log.error("reload failed: %s", exc)
        body = {"reloaded": False, "error": str(exc), "model": pipe.name, "version": pipe.version}
        return json_response(body, pipe, 409)
    if not result["reloaded"]:
        service.metrics.reloads.labels("unchanged").inc()
    return json_response(result, service.holder.pipe)


async def metrics(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return Response(service.metrics.render(), 200, _headers(pipe), CONTENT_TYPE)


async def openapi(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    from mlspec.serve.openapi import openapi_document

    return json_response(openapi_document(pipe), pipe)


# -- Open Inference Protocol (V2) ----------------------------------------------------------------


async def v2_live(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return json_response({"live": True}, pipe)


async def v2_ready(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return json_response({"ready": True}, pipe)


async def v2_server(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    return json_response(
        {"name": "mlspec", "version": __version__, "extensions": ["model_version"]}, pipe
    )


def _v2_model(request: Request, pipe: ScoringPipeline) -> None:
    name = request.path_params["name"]
    wanted = request.path_params.get("version")
    if name != pipe.name or (wanted is not None and wanted != str(pipe.version)):
        from mlspec.errors import Problem

        what = f"{name}" + (f" version {wanted}" if wanted is not None else "")
        raise RequestError(
            Problem(
                "unknown_model",
                f"model {what} is not served here",
                fix=f"this server serves {pipe.label}",
            ),
            status=404,
            error_code="RESOURCE_DOES_NOT_EXIST",
        )


async def v2_model(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    _v2_model(request, pipe)
    from mlspec.serve.openapi import v2_metadata

    return json_response(v2_metadata(pipe), pipe)


async def v2_model_ready(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    _v2_model(request, pipe)
    return json_response({"name": pipe.name, "ready": True}, pipe)


async def v2_infer(request: Request, service: Service, pipe: ScoringPipeline) -> Response:
    _v2_model(request, pipe)
    mime = content_type(request)
    if mime != JSON:
        raise RequestError([_problem_415("the V2 infer endpoint takes application/json")], 415)
    body = await read_body(request, service.settings.max_body_bytes)
    rows = parse_v2(load_json(body), pipe.column_names)
    preds, proba, request_id = await score(service, pipe, rows)
    outputs = []
    if "predictions" in rows.outputs:
        outputs.append(
            {
                "name": "predictions",
                "shape": [len(preds)],
                "datatype": v2_datatype(getattr(preds, "dtype", None)),
                "data": _plain(preds),
            }
        )
    if proba is not None and "probabilities" in rows.outputs:
        outputs.append(
            {
                "name": "probabilities",
                "shape": list(proba.shape),
                "datatype": "FP64",
                "data": proba.ravel(),
                "parameters": {"classes": pipe.classes},
            }
        )
    body_out = {
        "model_name": pipe.name,
        "model_version": "" if pipe.version is None else str(pipe.version),
        "id": rows.request_id or request_id,
        "outputs": outputs,
    }
    response = json_response(body_out, pipe)
    response.headers["x-request-id"] = request_id
    return response


# -- the app --------------------------------------------------------------------------------------


def create_app(holder: ModelHolder, settings: ServeSettings | None = None) -> Starlette:
    settings = settings or ServeSettings()
    service = Service(holder, settings)

    def route(
        path: str, name: str, handler: Handler, methods: list[str], v2: bool = False
    ) -> Route:
        return Route(path, endpoint(service, name, handler, v2), methods=methods)

    routes = [
        route("/invocations", "invocations", invocations, ["POST"]),
        route("/ping", "ping", ping, ["GET"]),
        route("/health", "health", ping, ["GET"]),
        route("/version", "version", version, ["GET"]),
        route("/reload", "reload", reload, ["POST"]),
        route("/metrics", "metrics", metrics, ["GET"]),
        route("/openapi.json", "openapi", openapi, ["GET"]),
        route("/v2", "v2_server", v2_server, ["GET"], v2=True),
        route("/v2/health/live", "v2_live", v2_live, ["GET"], v2=True),
        route("/v2/health/ready", "v2_ready", v2_ready, ["GET"], v2=True),
        route("/v2/models/{name}", "v2_model", v2_model, ["GET"], v2=True),
        route("/v2/models/{name}/ready", "v2_model_ready", v2_model_ready, ["GET"], v2=True),
        route("/v2/models/{name}/infer", "v2_infer", v2_infer, ["POST"], v2=True),
        route("/v2/models/{name}/versions/{version}", "v2_model", v2_model, ["GET"], v2=True),
        route(
            "/v2/models/{name}/versions/{version}/infer", "v2_infer", v2_infer, ["POST"], v2=True
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if service.request_log is not None:
            service.request_log.start()
        if holder.movable and settings.poll_interval > 0:
            tasks.append(
                asyncio.create_task(
                    holder.poll_forever(
                        settings.poll_interval,
                        lambda r: (
                            None if r == "swapped" else service.metrics.reloads.labels(r).inc()
                        ),
                    )
                )
            )
        loop = asyncio.get_running_loop()
        with contextlib.suppress(*_NO_SIGNAL_HANDLERS):
            loop.add_signal_handler(
                signal.SIGHUP, lambda: tasks.append(loop.create_task(_sighup()))
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(*_NO_SIGNAL_HANDLERS):
                loop.remove_signal_handler(signal.SIGHUP)
            if service.request_log is not None:
                await asyncio.to_thread(service.request_log.close)

    async def _sighup() -> None:
        try:
            result = await holder.reload(force=True)
            log.warning("SIGHUP: %s", result)
        except Exception as exc:
            service.metrics.reloads.labels("failed").inc()
            log.error("SIGHUP reload failed, still serving %s: %s", holder.pipe.label, exc)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
