"""SEC-052: answers to authenticated requests are not marked cacheable by shared caches."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from prodaudit.auth import AuthSession
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.security._common import live_location
from prodaudit.redact import mask_evidence

MAX_FETCH = 3  # protected GET operations fetched when the audit captured none
MAX_AGE_RE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)


def directives(value: str) -> set[str]:
    """The directive names of a Cache-Control value, lower case."""
    return {d.split("=", 1)[0].strip().lower() for d in value.split(",") if d.strip()}


def shared_cacheable(value: str) -> str | None:
    """Why a Cache-Control value lets a shared cache store an authenticated answer, else None:
    ``public``, ``s-maxage``, or a positive ``max-age`` without ``private``/``no-store``."""
    names = directives(value)
    if "no-store" in names or ("private" in names and "public" not in names):
        return None
    if "public" in names:
        return "public"
    ages = {k.lower(): int(v) for k, v in MAX_AGE_RE.findall(value)}
    if ages.get("s-maxage", 0) > 0:
        return f"s-maxage={ages['s-maxage']}"
    if ages.get("max-age", 0) > 0 and "no-cache" not in names:
        return f"max-age={ages['max-age']} without private"
    return None


def authenticated(ex: Exchange, sess: AuthSession) -> bool:
    """The request carried the audit session's credential (header or cookie)."""
    sent = {k.lower(): v for k, v in ex.request_headers.items()}
    for name, value in sess.headers().items():
        got = sent.get(name.lower(), "")
        if name.lower() == "cookie":
            if sess.credential.token and sess.credential.token in got:
                return True
        elif got and got == value:
            return True
    return False


def _judgeable(ex: Exchange) -> bool:
    return ex.method in ("GET", "HEAD") and ex.status is not None and 200 <= ex.status < 300


async def _answers(ctx: Context, sess: AuthSession) -> list[Exchange]:
    """2xx GET answers to authenticated requests the audit made, else a few fetched now (the
    OpenAPI document's protected GET operations without path parameters, or ``auth.me_url``)."""
    seen = [ex for ex in list(ctx.http.exchanges) if _judgeable(ex) and authenticated(ex, sess)]
    if seen:
        return seen
    paths: list[str] = [ctx.cfg.auth.me_url] if ctx.cfg.auth.me_url else []
    try:
        doc = await ctx.openapi()
        paths += [op.path for op in doc.operations
                  if op.method == "GET" and not op.path_params and doc.is_protected(op)]
    except Skip:
        pass
    out = []
    for path in list(dict.fromkeys(paths))[:MAX_FETCH]:
        try:
            ex = await ctx.http.get(ctx.url(path), headers=sess.headers())
        except NotSent:
            continue
        if _judgeable(ex):
            out.append(ex)
    return out


@check(
    "SEC-052",
    "Answers to authenticated requests are not cacheable by shared caches",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("8.2.4",),
    references=("CWE-524", "CWE-525", "OWASP API8:2023"),
    evidence=Evidence.OBSERVED,
)
async def private_caching(ctx: Context) -> list[Finding]:
    """Every 2xx answer the audit got to a GET carrying the audit account's credential (the
    account's profile, its lists — captured during the audit, else up to three protected GET
    operations of the OpenAPI document or ``auth.me_url`` fetched now) says ``Cache-Control:
    private`` or ``no-store``. ``public``, ``s-maxage`` or a positive ``max-age`` without
    ``private`` is a failure (a CDN or proxy may store one user's answer and serve it to the
    next); an answer with neither ``private``, ``no-store`` nor ``no-cache`` is a warning (caches
    decide heuristically). SKIP without a login or an authenticated 2xx answer.

    Remediation: send ``Cache-Control: private, no-store`` on every answer that depends on the
    caller (a middleware for authenticated requests), and never ``public`` on them.
    """
    try:
        sess = await ctx.auth()
    except Skip as exc:
        raise Skip(f"no login: {exc.reason}") from None
    answers = await _answers(ctx, sess)
    if not answers:
        raise Skip("no authenticated GET got a 2xx answer: caching of private answers not "
                   "verified")
    bad: dict[str, tuple[Exchange, str]] = {}
    loose: dict[str, Exchange] = {}
    for ex in answers:
        value = ", ".join(ex.header_all("cache-control"))
        key = ex.url.split("?", 1)[0]
        why = shared_cacheable(value)
        if why:
            bad.setdefault(key, (ex, why))
        elif not directives(value) & {"private", "no-store", "no-cache"}:
            loose.setdefault(key, ex)
    out = [
        failed(f"GET {urlsplit(key).path or '/'} answers an authenticated request with "
               f"Cache-Control: {why} — a shared cache may serve this user's answer to others",
               location=live_location(ex), evidence=mask_evidence(ex.evidence(400)))
        for key, (ex, why) in list(bad.items())[:5]
    ]
    if loose and not out:
        ex = next(iter(loose.values()))
        shown = ", ".join(list(loose)[:3])
        out.append(warned(
            f"{len(loose)} authenticated answer(s) without Cache-Control private/no-store "
            f"({shown}): caches may store them heuristically",
            location=live_location(ex), evidence=mask_evidence(ex.evidence(400))))
    if out:
        return out
    return [passed(f"{len(answers)} authenticated answer(s) all say Cache-Control private, "
                   "no-store or no-cache", location=live_location(answers[0]))]
