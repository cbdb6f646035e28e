"""Serve the built single-page app (dist/) with production headers.

    cd examples/ultra-mvp/frontend
    API_BASE_URL=http://127.0.0.1:8000 python -m uvicorn serve:app --host 127.0.0.1 --port 8080 \
        --no-server-header

- ``/config.js``: ``window.ULTRA_CONFIG = {apiBaseUrl: ...}`` from API_BASE_URL (empty: the API
  is served from the same origin, behind a reverse proxy), never cached.
- ``/assets/*``: fingerprinted files, cached for a year (immutable); a missing asset is a 404.
- ``/healthz``: ``{"status": "ok"}`` for container health checks.
- Any other GET: a file at the top of dist/ when one exists, else ``index.html`` (SPA fallback),
  which is never cached.
- Every response: security headers, including a Content-Security-Policy without
  'unsafe-inline' whose connect-src allows the API origin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DIST = Path(__file__).resolve().parent / "dist"
ASSETS = DIST / "assets"
INDEX = DIST / "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def api_base_url() -> str:
    """API_BASE_URL, validated: empty, or an http(s) URL without query or fragment."""
    raw = os.environ.get("API_BASE_URL", "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise RuntimeError("API_BASE_URL must be an http(s) URL such as https://api.example.com")
    return raw.rstrip("/")


def api_origin(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}" if base else ""


API_BASE_URL = api_base_url()
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src 'self' {api_origin(API_BASE_URL)}".strip(),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = NO_CACHE
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _inside(base: Path, relative: str) -> Path | None:
    """The file ``base/relative`` if it exists and does not escape ``base``."""
    if not relative or "\x00" in relative:
        return None
    candidate = (base / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(base):
        return candidate
    return None


async def config_js(request: Request) -> Response:
    payload = json.dumps({"apiBaseUrl": API_BASE_URL})
    body = f"window.ULTRA_CONFIG = Object.freeze({payload});\n"
    return Response(
        body,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache, no-store, must-revalidate"},
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    found = _inside(ASSETS, request.path_params["path"])
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(found, headers={"Cache-Control": IMMUTABLE})


async def spa(request: Request) -> Response:
    path = request.path_params.get("path", "")
    found = _inside(DIST, path) if "/" not in path.strip("/") else None
    if found is not None and found != INDEX:
        return FileResponse(found, headers={"Cache-Control": "public, max-age=3600"})
    return FileResponse(INDEX, headers={"Cache-Control": NO_CACHE})


routes = [
    Route("/config.js", config_js, methods=["GET", "HEAD"]),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/assets/{path:path}", asset, methods=["GET", "HEAD"]),
    Route("/", spa, methods=["GET", "HEAD"]),
    Route("/{path:path}", spa, methods=["GET", "HEAD"]),
]

app = Starlette(routes=routes)
app.add_middleware(SecurityHeadersMiddleware)
