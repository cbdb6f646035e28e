"""FUN-020–024: the authentication flow with the audit account, step by step.

Logins are few (the target rate-limits them): FUN-020 uses the shared session, FUN-021 and
FUN-022 one private login each, FUN-023 two failed attempts, FUN-024 one registration and login.
"""

from __future__ import annotations

import re
import secrets

from prodaudit.auth import (
    LOGOUT_PATH_RE,
    REFRESH_PATH_RE,
    AuthSession,
    Credentials,
    extract_tokens,
    find_endpoint,
    judge_login,
    login_targets,
)
from prodaudit.auth.accounts import register
from prodaudit.auth.discovery import register_operation
from prodaudit.auth.manager import me_candidates
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.functional._auth import (
    error_shape,
    me_url,
    openapi_or_none,
    private_login,
    record,
    refresh_cookie,
)


# ---- checks -------------------------------------------------------------------------------
async def _other_scheme(ctx: Context, sess: AuthSession, url: str,
                        ex: Exchange) -> tuple[Exchange, list[Finding]]:
    """A 401 to the token: is it accepted with another Authorization scheme (then used)?"""
    for scheme in ("Bearer", "Token", "JWT"):
        if scheme == sess.scheme:
            continue
        retry = await ctx.http.get(url, headers={"Authorization": f"{scheme} {sess.access_token}"})
        if retry.status == 200:
            note = warned(f"the token is accepted with the {scheme!r} scheme, not "
                          f"{sess.scheme!r}: set auth.token_scheme = {scheme!r}",
                          location=f"GET {url}")
            sess.scheme = scheme
            return retry, [note]
    return ex, []


async def _judge_me(ctx: Context, url: str, ex: Exchange, username: str) -> Finding:
    """The current-user endpoint's answer to the audit account's token."""
    if ex.status != 200:
        await record(ctx, "FUN-020", "current user", ex, "fail")
        return failed(f"GET {url} with the audit account's token answered {ex.status or ex.error}",
                      location=f"GET {url}", evidence=ex.evidence())
    if username.lower() not in ex.text.lower():
        await record(ctx, "FUN-020", "current user", ex, "warn", "does not mention the account")
        return warned(f"GET {url} answered 200 but the body does not mention the audit "
                      "account's user name", location=f"GET {url}", evidence=ex.evidence())
    await record(ctx, "FUN-020", "current user", ex, "ok")
    return passed(f"GET {url} answered 200 and describes the audit account", location=f"GET {url}")


@check(
    "FUN-020",
    "Audit account logs in and the current-user endpoint answers",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("4.2.4", "1.3.1"),
    references=("OWASP API2:2023",),
    evidence=Evidence.OBSERVED,
)
async def login_and_me(ctx: Context) -> list[Finding]:
    """The login endpoint (configured ``auth.login_url``, the OAuth2 password flow ``tokenUrl`` of
    the OpenAPI security schemes, or a POST path named like login/token; form or JSON body; token
    in the body or a cookie) accepts the audit account named by ``auth.username_env`` /
    ``auth.password_env``, and the current-user endpoint (``auth.me_url`` or a GET path like
    ``/users/me``) answers 200 with that token and describes that user.

    If the audit account cannot log in, users cannot either; every authenticated check depends
    on this flow.

    Remediation: fix the login route or the audit account; declare the OAuth2 ``tokenUrl`` in the
    OpenAPI document (FastAPI: ``OAuth2PasswordBearer(tokenUrl=...)``) or set ``auth.login_url``.
    """
    doc = await openapi_or_none(ctx)
    try:
        sess = await ctx.auth()
    except Skip as exc:
        if exc.reason.startswith("no audit account") or "rate limited" in exc.reason:
            raise
        targets = login_targets(doc, ctx.cfg.auth, ctx.base_url)
        return [failed(exc.reason, location=f"POST {targets[0].url}" if targets else ctx.base_url)]
    cred = sess.credential
    sent_as = f"{cred.header} {cred.scheme}".strip() if cred.header != "Cookie" else "cookies"
    source = sess.plan.shape.source if sess.plan else "configured"
    await record(ctx, "FUN-020", f"log in ({sess.body_kind} body)", sess.login_exchange, "ok",
                 f"{cred.kind} in {cred.where}, sent as {sent_as}, expires_in {cred.expires_in}")
    findings = [
        passed(
            f"POST {sess.login_url} ({sess.body_kind}, shape from {source}) logged the audit "
            f"account in: a {cred.kind} ({cred.where}), sent as {sent_as}",
            location=f"POST {sess.login_url}",
        )
    ]
    url = await me_url(ctx, doc)
    if url is None and ", verified: " in cred.where:
        return findings  # the cookie session was verified on a page that needs the login
    if url is None:
        findings.append(skipped("no current-user endpoint found (set auth.me_url)"))
        return findings
    ex = await ctx.http.get(url, headers=sess.headers())
    if ex.status == 401 and cred.header == "Authorization" and ctx.cfg.auth.token_scheme is None:
        ex, note = await _other_scheme(ctx, sess, url, ex)
        findings += note
    findings.append(await _judge_me(ctx, url, ex, sess.credentials.username))
    return findings


@check(
    "FUN-021",
    "Refresh flow issues a working access token",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("8.1.3", "4.2.4"),
    references=("OWASP API2:2023",),
    evidence=Evidence.OBSERVED,
)
async def refresh_flow(ctx: Context) -> list[Finding]:
    """When the API offers a refresh endpoint (``auth.refresh_url`` or a POST path like
    ``/auth/refresh``), a refresh token from the login (body or cookie) obtains a new access token,
    and that token works on the current-user endpoint.

    A broken refresh flow logs users out when their short-lived access token expires.

    Remediation: accept the refresh token (body or HttpOnly cookie), rotate it, return a new
    access token in the same shape as the login response.
    """
    doc = await openapi_or_none(ctx)
    url = find_endpoint(doc, ctx.cfg.auth.refresh_url, REFRESH_PATH_RE, ("POST",), ctx.base_url)
    if url is None:
        raise Skip("no refresh endpoint (auth.refresh_url or a POST path like /auth/refresh)")
    me = await me_url(ctx, doc)
    sess = await private_login(ctx, "FUN-021")
    cookie = refresh_cookie(sess)
    if sess.refresh_token:
        ex = await ctx.http.request("POST", url, json={"refresh_token": sess.refresh_token})
        if ex.status == 422 and cookie is not None:
            ex = await ctx.http.request("POST", url, headers={"Cookie": f"{cookie[0]}={cookie[1]}"})
    elif cookie is not None:
        ex = await ctx.http.request("POST", url, headers={"Cookie": f"{cookie[0]}={cookie[1]}"})
    else:
        return [
            failed(
                f"POST {url} exists but the login response carries no refresh token "
                "(body or cookie)",
                location=f"POST {sess.login_url}",
                evidence=sess.login_exchange.evidence(),
            )
        ]
    loc = f"POST {url}"
    if ex.status not in (200, 201):
        await record(ctx, "FUN-021", "refresh", ex, "fail")
        return [
            failed(
                f"{loc} answered {ex.status or ex.error} to a fresh refresh token",
                location=loc,
                evidence=ex.evidence(),
            )
        ]
    access, refresh, _, _, _ = extract_tokens(ex)
    ctx.redact.register(access.rsplit(".", 1)[-1] if access else None, refresh)
    if not access:
        await record(ctx, "FUN-021", "refresh", ex, "fail", "no access token in the answer")
        return [
            failed(
                f"{loc} answered {ex.status} without a new access token",
                location=loc,
                evidence=ex.evidence(),
            )
        ]
    await record(
        ctx,
        "FUN-021",
        "refresh",
        ex,
        "ok",
        "new access token"
        + (", refresh token rotated" if refresh and refresh != sess.refresh_token else ""),
    )
    if me is None:
        return [
            passed(f"{loc} returned a new access token"),
            skipped("no current-user endpoint to try the new token on (set auth.me_url)"),
        ]
    check_ex = await ctx.http.get(me, headers=sess.headers(access))
    if check_ex.status != 200:
        await record(ctx, "FUN-021", "current user with the refreshed token", check_ex, "fail")
        return [
            failed(
                f"the refreshed access token does not work: GET {me} answered "
                f"{check_ex.status or check_ex.error}",
                location=f"GET {me}",
                evidence=check_ex.evidence(),
            )
        ]
    await record(ctx, "FUN-021", "current user with the refreshed token", check_ex, "ok")
    return [passed(f"{loc} returned a new access token that works on GET {me}", location=loc)]


@check(
    "FUN-022",
    "Logout revokes the access token",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("8.1.3", "4.2.4", "8.1.1"),
    references=("OWASP API2:2023", "CWE-613"),
    evidence=Evidence.OBSERVED,
)
async def logout_revokes(ctx: Context) -> list[Finding]:
    """When the API offers a logout or revocation endpoint (``auth.logout_url`` or a POST path like
    ``/auth/logout``), the access token used to log out stops working: the current-user endpoint
    answers 401 with it afterwards. Uses a private login, never the shared session.

    A logout that only deletes the token in the browser leaves a stolen token valid until it
    expires (insufficient session expiration).

    Remediation: keep a denylist of revoked token ids (``jti``) in Redis with a TTL equal to the
    token's remaining lifetime and check it on every request; revoke the refresh token too.
    """
    doc = await openapi_or_none(ctx)
    url = find_endpoint(
        doc, ctx.cfg.auth.logout_url, LOGOUT_PATH_RE, ("POST", "DELETE", "GET"), ctx.base_url
    )
    if url is None:
        raise Skip("no logout endpoint (auth.logout_url or a path like /auth/logout)")
    me = await me_url(ctx, doc)
    if me is None:
        raise Skip("no current-user endpoint to verify revocation (set auth.me_url)")
    sess = await private_login(ctx, "FUN-022")
    before = await ctx.http.get(me, headers=sess.headers())
    if before.status != 200:
        return [
            errored(
                f"GET {me} answered {before.status or before.error} before logout",
                location=f"GET {me}",
                evidence=before.evidence(),
            )
        ]
    method = "POST"
    if doc is not None:
        ops = [
            o for o in doc.operations if url.endswith(o.path) and re.search(LOGOUT_PATH_RE, o.path)
        ]
        method = ops[0].method if ops else "POST"
    headers = dict(sess.headers())
    cookie = refresh_cookie(sess)
    if cookie is not None and "Cookie" not in headers:
        headers["Cookie"] = f"{cookie[0]}={cookie[1]}"
    out = await ctx.http.request(method, url, headers=headers)
    loc = f"{method} {url}"
    if out.status is None or not 200 <= out.status < 300:
        await record(ctx, "FUN-022", "log out", out, "fail")
        return [
            failed(
                f"{loc} answered {out.status or out.error}", location=loc, evidence=out.evidence()
            )
        ]
    await record(ctx, "FUN-022", "log out", out, "ok")
    after = await ctx.http.get(me, headers=sess.headers())
    if after.status == 200:
        await record(ctx, "FUN-022", "old token after logout", after, "fail", "still accepted")
        return [
            failed(
                f"the access token still works after {loc}: GET {me} answered 200",
                location=f"GET {me}",
                evidence=after.evidence(),
            )
        ]
    if after.status in (401, 403):
        await record(ctx, "FUN-022", "old token after logout", after, "ok", "rejected")
        return [
            passed(f"after {loc} the old access token is rejected ({after.status})", location=loc)
        ]
    await record(ctx, "FUN-022", "old token after logout", after, "error")
    return [
        errored(
            f"GET {me} with the logged-out token answered {after.status or after.error}",
            location=f"GET {me}",
            evidence=after.evidence(),
        )
    ]


async def _judge_failed_login(ctx: Context, loc: str, label: str, ex: Exchange,
                              accepted: bool) -> list[Finding]:
    """The answer to a login with a wrong password or an unknown user: no credential (a token,
    or a session that works), no server error. A 2xx JSON answer without a credential is a WARN
    (clients and monitors cannot tell a failed login by its status); an HTML form's 200/302
    with an error message is how forms answer."""
    assert ex.status is not None
    step = f"log in with {label}"
    if accepted:
        await record(ctx, "FUN-023", step, ex, "fail", "a credential was issued")
        return [failed(f"{loc} issued a credential for a login with a {label}", location=loc,
                       evidence=ex.evidence(), severity=Severity.CRITICAL)]
    if ex.status >= 500:
        await record(ctx, "FUN-023", step, ex, "fail", "server error")
        return [failed(f"{loc} answered {ex.status} to a login with a {label}", location=loc,
                       evidence=ex.evidence())]
    json_2xx = 200 <= ex.status < 300 and "json" in (ex.header("content-type") or "")
    if json_2xx or (ex.status >= 400 and ex.status not in (400, 401, 403)):
        await record(ctx, "FUN-023", step, ex, "warn")
        return [warned(f"{loc} answered {ex.status} without a credential to a login with a "
                       f"{label} (expected 401 or 400)", location=loc, evidence=ex.evidence())]
    await record(ctx, "FUN-023", step, ex, "ok")
    return []


async def _failed_login(ctx: Context, user: str, password: str) -> tuple[Exchange, bool]:
    """One login through the login adapter; (answer, whether it obtained a credential)."""
    plan = await ctx.login_plan()
    doc = await openapi_or_none(ctx)
    ex, cookies = await plan.send_with_cookies(ctx.http, user, password, fresh=True)
    cred, _ = await judge_login(ctx.http, ctx.base_url, ex, cookies, user,
                                me_candidates(doc, ctx.cfg.auth.me_url))
    return ex, cred is not None


@check(
    "FUN-023",
    "Failed logins do not reveal whether the user exists",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.1", "4.2.4"),
    references=("OWASP API2:2023", "CWE-204"),
    evidence=Evidence.OBSERVED,
)
async def no_user_enumeration(ctx: Context) -> list[Finding]:
    """A wrong password for the audit account and any password for an unknown user get the same
    answer (status, redirect and message, once volatile parts and the names tried are set
    aside), and neither obtains a credential. Two failed attempts only (accounts lock after a
    few), sent through the login adapter that logged the audit account in.

    Different answers for "no such user" and "wrong password" let an attacker harvest valid
    accounts for credential stuffing (observable response discrepancy).

    Remediation: answer every failed login with one status and one message ("Incorrect email or
    password"), and spend the same time on unknown users (verify against a dummy hash).
    """
    sess = await ctx.auth()
    plan = await ctx.login_plan()
    user = sess.credentials.username
    wrong_pw = "Wrong-" + secrets.token_urlsafe(12)
    unknown = (f"prodaudit-nobody-{secrets.token_hex(4)}@{user.split('@', 1)[1]}" if "@" in user
               else f"prodaudit-nobody-{secrets.token_hex(4)}")
    known_ex, known_ok = await _failed_login(ctx, user, wrong_pw)
    unknown_ex, unknown_ok = await _failed_login(ctx, unknown, wrong_pw)
    loc = f"POST {plan.url}"
    for ex in (known_ex, unknown_ex):
        if ex.status is None:
            return [errored(f"{loc}: {ex.error}", location=loc)]
        if ex.status == 429:
            raise Skip(f"{loc}: rate limited (429) before the failed-login comparison")
    findings: list[Finding] = []
    for label, ex, ok in (("wrong password", known_ex, known_ok), ("unknown user", unknown_ex, unknown_ok)):
        findings += await _judge_failed_login(ctx, loc, label, ex, ok)
    a, b = error_shape(known_ex, user, unknown), error_shape(unknown_ex, user, unknown)
    if a != b:
        findings.append(failed(
            f"{loc} tells unknown users from wrong passwords: wrong password → {a[:160]}; "
            f"unknown user → {b[:160]}", location=loc,
            evidence=known_ex.evidence() + "\n\n" + unknown_ex.evidence()))
    elif not findings:
        findings.append(passed(
            f"{loc} answers a wrong password and an unknown user identically ({a[:120]})",
            location=loc))
    return findings


@check(
    "FUN-024",
    "Registration creates an account that can log in (allow_mutations)",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("4.2.4", "4.3.1"),
    evidence=Evidence.OBSERVED,
)
async def registration(ctx: Context) -> list[Finding]:
    """With ``allow_mutations``, the registration operation (``auth.register_url``, a POST that
    says register/sign-up/create user, or an unprotected POST on a users collection, with a
    password field) creates a new account from a body built from its schema (unique e-mail
    address and user name, strong password), and that account logs in through the login
    adapter. The account is deleted afterwards where the API lets it delete itself (FUN-025
    lists what is left).

    Sign-up is the first user journey; a broken one loses every new user.

    Remediation: fix the registration route; document its request schema and statuses.
    """
    if not ctx.cfg.allow_mutations:
        raise Skip("registration creates an account: only with allow_mutations (--allow-mutations)")
    doc = await ctx.openapi()
    op = register_operation(doc, ctx.cfg.auth)
    if op is None:
        raise Skip("no registration operation (auth.register_url, or a POST like /register or "
                   "/signup with a password field in its schema)")
    loc = f"POST {ctx.url(op.path)}"
    try:
        account = await register(ctx.http, ctx.base_url, doc, ctx.cfg.auth)
    except ValueError as exc:
        return [failed(f"a well-formed registration failed: {exc}", location=loc)]
    ctx.redact.register(account.password)
    ctx.accounts.add(account)
    await record(ctx, "FUN-024", "register", account.answer, "ok")
    plan = await ctx.login_plan()
    reasons = []
    for name in account.login_names(plan.shape.user_field)[:2]:
        try:
            sess = await ctx.accounts.login(ctx.base_url, doc, Credentials(name, account.password),
                                            record=False)
        except Skip as exc:
            reasons.append(exc.reason)
            continue
        ctx.accounts.attach(account, sess)
        await record(ctx, "FUN-024", "log in as the new account", sess.login_exchange, "ok")
        return [passed(f"{loc} created {account.email} and it logs in at POST {plan.url}",
                       location=loc)]
    return [failed(f"the account created by {loc} cannot log in: {'; '.join(reasons)[:600]}",
                   location=f"POST {plan.url}")]
