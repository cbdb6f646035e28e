"""One bounded HTTP client for live checks, and exchanges kept as reproducible evidence.

Every request has a timeout and an overall deadline; bodies are read up to a size cap; every
exchange is recorded (the API-key leak check scans them) and can render itself as evidence
with a ``curl`` command that reproduces it.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import httpx

EVIDENCE_BODY_CHARS = 1200


@dataclass(frozen=True)
class Exchange:
    """A request and its response (or the error that replaced it)."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed_s: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in _multi(self.headers) if k.lower() == low]

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def curl(self, placeholders: Mapping[str, str] | None = None) -> str:
        """A curl command reproducing the request; header values may be swapped for $VARS."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for k, v in self.request_headers.items():
            if k.lower() in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
                continue
            if k.lower() == "accept" and v == "*/*":
                continue
            shown = v
            for secret, var in (placeholders or {}).items():
                if secret and secret in shown:
                    shown = shown.replace(secret, var)
            parts += ["-H", f"{k}: {shown}"]
        if self.request_body:
            parts += ["--data-binary", self.request_body[:2000].decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(p) if not p.startswith("$") else p for p in parts)

    def evidence(self, body_chars: int = EVIDENCE_BODY_CHARS) -> str:
        """Request line and headers, response status, headers and a body excerpt, plus curl."""
        lines = [f"> {self.method} {self.url}"]
        for k, v in self.request_headers.items():
            if k.lower() in ("accept-encoding", "connection", "user-agent", "accept"):
                continue
            lines.append(f"> {k}: {v}")
        if self.request_body:
            body = self.request_body[:400].decode("utf-8", "replace")
            more = "…" if len(self.request_body) > 400 else ""
            lines.append(f"> (body {len(self.request_body)} bytes) {body}{more}")
        if self.status is None:
            lines.append(f"< no response: {self.error}")
        else:
            lines.append(f"< HTTP {self.status}  ({self.elapsed_s * 1000:.0f} ms)")
            for k, v in _multi(self.headers):
                lines.append(f"< {k}: {v}")
            if self.body:
                text = self.text[:body_chars]
                more = f"… ({len(self.body)} bytes{'+' if self.truncated else ''})" if (
                    len(self.body) > body_chars or self.truncated
                ) else ""
                lines.append(f"< {text}{more}")
        lines.append("$ " + self.curl())
        return "\n".join(lines)


def _multi(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    if isinstance(headers, httpx.Headers):
        return list(headers.multi_items())
    return list(headers.items())


class Http:
    """Wraps one ``httpx.AsyncClient``: bounded requests, recorded exchanges, a request counter."""

    def __init__(
        self,
        *,
        timeout: float,
        max_body_bytes: int,
        verify: bool = False,
        max_exchanges: int = 5000,
    ) -> None:
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._verify = verify
        self._client: httpx.AsyncClient | None = None
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.max_exchanges = max_exchanges
        self.count = 0

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                verify=self._verify,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={"User-Agent": "prodaudit"},
            )
            # store no cookie: a Set-Cookie from one answer (a login) must never ride along on
            # later requests (unauthenticated probes); checks send cookies explicitly as headers
            self._client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, Any] | None = None,
        follow_redirects: bool = False,
        timeout: float | None = None,
        max_body_bytes: int | None = None,
        record: bool = True,
    ) -> Exchange:
        """Send one request; never raises for network errors (the Exchange carries the error)."""
        limit = max_body_bytes or self.max_body_bytes
        deadline = timeout or self.timeout
        req = self.client.build_request(
            method, url, headers=headers, json=json, data=data, content=content, params=params,
            timeout=httpx.Timeout(deadline),
        )
        start = time.monotonic()
        with self._lock:
            self.count += 1
        try:
            ex = await asyncio.wait_for(
                self._send(req, limit, follow_redirects, start), timeout=deadline * 2 + 1
            )
        except TimeoutError:
            ex = _error_exchange(req, start, f"no complete response within {deadline * 2 + 1:.0f} s")
        except httpx.TooManyRedirects:
            ex = _error_exchange(req, start, "too many redirects (redirect loop?)")
        except httpx.TimeoutException as exc:
            ex = _error_exchange(req, start, f"timed out after {deadline:.0f} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ex = _error_exchange(req, start, why)
        if record:
            with self._lock:
                if len(self.exchanges) < self.max_exchanges:
                    self.exchanges.append(ex)
        return ex

    async def _send(
        self, req: httpx.Request, limit: int, follow: bool, start: float
    ) -> Exchange:
        resp = await self.client.send(req, stream=True, follow_redirects=follow)
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            async for chunk in resp.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    truncated = True
                    break
            body = b"".join(chunks)[:limit]
        finally:
            await resp.aclose()
        return Exchange(
            method=req.method,
            url=str(resp.request.url),
            request_headers=dict(resp.request.headers),
            request_body=_request_body(resp.request),
            status=resp.status_code,
            headers=resp.headers,
            body=body,
            truncated=truncated,
            elapsed_s=time.monotonic() - start,
        )

    async def get(self, url: str, **kw: Any) -> Exchange:
        return await self.request("GET", url, **kw)


def _request_body(req: httpx.Request) -> bytes:
    try:
        return req.content
    except httpx.RequestNotRead:
        return b""


def _error_exchange(req: httpx.Request, start: float, error: str) -> Exchange:
    return Exchange(
        method=req.method,
        url=str(req.url),
        request_headers=dict(req.headers),
        request_body=_request_body(req),
        status=None,
        elapsed_s=time.monotonic() - start,
        error=error,
    )


def join_url(base: str, path: str) -> str:
    """``base`` + absolute path or full URL."""
    if path.startswith(("http://", "https://")):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")
