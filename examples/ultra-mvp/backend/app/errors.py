"""Error handling: no stack trace, file path or input echo ever reaches a client.

- Unhandled exceptions: 500 ``{"detail": "Internal server error", "request_id": ...}``; the
  traceback goes to the JSON log only.
- Bodies larger than MAX_BODY_BYTES: 413 JSON (checked on Content-Length and while streaming).
- Validation errors: 422 with location, message and type of each error (no input values).
Flaws: debug-tracebacks (tracebacks in 500 bodies, oversized bodies become such 500s),
stack-trace-on-422 (validation errors carry a traceback and file paths).
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging_setup import request_id_var
from app.security import DenylistUnavailableError
from app.settings import Settings

log = logging.getLogger("ultra.errors")


class BodyTooLargeError(HTTPException):
    """Raised when a request body exceeds MAX_BODY_BYTES (answered as 413)."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, "Request body too large")


class BodySizeLimitMiddleware:
    """Reject bodies over MAX_BODY_BYTES, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise BodyTooLargeError()
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError()
            return message

        await self.app(scope, limited_receive, send)


class ErrorMiddleware:
    """Turn exceptions that escaped the routes into safe responses, and log them."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        # DEBUG=true (refused in production) shows tracebacks too: that is what debug mode means.
        self.debug = settings.debug or settings.has("debug-tracebacks")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BodyTooLargeError as exc:
            if self.debug:
                await self._internal_error(exc, started, send)
            elif not started:
                await _send_json(send, exc.status_code, {"detail": exc.detail})
        except Exception as exc:
            await self._internal_error(exc, started, send)

    async def _internal_error(self, exc: Exception, started: bool, send: Send) -> None:
        request_id = request_id_var.get()
        log.error("unhandled exception: %s", type(exc).__name__, exc_info=exc)
        if started:
            return
        if self.debug:
            body = "".join(traceback.format_exception(exc)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await _send_json(send, 500, {"detail": "Internal server error", "request_id": request_id})


async def _send_json(send: Send, status_code: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_handlers(app: FastAPI, settings: Settings) -> None:
    """Register the JSON handlers for denylist outages (503) and validation errors (422)."""
    leak_trace = settings.has("stack-trace-on-422")

    @app.exception_handler(DenylistUnavailableError)
    async def denylist_unavailable(request: Request, exc: DenylistUnavailableError) -> JSONResponse:
        log.error("token denylist unavailable", exc_info=exc.__cause__ or exc)
        return JSONResponse(
            {"detail": "Service temporarily unavailable"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        payload: dict[str, Any] = {"detail": errors}
        if leak_trace:
            payload["traceback"] = traceback.format_stack() + traceback.format_exception(exc)
            payload["file"] = __file__
        return JSONResponse(payload, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
