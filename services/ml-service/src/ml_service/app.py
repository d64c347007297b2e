"""FastAPI application: routes, error handlers, OpenAPI and the ASGI edge stack."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

import pebble
from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_service import model_store, schemas
from ml_service.access import API_KEY_HEADER, RateLimitMiddleware
from ml_service.cors import AllowlistCORSMiddleware
from ml_service.errors import ERROR_RESPONSES, REQUEST_ID_SCOPE_KEY, error_response
from ml_service.middleware import (
    BodyLimitMiddleware,
    BodyTooLarge,
    EdgeMiddleware,
    send_error,
)
from ml_service.model_store import MODEL_ID_PATTERN
from ml_service.pool import Overloaded, UploadClaim
from ml_service.runtime import Refusal, Runtime, SigtermDrain
from ml_service.settings import Settings
from ml_service.worker import TaskKind, TaskOutcome, TaskSpec

logger = logging.getLogger("ml_service.app")

SERVICE_VERSION = "1.0.0"
# The worker's own deadline fires first; this outer one only guards against a lost future.
DEADLINE_MARGIN_SECONDS = 2.0
FILE_OPERATION_SECONDS = 10.0
REQUEST_BODY_SCHEMAS: dict[str, TypeAdapter[Any]] = {
    "ClusterRequest": schemas.CLUSTER_REQUEST,
    "AnomalyRequest": schemas.ANOMALY_REQUEST,
    "BatchRequest": schemas.BATCH_REQUEST,
    "ModelFitRequest": schemas.MODEL_FIT_REQUEST,
    "ScoreRequest": schemas.SCORE_REQUEST,
}
CLOSE = {"Connection": "close"}
COMPUTE_PATH = re.compile(r"^/v1/(?:cluster|anomaly|batch|models(?:/[0-9a-f]{32}/score)?)$")
_LOC_WORDS = frozenset({"body", "path", "query", "header", "model_id"})

API_KEY = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": schemas.ErrorEnvelope, "description": "Missing or invalid X-API-Key"},
}
QUOTA_RESPONSE: dict[str, object] = {
    "model": schemas.ErrorEnvelope,
    "description": "The model store is full (model count or bytes)",
}
ModelId = Annotated[str, Path(min_length=32, max_length=32, pattern=MODEL_ID_PATTERN)]


def _json_body(schema_name: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
            },
        }
    }


def _request_id(request: Request) -> str:
    return str(request.scope.get(REQUEST_ID_SCOPE_KEY, ""))


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refuse_unauthorized(request: Request, api_key: str | None) -> Response | None:
    runtime = _runtime(request)
    presented = None if api_key is None else api_key.encode()
    if runtime.api_keys.match(presented) is not None:
        return None
    return error_response(
        401,
        "unauthorized",
        "A valid X-API-Key is required",
        _request_id(request),
        headers={"WWW-Authenticate": API_KEY_HEADER},
    )


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _unavailable(request: Request, code: str, message: str, retry_after: int) -> Response:
    return error_response(
        503, code, message, _request_id(request), headers={"Retry-After": str(retry_after)}
    )


def _refuse(request: Request, runtime: Runtime, refusal: Refusal) -> Response:
    runtime.metrics.rejections.labels(refusal.reason).inc()
    return error_response(
        503,
        refusal.code,
        refusal.message,
        _request_id(request),
        headers=refusal.headers(_declared_length(request)),
    )


def _shed(request: Request, runtime: Runtime, reason: str) -> Response:
    return _refuse(request, runtime, runtime.overloaded(reason))


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _read_body(request: Request, claim: UploadClaim, timeout_seconds: float) -> bytes:
    """The body, read only after the upload budget admitted it; raises TimeoutError."""
    declared = _declared_length(request)
    body = bytearray()
    async with asyncio.timeout(timeout_seconds):
        async for chunk in request.stream():
            body += chunk
    if declared is not None and len(body) != declared:
        raise ClientDisconnect
    claim.received(len(body))
    return bytes(body)


async def _run_in_worker(
    request: Request, kind: TaskKind, timeout_seconds: float, model_id: str | None = None
) -> Response:
    """Admission, then the raw body to a worker under a deadline; maps outcomes to HTTP."""
    runtime = _runtime(request)
    # Everything that can refuse the request happens before a byte of the body is read.
    if (refusal := runtime.refusal()) is not None:
        return _refuse(request, runtime, refusal)
    if not _is_json(request):
        # Browsers send text/plain and form posts cross-origin without a CORS preflight;
        # requiring JSON makes every cross-site call face the origin allowlist (CSRF).
        return error_response(
            415,
            "unsupported_media_type",
            "Content-Type must be application/json",
            _request_id(request),
        )
    declared = _declared_length(request)
    # A chunked body may be anything up to the cap, so the cap is what it claims.
    expected = runtime.settings.max_body_bytes if declared is None else declared
    try:
        claim = runtime.uploads.claim(expected)
    except Overloaded as overload:
        return _shed(request, runtime, overload.reason)
    try:
        runtime.report_in_flight()
        try:
            body = await _read_body(request, claim, runtime.settings.body_timeout_seconds)
        except TimeoutError:
            runtime.metrics.rejections.labels("body_timeout").inc()
            return error_response(
                408,
                "body_timeout",
                "The request body was not received in time",
                _request_id(request),
                headers=CLOSE,
            )
        except ClientDisconnect:
            return error_response(
                400, "client_disconnected", "Client went away", _request_id(request)
            )
        spec = TaskSpec(
            kind=kind, body=body, limits=runtime.limits, store=runtime.store, model_id=model_id
        )
        del body
        async with runtime.admission.slot():
            runtime.report_in_flight()
            if kind == "batch_split":
                return await _execute_batch(request, runtime, spec, timeout_seconds)
            return await _execute(request, runtime, spec, timeout_seconds)
    except Overloaded as overload:
        return _shed(request, runtime, overload.reason)
    finally:
        claim.release()
        runtime.report_in_flight()


class Interrupted(Exception):
    """The client went away, or shutdown's grace period ended, while work was running."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _wait_for_disconnect(request: Request) -> None:
    # The body has been read, so the next message is http.disconnect, whenever it comes.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _outcome(
    request: Request, runtime: Runtime, spec: TaskSpec, timeout_seconds: float
) -> TaskOutcome:
    """Runs one task; raises TimeoutError, Interrupted, or what the worker raised.

    On any of those the task's future is cancelled, and pebble stops that worker and
    starts a fresh one: abandoned work does not keep a worker busy.
    """
    pool = runtime.pool
    if pool is None:
        raise Interrupted("not_ready")
    future = pool.submit(spec, timeout_seconds)
    work: asyncio.Future[TaskOutcome] = asyncio.ensure_future(asyncio.wrap_future(future))
    watchers: dict[asyncio.Future[Any], str] = {
        asyncio.ensure_future(_wait_for_disconnect(request)): "client_disconnected",
        asyncio.ensure_future(runtime.aborting.wait()): "shutting_down",
    }
    waiting: set[asyncio.Future[Any]] = {work, *watchers}
    try:
        done, _ = await asyncio.wait(
            waiting,
            timeout=timeout_seconds + DEADLINE_MARGIN_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if work in done:
            return work.result()
        for watcher, reason in watchers.items():
            if watcher in done:
                raise Interrupted(reason)
        raise TimeoutError
    finally:
        for pending in waiting:
            pending.cancel()
        future.cancel()


def _interrupted(request: Request, runtime: Runtime, spec: TaskSpec, reason: str) -> Response:
    runtime.metrics.abandoned.inc()
    runtime.metrics.worker_restarts.inc()
    logger.warning("operation abandoned", extra={"kind": spec.kind, "reason": reason})
    if reason == "client_disconnected":
        # Nobody is listening; the status only shows in the access log.
        return error_response(400, reason, "Client went away", _request_id(request))
    return _unavailable(request, reason, "The service is shutting down", 1)


async def _run_task(
    request: Request, runtime: Runtime, spec: TaskSpec, timeout_seconds: float
) -> TaskOutcome | Response:
    """The task's outcome, or the error response for a timeout, interruption or crash."""
    started = time.perf_counter()
    try:
        outcome = await _outcome(request, runtime, spec, timeout_seconds)
    except TimeoutError:
        runtime.metrics.timeouts.inc()
        runtime.metrics.worker_restarts.inc()
        logger.warning("operation timed out", extra={"kind": spec.kind, "bytes": len(spec.body)})
        return error_response(
            504, "timeout", "The operation exceeded its deadline", _request_id(request)
        )
    except Interrupted as interruption:
        return _interrupted(request, runtime, spec, interruption.reason)
    except pebble.ProcessExpired:
        runtime.metrics.worker_restarts.inc()
        logger.exception("worker process died", extra={"kind": spec.kind})
        return error_response(500, "internal_error", "Internal server error", _request_id(request))
    except Exception as error:
        # A bug in worker code: pebble attaches the worker-side traceback as text. Log it
        # here; EdgeMiddleware logs the local one and answers with the generic 500.
        logger.error(
            "operation failed in worker",
            extra={"kind": spec.kind, "worker_traceback": getattr(error, "traceback", None)},
        )
        raise
    _record(runtime, spec, outcome, time.perf_counter() - started)
    if outcome.error_code is not None:
        return _outcome_error(request, outcome)
    return outcome


async def _execute(
    request: Request, runtime: Runtime, spec: TaskSpec, timeout_seconds: float
) -> Response:
    outcome = await _run_task(request, runtime, spec, timeout_seconds)
    if isinstance(outcome, Response):
        return outcome
    return Response(outcome.body, status_code=outcome.status_code, media_type="application/json")


def _record(runtime: Runtime, spec: TaskSpec, outcome: TaskOutcome, elapsed: float) -> None:
    runtime.admission.record_duration(elapsed)
    runtime.metrics.operation_seconds.labels(spec.kind).observe(elapsed)
    logger.info(
        "operation",
        extra={
            "kind": spec.kind,
            "status": outcome.status_code,
            "rows": outcome.rows,
            "bytes": len(spec.body),
            "duration_ms": round(elapsed * 1000, 2),
        },
    )


def _outcome_error(request: Request, outcome: TaskOutcome) -> Response:
    return error_response(
        outcome.status_code,
        outcome.error_code or "error",
        outcome.error_message or HTTPStatus(outcome.status_code).phrase,
        _request_id(request),
        outcome.error_details,
    )


def _item_error(index: int, code: str, message: str) -> bytes:
    return json.dumps(
        {"index": index, "status": "error", "error": {"code": code, "message": message}}
    ).encode()


async def _execute_batch(
    request: Request, runtime: Runtime, spec: TaskSpec, deadline_seconds: float
) -> Response:
    """Validates the batch in a worker, then runs its items one by one, in order.

    Each item is its own task with its own timeout (the operation timeout, cut to what is
    left of the batch deadline), so a slow item is stopped alone and the items finished
    before the deadline are returned; items not started by then get ``deadline_exceeded``.
    """
    deadline = time.monotonic() + deadline_seconds
    split = await _run_task(request, runtime, spec, deadline_seconds)
    if isinstance(split, Response):
        return split
    operation_timeout = runtime.settings.operation_timeout_seconds
    parts: list[bytes] = []
    for index, item in enumerate(split.items):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            parts.append(_item_error(index, "deadline_exceeded", "Batch deadline passed first"))
            continue
        item_spec = TaskSpec(kind="operation", body=item, limits=runtime.limits)
        started = time.perf_counter()
        try:
            outcome = await _outcome(request, runtime, item_spec, min(operation_timeout, remaining))
        except TimeoutError:
            runtime.metrics.timeouts.inc()
            runtime.metrics.worker_restarts.inc()
            parts.append(_item_error(index, "timeout", "The operation exceeded its deadline"))
            continue
        except Interrupted as interruption:
            return _interrupted(request, runtime, item_spec, interruption.reason)
        except pebble.ProcessExpired:
            runtime.metrics.worker_restarts.inc()
            logger.exception("worker process died", extra={"kind": item_spec.kind})
            parts.append(_item_error(index, "internal_error", "Internal server error"))
            continue
        _record(runtime, item_spec, outcome, time.perf_counter() - started)
        if outcome.error_code is not None:
            message = outcome.error_message or "Operation failed"
            parts.append(_item_error(index, outcome.error_code, message))
        else:
            parts.append(b'{"index":%d,"status":"ok","result":%s}' % (index, outcome.body))
    # Worker results are JSON already; they are spliced in rather than parsed again.
    return Response(
        b'{"results":[' + b",".join(parts) + b"]}",
        status_code=200,
        media_type="application/json",
    )


@asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = api.state.runtime
    drain = SigtermDrain(runtime)
    try:
        await runtime.start()
        drain.install()
        yield
    finally:
        drain.uninstall()
        await runtime.stop()


def _install_exception_handlers(api: FastAPI) -> None:
    # Plain functions on purpose: they only build a response, nothing to await.
    def on_validation_error(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        details = [
            (
                [p if isinstance(p, int) or p in _LOC_WORDS else "*" for p in item.get("loc", ())],
                str(item.get("type", "value_error")),
            )
            for item in errors[:20]
        ]
        return error_response(
            422, "validation_error", "Request failed validation", _request_id(request), details
        )

    def on_http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
        phrase = HTTPStatus(status).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        return error_response(status, code, phrase, _request_id(request), headers=headers)

    def on_body_too_large(request: Request, exc: Exception) -> Response:
        return error_response(413, "body_too_large", "Request body too large", _request_id(request))

    def on_unhandled(request: Request, exc: Exception) -> Response:
        # The traceback is logged once, by EdgeMiddleware, when this exception reaches it.
        return error_response(500, "internal_error", "Internal server error", _request_id(request))

    api.add_exception_handler(RequestValidationError, on_validation_error)
    api.add_exception_handler(StarletteHTTPException, on_http_error)
    api.add_exception_handler(BodyTooLarge, on_body_too_large)
    api.add_exception_handler(Exception, on_unhandled)


def _install_routes(api: FastAPI) -> None:
    settings: Settings = api.state.runtime.settings
    operation_timeout = settings.operation_timeout_seconds

    @api.get("/livez", tags=["health"])
    async def livez() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @api.get(
        "/readyz",
        tags=["health"],
        responses={503: {"model": schemas.ErrorEnvelope, "description": "Not ready"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        if runtime.accepting_work:
            return JSONResponse({"status": "ready"})
        raise StarletteHTTPException(status_code=503)

    @api.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @api.post(
        "/v1/cluster",
        tags=["ml"],
        response_model=schemas.ClusterResult,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body("ClusterRequest"),
    )
    async def cluster(request: Request) -> Response:
        """KMeans or DBSCAN (field ``algorithm``) on a fresh scaler + estimator."""
        return await _run_in_worker(request, "cluster", operation_timeout)

    @api.post(
        "/v1/anomaly",
        tags=["ml"],
        response_model=schemas.AnomalyResult,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body("AnomalyRequest"),
    )
    async def anomaly(request: Request) -> Response:
        """IsolationForest fitted on the request's own rows."""
        return await _run_in_worker(request, "anomaly", operation_timeout)

    @api.post(
        "/v1/batch",
        tags=["ml"],
        response_model=schemas.BatchResponse,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body("BatchRequest"),
    )
    async def batch(request: Request) -> Response:
        """1..100 operations in order under one deadline; one result or error per item."""
        return await _run_in_worker(request, "batch_split", settings.batch_deadline_seconds)

    @api.post(
        "/v1/models",
        tags=["models"],
        status_code=201,
        response_model=schemas.ModelInfo,
        responses={**ERROR_RESPONSES, **AUTH_RESPONSES, 409: QUOTA_RESPONSE},
        openapi_extra=_json_body("ModelFitRequest"),
    )
    async def create_model(
        request: Request, api_key: Annotated[str | None, Depends(API_KEY)]
    ) -> Response:
        """Fit an IsolationForest on normal data and store it signed (skops + HMAC manifest).

        Needs a valid ``X-API-Key``; the store has model-count and byte quotas, and models
        expire after the configured time to live."""
        if (refused := _refuse_unauthorized(request, api_key)) is not None:
            return refused
        return await _run_in_worker(request, "fit_model", operation_timeout)

    @api.delete(
        "/v1/models/{model_id}",
        tags=["models"],
        status_code=204,
        response_class=Response,
        responses={
            **AUTH_RESPONSES,
            404: {"model": schemas.ErrorEnvelope, "description": "Unknown model id"},
        },
    )
    async def delete_model(
        request: Request, model_id: ModelId, api_key: Annotated[str | None, Depends(API_KEY)]
    ) -> Response:
        """Delete a stored model (needs a valid ``X-API-Key``)."""
        if (refused := _refuse_unauthorized(request, api_key)) is not None:
            return refused
        runtime = _runtime(request)
        async with asyncio.timeout(FILE_OPERATION_SECONDS):
            removed = await asyncio.to_thread(model_store.delete_model, runtime.store, model_id)
        if not removed:
            return error_response(
                404, "model_not_found", "No model with this id", _request_id(request)
            )
        return Response(status_code=204)

    @api.post(
        "/v1/models/{model_id}/score",
        tags=["models"],
        response_model=schemas.ScoreResult,
        responses={
            **ERROR_RESPONSES,
            404: {"model": schemas.ErrorEnvelope, "description": "Unknown model id"},
            409: {"model": schemas.ErrorEnvelope, "description": "Stored model failed checks"},
        },
        openapi_extra=_json_body("ScoreRequest"),
    )
    async def score_model(request: Request, model_id: ModelId) -> Response:
        """Score rows with a stored model, verified (HMAC + SHA-256) before every load."""
        return await _run_in_worker(request, "score_model", operation_timeout, model_id)


def _install_openapi(api: FastAPI) -> None:
    """Bodies are validated in workers from raw bytes, so their schemas are added here."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            for name, adapter in REQUEST_BODY_SCHEMAS.items():
                schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[name] = schema
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def build_api(settings: Settings) -> FastAPI:
    api = FastAPI(
        title="ml-service",
        version=SERVICE_VERSION,
        description="Clustering and anomaly detection with bounded inputs and isolated workers.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api.state.runtime = Runtime(settings)
    _install_exception_handlers(api)
    _install_routes(api)
    _install_openapi(api)
    return api


class AdmissionGate:
    """Refuses compute requests that the route would refuse (not ready, queue full) before
    FastAPI routes them: a shed under overload then costs the event loop as little as it can.
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and COMPUTE_PATH.match(str(scope.get("path", "")))
            and (refusal := self.runtime.refusal()) is not None
        ):
            self.runtime.metrics.rejections.labels(refusal.reason).inc()
            headers = Headers(scope=scope)
            declared = headers.get("content-length")
            length = int(declared) if declared is not None and declared.isdigit() else None
            await send_error(
                send,
                503,
                refusal.code,
                refusal.message,
                str(scope.get(REQUEST_ID_SCOPE_KEY, "")),
                headers=tuple(
                    (name.lower().encode(), value.encode())
                    for name, value in refusal.headers(length).items()
                ),
            )
            return
        await self.app(scope, receive, send)


def wrap_edge(api: FastAPI, settings: Settings) -> ASGIApp:
    runtime: Runtime = api.state.runtime
    app: ASGIApp = BodyLimitMiddleware(api, settings.max_body_bytes)
    app = AdmissionGate(app, runtime)
    if settings.rate_limit_per_second > 0:
        app = RateLimitMiddleware(app, runtime.rate_limits, runtime.api_keys, runtime.metrics)
    app = AllowlistCORSMiddleware(
        app,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        allow_credentials=False,
        max_age=600,
    )
    return EdgeMiddleware(app, runtime.metrics)


def create_app(settings: Settings | None = None) -> ASGIApp:
    """ASGI factory (``uvicorn --factory ml_service.app:create_app``)."""
    settings = settings or Settings()
    return wrap_edge(build_api(settings), settings)
