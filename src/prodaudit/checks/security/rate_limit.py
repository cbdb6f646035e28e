"""SEC-040–044: bounded bursts against the login and LLM endpoints.

Every burst is ``exclusive`` (runs after all concurrent checks, so it cannot lock the audit
account out for them) and bounded by ``rate_limit.max_requests`` and ``rate_limit.max_seconds``.
Login bursts use made-up user names and wrong passwords, never the audit account's password.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from dataclasses import dataclass, field

from prodaudit.auth import login_url
from prodaudit.auth import username_field as _username_field
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    OpenAPIDoc,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.security._common import chat_body, live_location, llm_path

REFS = ("CWE-307", "CWE-770", "OWASP API4:2023")
CHECKLIST = ("1.3.7", "8.2.2", "P.3.5")
LIMIT_HEADERS = (
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "ratelimit",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
)


@dataclass
class Burst:
    """The outcome of one bounded burst."""

    sent: int = 0
    seconds: float = 0.0
    first_429: Exchange | None = None
    at: int = 0  # 1-based index of the first 429
    last: Exchange | None = None
    statuses: dict[int | None, int] = field(default_factory=dict)
    stopped: str = ""  # why it stopped early (time bound, errors)

    def summary(self) -> str:
        counts = ", ".join(
            f"{k or 'no answer'}×{v}"
            for k, v in sorted(self.statuses.items(), key=lambda kv: kv[0] or 0)
        )
        return f"{self.sent} requests in {self.seconds:.1f} s ({counts})"


class _Login:
    def __init__(self, url: str, kind: str, field_name: str) -> None:
        self.url, self.kind, self.field = url, kind, field_name

    async def attempt(
        self, ctx: Context, username: str, headers: dict[str, str] | None = None
    ) -> Exchange:
        payload = {self.field: username, "password": "prodaudit-wrong-" + secrets.token_hex(6)}
        if self.kind == "form":
            return await ctx.http.request("POST", self.url, data=payload, headers=headers)
        return await ctx.http.request("POST", self.url, json=payload, headers=headers)


async def _login_endpoint(ctx: Context) -> _Login:
    doc: OpenAPIDoc | None
    try:
        doc = await ctx.openapi()
    except Skip:
        doc = None
    url = login_url(doc, ctx.cfg.auth, ctx.base_url)
    if url is None:
        raise Skip("no login endpoint found (auth.login_url, OpenAPI tokenUrl or a /login path)")
    kind: str = ctx.cfg.auth.login_body
    if kind == "auto":
        try:
            kind = (await ctx.auth()).body_kind
        except Skip:
            kind = "form" if doc is not None and doc.token_url() else "json"
    return _Login(url, kind, _username_field(doc, url, ctx.cfg.auth))


def _budget(ctx: Context, configured: int | None) -> int:
    rl = ctx.cfg.rate_limit
    want = (configured + rl.margin) if configured else rl.max_requests
    return max(1, min(want, rl.max_requests))


async def _burst(ctx: Context, count: int, send: object) -> Burst:
    """Call ``send(i)`` up to ``count`` times within ``rate_limit.max_seconds``; stop at a 429."""
    b = Burst()
    start = time.monotonic()
    deadline = start + ctx.cfg.rate_limit.max_seconds
    errors = 0
    for i in range(count):
        if time.monotonic() > deadline:
            b.stopped = f"time bound of {ctx.cfg.rate_limit.max_seconds:.0f} s reached"
            break
        ex: Exchange = await send(i)  # type: ignore[operator]
        b.sent += 1
        b.last = ex
        b.statuses[ex.status] = b.statuses.get(ex.status, 0) + 1
        if ex.status == 429:
            b.first_429, b.at = ex, i + 1
            break
        if ex.status is None:
            errors += 1
            if errors >= 3:
                b.stopped = f"3 requests got no answer ({ex.error})"
                break
    b.seconds = time.monotonic() - start
    return b


def _probe_user(tag: str, i: int = 0) -> str:
    return f"prodaudit-{tag}-{i}-{secrets.token_hex(3)}@example.invalid"


async def login_burst(ctx: Context) -> tuple[_Login, Burst]:
    """Wrong-password logins for rotating made-up users (per-client throttle), memoised."""

    async def build() -> tuple[_Login, Burst]:
        ep = await _login_endpoint(ctx)
        n = _budget(ctx, ctx.cfg.rate_limit.login_limit)
        b = await _burst(ctx, n, lambda i: ep.attempt(ctx, _probe_user("rl", i)))
        return ep, b

    result: tuple[_Login, Burst] = await ctx.amemo("sec:login-burst", build)
    return result


def _unthrottled(b: Burst, message: str, location: str) -> list[Finding]:
    """The FAIL of a burst that met no 429, with the last answer as evidence."""
    return [failed(message, location=location, evidence=b.last.evidence(300) if b.last else "")]


def _throttled(b: Burst, message: str) -> list[Finding]:
    """The PASS of a burst that met a 429, located at that answer."""
    assert b.first_429 is not None
    return [passed(message, location=live_location(b.first_429))]


def _limit_headers(ex: Exchange) -> list[str]:
    return [f"{h}: {ex.header(h)}" for h in LIMIT_HEADERS if ex.header(h) is not None]


@check(
    "SEC-040",
    "The login endpoint is rate limited per client",
    severity=Severity.HIGH,
    needs=("live",),
    exclusive=True,
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def login_rate_limit(ctx: Context) -> list[Finding]:
    """A burst of wrong-password logins (made-up user names, so no account lock-out is involved)
    meets a 429 within ``rate_limit.login_limit`` + ``rate_limit.margin`` requests (or
    ``rate_limit.max_requests`` when the limit is not configured), and the 429 carries
    ``Retry-After`` or ``RateLimit-*`` headers.

    Without a per-client limit, password spraying and credential stuffing run at full speed.

    Remediation: limit the login route per client IP (e.g. 10 per minute) in the application or
    the reverse proxy, answer 429 with ``Retry-After``.
    """
    ep, b = await login_burst(ctx)
    if b.first_429 is None:
        if b.stopped and b.sent < 3:
            raise Skip(f"login burst could not run: {b.stopped}")
        return _unthrottled(
            b,
            f"no 429 from POST {ep.url} after {b.summary()}"
            + (f"; {b.stopped}" if b.stopped else ""),
            f"POST {ep.url}",
        )
    hdrs = _limit_headers(b.first_429)
    out = [
        passed(
            f"POST {ep.url} answered 429 at request {b.at} ({b.summary()})",
            location=live_location(b.first_429),
        )
    ]
    if not any(
        h.split(":")[0] in ("retry-after", "ratelimit-reset", "x-ratelimit-reset", "ratelimit")
        for h in hdrs
    ):
        out.append(
            warned(
                "the 429 carries neither Retry-After nor RateLimit-Reset: clients cannot "
                "know when to retry",
                location=live_location(b.first_429),
                evidence=b.first_429.evidence(300),
            )
        )
    else:
        out.append(passed("the 429 carries " + ", ".join(hdrs)))
    return out


@check(
    "SEC-041",
    "Rotating X-Forwarded-For does not bypass the login limit",
    severity=Severity.HIGH,
    needs=("live",),
    exclusive=True,
    checklist=CHECKLIST,
    references=REFS + ("CWE-290",),
    evidence=Evidence.OBSERVED,
)
async def xff_bypass(ctx: Context) -> list[Finding]:
    """After the login limit was observed (SEC-040's burst), the same number of requests plus the
    margin, each with a different ``X-Forwarded-For`` (TEST-NET addresses), still meets a 429.
    Skipped when ``rate_limit.trusted_proxy`` says a proxy in front sets the header.

    Keying the limit on a client-supplied header lets an attacker mint a fresh bucket per request.

    Remediation: take the client address from the socket, or from the right-most
    ``X-Forwarded-For`` entry added by your own proxy only (uvicorn ``--forwarded-allow-ips``).
    """
    if ctx.cfg.rate_limit.trusted_proxy:
        raise Skip("rate_limit.trusted_proxy: a trusted proxy sets X-Forwarded-For")
    ep, first = await login_burst(ctx)
    if first.first_429 is None:
        raise Skip("the login endpoint showed no limit (SEC-040), so there is nothing to bypass")
    n = min(first.at + ctx.cfg.rate_limit.margin, ctx.cfg.rate_limit.max_requests)
    b = await _burst(
        ctx,
        n,
        lambda i: ep.attempt(
            ctx, _probe_user("xff", i), {"X-Forwarded-For": f"203.0.113.{(i % 250) + 1}"}
        ),
    )
    if b.first_429 is None:
        return _unthrottled(
            b,
            f"{b.sent} logins with rotating X-Forwarded-For got no 429 (the limit was "
            f"hit at request {first.at} without the header): {b.summary()}",
            f"POST {ep.url}",
        )
    return _throttled(
        b,
        f"rotating X-Forwarded-For still met 429 at request {b.at} ({b.summary()})",
    )


@check(
    "SEC-042",
    "Repeated wrong passwords for one account are throttled or locked out",
    severity=Severity.HIGH,
    needs=("live",),
    exclusive=True,
    checklist=CHECKLIST + ("8.1.4",),
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def account_lockout(ctx: Context) -> list[Finding]:
    """Wrong passwords for one user name (the second audit account when configured, else a
    made-up one), each from a different ``X-Forwarded-For``, meet a 429 (or 423) within
    ``rate_limit.login_limit`` + margin attempts (``rate_limit.max_requests`` when unset).

    Per-account throttling stops slow, distributed guessing of one user's password that a per-IP
    limit misses.

    Remediation: count failed logins per account in a window and lock (429/423 with Retry-After)
    after a handful; reset on success.
    """
    ep = await _login_endpoint(ctx)
    user = os.environ.get(ctx.cfg.auth.second_username_env) or _probe_user("lock")
    n = _budget(ctx, ctx.cfg.rate_limit.login_limit)

    async def send(i: int) -> Exchange:
        ex = await ep.attempt(ctx, user, {"X-Forwarded-For": f"198.51.100.{(i % 250) + 1}"})
        if ex.status == 423:  # Locked: treat like a 429 for the burst
            return Exchange(
                ex.method,
                ex.url,
                ex.request_headers,
                ex.request_body,
                429,
                ex.headers,
                ex.body,
                ex.truncated,
                ex.elapsed_s,
            )
        return ex

    b = await _burst(ctx, n, send)
    if b.first_429 is None:
        return _unthrottled(
            b,
            f"{b.sent} wrong passwords for one account were neither throttled nor "
            f"locked: {b.summary()}",
            f"POST {ep.url}",
        )
    return _throttled(
        b,
        f"attempt {b.at} for one account was refused with 429/423 ({b.summary()})",
    )


@check(
    "SEC-043",
    "The LLM endpoint is rate limited",
    severity=Severity.HIGH,
    needs=("live",),
    exclusive=True,
    checklist=CHECKLIST,
    references=REFS + ("OWASP LLM10:2025",),
    evidence=Evidence.OBSERVED,
)
async def llm_rate_limit(ctx: Context) -> list[Finding]:
    """A burst of small chat requests from the audit account meets a 429 within
    ``rate_limit.llm_limit`` + margin requests (``rate_limit.max_requests`` when unset).

    Every LLM call costs money: an unthrottled endpoint is a denial-of-wallet.

    Remediation: limit LLM calls per user and per IP (e.g. 20 per minute) and set a monthly budget
    at the provider.
    """
    path = await llm_path(ctx)
    if path is None:
        raise Skip("no LLM endpoint found (llm.endpoints, or a POST path with chat/completion/llm)")
    sess = await ctx.auth()
    url = ctx.url(path)
    n = _budget(ctx, ctx.cfg.rate_limit.llm_limit)
    b = await _burst(
        ctx,
        n,
        lambda i: ctx.http.request(
            "POST",
            url,
            headers=sess.headers(),
            json=chat_body(),
            timeout=ctx.cfg.llm.timeout_seconds,
        ),
    )
    if b.first_429 is None:
        if b.sent < 3:
            raise Skip(f"LLM burst could not run: {b.stopped or b.summary()}")
        return _unthrottled(
            b,
            f"no 429 from POST {path} after {b.summary()}"
            + (f"; {b.stopped}" if b.stopped else ""),
            f"POST {url}",
        )
    return _throttled(
        b,
        f"POST {path} answered 429 at request {b.at} ({b.summary()}); "
        + (", ".join(_limit_headers(b.first_429)) or "no limit headers"),
    )


def _wait_hint(ex: Exchange) -> float | None:
    for name in ("retry-after", "ratelimit-reset", "x-ratelimit-reset"):
        val = ex.header(name)
        if val and re.fullmatch(r"\d+(\.\d+)?", val.strip()):
            v = float(val)
            return v - time.time() if v > 1e9 else v
    return None


@check(
    "SEC-044",
    "The login limit resets after its window",
    severity=Severity.LOW,
    needs=("live",),
    exclusive=True,
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def limit_resets(ctx: Context) -> list[Finding]:
    """After the login 429 (SEC-040), waiting ``Retry-After`` (or ``rate_limit.window_seconds``)
    lets a login attempt through again (401, not 429). Runs only when the wait is at most
    ``rate_limit.max_reset_wait_seconds`` (default 0: not run).

    A limit that never resets locks legitimate users out; one that resets immediately limits
    nothing.

    Remediation: use a fixed or sliding window with a TTL and announce it in ``Retry-After``.
    """
    ep, b = await login_burst(ctx)
    if b.first_429 is None:
        raise Skip("no login 429 was observed (SEC-040), nothing to reset")
    wait = ctx.cfg.rate_limit.window_seconds or _wait_hint(b.first_429)
    if wait is None:
        raise Skip(
            "the window is unknown: no Retry-After/RateLimit-Reset, rate_limit.window_seconds unset"
        )
    limit = ctx.cfg.rate_limit.max_reset_wait_seconds
    if wait > limit:
        raise Skip(
            f"the window is {wait:.0f} s, over rate_limit.max_reset_wait_seconds ({limit:.0f} s)"
        )
    # wait for the window plus the time spent since, then one attempt
    await asyncio.sleep(max(0.0, wait) + 1.0)
    ex = await ep.attempt(ctx, _probe_user("reset"))
    if ex.status == 429:
        return [
            failed(
                f"still 429 after waiting {wait + 1:.0f} s (announced window {wait:.0f} s)",
                location=live_location(ex),
                evidence=ex.evidence(300),
            )
        ]
    if ex.status is None:
        return [warned(f"no answer after the wait: {ex.error}", location=live_location(ex))]
    return [
        passed(
            f"after waiting {wait + 1:.0f} s a login attempt got {ex.status} again, not 429",
            location=live_location(ex),
        )
    ]
