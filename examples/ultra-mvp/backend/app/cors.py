"""CORS with an exact-match allowlist (CORS_ORIGINS) and credentials.

Only listed origins get ``Access-Control-Allow-Origin`` (never ``*``, never ``null``); other
origins get no CORS headers at all, and their preflights are refused with 403. Three flaws
loosen the origin test: cors-reflect-origin, cors-null-origin, cors-suffix-match.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = ("authorization", "content-type", "x-request-id")
EXPOSE_HEADERS = (
    "X-Request-ID, X-LLM-Mock, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
    "RateLimit-Reset, RateLimit-Policy"
)
MAX_AGE = "600"


class OriginPolicy:
    """Decides which Origin values may call the API with credentials (CORS_ORIGINS, or the CORS flaws)."""

    def __init__(self, settings: Settings) -> None:
        self.allowed = frozenset(settings.cors_origins)
        self.reflect_any = settings.has("cors-reflect-origin")
        self.allow_null = settings.has("cors-null-origin")
        self.suffix_hosts = (
            tuple(urlsplit(origin).netloc for origin in settings.cors_origins)
            if settings.has("cors-suffix-match")
            else ()
        )

    def allows(self, origin: str) -> bool:
        """True when ``origin`` may read responses: an exact, case-insensitive match of CORS_ORIGINS."""
        if self.reflect_any:
            return True
        if origin == "null":
            return self.allow_null
        if origin.lower() in self.allowed:
            return True
        return any(origin.lower().endswith(host) for host in self.suffix_hosts)


class CORSMiddleware:
    """CORS with credentials for the allowed origins only: answers preflights itself and adds
    ``Access-Control-Allow-*`` and ``Vary: Origin`` to the responses of allowed origins.
    """
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = OriginPolicy(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = self.policy.allows(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, allowed, headers, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.append("Vary", "Origin")
                if allowed:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Allow-Credentials"] = "true"
                    response_headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, allowed: bool, headers: Headers, send: Send) -> None:
        requested_method = headers.get("access-control-request-method", "").upper()
        requested_headers = [
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        ]
        ok = (
            allowed
            and requested_method in ALLOW_METHODS.split(", ")
            and all(h in ALLOW_HEADERS for h in requested_headers)
        )
        vary = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        if not ok:
            body = json.dumps({"detail": "CORS preflight rejected"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"vary", vary),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-credentials", b"true"),
                    (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                    (b"access-control-allow-headers", ", ".join(ALLOW_HEADERS).encode()),
                    (b"access-control-max-age", MAX_AGE.encode()),
                    (b"vary", vary),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
