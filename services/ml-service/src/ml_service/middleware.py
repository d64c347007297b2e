"""Pure-ASGI edge layers, outermost first in ``app.create_app``.

They are plain ASGI (not ``BaseHTTPMiddleware``) and sit outside FastAPI, because
Starlette's ``ServerErrorMiddleware`` answers unhandled errors itself and would bypass
any send-wrapping middleware registered inside the app: 500s would then lose
``X-Request-ID`` and the security headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ml_service.errors import REQUEST_ID_SCOPE_KEY, error_body
from ml_service.logging_setup import request_id_var
from ml_service.metrics import Metrics

logger = logging.getLogger("ml_service.http")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_UUID_SHAPE = re.compile(r"^[0-9a-fA-F-]{32,36}$")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the limit."""


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _UUID_SHAPE.match(text):
                try:
                    return str(uuid.UUID(text))
                except ValueError:
                    return None
    return None


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body = error_body(code, message, request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    """Request id, security headers, last-resort error envelope, access log and metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or str(uuid.uuid4())
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        response_started = False
        status = 500
        extra_headers = ((b"x-request-id", request_id.encode()), *SECURITY_HEADERS)

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                kept = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*kept, *extra_headers]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge:
            if not response_started:
                await send_error(
                    send_with_headers, 413, "body_too_large", "Request body too large", request_id
                )
        except asyncio.CancelledError:
            # The server cancels requests still running when its own shutdown times out;
            # answer them in the envelope rather than with the server's plain-text 500.
            if not response_started:
                with contextlib.suppress(Exception):
                    await send_error(
                        send_with_headers,
                        503,
                        "shutting_down",
                        "The service is shutting down",
                        request_id,
                        headers=((b"retry-after", b"1"), (b"connection", b"close")),
                    )
            raise
        except Exception:
            logger.exception(
                "unhandled error", extra={"request_id": request_id, "route": _route(scope)}
            )
            if not response_started:
                await send_error(
                    send_with_headers, 500, "internal_error", "Internal server error", request_id
                )
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = _route(scope)
        method = scope.get("method", "")
        method = method if method in _KNOWN_METHODS else "OTHER"
        self.metrics.http_requests.labels(method, route, str(status)).inc()
        self.metrics.http_latency.labels(route).observe(seconds)
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` before anything parses them.

    A declared Content-Length over the limit is answered 413 without reading the body;
    a chunked body is counted as it streams and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(scope.get(REQUEST_ID_SCOPE_KEY, ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await send_error(send, 413, "body_too_large", "Request body too large", request_id)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        await self.app(scope, limited_receive, send)
