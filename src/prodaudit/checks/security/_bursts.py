"""Bounded bursts and their verdicts, shared by the rate-limit checks (SEC-040–044). Not a check
module.

A burst stops at the first 429, at three requests without an answer, at
``rate_limit.max_seconds`` or when the HTTP layer's probe budget refuses more. A burst that met no
429 is judged by :func:`no_429_verdict`: budget exhaustion and requests that never reached the
endpoint's logic prove nothing (SKIP); the target's own headers announcing the limit spent are a
positive observation (PASS); without a configured limit, at least ``UNCONFIGURED_WARN_AT`` requests
handled within a minute and no limit announced is an observed absence of throttling (WARN).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prodaudit.auth import LoginPlan
from prodaudit.checks.api import (
    Context,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    Status,
    failed,
    passed,
)
from prodaudit.checks.security._common import live_location

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


# without a configured limit, this many handled requests within a minute and no 429 is a WARN
UNCONFIGURED_WARN_AT = 20
MALFORMED = frozenset({400, 404, 405, 411, 413, 415, 422})  # our request, not the limiter
LOGIN_REFUSAL_RE = re.compile(r"invalid_grant|credential|password|unauthori|incorrect", re.I)
REMAINING_RE = re.compile(r"(?:^|[;,\s])(?:remaining|r)\s*=\s*(\d+)", re.I)


def remaining(ex: Exchange) -> int | None:
    """What the target's own headers say is left of its limit (RateLimit-Remaining,
    X-RateLimit-Remaining, or the structured ``RateLimit: …, remaining=N``)."""
    for name in ("ratelimit-remaining", "x-ratelimit-remaining", "x-rate-limit-remaining"):
        val = ex.header(name)
        if val is not None and val.strip().isdigit():
            return int(val.strip())
    structured = ex.header("ratelimit")
    if structured:
        m = REMAINING_RE.search(structured)
        if m:
            return int(m.group(1))
    return None


def announced_limit(ex: Exchange) -> int | None:
    for name in ("ratelimit-limit", "x-ratelimit-limit", "x-rate-limit-limit"):
        val = ex.header(name)
        if val is not None and val.strip().split(",")[0].split(";")[0].strip().isdigit():
            return int(val.strip().split(",")[0].split(";")[0].strip())
    return None


def exercised(ex: Exchange) -> bool:
    """The request reached the endpoint's own logic (accepted, or refused as a login or an
    authorisation), so a limiter in front of it was exercised; a malformed-request 4xx, a 5xx or
    no answer proves nothing about a limit."""
    if ex.status is None or ex.status >= 500:
        return False
    if ex.status == 400:
        return bool(LOGIN_REFUSAL_RE.search(ex.text[:2000]))
    return ex.status not in MALFORMED


@dataclass
class Burst:
    """The outcome of one bounded burst."""

    sent: int = 0
    seconds: float = 0.0
    first_429: Exchange | None = None
    at: int = 0  # 1-based index of the first 429
    last: Exchange | None = None
    statuses: dict[int | None, int] = field(default_factory=dict)
    stopped: str = ""  # why it stopped early (time bound, errors, the probe budget)
    exercised: int = 0  # answers that reached the endpoint's logic
    spent: Exchange | None = None  # the first answer whose headers say nothing is left
    spent_at: int = 0
    limit: int | None = None  # the limit the target announces in its headers

    def summary(self) -> str:
        counts = ", ".join(
            f"{k or 'no answer'}×{v}"
            for k, v in sorted(self.statuses.items(), key=lambda kv: kv[0] or 0)
        )
        return f"{self.sent} requests in {self.seconds:.1f} s ({counts})"

    @property
    def seen_at(self) -> int:
        """Where the limit showed: the first 429, else the answer that announced it spent."""
        return self.at or self.spent_at


class Login:
    """The login adapter (``ctx.login_plan()``) as the bursts use it: wrong passwords for a
    user name, and the judgement of whether an answer reached the login's own logic."""

    def __init__(self, plan: LoginPlan) -> None:
        self.plan = plan
        self.url = plan.url

    async def attempt(
        self, ctx: Context, username: str, headers: dict[str, str] | None = None
    ) -> Exchange:
        return await self.plan.send(ctx.http, username, "prodaudit-wrong-" + secrets.token_hex(6),
                                    headers)

    def exercised(self, ex: Exchange) -> bool:
        """With a body shape that logged the audit account in, a 400/401/403 is the login
        refusing the password; otherwise only what :func:`exercised` accepts counts (a 4xx to
        a guessed body may be our own malformed request)."""
        if self.plan.verified and ex.status in (400, 401, 403):
            return True
        return exercised(ex)


async def login_endpoint(ctx: Context) -> Login:
    """The login adapter for bursts (Skip when no login is known)."""
    return Login(await ctx.login_plan())


def burst_budget(ctx: Context, configured: int | None) -> int:
    rl = ctx.cfg.rate_limit
    want = (configured + rl.margin) if configured else rl.max_requests
    return max(1, min(want, rl.max_requests))


async def burst(ctx: Context, count: int, send: object,
                judge: Callable[[Exchange], bool] = exercised) -> Burst:
    """Call ``send(i)`` up to ``count`` times within ``rate_limit.max_seconds``; stop at a 429,
    at three requests without an answer, or when the HTTP layer's budget refuses more.
    ``judge`` says whether an answer reached the endpoint's logic (``Login.exercised``)."""
    b = Burst()
    start = time.monotonic()
    deadline = start + ctx.cfg.rate_limit.max_seconds
    errors = 0
    for i in range(count):
        if time.monotonic() > deadline:
            b.stopped = f"time bound of {ctx.cfg.rate_limit.max_seconds:.0f} s reached"
            break
        try:
            ex: Exchange = await send(i)  # type: ignore[operator]
        except NotSent as exc:
            b.stopped = exc.reason
            break
        b.sent += 1
        b.last = ex
        b.statuses[ex.status] = b.statuses.get(ex.status, 0) + 1
        if ex.status == 429:
            b.first_429, b.at = ex, i + 1
            break
        if judge(ex):
            b.exercised += 1
        b.limit = announced_limit(ex) or b.limit
        if b.spent is None and remaining(ex) == 0:
            b.spent, b.spent_at = ex, i + 1
        if ex.status is None:
            errors += 1
            if errors >= 3:
                b.stopped = f"3 requests got no answer ({ex.error})"
                break
    b.seconds = time.monotonic() - start
    return b


def no_429_verdict(
    b: Burst, what: str, location: str, configured: int | None, margin: int, knob: str
) -> list[Finding]:
    """The verdict on a burst that met no 429. PASS when the target's own headers announce the
    limit spent; FAIL (HIGH) only when a configured limit plus the margin was exceeded by
    requests that reached the endpoint; WARN (MEDIUM) when no limit is configured or announced
    and at least ``UNCONFIGURED_WARN_AT`` requests reached the endpoint within a minute;
    otherwise SKIP: a small budget and requests that never exercised the endpoint prove
    nothing."""
    if b.spent is not None:
        return [
            passed(
                f"{what}: the target's own headers announce the limit spent at request "
                f"{b.spent_at} ({', '.join(limit_headers(b.spent))}) ({b.summary()})",
                location=live_location(b.spent),
            )
        ]
    stopped = f"; {b.stopped}" if b.stopped else ""
    if not b.exercised:
        raise Skip(
            f"{what}: no request reached the endpoint's logic ({b.summary()}{stopped}): "
            "malformed-request 4xx, server errors or no answers prove nothing about a limit"
        )
    if configured is not None and b.exercised >= configured + margin:
        return unthrottled(
            b,
            f"no 429 from {location} after {b.summary()}: the configured limit of {configured} "
            f"(+ margin {margin}) is not enforced{stopped}",
            location,
        )
    announced = f"; the target announces a limit of {b.limit}" if b.limit else ""
    if configured is not None:
        raise Skip(
            f"{what}: the burst ended before the configured limit of {configured} + margin "
            f"{margin} was reached ({b.summary()}{stopped}){announced}: raise "
            "rate_limit.max_requests / max_seconds to verify it"
        )
    if b.limit is None and b.exercised >= UNCONFIGURED_WARN_AT and b.seconds <= 60:
        # no limit configured, none announced, and more requests handled within a minute than
        # any login or paid endpoint should take: an observed absence of throttling (WARN,
        # not the HIGH failure a configured limit earns)
        return [
            Finding(
                Status.WARN,
                f"{what}: {b.exercised} requests reached the endpoint's logic within "
                f"{b.seconds:.0f} s without a 429 or a rate-limit header ({b.summary()}{stopped}): "
                f"no limit up to {b.exercised} a minute; set {knob} to the intended limit (the "
                "check then fails when it is not enforced)",
                location=location,
                evidence=b.last.evidence(300) if b.last else "",
                severity=Severity.MEDIUM,
            )
        ]
    raise Skip(
        f"{what}: no 429 within the budget ({b.summary()}{stopped}){announced}: the limit, if "
        f"any, is above the budget; set {knob} to the intended limit (the check then fails "
        "when it is not enforced) or raise rate_limit.max_requests"
    )


def probe_user(tag: str, i: int = 0) -> str:
    return f"prodaudit-{tag}-{i}-{secrets.token_hex(3)}@example.invalid"


async def login_burst(ctx: Context) -> tuple[Login, Burst]:
    """Wrong-password logins for rotating made-up users (per-client throttle), memoised."""

    async def build() -> tuple[Login, Burst]:
        ep = await login_endpoint(ctx)
        n = burst_budget(ctx, ctx.cfg.rate_limit.login_limit)
        b = await burst(ctx, n, lambda i: ep.attempt(ctx, probe_user("rl", i)), ep.exercised)
        return ep, b

    result: tuple[Login, Burst] = await ctx.amemo("sec:login-burst", build)
    return result


def unthrottled(b: Burst, message: str, location: str) -> list[Finding]:
    """The FAIL of a burst that met no 429, with the last answer as evidence."""
    return [failed(message, location=location, evidence=b.last.evidence(300) if b.last else "")]


def throttled(b: Burst, message: str) -> list[Finding]:
    """The PASS of a burst that met a 429, located at that answer."""
    assert b.first_429 is not None
    return [passed(message, location=live_location(b.first_429))]


def limit_headers(ex: Exchange) -> list[str]:
    return [f"{h}: {ex.header(h)}" for h in LIMIT_HEADERS if ex.header(h) is not None]
