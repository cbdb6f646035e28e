"""Finding the health endpoints, shared by the functional checks (FUN-001–009, FUN-050).
Not a check module."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from prodaudit.checks.api import Context, Finding, Skip, errored

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
    """The liveness path (configured, from OpenAPI, or a common path) and the paths tried."""
    if ctx.cfg.health.liveness_path:
        return ctx.cfg.health.liveness_path, [ctx.cfg.health.liveness_path]
    candidates = list(LIVENESS_CANDIDATES)
    try:
        doc = await ctx.openapi()
        spec_paths = [
            op.path
            for op in doc.operations
            if op.method == "GET" and "health" in op.path.lower() and "{" not in op.path
        ]
        candidates = sorted(spec_paths, key=len) + [c for c in candidates if c not in spec_paths]
    except Skip:
        pass
    tried = []
    redirected = []
    for path in candidates[:12]:
        tried.append(path)
        ex = await ctx.http.get(ctx.url(path))
        if ex.status == 200:
            return path, tried
        if ex.status is None:
            raise Unusable(f"GET {path}: {ex.error}")
        if 300 <= ex.status < 400:
            redirected.append(path)
    await redirect_trouble(ctx, redirected)
    raise Skip(f"no liveness endpoint found (tried {', '.join(tried)}); set health.liveness_path")
