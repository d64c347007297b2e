"""The single error shape every failure uses: {"error": {"code", "message", "request_id"}}."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.responses import Response

from ml_service.schemas import ErrorDetail, ErrorEnvelope

REQUEST_ID_SCOPE_KEY = "ml_service.request_id"

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (413, "Request body larger than the configured limit"),
        (415, "Content-Type is not application/json"),
        (422, "Request failed validation; the body names fields and error types only"),
        (500, "Internal error; details are in the server log under the request id"),
        (503, "Overloaded or shutting down; retry after the Retry-After seconds"),
        (504, "The operation exceeded its deadline and was stopped"),
    )
}


def error_body(
    code: str,
    message: str,
    request_id: str,
    details: Sequence[tuple[Sequence[str | int], str]] = (),
) -> bytes:
    envelope: dict[str, object] = {
        "code": code,
        "message": message,
        "request_id": request_id,
    }
    if details:
        envelope["details"] = [
            ErrorDetail(loc=list(loc), type=kind).model_dump() for loc, kind in details
        ]
    return json.dumps({"error": envelope}).encode()


def error_response(
    status_code: int,
    code: str,
    message: str,
    request_id: str,
    details: Sequence[tuple[Sequence[str | int], str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        content=error_body(code, message, request_id, details),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
