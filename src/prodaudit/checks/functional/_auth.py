"""The audit account's private sessions and the auth-flow record (facts.auth_flow), shared by
the auth-flow checks (FUN-020–029). Not a check module."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from prodaudit.auth import ME_PATH_RE, AuthSession, find_endpoint
from prodaudit.checks.api import Context, Exchange, OpenAPIDoc, Skip
from prodaudit.checks.functional._operations import act_on

# current-user paths of common frameworks (DRF/dj-rest-auth, djoser, RealWorld, Rails, Express)
ME_PROBES = ("/api/auth/me/", "/api/auth/user/", "/auth/users/me/", "/api/users/me", "/api/me",
             "/users/me", "/me", "/api/user", "/user", "/api/v1/users/me", "/api/profile", "/profile")
VOLATILE_KEYS = re.compile(r"(request_?id|trace|timestamp|time|correlation|instance)", re.I)
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_+/=-]{24,}")
TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?|\b\d{10,13}\b")


# ---- shared helpers -----------------------------------------------------------------------
async def openapi_or_none(ctx: Context) -> OpenAPIDoc | None:
    try:
        return await ctx.openapi()
    except Skip:
        return None


def auth_steps(ctx: Context) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = ctx.memo("functional:auth_flow", list)
    return steps


async def record(
    ctx: Context, check_id: str, step: str, ex: Exchange | None, result: str, detail: str = ""
) -> None:
    """Append one step of the auth flow to ``facts.auth_flow`` (re-exported)."""
    steps = auth_steps(ctx)
    steps.append(
        {
            "check": check_id,
            "step": step,
            "request": f"{ex.method} {ex.url}" if ex is not None else "",
            "status": ex.status if ex is not None else None,
            "result": result,
            "detail": detail,
        }
    )
    ctx.export("auth_flow", sorted(steps, key=lambda s: str(s["check"])))
    if ex is not None:
        await act_on(ctx, check_id, ex, step, result, detail)


async def me_url(ctx: Context, doc: OpenAPIDoc | None) -> str | None:
    """The current-user endpoint: ``auth.me_url``, a GET of the OpenAPI document named like
    ``/users/me``, else (memoised) the first common current-user path that answers 2xx to the
    audit account and 401/403 (or a redirect) without it."""
    found = find_endpoint(doc, ctx.cfg.auth.me_url, ME_PATH_RE, ("GET",), ctx.base_url)
    if found is not None or doc is not None:
        return found

    async def probe() -> str | None:
        try:
            sess = await ctx.auth()
        except Skip:
            return None
        for path in ME_PROBES:
            url = ctx.url(path)
            mine = await ctx.http.get(url, headers=sess.headers())
            if mine.status is None or not 200 <= mine.status < 300:
                continue
            anon = await ctx.http.get(url)
            if anon.status in (401, 403) or (anon.status is not None and 300 <= anon.status < 400):
                return url
        return None

    url: str | None = await ctx.amemo("functional:me-probe", probe)
    return url


async def private_login(ctx: Context, check_id: str) -> AuthSession:
    """A session of the audit account of this check's own (not the shared one), through the
    same login adapter (one request once the shared login found the way)."""
    shared = await ctx.auth()
    sess = await ctx.accounts.login(ctx.base_url, await openapi_or_none(ctx), shared.credentials,
                                    record=False)
    # the shared session's scheme may have been corrected by FUN-020 (e.g. "Token")
    if ctx.cfg.auth.token_scheme is None and sess.credential.header == shared.credential.header:
        sess.scheme = shared.scheme
    await record(ctx, check_id, "log in (private session)", sess.login_exchange, "ok")
    return sess


def refresh_cookie(sess: AuthSession) -> tuple[str, str] | None:
    for raw in sess.login_exchange.header_all("set-cookie"):
        name, _, rest = raw.partition("=")
        if "refresh" in name.lower():
            return name.strip(), rest.split(";", 1)[0]
    return None


def error_shape(ex: Exchange, *names: str) -> str:
    """Status, redirect target and body with volatile fields removed (timestamps, request ids,
    the user names tried, token-like strings such as CSRF fields), for comparing two failed
    logins."""
    try:
        body: Any = ex.json()
    except ValueError:
        body = ex.text.strip()[:2000]
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if not VOLATILE_KEYS.search(str(k))}
    text = f"{ex.status} {ex.header('location') or ''} {json.dumps(body, sort_keys=True)}"
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, "<user>").replace(quote(name, safe=""), "<user>")
    return TOKEN_LIKE.sub("<token>", TIMESTAMP.sub("<time>", text))
