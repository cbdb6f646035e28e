"""FUN-001–009: liveness and readiness endpoints."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.functional._health import (
    LivenessDown,
    NoLiveness,
    UnknownPath,
    Unusable,
    find_liveness,
    not_health_answer,
    redirect_trouble,
    unusable_is_error,
)
from prodaudit.redact import mask_evidence


@check(
    "FUN-001",
    "Liveness endpoint answers 200 quickly",
    severity=Severity.HIGH,
    needs=("target",),
    checklist=("9.2.4",),
    references=("OWASP API8:2023",),
    evidence=Evidence.OBSERVED,
)
async def liveness(ctx: Context) -> list[Finding]:
    """The backend answers, and its liveness endpoint answers 200 within
    ``health.max_liveness_ms``, with a body that is what it declares. A candidate that answers
    200 like a made-up path does (a catch-all or soft-404 page) or with an HTML page (a
    look-alike such as a ``/health/`` page of the product) is not a liveness endpoint; a
    candidate that redirects is followed.

    A backend that does not answer at all (refused connection, no HTTP answer, TLS failure,
    timeout), or whose liveness endpoint answers 5xx or nothing, is a CRITICAL failure of the
    product: the release is NO-GO. A backend that answers but has no liveness endpoint among
    the OpenAPI health paths and the common paths is a MEDIUM failure listing every path tried
    and its answer. Without a base URL (a static-only run) the check is SKIP.

    Orchestrators (Docker, Kubernetes, load balancers) restart or route around an instance by its
    health endpoint; without one a hung process keeps receiving traffic.

    Remediation: add a cheap ``GET /health`` that returns 200 and JSON such as ``{"status": "ok"}``,
    and point the container HEALTHCHECK and the load balancer at it. A CRITICAL failure here means
    the deployment itself is down: check the process, its logs and the address.
    """
    down = await ctx.need_live()
    if down:
        probe = ctx.live_probe.get("live")
        return [
            failed(
                f"the backend does not answer: {down}",
                location=f"GET {ctx.base_url}/",
                evidence=mask_evidence(probe.evidence()) if probe is not None else "",
                severity=Severity.CRITICAL,
            )
        ]
    try:
        path, _ = await find_liveness(ctx)
    except LivenessDown as exc:
        return [
            failed(
                f"the liveness endpoint is down: {exc}",
                location=f"GET {exc.exchange.url}",
                evidence=mask_evidence(exc.exchange.evidence()),
                severity=Severity.CRITICAL,
            )
        ]
    except Unusable as exc:
        return [errored(str(exc), location=ctx.base_url)]
    except NoLiveness as exc:
        return [_no_liveness(exc)]
    samples = [await ctx.http.get(ctx.url(path)) for _ in range(3)]
    return _judge_samples(path, samples) or _judge_speed(path, samples,
                                                         ctx.cfg.health.max_liveness_ms)


def _no_liveness(exc: NoLiveness) -> Finding:
    """FAIL (MEDIUM): the backend answers but has no liveness endpoint; lists every candidate
    tried and what it answered, located at the look-alike page when one answered 200."""
    where = exc.lookalike.url if exc.lookalike is not None else exc.first_url
    return failed(
        f"no liveness endpoint: tried {'; '.join(exc.tried)}; set health.liveness_path if it "
        "lives elsewhere",
        location=f"GET {where}",
        evidence=(mask_evidence(exc.lookalike.evidence(body_chars=300))
                  if exc.lookalike is not None else ""),
        severity=Severity.MEDIUM,
    )


def _judge_samples(path: str, samples: list[Exchange]) -> list[Finding]:
    """FAIL for a repeat call that did not answer 200 (CRITICAL for a 5xx: a sick backend; a
    repeat call without an answer is a flapping one), ERROR for a 200 whose body is not what it
    declares; [] when the samples are sound."""
    bad = [ex for ex in samples if ex.status != 200]
    if bad:
        sick = bad[0].status is not None and bad[0].status >= 500
        return [
            failed(
                f"GET {path} answered {bad[0].status or bad[0].error} on a repeat call",
                location=f"GET {bad[0].url}",
                evidence=mask_evidence(bad[0].evidence()),
                severity=Severity.CRITICAL if sick else None,
            )
        ]
    first = samples[0]
    if first.usable:
        return []
    why = (
        f"its body is larger than the {len(first.body)}-byte cap"
        if first.truncated
        else f"its body is not the {first.header('content-type') or 'text'} it declares"
    )
    return [
        errored(
            f"GET {path} answered 200 but {why}: the answer cannot be trusted as liveness",
            location=f"GET {first.url}",
            evidence=mask_evidence(first.evidence(body_chars=200)),
        )
    ]


def _judge_speed(path: str, samples: list[Exchange], limit: float) -> list[Finding]:
    slowest = max(samples, key=lambda e: e.elapsed_s)
    ms = slowest.elapsed_s * 1000
    if ms > limit:
        return [
            warned(
                f"GET {path} took {ms:.0f} ms (limit {limit:.0f} ms)",
                location=f"GET {slowest.url}",
                evidence=mask_evidence(slowest.evidence()),
            )
        ]
    return [
        passed(
            f"GET {path} answered 200 three times, slowest {ms:.0f} ms (limit {limit:.0f} ms)",
            location=f"GET {slowest.url}",
        )
    ]


READINESS_CANDIDATES = (
    "/health/ready",
    "/ready",
    "/readyz",
    "/readiness",
    "/health/readiness",
    "/api/health/ready",
    "/api/v1/health/ready",
    "/api/ready",
    "/healthz/ready",
)
DEPENDENCY_KINDS: dict[str, tuple[str, ...]] = {
    "database": ("database", "db", "postgres", "postgresql", "mysql", "sql", "sqlite"),
    "redis": ("redis", "cache", "valkey"),
    "llm": ("llm", "provider", "openai", "anthropic", "model", "ai"),
}
OK_WORDS = frozenset(
    {"ok", "up", "healthy", "pass", "passed", "true", "ready", "green", "available"}
)
NEUTRAL_WORDS = frozenset({"skipped", "skip", "disabled", "not_configured", "n/a", "unknown"})
LLM_ENV_HINTS = (
    "LLM_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LLM_API_KEY",
    "ANTHROPIC_API_KEY",
)


async def find_readiness(ctx: Context) -> tuple[Exchange | None, list[str]]:
    """The readiness exchange (200 or 503 on a readiness-looking path) and the paths tried."""
    candidates: list[str] = []
    if ctx.cfg.health.readiness_path:
        candidates = [ctx.cfg.health.readiness_path]
    else:
        try:
            doc = await ctx.openapi()
            candidates = sorted(
                (
                    op.path
                    for op in doc.operations
                    if op.method == "GET"
                    and re.search(r"read(y|iness)", op.path, re.I)
                    and "{" not in op.path
                ),
                key=len,
            )
        except Skip:
            pass
        candidates += [c for c in READINESS_CANDIDATES if c not in candidates]
    tried: list[str] = []
    redirected = []
    unclear: list[str] = []  # answers that are not a definitive "no such path"
    unknown = UnknownPath(ctx)
    for path in candidates[:12]:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent:
            continue  # excluded by the owner
        tried.append(path)
        if ex.status is None and len(tried) == 1:
            raise Unusable(f"GET {path}: {ex.error}")
        if ex.status == 200 and ex.usable and await not_health_answer(unknown, path, ex):
            continue  # a catch-all page or an HTML page: not a readiness endpoint
        if ex.status in (200, 503):
            return ex, tried
        if ex.status is not None and 300 <= ex.status < 400:
            redirected.append(path)
        elif ex.status is None or ex.status >= 500:
            unclear.append(f"{path} -> {ex.status or ex.error}")
    await redirect_trouble(ctx, redirected)
    if unclear:
        raise Unusable(
            f"readiness candidates answered errors, not 404 ({'; '.join(unclear[:4])}): "
            "whether a readiness endpoint exists was not verified"
        )
    return None, tried


def dependency_states(body: Any) -> dict[str, tuple[str, str]]:
    """{name: (kind or "", state)} with state "ok", "down" or "neutral", from a readiness body."""
    if not isinstance(body, dict):
        return {}
    holder: Any = None
    for key in ("checks", "dependencies", "components", "services", "details", "info"):
        if isinstance(body.get(key), dict):
            holder = body[key]
            break
    if holder is None:
        holder = {
            k: v
            for k, v in body.items()
            if k.lower() not in ("status", "version", "uptime", "timestamp", "time", "detail")
        }
    out: dict[str, tuple[str, str]] = {}
    for name, value in holder.items():
        raw = (
            value.get("status", value.get("state", value.get("healthy")))
            if isinstance(value, dict)
            else value
        )
        if raw is None or isinstance(raw, dict | list):
            continue
        word = str(raw).strip().lower()
        state = "ok" if word in OK_WORDS else "neutral" if word in NEUTRAL_WORDS else "down"
        kind = next(
            (
                k
                for k, words in DEPENDENCY_KINDS.items()
                if any(w in re.split(r"[^a-z0-9]+", str(name).lower()) for w in words)
            ),
            "",
        )
        out[str(name)] = (kind, state)
    return out


def expected_dependencies(ctx: Context) -> list[str]:
    """Dependencies the audited deployment is configured with (from its environment)."""
    out = []
    if ctx.env_value(ctx.cfg.database.url_env):
        out.append("database")
    if ctx.env_value(ctx.cfg.redis.url_env):
        out.append("redis")
    mock = any(
        (ctx.env_value(n) or "").strip().lower() in ("1", "true", "yes", "on")
        for n in ctx.cfg.llm.mock_env
    )
    if not mock and any(ctx.env_value(n) for n in LLM_ENV_HINTS):
        out.append("llm")
    return out


def _json(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return None


def _judge_readiness(ex: Exchange, loc: str, down: list[str], listing: str) -> list[Finding]:
    """The readiness answer against the dependencies it reports: 503 exactly when one is down."""
    findings: list[Finding] = []
    if down and ex.status == 200:
        findings.append(
            failed(
                f"{loc} reports {', '.join(down)} down but answers 200: the orchestrator "
                f"keeps routing traffic ({listing})",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
    elif down:
        findings.append(
            passed(
                f"{loc} answers 503 while {', '.join(down)} is down ({listing})",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
        findings.append(
            failed(
                f"dependency down right now: {', '.join(down)} — the target is not ready",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
    elif ex.status == 503:
        findings.append(
            failed(
                f"{loc} answers 503 although every reported dependency is up ({listing})",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
    else:
        findings.append(passed(f"{loc} answers 200 and reports {listing}", location=loc))
    return findings


@check(
    "FUN-002",
    "Readiness endpoint reports its dependencies and answers 503 when one is down",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("9.2.4",),
    references=("OWASP API8:2023",),
    evidence=Evidence.OBSERVED,
)
@unusable_is_error
async def readiness(ctx: Context) -> list[Finding]:
    """A readiness endpoint (``health.readiness_path``, an OpenAPI path containing "ready", or a
    common path) reports the state of each dependency (database, Redis, LLM provider) and its HTTP
    status agrees with them: 200 when all are up, 503 when one is down. A dependency that is down
    right now is a failure: the audited deployment is not ready.

    A load balancer keeps sending traffic to an instance whose database or cache is gone unless the
    readiness endpoint answers 503; a readiness endpoint that answers 200 regardless hides outages.

    Remediation: add ``GET /health/ready`` that checks every dependency with a short timeout and
    returns ``{"status": ..., "checks": {"database": {"status": "ok"}, ...}}`` with 503 when any
    check fails; point the orchestrator's readiness probe at it.
    """
    ex, tried = await find_readiness(ctx)
    if ex is None:
        return [
            failed(
                f"no readiness endpoint found (tried {', '.join(tried)}); set "
                "health.readiness_path if it lives elsewhere",
                severity=Severity.MEDIUM,
                location=f"GET {ctx.url(tried[0])}" if tried else "",
            )
        ]
    loc = f"GET {ex.url}"
    body = _json(ex)
    if not isinstance(body, dict):
        return [
            errored(
                f"{loc} answered {ex.status} with a body that is not a JSON object",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        ]
    deps = dependency_states(body)
    if not deps:
        return [
            skipped(
                f"{loc} answered {ex.status} but reports no dependency: whether it answers 503 "
                "when one is down cannot be verified (see FUN-003)",
                location=loc,
            )
        ]
    down = sorted(n for n, (_, s) in deps.items() if s == "down")
    listing = ", ".join(f"{n}={s}" for n, (_, s) in sorted(deps.items()))
    findings = _judge_readiness(ex, loc, down, listing)
    kinds = {k for k, _ in deps.values() if k}
    missing = [d for d in expected_dependencies(ctx) if d not in kinds]
    if missing:
        findings.append(
            warned(
                f"{loc} does not report {', '.join(missing)}, which the deployment is "
                "configured with",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
    return findings


@check(
    "FUN-003",
    "Health checks touch the dependencies (no shallow health check)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("9.2.4",),
    evidence=Evidence.OBSERVED,
)
@unusable_is_error
async def deep_health(ctx: Context) -> list[Finding]:
    """The health endpoints really check the dependencies: the readiness (or, without one, the
    liveness) answer reports the database, and Redis and the LLM provider where the deployment is
    configured with them. A health endpoint that reports no dependency is a WARN ("shallow health
    check").

    A shallow health check answers 200 while the database is unreachable, so outages go unnoticed
    until users report them.

    An answer that is a constant (``true``, ``OK``, ``{"status": "ok"}``) is shallow as well: a
    WARN, not an error.

    Remediation: make the readiness endpoint run ``SELECT 1`` against the database, ``PING`` against
    Redis and a cheap call against the LLM provider, each with a short timeout, and report each.
    """
    ex, _ = await find_readiness(ctx)
    source = "readiness"
    if ex is None:
        path, _ = await find_liveness(ctx)
        ex = await ctx.http.get(ctx.url(path))
        source = "liveness"
    loc = f"GET {ex.url}"
    body = _json(ex)
    if ex.status is None:
        return [errored(f"{loc}: {ex.error}", location=loc)]
    if not isinstance(body, dict) and not (ex.usable and ex.status == 200):
        return [
            errored(
                f"{loc} answered {ex.status} with a body that is not a JSON object",
                location=loc,
                evidence=mask_evidence(ex.evidence(body_chars=300)),
            )
        ]
    if not isinstance(body, dict):  # `true`, "OK", a constant text: it names no dependency
        shown = " ".join(ex.text.split())[:40]
        return [warned(f"shallow health check: the {source} endpoint answers {ex.status} with a "
                       f"constant {shown!r} that names no dependency", location=loc,
                       evidence=mask_evidence(ex.evidence(body_chars=300)))]
    deps = dependency_states(body)
    kinds = {k for k, _ in deps.values() if k}
    if "database" not in kinds:
        return [
            warned(
                f"shallow health check: the {source} endpoint answers {ex.status} without "
                f"reporting "
                f"the database (reported: {', '.join(sorted(deps)) or 'nothing'})",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        ]
    findings = [passed(f"the {source} endpoint reports {', '.join(sorted(deps))}", location=loc)]
    missing = [d for d in expected_dependencies(ctx) if d not in kinds]
    if missing:
        findings.append(
            warned(
                f"the {source} endpoint does not check {', '.join(missing)}, which the "
                "deployment is configured with",
                location=loc,
                evidence=mask_evidence(ex.evidence()),
            )
        )
    return findings
