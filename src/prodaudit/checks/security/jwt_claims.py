"""SEC-010–014: JWT claims and lifetime, rejection of invalid claims, refresh and logout rules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prodaudit.auth import AuthSession
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
    skipped,
    warned,
)
from prodaudit.checks.security._common import (
    canary,
    forge,
    live_location,
    logout_path,
    parse_jwt,
)
from prodaudit.checks.security._jwt import evidence as _evidence
from prodaudit.checks.security._jwt import fresh_claims, signing_key
from prodaudit.checks.security._jwt import judge as _judge

REFS = ("CWE-613", "OWASP API2:2023")
_KEYS = {"iss": "issuer", "aud": "audience"}


def _human(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _opaque_lifetime(ctx: Context, sess: AuthSession, loc: str) -> list[Finding]:
    """An opaque token's lifetime is what the login answer says (``expires_in``)."""
    life = sess.credential.expires_in
    if life is None:
        raise Skip("the access token is not a JWT and the login answer gives no expires_in: its "
                   "lifetime cannot be seen from outside")
    limit = ctx.cfg.jwt.max_access_minutes * 60
    said = f"expires_in {life:.0f} s in the login answer ({sess.credential.kind})"
    if life > limit:
        return [failed(f"access tokens live {_human(life)}: {said} (maximum "
                       f"{ctx.cfg.jwt.max_access_minutes} minutes, jwt.max_access_minutes)",
                       location=loc, evidence=said)]
    return [passed(f"access token lifetime {_human(life)} ({said}) is within "
                   f"{ctx.cfg.jwt.max_access_minutes} minutes", location=loc)]


async def _without_exp(ctx: Context, loc: str, ev: str) -> Finding:
    """A token without ``exp`` is not proof that it never expires (a wrapped reference token, a
    server-side session or a maximum age counted from ``iat`` can end it). FAIL needs proof: with
    the signing key known, a copy of the same claims re-signed is accepted and a copy whose ``iat``
    lies beyond the maximum is accepted too. Otherwise SKIP, saying what was seen."""
    limit = ctx.cfg.jwt.max_access_minutes * 60
    seen = "the access token has no exp claim: its lifetime is not visible in the token"
    try:
        can = await canary(ctx)
    except Skip as exc:
        return skipped(f"{seen}, and no replay was possible ({exc.reason})", location=loc)
    iat = can.token.payload.get("iat")
    if not isinstance(iat, int | float):
        return skipped(f"{seen} (no iat either: a replay with an older issue time proves "
                       "nothing); the server may end it itself, which only waiting "
                       f"{ctx.cfg.jwt.max_access_minutes} minutes would show", location=loc)
    loop = asyncio.get_running_loop()
    key = await loop.run_in_executor(None, signing_key, ctx, can.token.raw)
    if key is None:
        return skipped(f"{seen}; the signing key is unknown (not guessable, jwt.secret_env not "
                       "set), so an older copy cannot be made to replay", location=loc)
    secret, source = key
    same = await can.send(ctx, forge(can.token.header, dict(can.token.payload), key=secret))
    if not can.accepted(same):
        return skipped(f"{seen}; a re-signed copy of the same claims got HTTP {same.status}, so "
                       "a replay with an older iat would prove nothing", location=loc)
    back = int(limit * 2 + 60)
    old = {k: (v - back if k in ("iat", "nbf") and isinstance(v, int | float) else v)
           for k, v in can.token.payload.items()}
    ex = await can.send(ctx, forge(can.token.header, old, key=secret))
    age = f"iat {_human(back)} in the past (signed with {source})"
    if can.accepted(ex):
        return failed(f"the access token has no exp claim and a copy issued {_human(back)} ago "
                      f"({age}) is accepted: nothing ends its validity (maximum "
                      f"{ctx.cfg.jwt.max_access_minutes} minutes, jwt.max_access_minutes)",
                      location=live_location(ex), severity=Severity.HIGH,
                      evidence=ev + "\n" + _evidence(can, ex, age))
    if can.rejected(ex):
        return passed(f"the access token has no exp claim, but a copy with {age} is rejected "
                      f"with {ex.status}: the server enforces a maximum age", location=loc)
    return skipped(f"{seen}; the copy with {age} got HTTP {ex.status}", location=loc)


@check(
    "SEC-010",
    "Access tokens expire and live no longer than the configured maximum",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("8.1.2", "8.1.1"),
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def token_lifetime(ctx: Context) -> list[Finding]:
    """The audit account's access token carries ``exp``, its lifetime is at most
    ``jwt.max_access_minutes`` (default 60), and ``iss`` / ``aud`` match ``jwt.issuer`` /
    ``jwt.audience`` when those are configured. The lifetime is ``exp - iat``; a token without
    ``iat`` (optional in RFC 7519) is measured from the moment the audit received it, which is
    what an attacker holding it has left — a missing ``iat`` alone is not a finding. An opaque
    token is judged by the ``expires_in`` of the login answer (SKIP without one). A JWT without
    ``exp`` FAILs only on proof: with the signing key known (``jwt.secret_env`` or cracked), a copy
    whose ``iat`` lies twice the maximum in the past is accepted like the real token; a rejected
    copy PASSes (the server enforces a maximum age); without the key or without ``iat`` the
    lifetime is not visible from outside (a wrapped reference token expires server-side): SKIP.

    A stolen token is usable until it expires: without ``exp`` forever, with an 8-day lifetime for
    8 days. Short access tokens plus refresh tokens limit the damage.

    Remediation: issue access tokens with ``exp`` 5–60 minutes after ``iat`` and require ``exp``
    when decoding (PyJWT: ``options={"require": ["exp", "iat"]}``).
    """
    sess = await ctx.auth()
    tok = parse_jwt(sess.access_token)
    loc = f"POST {sess.login_url}"
    if tok is None:
        return _opaque_lifetime(ctx, sess, loc)
    ev = "claims of the audit account's access token: " + ", ".join(
        f"{k}={v!r}" for k, v in tok.payload.items() if k not in ("sub", "email")
    )
    p = tok.payload
    out: list[Finding] = []
    limit = ctx.cfg.jwt.max_access_minutes * 60
    exp = p.get("exp")
    if not isinstance(exp, int | float):
        out.append(await _without_exp(ctx, loc, ev))
    else:
        iat = p.get("iat")
        start = float(iat) if isinstance(iat, int | float) else time.time()
        life = float(exp) - float(start)
        since = "" if isinstance(iat, int | float) else " (no iat claim: measured from now)"
        if life > limit:
            out.append(
                failed(
                    f"access tokens live {_human(life)}{since} (maximum "
                    f"{ctx.cfg.jwt.max_access_minutes} minutes, jwt.max_access_minutes)",
                    location=loc,
                    evidence=ev,
                )
            )
        else:
            out.append(
                passed(
                    f"access token lifetime {_human(life)}{since} is within "
                    f"{ctx.cfg.jwt.max_access_minutes} minutes",
                    location=loc,
                )
            )
    for claim, want in (("iss", ctx.cfg.jwt.issuer), ("aud", ctx.cfg.jwt.audience)):
        if want is None:
            continue
        got = p.get(claim)
        ok = want in got if isinstance(got, list) else got == want
        if not ok:
            out.append(
                failed(
                    f"{claim} is {got!r}, expected {want!r} (jwt.{_KEYS[claim]})",
                    location=loc,
                    evidence=ev,
                )
            )
        else:
            out.append(passed(f"{claim} is {want!r} as configured", location=loc))
    return out


@check(
    "SEC-011",
    "Expired, not-yet-valid and wrong-issuer tokens are rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("8.1.2", "8.1.1"),
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def invalid_claims_rejected(ctx: Context) -> list[Finding]:
    """When the signing secret is known (given through ``jwt.secret_env`` for a staging audit, or
    cracked by SEC-005), correctly signed tokens that are expired, not yet valid (``nbf`` in the
    future), lack ``exp`` (when the real tokens carry it: a copy of a token that has none is the
    real token, whose lifetime SEC-010 judges), or name another issuer or audience are rejected.

    A valid signature is not enough: libraries must be told to verify the time claims and the
    intended issuer/audience, and some skip ``exp`` when it is absent.

    Remediation: decode with ``require=["exp", "iat"]``, ``issuer=`` and ``audience=`` set, and a
    leeway of seconds, not hours.
    """
    can = await canary(ctx)
    loop = asyncio.get_running_loop()
    key = await loop.run_in_executor(None, signing_key, ctx, can.token.raw)
    if key is None:
        raise Skip(
            "the signing secret is unknown (not guessable, jwt.secret_env not set): "
            "correctly signed invalid tokens cannot be made"
        )
    secret, source = key
    now = int(time.time())
    base = fresh_claims(can.token.payload)
    edits: list[tuple[str, dict[str, Any]]] = [
        (
            "exp one hour in the past",
            {**base, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
        ),
        ("nbf one hour in the future", {**base, "nbf": now + 3600}),
    ]
    if "exp" in base:  # without exp in the real token this copy is the real token (SEC-010 judges)
        edits.append(("no exp claim", {k: v for k, v in base.items() if k != "exp"}))
    if "iss" in base:
        edits.append(
            (
                "iss=https://prodaudit-evil.example",
                {**base, "iss": "https://prodaudit-evil.example"},
            )
        )
    if "aud" in base:
        edits.append(("aud=prodaudit-other-api", {**base, "aud": "prodaudit-other-api"}))
    variants = [(label, forge(can.token.header, c, key=secret)) for label, c in edits]
    attempts = [(label, await can.send(ctx, t)) for label, t in variants]
    return _judge(can, attempts, f"signed with {source}", Severity.HIGH)


@check(
    "SEC-012",
    "Refresh tokens are not accepted as access tokens",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("8.1.3",),
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def refresh_as_access(ctx: Context) -> list[Finding]:
    """The refresh token issued at login is rejected by a protected endpoint.

    Refresh tokens live for days or weeks; if they also work as access tokens, the short access
    lifetime protects nothing.

    Remediation: put a ``type`` (or ``token_use``) claim in every token and check it, or sign
    refresh tokens with a different key or audience.
    """
    can = await canary(ctx)
    rt = can.session.refresh_token
    if not rt:
        cookie = [
            c for c in can.session.login_exchange.header_all("set-cookie") if "refresh" in c.lower()
        ]
        if cookie:
            rt = cookie[0].split("=", 1)[1].split(";", 1)[0]
    if not rt:
        return [
            passed(
                "the login response carries no refresh token (body or cookie): nothing to "
                "confuse with an access token",
                location=f"POST {can.session.login_url}",
            )
        ]
    ctx.redact.register(rt)
    ex = await can.send(ctx, rt)
    return _judge(
        can, [("the refresh token from the login response", ex)], "refresh as access", Severity.HIGH
    )


async def _logout(ctx: Context, sess: AuthSession, path: str) -> Exchange:
    headers = sess.headers_with_cookies()  # the login's cookies too (a refresh-token cookie)
    for method in ("POST", "DELETE", "GET"):
        ex = await ctx.http.request(method, ctx.url(path), headers=headers)
        if ex.status != 405:
            return ex
    return ex


@check(
    "SEC-013",
    "A token stops working after logout",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("8.1.3", "8.1.1"),
    references=REFS,
    exclusive=True,
    evidence=Evidence.OBSERVED,
)
async def logout_revokes(ctx: Context) -> list[Finding]:
    """When the API has a logout operation: a fresh token of the audit account works, logout
    answers 2xx, and the same token is rejected afterwards.

    Without server-side revocation, "log out" only forgets the token in the browser; a copied
    token keeps working until it expires.

    Remediation: keep a denylist of revoked token ids (``jti``) until their expiry (Redis with a
    TTL), or use short-lived tokens with server-side sessions.
    """
    can = await canary(ctx)
    path = await logout_path(ctx)
    if path is None:
        raise Skip("no logout operation found (OpenAPI, auth.logout_url): revocation not verified")
    try:
        doc = await ctx.openapi()
    except Skip:
        doc = None
    try:  # a separate login, so the shared session of the other checks stays valid
        sess = await ctx.accounts.login(ctx.base_url, doc, can.session.credentials, record=False)
    except Skip as exc:
        return [skipped(f"second login for the logout test failed: {exc.reason}")]
    token = sess.access_token
    ctx.redact.register(token.rsplit(".", 1)[-1], sess.refresh_token)
    before = await can.send(ctx, token)
    if not can.accepted(before):
        return [skipped(f"the fresh token got HTTP {before.status} before logout")]
    out = await _logout(ctx, sess, path)
    if out.status is None or not 200 <= out.status < 300:
        return [
            warned(
                f"logout answered {out.status or out.error}; revocation not verified",
                location=live_location(out),
                evidence=out.evidence(),
            )
        ]
    after = await can.send(ctx, token)
    shared = await can.send(ctx, can.session.access_token)
    if not can.accepted(shared):  # logout revoked every token of the user: log in again
        await ctx.auth(fresh=True)
    if can.accepted(after):
        return [
            failed(
                f"the token still works after {out.method} {path} answered {out.status}",
                location=live_location(after),
                evidence=_evidence(can, after, f"logout: {out.method} {out.url} -> {out.status}"),
            )
        ]
    if not can.rejected(after):
        return [
            warned(
                f"after logout the token got HTTP {after.status} (expected 401)",
                location=live_location(after),
                evidence=after.evidence(),
            )
        ]
    return [
        passed(
            f"after {out.method} {path} ({out.status}) the token is rejected with {after.status}"
            + ("" if can.accepted(shared) else "; logout also revoked the user's other tokens"),
            location=live_location(after),
        )
    ]
