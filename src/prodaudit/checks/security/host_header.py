"""SEC-072–073: the Host header — a spoofed host is never reflected into links, and a production
backend refuses hosts it does not serve (a trusted-host list)."""

from __future__ import annotations

import secrets

from prodaudit.auth.accounts import NewAccount, collect_ids
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Operation,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.security._common import live_location
from prodaudit.redact import mask_evidence

EVIL_HOST = "prodaudit-evil.example"


@check(
    "SEC-072",
    "A spoofed Host header is not reflected into links",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.3",),
    references=("CWE-644", "OWASP API8:2023"), evidence=Evidence.OBSERVED,
)
async def host_header(ctx: Context) -> list[Finding]:
    """Requests with ``Host: prodaudit-evil.example`` (and ``X-Forwarded-Host``) to the root, the
    liveness page, the OpenAPI document and a 404 do not echo the spoofed host in the body or a
    ``Location`` header. With ``--allow-mutations`` the registration operation is probed too
    (it creates one throw-away account), since that is where password-reset and confirmation
    links are usually built.

    A reflected Host poisons caches and password-reset links that then point at the attacker.

    Remediation: build absolute links from a configured public base URL, and reject unknown Host
    values (Starlette/FastAPI: ``TrustedHostMiddleware``).
    """
    paths = ["/", "/health", "/openapi.json", f"/prodaudit-{secrets.token_hex(3)}"]
    attempts: list[Exchange] = []
    for path in paths:
        for hdr in ({"Host": EVIL_HOST}, {"X-Forwarded-Host": EVIL_HOST}):
            try:
                attempts.append(await ctx.http.get(ctx.url(path), headers=hdr))
            except NotSent:
                continue  # excluded by the owner
    register_note = " (registration not probed: needs --allow-mutations)"
    if ctx.cfg.allow_mutations:
        reg = await _register_op(ctx)
        if reg is not None and ctx.http.refusal("POST", ctx.url(reg.path)):
            register_note = f" (registration not probed: {ctx.http.refusal('POST', ctx.url(reg.path))})"
        elif reg is not None:
            user = f"prodaudit-{secrets.token_hex(4)}@example.com"
            password = secrets.token_urlsafe(18) + "aA1!"
            ctx.redact.register(password)  # the throw-away account's password: never shown
            body = {"email": user, "username": user, "password": password}
            ex = await ctx.http.request(
                "POST", ctx.url(reg.path), headers={"Host": EVIL_HOST}, json=body
            )
            attempts.append(ex)
            register_note = f" (including POST {reg.path}: HTTP {ex.status})"
            if ex.status is not None and 200 <= ex.status < 300:
                # the throw-away account is the audit's: deleted at the end where the API
                # allows, listed in the report where it does not (FUN-025)
                account = NewAccount(user, user, password, f"POST {reg.path}", ex)
                collect_ids(account, ex)
                ctx.accounts.add(account)
        else:
            register_note = " (no registration operation found)"
    out = []
    for ex in attempts:
        if ex.status is None:
            continue
        loc = ex.header("location") or ""
        if EVIL_HOST in ex.text or EVIL_HOST in loc:
            out.append(
                failed(
                    f"the spoofed host {EVIL_HOST} is reflected by {ex.method} "
                    f"{ex.url.split('://', 1)[-1].split('/', 1)[-1] or '/'}",
                    location=live_location(ex),
                    evidence=mask_evidence(ex.evidence(600)),
                )
            )
    if out:
        return out
    answered = sum(1 for ex in attempts if ex.ok)
    complete = sum(1 for ex in attempts if ex.usable)
    if not complete:
        statuses = ", ".join(sorted({str(ex.status or ex.error) for ex in attempts}))
        raise Skip(
            f"no spoofed-Host request got a complete 2xx answer ({statuses}): a page that could "
            "build links from the Host was never served, so reflection was not exercised"
        )
    return [
        passed(
            f"{answered} requests with a spoofed Host / X-Forwarded-Host ({complete} complete "
            f"2xx answers): the host is not reflected{register_note}"
        )
    ]


async def _register_op(ctx: Context) -> Operation | None:
    if ctx.cfg.auth.register_url:
        return Operation("POST", ctx.cfg.auth.register_url, "", "", (), (), None, {}, None)
    try:
        doc = await ctx.openapi()
    except Skip:
        return None
    ops = doc.find(r"(^|/)(register|signup|sign-up|users)/?$", ("POST",))
    return sorted(ops, key=lambda o: len(o.path))[0] if ops else None


REFUSED = (400, 403, 404, 421, 444)  # how trusted-host lists refuse an unknown Host


async def _pages(ctx: Context) -> list[str]:
    """Pages that answer 2xx with the real Host: the root, the liveness path, the first public
    GET operations of the OpenAPI document (without path parameters)."""
    paths = ["/", "/health", "/healthz"]
    try:
        doc = await ctx.openapi()
        paths += [op.path for op in doc.operations if op.method == "GET" and not op.path_params
                  and not doc.is_protected(op)][:3]
    except Skip:
        pass
    return list(dict.fromkeys(paths))


@check(
    "SEC-073",
    "The backend refuses requests for a Host it does not serve (trusted-host list)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.3",),
    references=("CWE-644", "OWASP API8:2023"), evidence=Evidence.OBSERVED,
)
async def trusted_hosts(ctx: Context) -> list[Finding]:
    """In the production profile, a page that answers 2xx with the real ``Host`` (the root, the
    liveness endpoint, a public GET operation) is requested again with
    ``Host: prodaudit-evil.example`` (a page that answers 404 serves as well: the comparison is
    the status): the backend refuses it (400, 421 …) — Django's
    ``ALLOWED_HOSTS``, Starlette's ``TrustedHostMiddleware``, a proxy's ``server_name``. The same
    2xx answer for a made-up host is a warning: nothing limits the hosts the application builds
    links, cookies and cache keys for (SEC-072 reports an actual reflection).

    A backend that serves any Host is open to Host-header poisoning of password-reset links and
    caches as soon as one code path uses the request's host, and answers DNS-rebinding requests.

    Remediation: list the production host names (Django ``ALLOWED_HOSTS = ["api.example.com"]``,
    FastAPI ``app.add_middleware(TrustedHostMiddleware, allowed_hosts=[...])``, Flask
    ``TRUSTED_HOSTS``) or let the reverse proxy answer unknown hosts with 444/421.
    """
    if ctx.cfg.profile != "production":
        raise Skip(f"profile {ctx.cfg.profile}: a trusted-host list matters in production")
    pairs: list[tuple[Exchange, Exchange]] = []
    for path in await _pages(ctx):
        try:
            real = await ctx.http.get(ctx.url(path))
            if real.status is None or real.status >= 500 or real.status in (400, 421):
                continue  # an answer a refusal could not be told from
            spoofed = await ctx.http.get(ctx.url(path), headers={"Host": EVIL_HOST})
        except NotSent:
            continue  # excluded by the owner, or the budget is spent
        pairs.append((real, spoofed))
        if len(pairs) >= 2 and any(r.usable for r, _ in pairs):
            break
    if not pairs:
        raise Skip("no page answered the real Host with anything but an error: a refusal of "
                   "other hosts cannot be told from one")
    accepted = [(r, s) for r, s in sorted(pairs, key=lambda p: not p[0].usable)
                if s.status == r.status]
    if accepted:
        real, spoofed = accepted[0]
        return [warned(
            f"a request for the made-up host {EVIL_HOST} gets the same HTTP {spoofed.status} as "
            f"the real host on {real.url}: the backend serves any Host (no trusted-host list)",
            location=live_location(spoofed), evidence=mask_evidence(spoofed.evidence(300)))]
    refused = [(r, s) for r, s in pairs if s.status in REFUSED]
    if not refused:
        shown = ", ".join(f"{s.status or s.error}" for _, s in pairs)
        raise Skip(f"the made-up Host got neither the real answer nor a refusal ({shown})")
    real, spoofed = refused[0]
    return [passed(f"the made-up host {EVIL_HOST} is refused with HTTP {spoofed.status} on "
                   f"{real.url} (the real host gets {real.status})",
                   location=live_location(spoofed))]
