"""Documented error responses, shared by the routers' OpenAPI declarations."""

from __future__ import annotations

from typing import Any

from app.schemas import ErrorResponse, ServerErrorResponse

_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "Missing, invalid, expired or revoked credentials",
    403: "Authenticated but not allowed",
    404: "Not found (or not yours)",
    409: "Conflict with an existing resource",
    413: "Request body or prompt too large",
    429: "Rate limit exceeded or account temporarily locked (see Retry-After)",
    500: "Internal server error",
    502: "Upstream LLM provider unavailable",
    503: "A dependency is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given status codes (500 is always added)."""
    result: dict[int | str, dict[str, Any]] = {}
    for code in (*codes, 500):
        model = ServerErrorResponse if code == 500 else ErrorResponse
        result[code] = {"model": model, "description": _DESCRIPTIONS[code]}
    return result
