"""FastAPI application: routes, error handlers, OpenAPI and the ASGI edge stack."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

import pebble
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from ml_service import schemas
from ml_service.cors import AllowlistCORSMiddleware
from ml_service.errors import ERROR_RESPONSES, REQUEST_ID_SCOPE_KEY, error_response
from ml_service.middleware import BodyLimitMiddleware, BodyTooLarge, EdgeMiddleware
from ml_service.persistence import MODEL_ID_PATTERN
from ml_service.pool import Overloaded
from ml_service.runtime import Runtime, SigtermDrain
from ml_service.settings import Settings
from ml_service.worker import TaskKind, TaskSpec

logger = logging.getLogger("ml_service.app")

SERVICE_VERSION = "1.0.0"
# The worker's own deadline fires first; this outer one only guards against a lost future.
DEADLINE_MARGIN_SECONDS = 2.0
REQUEST_BODY_SCHEMAS: dict[str, TypeAdapter[Any]] = {
    "ClusterRequest": schemas.CLUSTER_REQUEST,
    "AnomalyRequest": schemas.ANOMALY_REQUEST,
    "BatchRequest": schemas.BATCH_REQUEST,
    "ModelFitRequest": schemas.MODEL_FIT_REQUEST,
    "ScoreRequest": schemas.SCORE_REQUEST,
}
_LOC_WORDS = frozenset({"body", "path", "query", "header", "model_id"})

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


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _unavailable(request: Request, code: str, message: str, retry_after: int) -> Response:
    return error_response(
        503, code, message, _request_id(request), headers={"Retry-After": str(retry_after)}
    )


async def _run_in_worker(
    request: Request, kind: TaskKind, timeout_seconds: float, model_id: str | None = None
) -> Response:
    """Admission, then the raw body to a worker under a deadline; maps outcomes to HTTP."""
    runtime = _runtime(request)
    if not runtime.accepting_work:
        return _unavailable(request, "unavailable", "Service is not accepting work", 1)
    if runtime.admission.is_full():
        runtime.metrics.shed.labels("queue_full").inc()
        return _unavailable(
            request,
            "overloaded",
            "Too many requests in progress",
            runtime.admission.retry_after_seconds(),
        )
    if not _is_json(request):
        # Browsers send text/plain and form posts cross-origin without a CORS preflight;
        # requiring JSON makes every cross-site call face the origin allowlist (CSRF).
        return error_response(
            415,
            "unsupported_media_type",
            "Content-Type must be application/json",
            _request_id(request),
        )
    try:
        body = await request.body()
    except ClientDisconnect:
        return error_response(400, "client_disconnected", "Client went away", _request_id(request))
    spec = TaskSpec(
        kind=kind, body=body, limits=runtime.limits, store=runtime.store, model_id=model_id
    )
    try:
        async with runtime.admission.slot():
            runtime.report_in_flight()
            return await _execute(request, runtime, spec, timeout_seconds)
    except Overloaded as overload:
        runtime.metrics.shed.labels(overload.reason).inc()
        return _unavailable(
            request,
            "overloaded",
            "Too many requests in progress",
            runtime.admission.retry_after_seconds(),
        )
    finally:
        runtime.report_in_flight()


async def _execute(
    request: Request, runtime: Runtime, spec: TaskSpec, timeout_seconds: float
) -> Response:
    pool = runtime.pool
    if pool is None:
        return _unavailable(request, "unavailable", "Service is not accepting work", 1)
    started = time.perf_counter()
    future = pool.submit(spec, timeout_seconds)
    try:
        async with asyncio.timeout(timeout_seconds + DEADLINE_MARGIN_SECONDS):
            outcome = await asyncio.wrap_future(future)
    except TimeoutError:
        # pebble has killed (or, on cancellation, will kill) the worker and forks a new one.
        runtime.metrics.timeouts.inc()
        runtime.metrics.worker_restarts.inc()
        logger.warning("operation timed out", extra={"kind": spec.kind, "bytes": len(spec.body)})
        return error_response(
            504, "timeout", "The operation exceeded its deadline", _request_id(request)
        )
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
    elapsed = time.perf_counter() - started
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
    if outcome.error_code is not None:
        return error_response(
            outcome.status_code,
            outcome.error_code,
            outcome.error_message or HTTPStatus(outcome.status_code).phrase,
            _request_id(request),
            outcome.error_details,
        )
    return Response(outcome.body, status_code=outcome.status_code, media_type="application/json")


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
        return await _run_in_worker(request, "batch", settings.batch_deadline_seconds)

    @api.post(
        "/v1/models",
        tags=["models"],
        status_code=201,
        response_model=schemas.ModelInfo,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body("ModelFitRequest"),
    )
    async def create_model(request: Request) -> Response:
        """Fit an IsolationForest on normal data and store it signed (skops + HMAC manifest)."""
        return await _run_in_worker(request, "fit_model", operation_timeout)

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


def wrap_edge(api: FastAPI, settings: Settings) -> ASGIApp:
    runtime: Runtime = api.state.runtime
    app: ASGIApp = BodyLimitMiddleware(api, settings.max_body_bytes)
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
