"""Security headers on every response (and the server-version-header flaw).

JSON responses get ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'``; the
HTML documentation pages (only when DOCS_ENABLED) get a policy that lets Swagger UI / ReDoc load.
HSTS is sent when the request arrived over HTTPS, or X-Forwarded-Proto is https and
TRUSTED_PROXY is on. No Server header is produced by the application (run uvicorn with
``--no-server-header``).
"""

from __future__ import annotations

import platform

import fastapi
import uvicorn
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def is_https(scope: Scope) -> bool:
    """True when the request arrived over TLS (with TRUSTED_PROXY, as the proxy reports it:
    ``ForwardedHeadersMiddleware`` has set the scheme from ``X-Forwarded-Proto``)."""
    return scope.get("scheme") in ("https", "wss")


class SecurityHeadersMiddleware:
    """Adds the security headers (and HSTS over HTTPS) to every response; the
    ``server-version-header`` flaw adds ``Server``/``X-Powered-By`` instead of hiding them.
    """
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.enabled = not settings.has("no-security-headers")
        self.disclose = settings.has("server-version-header")
        self.server = (f"uvicorn/{uvicorn.__version__} Python/{platform.python_version()}").encode()
        self.powered_by = f"FastAPI/{fastapi.__version__}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(scope)
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if self.enabled:
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers["X-Frame-Options"] = "DENY"
                    headers["Referrer-Policy"] = "no-referrer"
                    headers["Permissions-Policy"] = PERMISSIONS_POLICY
                    headers["Content-Security-Policy"] = DOCS_CSP if docs else API_CSP
                    headers["Cross-Origin-Opener-Policy"] = "same-origin"
                    headers["Cross-Origin-Resource-Policy"] = "same-origin"
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
                    if https:
                        headers["Strict-Transport-Security"] = HSTS
                if self.disclose:
                    headers["Server"] = self.server.decode()
                    headers["X-Powered-By"] = self.powered_by.decode()
            await send(message)

        await self.app(scope, receive, send_with_headers)
