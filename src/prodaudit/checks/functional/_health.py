"""Finding the health endpoints, shared by the functional checks (FUN-001–009, FUN-050).
Not a check module."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from prodaudit.checks.api import Context, Exchange, Finding, NotSent, Skip, errored

LIVENESS_CANDIDATES = (
    "/health",
    "/healthz",
    "/api/health",
    "/api/v1/health",
    "/livez",
    "/ping",
    "/status",
    "/api/healthz",
    "/health/live",
)


class Unusable(Exception):
    """Health candidates answered, but unusably (a redirect loop, ...): the check is ERROR."""


class LivenessDown(Unusable):
    """The liveness endpoint answers 5xx or nothing: a sick backend (FUN-001 fails, CRITICAL;
    the checks that only need the path are ERROR)."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message)
        self.exchange = exchange


def unusable_is_error(
    func: Callable[[Context], Awaitable[list[Finding]]],
) -> Callable[[Context], Awaitable[list[Finding]]]:
    """Turn ``Unusable`` raised while finding health endpoints into an ERROR finding."""

    @functools.wraps(func)
    async def wrapper(ctx: Context) -> list[Finding]:
        try:
            return await func(ctx)
        except Unusable as exc:
            return [errored(str(exc), location=ctx.base_url)]

    return wrapper


async def redirect_trouble(ctx: Context, redirected: list[str]) -> None:
    """Raise Unusable when following a candidate's redirect fails (loop, dead end)."""
    if not redirected:
        return
    ex = await ctx.http.get(ctx.url(redirected[0]), follow_redirects=True)
    if ex.status is None:
        raise Unusable(f"GET {redirected[0]}: {ex.error}")


async def find_liveness(ctx: Context) -> tuple[str, list[str]]:
    """The liveness path (configured, from OpenAPI, or a common path) and the paths tried.

    Raises ``LivenessDown`` when the backend is sick: the first request gets no answer, a
    declared liveness path (configured or in the OpenAPI document) answers 5xx, or every
    candidate answers 5xx. Paths excluded by ``[probes] exclude`` are not tried."""
    declared: list[str] = []
    if ctx.cfg.health.liveness_path:
        declared = [ctx.cfg.health.liveness_path]
        candidates = list(declared)
    else:
        candidates = list(LIVENESS_CANDIDATES)
        try:
            doc = await ctx.openapi()
            declared = sorted(
                (
                    op.path
                    for op in doc.operations
                    if op.method == "GET" and "health" in op.path.lower() and "{" not in op.path
                ),
                key=len,
            )
            candidates = declared + [c for c in candidates if c not in declared]
        except Skip:
            pass
    tried = []
    redirected = []
    sick: list[tuple[str, Exchange]] = []
    for path in candidates[:12]:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent:
            continue  # excluded by the owner
        tried.append(path)
        if ex.status == 200:
            return path, tried
        if ex.status is None:
            if len(tried) == 1 or path in declared:
                raise LivenessDown(f"GET {path}: no answer: {ex.error}", ex)
            raise Unusable(f"GET {path}: {ex.error}")
        if ex.status >= 500:
            if path in declared:
                raise LivenessDown(f"GET {path} answered {ex.status}", ex)
            sick.append((path, ex))
        if 300 <= ex.status < 400:
            redirected.append(path)
    if sick and len(sick) == len(tried):
        path, ex = sick[0]
        raise LivenessDown(
            f"every liveness candidate answered 5xx ({', '.join(p for p, _ in sick)}); "
            f"GET {path} answered {ex.status}",
            ex,
        )
    await redirect_trouble(ctx, redirected)
    errors = f"; {', '.join(f'{p} answered {e.status}' for p, e in sick)}" if sick else ""
    raise Skip(f"no liveness endpoint found (tried {', '.join(tried)}{errors}); set "
               "health.liveness_path")
