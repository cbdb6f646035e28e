"""RDY-001 and RDY-006: the backend's structure (routers, a settings module) and its middleware,
read statically (``ast``; the target's code is never imported or run by the audit)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.checks.readiness._backend import (
    app_calls,
    backend_modules,
    backend_routes,
    broken_sources,
    web_modules,
)
from prodaudit.checks.readiness._scan import (
    call_name,
)
from prodaudit.product.endpoints import middleware_refuses


# ---- RDY-001 structure ------------------------------------------------------------------------
def _config_readers(ctx: Context) -> tuple[list[str], list[str]]:
    """(modules that read environment variables, modules with a BaseSettings class)."""
    env_readers = sorted(
        {
            m.rel
            for m in backend_modules(ctx)
            for n in ast.walk(m.tree)
            if isinstance(n, ast.Call)
            and call_name(n) in ("os.getenv", "getenv", "os.environ.get")
            or isinstance(n, ast.Subscript)
            and call_name(n.value) == "os.environ"
        }
    )
    settings_cls = [
        m.rel
        for m in backend_modules(ctx)
        for n in ast.walk(m.tree)
        if isinstance(n, ast.ClassDef)
        and any(call_name(b).endswith("BaseSettings") for b in n.bases)
    ]
    return env_readers, settings_cls


@check(
    "RDY-001",
    "FastAPI application structured in routers and a settings module",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.1.1",),
    evidence=Evidence.PARSED,
)
def app_structure(ctx: Context) -> list[Finding]:
    """The backend creates its application in one place, groups endpoints in ``APIRouter``
    modules and reads its configuration in one settings module.

    All routes on a single ``app`` object in one file, and environment variables read all over
    the code, make the service hard to test and to configure per environment.

    Remediation: create the app in a factory (``create_app()``), move endpoints into
    ``routers/<topic>.py`` with ``APIRouter`` and ``include_router``, and read configuration once in
    a ``pydantic-settings`` ``Settings`` class.
    """
    findings = broken_sources(ctx)
    apps = app_calls(ctx)
    if not apps:
        raise Skip("no FastAPI() application object found")
    mods = web_modules(ctx)
    routers = [
        m.rel
        for m in mods
        if any(
            isinstance(n, ast.Call) and call_name(n).endswith("APIRouter") for n in ast.walk(m.tree)
        )
    ]
    includes = sum(
        1
        for m in mods
        for n in ast.walk(m.tree)
        if isinstance(n, ast.Call) and call_name(n).endswith("include_router")
    )
    all_routes = backend_routes(ctx)
    on_app = [r for r in all_routes if r.module.rel in {m.rel for m, _ in apps}]
    if not routers and len(all_routes) > 5:
        findings.append(
            warned(
                f"{len(all_routes)} routes and no APIRouter: every endpoint is declared on the app",
                location=apps[0][0].line(apps[0][1]),
            )
        )
    elif routers and not includes:
        findings.append(
            warned(
                "APIRouter modules exist but no include_router() call was found",
                location=routers[0],
            )
        )
    env_readers, settings_cls = _config_readers(ctx)
    if len(env_readers) > 3:
        findings.append(
            warned(
                f"environment variables are read in {len(env_readers)} modules "
                f"({', '.join(env_readers[:6])}): configuration is not centralised",
                location=env_readers[0],
            )
        )
    if not any(f.status.rank >= 2 for f in findings):
        where = (
            "BaseSettings in " + settings_cls[0]
            if settings_cls
            else (f"env read in {', '.join(env_readers) or 'no module'}")
        )
        findings.append(
            passed(
                f"app created at {apps[0][0].line(apps[0][1])}; {len(routers)} router module(s), "
                f"{includes} include_router call(s), {len(all_routes)} routes "
                f"({len(on_app)} on the app module); configuration: {where}"
            )
        )
    return findings


# ---- RDY-006 middleware -----------------------------------------------------------------------

_MW_ROLES = {
    "cors": re.compile(r"cors", re.I),
    "trusted hosts": re.compile(r"trustedhost", re.I),
    "https/proxy": re.compile(r"httpsredirect|proxyheaders|forwarded", re.I),
    "compression": re.compile(r"gzip|brotli|compress", re.I),
    "rate limit / auth": re.compile(r"ratelimit|limiter|throttl|auth", re.I),
}


def _proxy_elsewhere(ctx: Context) -> dict[str, str]:
    """Roles fulfilled outside the app: uvicorn --proxy-headers, nginx/caddy/traefik config."""
    out: dict[str, str] = {}
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        if not (
            name.startswith(
                (
                    "dockerfile",
                    "docker-compose",
                    "compose",
                    "nginx",
                    "caddyfile",
                    "traefik",
                    "procfile",
                    "gunicorn",
                )
            )
            or name.endswith((".conf", ".sh"))
        ):
            continue
        text = ctx.read(rel) or ""
        if re.search(
            r"--proxy-headers|forwarded[_-]allow[_-]ips|proxy_set_header\s+X-Forwarded", text
        ):
            out.setdefault("https/proxy", rel)
        if re.search(r"^\s*gzip\s+on|^\s*encode\s+.*gzip|compress", text, re.M | re.I):
            out.setdefault("compression", rel)
        if re.search(r"^\s*server_name\s+(?!_;)\S+", text, re.M):
            out.setdefault("trusted hosts", rel)
    return out


def _middleware_stack(ctx: Context) -> list[tuple[str, str]]:
    """(middleware class name, location) of the web modules' middleware, innermost first
    (``add_middleware`` calls in order; ``middleware=[...]``, whose first item is the outermost)."""
    stack: list[tuple[str, str]] = []
    for m in web_modules(ctx):
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call) and call_name(n).endswith("add_middleware") and n.args:
                stack.append((call_name(n.args[0]).split(".")[-1], m.line(n)))
            elif isinstance(n, ast.keyword) and n.arg == "middleware" \
                    and isinstance(n.value, ast.List):
                stack += [(call_name(e.args[0]).split(".")[-1], m.line(e))
                          for e in reversed(n.value.elts) if isinstance(e, ast.Call) and e.args]
    return stack


@check(
    "RDY-006",
    "Middleware present and ordered (CORS, hosts, HTTPS/proxy, compression)",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.6", "P.3.4"),
    evidence=Evidence.PARSED,
)
def middleware(ctx: Context) -> list[Finding]:
    """The application's middleware stack covers CORS, trusted hosts, HTTPS redirection or proxy
    headers and response compression (in the app, or in a reverse proxy configured in the
    repository), and CORS wraps rate limiting and authentication middleware so that preflight
    requests and error responses still carry CORS headers.

    In Starlette the last ``add_middleware`` call is the outermost layer. A rate limiter outside
    CORS answers preflights with 429 without CORS headers, which browsers report as a CORS error.
    A project middleware that never answers on its own (it only attaches the caller to
    ``request.state`` and always calls the next layer) may sit anywhere.

    Remediation: add the missing middleware (``TrustedHostMiddleware``, ``ProxyHeadersMiddleware``
    or uvicorn ``--proxy-headers`` behind a TLS proxy, ``GZipMiddleware``) and call
    ``add_middleware(CORSMiddleware, ...)`` after the rate-limit and auth middleware.
    """
    findings = broken_sources(ctx)
    stack = _middleware_stack(ctx)
    if not stack:
        return findings + [
            failed(
                "no middleware is added to the application",
                location=app_calls(ctx)[0][0].rel if app_calls(ctx) else "",
            )
        ]
    found: dict[str, tuple[int, str]] = {}
    for i, (name, loc) in enumerate(stack):
        for role, rx in _MW_ROLES.items():
            if rx.search(name):
                found.setdefault(role, (i, f"{name} ({loc})"))
    elsewhere = _proxy_elsewhere(ctx)
    for role in ("cors", "trusted hosts", "https/proxy", "compression"):
        if role in found:
            continue
        if role in elsewhere:
            continue
        findings.append(
            warned(
                f"no {role} middleware in the app and none configured in a "
                "reverse proxy of the repository",
                location=stack[-1][1],
            )
        )
    if "cors" in found and "rate limit / auth" in found:
        cors_i = max(i for i, (n, _) in enumerate(stack) if _MW_ROLES["cors"].search(n))
        inner = [
            (n, loc)
            for i, (n, loc) in enumerate(stack)
            if i > cors_i
            and _MW_ROLES["rate limit / auth"].search(n)
            and middleware_refuses(ctx, n) is not False
        ]
        if inner:
            findings.append(
                failed(
                    f"{inner[0][0]} ({inner[0][1]}) is added after CORS and so runs outside "
                    "it: its responses (429/401, preflights) carry no CORS headers",
                    location=inner[0][1],
                )
            )
    if not any(f.status.rank >= 3 for f in findings):
        order = " > ".join(n for n, _ in reversed(stack))
        extra = (
            "; outside the app: "
            + ", ".join(f"{r} in {p}" for r, p in elsewhere.items() if r not in found)
            if elsewhere
            else ""
        )
        findings.append(
            passed(f"middleware, outermost first: {order}{extra}", location=stack[-1][1])
        )
    return findings
