"""Fixed-window rate limiting, login lockout and client identification.

Limits (``LIMIT/SECONDS``): RATE_LIMIT_DEFAULT per client IP on every request except health,
metrics and CORS preflights; RATE_LIMIT_LOGIN per client IP on POST /auth/token and
/auth/register; RATE_LIMIT_LLM per user on POST /llm/chat. LOGIN_MAX_FAILURES failed logins
for one account inside the login window lock that account (429) until the window ends.
Responses carry RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset / RateLimit-Policy;
a 429 adds Retry-After. When the store (Redis) fails, limiting fails open and logs an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Rate, Settings
from app.store import Store

log = logging.getLogger("ultra.ratelimit")

EXEMPT_PATHS = frozenset({"/health", "/health/ready", "/metrics"})
STATE_HEADERS = "rate_limit_headers"


def client_ip(scope: Scope, settings: Settings) -> str:
    """The client address used as a rate-limit key.

    Without TRUSTED_PROXY, X-Forwarded-For is attacker-controlled and ignored: the key is the
    peer address. uvicorn runs with ``--no-proxy-headers`` so the peer address is never rewritten
    from that header. With TRUSTED_PROXY, ``ForwardedHeadersMiddleware`` (app.proxy) has already
    replaced the peer with the right-most entry (appended by our proxy).
    """
    peer = scope.get("client")
    peer_host = peer[0] if peer else "unknown"
    if settings.has("xff-bypass"):
        raw = Headers(scope=scope).get("x-forwarded-for")
        entries = [entry.strip() for entry in (raw or "").split(",") if entry.strip()]
        if entries:
            return entries[0]
    return peer_host


@dataclass(frozen=True)
class Decision:
    """The outcome of one rate-limit hit, and the RateLimit-* headers that describe it."""

    allowed: bool
    rate: Rate
    count: int
    reset_after: int

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit/Remaining/Reset/Policy``, plus ``Retry-After`` when refused."""
        headers = {
            "RateLimit-Limit": str(self.rate.limit),
            "RateLimit-Remaining": str(max(0, self.rate.limit - self.count)),
            "RateLimit-Reset": str(self.reset_after),
            "RateLimit-Policy": f"{self.rate.limit};w={self.rate.period}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_after)
        return headers


class RateLimiter:
    """Fixed-window counters per bucket and key, in the shared store."""

    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled

    async def hit(self, bucket: str, key: str, rate: Rate) -> Decision | None:
        """Count one request; None when limiting is off or the store failed (fail open)."""
        if not self.enabled:
            return None
        try:
            count, ttl = await self.store.incr(f"rl:{bucket}:{key}", rate.period)
        except Exception:
            log.error("rate-limit store unavailable; request allowed", exc_info=True)
            return None
        return Decision(count <= rate.limit, rate, count, ttl)


class LoginLockout:
    """Counts failed logins per account; LOGIN_MAX_FAILURES inside the window locks it."""

    def __init__(self, store: Store, max_failures: int, window: int, enabled: bool) -> None:
        self.store = store
        self.max_failures = max_failures
        self.window = window
        self.enabled = enabled

    @staticmethod
    def _key(email: str) -> str:
        return f"lockout:{email.strip().lower()}"

    async def locked_for(self, email: str) -> int:
        """Seconds the account stays locked, 0 when it is not locked."""
        if not self.enabled:
            return 0
        try:
            count, ttl = await self.store.peek(self._key(email))
        except Exception:
            log.error("lockout store unavailable", exc_info=True)
            return 0
        return ttl if count >= self.max_failures else 0

    async def record_failure(self, email: str) -> None:
        """Count one failed login for the account (window: the login rate period)."""
        if self.enabled:
            try:
                await self.store.incr(self._key(email), self.window)
            except Exception:
                log.error("lockout store unavailable", exc_info=True)

    async def reset(self, email: str) -> None:
        """Forget the account's failures after a successful login."""
        if self.enabled:
            try:
                await self.store.delete(self._key(email))
            except Exception:
                log.error("lockout store unavailable", exc_info=True)


def too_many_requests(decision_headers: dict[str, str], detail: str) -> HTTPException:
    """A 429 carrying the rate-limit headers (and Retry-After)."""
    return HTTPException(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS, detail=detail, headers=decision_headers
    )


async def enforce(request: Request, bucket: str, key: str, rate: Rate) -> None:
    """Route-level limit: record the headers for the response, raise 429 when over."""
    limiter: RateLimiter = request.app.state.limiter
    decision = await limiter.hit(bucket, key, rate)
    if decision is None:
        return
    request.state.rate_limit_headers = decision.headers()
    if not decision.allowed:
        raise too_many_requests(decision.headers(), "Too many requests")


class DefaultRateLimitMiddleware:
    """RATE_LIMIT_DEFAULT per client IP; adds RateLimit-* headers to every limited response."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, settings: Settings) -> None:
        self.app = app
        self.limiter = limiter
        self.settings = settings
        self.rate = settings.default_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in EXEMPT_PATHS
            or (scope["method"] == "OPTIONS")
        ):
            await self.app(scope, receive, send)
            return
        decision = await self.limiter.hit("default", client_ip(scope, self.settings), self.rate)
        if decision is not None and not decision.allowed:
            body = json.dumps({"detail": "Too many requests"}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ]
            headers += [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                route_headers = state.get(STATE_HEADERS)
                chosen = route_headers or (decision.headers() if decision else None)
                if chosen:
                    existing = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [
                        (k.lower().encode(), v.encode())
                        for k, v in chosen.items()
                        if k.lower().encode() not in existing
                    ]
                    message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
