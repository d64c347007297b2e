"""Starlette's CORS middleware, with its preflight refusals in the service's error envelope."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ml_service.errors import error_response
from ml_service.logging_setup import request_id_var


class AllowlistCORSMiddleware(CORSMiddleware):
    """Origins come only from the settings allowlist (validated to contain no "*")."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        # Starlette answers a refused preflight in plain text naming what was refused.
        return error_response(
            400,
            "cors_preflight_rejected",
            "Cross-origin request not allowed",
            request_id_var.get() or "",
            headers={"Vary": "Origin"},
        )
