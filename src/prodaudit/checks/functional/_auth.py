"""The audit account's private sessions and the auth-flow record (facts.auth_flow), shared by
the auth-flow checks (FUN-020–029). Not a check module."""

from __future__ import annotations

import json
import re
from typing import Any

from prodaudit.auth import (
    ME_PATH_RE,
    AuthError,
    AuthSession,
    credentials_from_env,
    find_endpoint,
    login,
)
from prodaudit.checks.api import Context, Exchange, OpenAPIDoc, Skip
from prodaudit.checks.functional._operations import act_on

VOLATILE_KEYS = re.compile(r"(request_?id|trace|timestamp|time|correlation|instance)", re.I)


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
    return find_endpoint(doc, ctx.cfg.auth.me_url, ME_PATH_RE, ("GET",), ctx.base_url)


async def private_login(ctx: Context, check_id: str) -> AuthSession:
    """A session of the audit account of this check's own (not the shared one)."""
    creds = credentials_from_env(ctx.cfg.auth)
    if creds is None:
        raise Skip(
            f"no audit account: set {ctx.cfg.auth.username_env} and {ctx.cfg.auth.password_env}"
        )
    ctx.redact.register(creds.password)
    try:
        sess = await login(ctx.http, ctx.base_url, await openapi_or_none(ctx), ctx.cfg.auth, creds)
    except AuthError as exc:
        raise Skip(f"audit account login failed: {exc}") from None
    ctx.redact.register(sess.access_token.rsplit(".", 1)[-1], sess.refresh_token)
    # the shared session's scheme may have been corrected by FUN-020 (e.g. "Token")
    shared = getattr(ctx, "_sessions", {}).get("first")
    if shared is not None and ctx.cfg.auth.token_scheme is None:
        sess.scheme = shared.scheme
    await record(ctx, check_id, "log in (private session)", sess.login_exchange, "ok")
    return sess


def refresh_cookie(sess: AuthSession) -> tuple[str, str] | None:
    for raw in sess.login_exchange.header_all("set-cookie"):
        name, _, rest = raw.partition("=")
        if "refresh" in name.lower():
            return name.strip(), rest.split(";", 1)[0]
    return None


def error_shape(ex: Exchange) -> str:
    """Status and body with volatile fields removed, for comparing two error answers."""
    try:
        body: Any = ex.json()
    except ValueError:
        body = ex.text.strip()[:500]
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if not VOLATILE_KEYS.search(str(k))}
    return f"{ex.status} {json.dumps(body, sort_keys=True)}"
