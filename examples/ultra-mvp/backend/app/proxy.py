"""Reverse-proxy headers, honoured only behind a proxy we control (TRUSTED_PROXY=true).

uvicorn runs with ``--no-proxy-headers``: it never rewrites the peer address or the scheme from
``X-Forwarded-*`` headers, which any client can send. When TRUSTED_PROXY is on, this middleware
(installed outside every layer that needs them) does it instead, with the rules of this product:

- the client address is the **right-most** ``X-Forwarded-For`` entry, the one our proxy appended
  (entries to its left come from the client and are not trusted);
- the scheme is the first ``X-Forwarded-Proto`` value when it is ``http`` or ``https``, so HSTS
  is sent for requests that reached the proxy over TLS.

Without TRUSTED_PROXY the middleware is not installed and both headers are ignored.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send


def forwarded_client(header: str | None) -> str | None:
    """The right-most non-empty entry of an ``X-Forwarded-For`` value, or None."""
    entries = [entry.strip() for entry in (header or "").split(",") if entry.strip()]
    return entries[-1] if entries else None


def forwarded_scheme(header: str | None) -> str | None:
    """``http``/``https`` from the first ``X-Forwarded-Proto`` value, or None."""
    proto = (header or "").split(",")[0].strip().lower()
    return proto if proto in ("http", "https") else None


class ForwardedHeadersMiddleware:
    """Rewrite ``scope["client"]`` and ``scope["scheme"]`` from the trusted proxy's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            client = forwarded_client(headers.get("x-forwarded-for"))
            if client is not None:
                peer = scope.get("client")
                scope["client"] = (client, peer[1] if peer else 0)
            scheme = forwarded_scheme(headers.get("x-forwarded-proto"))
            if scheme is not None:
                scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
        await self.app(scope, receive, send)
