"""RDY-017: the backend declares a liveness/readiness route, read from its route declarations
(FastAPI/Flask decorators, Django URLconfs, aiohttp/Starlette route tables)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._scan import PyModule, call_name
from prodaudit.checks.readiness._taint import code_modules
from prodaudit.product.compose import compose_projects
from prodaudit.product.compose_yaml import healthcheck_test
from prodaudit.product.dockerfiles import dockerfiles
from prodaudit.product.endpoints import decorator_route, endpoints
from prodaudit.product.interpolation import interpolate

HEALTH_PATH = re.compile(r"(^|[/^])_?(health|healthz|healthcheck|health[-_]check|livez|readyz|"
                         r"liveness|readiness|ready|alive|ping|heartbeat|status)(\b|/|$|\\|\?)|"
                         r"^\^?/?up(/|$|\\|\?)",  # /up: Rails' and Kamal's probe path
                         re.I)
_HEALTH_LIBS = re.compile(r"\bhealth_check\b|fastapi_health|flask_healthz|healthcheck\.|"
                          r"from healthcheck import|django_probes|watchman|starlette_exporter")
#: ``/up``, the probe path of Rails and of Docker example apps: only as the whole route path
_ROOT_UP = re.compile(r"^[\^/]*up/?\$?$", re.I)
#: the path a health check command requests (``curl -f localhost:8000/up``, ``http://app/health``)
_PROBE_URL = re.compile(r"(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|[\w.-]+)"
                        r":\d+(/[\w./-]*)|https?://[\w.-]+(/[\w./-]*)")
_DJANGO_ROUTE = frozenset({"path", "re_path", "url"})
_AIOHTTP_ADD = re.compile(r"\.add_(route|get|post|view|resource|api_route|url_rule)$|"
                          r"^web\.(get|post|view|route)$")
_STARLETTE = frozenset({"Route", "Mount", "APIRoute"})


@dataclass(frozen=True)
class _Route:
    path: str
    location: str
    include: str  # the included URLconf, for Django ``include(...)`` routes


def _str(e: ast.expr | None) -> str | None:
    return e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None


def _routes(m: PyModule) -> list[_Route]:
    out: list[_Route] = []
    for n in ast.walk(m.tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in n.decorator_list:
                rd = decorator_route(dec)  # (owner, methods, path) of the product's model
                if rd is not None:
                    out.append(_Route(rd[2], m.line(dec), ""))
        if not isinstance(n, ast.Call):
            continue
        name = call_name(n)
        last = name.split(".")[-1]
        path: str | None = None
        include = ""
        if last in _DJANGO_ROUTE and n.args:
            path = _str(n.args[0])
            if len(n.args) > 1 and isinstance(n.args[1], ast.Call) and \
                    call_name(n.args[1]).endswith("include"):
                include = ast.unparse(n.args[1])
        elif _AIOHTTP_ADD.search(name):
            args = [_str(a) for a in n.args]
            path = next((a for a in args if a and a.startswith(("/", "^"))), None)
        elif last in _STARLETTE and n.args:
            path = _str(n.args[0])
        if path is not None:
            out.append(_Route(path, m.line(n), include))
    return out


def _first_segment(path: str) -> str:
    return path.strip("^$/").split("/", 1)[0].lower()


def _probed(ctx: Context) -> dict[str, str]:
    """First path segment → where the deployment's own health check requests it: Compose
    ``healthcheck.test`` (interpolated with the profile's env and defaults) and Dockerfile
    ``HEALTHCHECK`` commands."""
    out: dict[str, str] = {}

    def add(text: str, where: str) -> None:
        for mt in _PROBE_URL.finditer(text):
            seg = _first_segment(mt.group(1) or mt.group(2) or "")
            if seg:
                out.setdefault(seg, where)

    for p in compose_projects(ctx):
        for name, svc in p.services.items():
            text = healthcheck_test(svc.get("healthcheck"))
            if text:
                add(interpolate(text, ctx.profile_env), p.loc("services", name, "healthcheck"))
    for df in dockerfiles(ctx):
        for ins in df.instructions:
            if ins.name.upper() == "HEALTHCHECK":
                add(ins.value, df.loc(ins.line))
    return out


def _anchor(mods: list[PyModule], routes: list[_Route]) -> str:
    """Where a missing health route belongs: the root URLconf, else the module that creates
    the application and declares routes, else the module with the most routes."""
    for m in mods:
        if m.rel.endswith("urls.py") and "admin.site.urls" in m.text:
            for n in m.tree.body:
                if isinstance(n, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "urlpatterns" for t in n.targets):
                    return m.line(n)
    by_module = Counter(r.location.rsplit(":", 1)[0] for r in routes)
    for m in mods:
        if m.rel in by_module:
            for c in ast.walk(m.tree):
                if isinstance(c, ast.Call) and call_name(c).split(".")[-1] in (
                        "FastAPI", "Flask", "Starlette", "Application", "Quart", "Sanic"):
                    return m.line(c)
    busiest = by_module.most_common(1)[0][0]
    return min((r.location for r in routes if r.location.startswith(busiest + ":")),
               key=lambda loc: int(loc.rsplit(":", 1)[1]))


@check("RDY-017", "The backend declares a liveness/readiness endpoint", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.1.5", "9.2.4", "P.2.5"), evidence=Evidence.PARSED)
def health_route_declared(ctx: Context) -> list[Finding]:
    """Among the backend's route declarations — FastAPI/Flask decorators, Django
    ``path``/``re_path``/``url``, aiohttp ``add_route``/``add_get``, FastAPI ``add_api_route``,
    Flask ``add_url_rule``, Starlette ``Route`` — one
    serves a probe path (``/health``, ``/healthz``, ``/livez``, ``/readyz``, ``/ping``,
    ``/status``, ``/up`` as the first segment …) at its declared or its mounted path (a Flask
    blueprint's ``url_prefix``, a router's prefix), or a health library is wired in
    (django-health-check, fastapi-health, flask-healthz, healthcheck), or a route serves the
    path the deployment's own health check requests (a Compose ``healthcheck.test`` or a
    Dockerfile ``HEALTHCHECK`` running ``curl -f localhost:8000/up``; an included URLconf
    counts then). Otherwise a Django route named like a probe that includes a whole app's
    URLconf (``re_path(r'^health/', include('health.urls'))``: pages of a feature called
    health) is not a probe and FAILs at its line; with no probe route at all the finding points
    at the root URLconf or the module that creates the application. The live suite (FUN-001)
    probes the running server.

    Without a cheap endpoint that says "this process is up" (and one that says "its database and
    cache answer"), orchestrators and load balancers cannot restart a hung instance or keep
    traffic away from one that is not ready; probing ``/`` renders a full page per probe.

    Remediation: add ``GET /health`` (no authentication, no heavy work, 200 with a small JSON
    body) and ``GET /ready`` that checks the database and cache, and point the platform's
    probes at them.
    """
    mods = code_modules(ctx)
    routes = [r for m in mods for r in _routes(m)]
    n = len(routes)
    routes += [_Route(e.route, e.loc, "") for e in endpoints(ctx)  # at their mounted path
               if e.prefix and e.route]
    if not routes:
        raise Skip("no route declarations found (FastAPI/Flask/Django/aiohttp/Starlette)")
    libs = sorted({mt.group(0) for m in mods for mt in _HEALTH_LIBS.finditer(m.text)})
    probed = _probed(ctx)
    checked = [r for r in routes if _first_segment(r.path) in probed]
    if checked:
        r = checked[0]
        return [passed(f"route {r.path!r} serves the deployment's health check "
                       f"({probed[_first_segment(r.path)]}; {len(routes)} routes declared)",
                       location=r.location)]
    probes = [r for r in routes if HEALTH_PATH.search(r.path) or _ROOT_UP.match(r.path)]
    real = [r for r in probes if not r.include or _HEALTH_LIBS.search(r.include)]
    if real or libs:
        where = real[0].location if real else ""
        what = f"route {real[0].path!r}" if real else f"health library {libs[0]}"
        return [passed(f"{what} serves the probes ({n} routes declared)",
                       location=where)]
    findings = [failed(f"{r.path!r} includes {r.include}: an application's pages, not a "
                       "liveness probe", location=r.location) for r in probes]
    if not findings:
        findings.append(failed(f"no liveness/readiness route among {n} declared "
                               "routes", location=_anchor(mods, routes)))
    return findings
