"""FUN-001–009: liveness and readiness endpoints."""

from __future__ import annotations

from prodaudit.context import Context
from prodaudit.model import Finding, Severity
from prodaudit.outcome import Skip, failed, passed, warned
from prodaudit.registry import check

LIVENESS_CANDIDATES = ("/health", "/healthz", "/api/health", "/api/v1/health", "/livez", "/ping",
                       "/status", "/api/healthz", "/health/live")


async def find_liveness(ctx: Context) -> tuple[str, list[str]]:
    """The liveness path (configured, from OpenAPI, or a common path) and the paths tried."""
    if ctx.cfg.health.liveness_path:
        return ctx.cfg.health.liveness_path, [ctx.cfg.health.liveness_path]
    candidates = list(LIVENESS_CANDIDATES)
    try:
        doc = await ctx.openapi()
        spec_paths = [op.path for op in doc.operations
                      if op.method == "GET" and "health" in op.path.lower() and "{" not in op.path]
        candidates = sorted(spec_paths, key=len) + [c for c in candidates if c not in spec_paths]
    except Skip:
        pass
    tried = []
    for path in candidates[:12]:
        tried.append(path)
        ex = await ctx.http.get(ctx.url(path))
        if ex.status == 200:
            return path, tried
    raise Skip(f"no liveness endpoint found (tried {', '.join(tried)}); set health.liveness_path")


@check(
    "FUN-001",
    "Liveness endpoint answers 200 quickly",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("9.2.4",),
    references=("OWASP API8:2023",),
)
async def liveness(ctx: Context) -> list[Finding]:
    """The backend exposes a liveness endpoint that answers 200 within ``health.max_liveness_ms``.

    Orchestrators (Docker, Kubernetes, load balancers) restart or route around an instance by its
    health endpoint; without one a hung process keeps receiving traffic.

    Remediation: add a cheap ``GET /health`` that returns 200 and JSON such as ``{"status": "ok"}``,
    and point the container HEALTHCHECK and the load balancer at it.
    """
    path, _ = await find_liveness(ctx)
    limit = ctx.cfg.health.max_liveness_ms
    samples = [await ctx.http.get(ctx.url(path)) for _ in range(3)]
    bad = [ex for ex in samples if ex.status != 200]
    if bad:
        return [failed(f"GET {path} answered {bad[0].status or bad[0].error} on a repeat call",
                       location=f"GET {bad[0].url}", evidence=bad[0].evidence())]
    slowest = max(samples, key=lambda e: e.elapsed_s)
    ms = slowest.elapsed_s * 1000
    if ms > limit:
        return [warned(f"GET {path} took {ms:.0f} ms (limit {limit:.0f} ms)",
                       location=f"GET {slowest.url}", evidence=slowest.evidence())]
    return [passed(f"GET {path} answered 200 three times, slowest {ms:.0f} ms (limit {limit:.0f} ms)",
                   location=f"GET {slowest.url}")]
