"""CFG-043: session cookies configured in code — HttpOnly and Secure (the static half of the live
cookie check SEC-062)."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.devswitches import TRUE_WORDS
from prodaudit.product.django_settings import django_settings
from prodaudit.product.effective import deployed_value
from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import dev_path, settings_model
from prodaudit.product.textwords import contains, contains_any

#: settings that keep a session or remember-me cookie away from scripts
HTTPONLY_SETTINGS = ("SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_HTTPONLY")
HTTPONLY_KWARGS = ("httponly", "http_only", "cookie_httponly", "session_cookie_httponly")
SECURE_KWARGS = ("secure", "https_only", "cookie_secure", "session_cookie_secure")
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f"})
DJANGO_SESSION_SETTINGS = ("SESSION_ENGINE", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY")
SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"


def _django_secure(ctx: Context) -> tuple[list[Finding], str]:
    """(findings, what was judged) for the session cookie of the Django settings production
    runs with, when they configure sessions (``SESSION_ENGINE``/``SESSION_COOKIE_*``)."""
    dj = django_settings(ctx)
    if dj.production is None or not any(n in dj.effective for n in DJANGO_SESSION_SETTINGS):
        return [], ""
    engine = dj.effective.get("SESSION_ENGINE")
    signed = engine is not None and engine.value == SIGNED_COOKIES
    note = (f"; SESSION_ENGINE signed_cookies ({engine.loc}): the session data is stored in the "
            "cookie, signed but not encrypted — readable by the client, keep secrets out of it"
            if signed and engine is not None else "")
    secure = dj.effective.get("SESSION_COOKIE_SECURE")
    if secure is None:
        where = next(dj.effective[n].loc for n in DJANGO_SESSION_SETTINGS if n in dj.effective)
        return [failed(f"the production settings ({dj.production}) leave SESSION_COOKIE_SECURE "
                       "unset (Django's default False): the session cookie is sent over plain "
                       f"HTTP{note}", location=where)], ""
    value, deployed = deployed_value(ctx, secure)
    via, where = "", secure.loc
    if deployed is not None:
        where = deployed.location
        via = f" ({secure.env}={value} set by {deployed.source}, read at {secure.loc})"
    on = value is True or isinstance(value, str) and value.strip().lower() in TRUE_WORDS
    if not on:
        return [failed(f"SESSION_COOKIE_SECURE = {secure.expr}{via} in the production settings: "
                       f"the session cookie is sent over plain HTTP{note}", location=where,
                       evidence=f"SESSION_COOKIE_SECURE = {secure.expr}")], ""
    return [], f"Django SESSION_COOKIE_SECURE on ({secure.loc}){via}{note}"


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _session_call(node: ast.Call, aiohttp_session: bool) -> str | None:
    """The session class a call constructs or registers: an aiohttp-session storage
    (``RedisStorage(...)`` in a module that uses aiohttp_session) or Starlette's
    ``SessionMiddleware`` (``app.add_middleware(SessionMiddleware, ...)``, ``Middleware(...)``)."""
    name = _callee(node)
    if aiohttp_session and name.endswith("Storage"):
        return name
    if name == "SessionMiddleware":
        return name
    if name in ("add_middleware", "Middleware") and node.args \
            and isinstance(node.args[0], ast.Name | ast.Attribute):
        inner = node.args[0]
        cls = inner.id if isinstance(inner, ast.Name) else inner.attr
        return cls if cls == "SessionMiddleware" else None
    return None


def _false(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is False


def _call_findings(rel: str, node: ast.Call, cls: str) -> list[Finding]:
    kws = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    out: list[Finding] = []
    off = next((k for k in HTTPONLY_KWARGS if k in kws and _false(kws[k])), None)
    secure = next((k for k in SECURE_KWARGS if k in kws), None)
    if off is not None:
        extra = "" if secure else " and no Secure flag"
        out.append(failed(f"{cls}(..., {off}=False): the session cookie is readable by any "
                          f"script in the page{extra}",
                          location=f"{rel}:{kws[off].lineno}", evidence=ast.unparse(node)[:200]))
    elif secure is not None and _false(kws[secure]):
        out.append(warned(f"{cls}(..., {secure}=False): the session cookie is also sent over "
                          "plain HTTP", location=f"{rel}:{kws[secure].lineno}",
                          evidence=ast.unparse(node)[:200]))
    elif secure is None and cls == "SessionMiddleware" and "https_only" not in kws:
        out.append(warned("SessionMiddleware without https_only=True: the session cookie has no "
                          "Secure flag and is sent over plain HTTP", location=f"{rel}:{node.lineno}",
                          evidence=ast.unparse(node)[:200]))
    return out


@check("CFG-043", "Session cookies set in code are HttpOnly and Secure", severity=Severity.HIGH,
       needs=("repo",), checklist=("8.2.4", "1.3.6"), references=("CWE-1004", "CWE-614"),
       evidence=Evidence.PARSED)
def session_cookie_flags(ctx: Context) -> list[Finding]:
    """Production code does not turn HttpOnly off for session cookies: no
    ``SESSION_COOKIE_HTTPONLY``/``REMEMBER_COOKIE_HTTPONLY = False`` setting (Django, Flask,
    Flask-Login; in code or as the default of an environment read), no session storage or
    middleware built with ``httponly=False`` (aiohttp-session ``RedisStorage``,
    ``EncryptedCookieStorage`` …) — FAIL; ``secure=False`` there, or Starlette's
    ``SessionMiddleware`` without ``https_only=True``, warns. Development and test modules are
    not judged. Django settings production runs with that configure sessions
    (``SESSION_ENGINE``, ``SESSION_COOKIE_SECURE`` or ``SESSION_COOKIE_HTTPONLY`` in the
    production module or what it star-imports) must turn ``SESSION_COOKIE_SECURE`` on (Django's
    default is False): unset or off — in code, or through the variable it is read from, the
    deployment's value else the default — FAILs; ``SESSION_COOKIE_HTTPONLY`` passes unless set
    off. With ``SESSION_ENGINE`` ``signed_cookies`` the finding notes that the session data
    lives in the cookie, readable by the client (CFG-036 also lists the Secure cookie flags
    among Django's deploy settings).

    A session cookie scripts can read is stolen by the first injected script (XSS): the attacker
    becomes the user. Without Secure, one plain-HTTP request sends it in clear text.

    Remediation: leave HttpOnly on (the frameworks' default); set ``secure=True`` /
    ``https_only=True`` (or ``SESSION_COOKIE_SECURE = True``) in production.
    """
    out: list[Finding] = []
    seen = 0
    for s in settings_model(ctx).settings:
        if s.name.upper() not in HTTPONLY_SETTINGS or s.dev or s.ci_only or s.guard:
            continue
        seen += 1
        value, _ = deployed_value(ctx, s)
        if value is False or isinstance(value, str) and value.strip().lower() in FALSE_WORDS:
            via = f" (from {s.env}, set by no deployment file)" if s.env and value is s.value \
                else f" ({s.env}={value} in the deployment)" if s.env else ""
            out.append(failed(f"{s.name} = False{via}: the cookie is readable by any script in "
                              "the page", location=s.loc, evidence=f"{s.name} = {s.expr}"))
    for module in py_index(ctx):
        if dev_path(module.rel) or not contains_any(module, "httponly", "http_only",
                                                    "SessionMiddleware", "https_only", "secure="):
            continue
        aiohttp_session = contains(module, "aiohttp_session")
        for node in module.calls:
            cls = _session_call(node, aiohttp_session)
            if cls is None:
                continue
            seen += 1
            out += _call_findings(module.rel, node, cls)
    django, judged = _django_secure(ctx)
    out += django
    seen += bool(django or judged)
    if not seen:
        raise Skip("no session cookie configured in code (settings or session middleware)")
    if not out:
        extra = f"; {judged}" if judged else ""
        out.append(passed(f"{seen} session cookie setting(s) or session middleware checked: "
                          f"none turns HttpOnly or Secure off{extra}"))
    return out
