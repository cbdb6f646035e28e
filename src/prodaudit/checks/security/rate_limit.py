"""SEC-040–044: bounded bursts against the login and LLM endpoints.

Every burst is ``exclusive`` (runs after all concurrent checks, so it cannot lock the audit
account out for them) and bounded by ``rate_limit.max_requests`` and ``rate_limit.max_seconds``.
Login bursts use made-up user names and wrong passwords, never the audit account's password.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.security._bursts import (
    burst,
    burst_budget,
    limit_headers,
    login_burst,
    login_endpoint,
    no_429_verdict,
    probe_user,
    throttled,
    unthrottled,
)
from prodaudit.checks.security._common import chat_body, live_location, llm_path

REFS = ("CWE-307", "CWE-770", "OWASP API4:2023")
CHECKLIST = ("1.3.7", "8.2.2", "P.3.5")


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

    Without a configured limit, a burst that ends without a 429 is a WARN when at least 20
    requests reached the endpoint within a minute and the target announced no limit (an
    observed absence of throttling); a shorter burst proves nothing (SKIP).

    Without a per-client limit, password spraying and credential stuffing run at full speed.

    Remediation: limit the login route per client IP (e.g. 10 per minute) in the application or
    the reverse proxy, answer 429 with ``Retry-After``.
    """
    ep, b = await login_burst(ctx)
    if b.first_429 is None:
        if b.stopped and b.sent < 3:
            raise Skip(f"login burst could not run: {b.stopped}")
        rl = ctx.cfg.rate_limit
        return no_429_verdict(b, "login burst", f"POST {ep.url}", rl.login_limit, rl.margin,
                       "rate_limit.login_limit")
    hdrs = limit_headers(b.first_429)
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
    if not first.seen_at:
        raise Skip("the login endpoint showed no limit (SEC-040), so there is nothing to bypass")
    limit_at = first.seen_at
    n = min(limit_at + ctx.cfg.rate_limit.margin, ctx.cfg.rate_limit.max_requests)
    b = await burst(
        ctx,
        n,
        lambda i: ep.attempt(
            ctx, probe_user("xff", i), {"X-Forwarded-For": f"203.0.113.{(i % 250) + 1}"}
        ),
        ep.exercised,
    )
    if b.first_429 is None and b.spent is not None:
        return [
            passed(
                f"rotating X-Forwarded-For: the target's headers still announce the limit spent "
                f"at request {b.spent_at} ({b.summary()})",
                location=live_location(b.spent),
            )
        ]
    if b.first_429 is None:
        if b.exercised < limit_at + 1:
            raise Skip(
                f"the rotating X-Forwarded-For burst ended before it passed the limit seen at "
                f"request {limit_at} ({b.summary()}"
                + (f"; {b.stopped}" if b.stopped else "")
                + "): a bypass was not verified"
            )
        return unthrottled(
            b,
            f"{b.sent} logins with rotating X-Forwarded-For got no 429 (the limit was "
            f"hit at request {limit_at} without the header): {b.summary()}",
            f"POST {ep.url}",
        )
    return throttled(
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

    Without a configured limit, a burst that ends without a 429 is a WARN when at least 20
    requests reached the endpoint within a minute and the target announced no limit (an
    observed absence of throttling); a shorter burst proves nothing (SKIP).

    Per-account throttling stops slow, distributed guessing of one user's password that a per-IP
    limit misses.

    Remediation: count failed logins per account in a window and lock (429/423 with Retry-After)
    after a handful; reset on success.
    """
    ep = await login_endpoint(ctx)
    user = os.environ.get(ctx.cfg.auth.second_username_env) or probe_user("lock")
    n = burst_budget(ctx, ctx.cfg.rate_limit.login_limit)

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

    b = await burst(ctx, n, send, ep.exercised)
    if b.first_429 is None:
        rl = ctx.cfg.rate_limit
        return no_429_verdict(b, "wrong passwords for one account", f"POST {ep.url}", rl.login_limit,
                       rl.margin, "rate_limit.login_limit")
    return throttled(
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

    Without a configured limit, a burst that ends without a 429 is a WARN when at least 20
    requests reached the endpoint within a minute and the target announced no limit (an
    observed absence of throttling); a shorter burst proves nothing (SKIP).

    Every LLM call costs money: an unthrottled endpoint is a denial-of-wallet.

    Remediation: limit LLM calls per user and per IP (e.g. 20 per minute) and set a monthly budget
    at the provider.
    """
    path = await llm_path(ctx)
    if path is None:
        raise Skip("no LLM endpoint found (llm.endpoints, or a POST path with chat/completion/llm)")
    url = ctx.url(path)
    refused = ctx.http.refusal("POST", url)
    if refused:
        raise Skip(f"the LLM burst was not sent: {refused} (every call may be billed)")
    sess = await ctx.auth()
    n = burst_budget(ctx, ctx.cfg.rate_limit.llm_limit)
    b = await burst(
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
        rl = ctx.cfg.rate_limit
        return no_429_verdict(b, "LLM burst", f"POST {url}", rl.llm_limit, rl.margin,
                       "rate_limit.llm_limit")
    return throttled(
        b,
        f"POST {path} answered 429 at request {b.at} ({b.summary()}); "
        + (", ".join(limit_headers(b.first_429)) or "no limit headers"),
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
    seen = b.first_429 or b.spent
    if seen is None:
        raise Skip("no login limit was observed (SEC-040), nothing to reset")
    wait = ctx.cfg.rate_limit.window_seconds or _wait_hint(seen)
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
    ex = await ep.attempt(ctx, probe_user("reset"))
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
