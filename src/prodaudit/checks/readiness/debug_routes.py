"""RDY-103: no debug or error-trigger endpoint is routed in production, read from the route
declarations (Django URLconfs and their includes, FastAPI/Flask decorators, aiohttp tables)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, passed, warned
from prodaudit.checks.readiness._scan import PyModule, call_name
from prodaudit.checks.readiness._taint import code_modules
from prodaudit.product.devguard import in_production
from prodaudit.product.endpoints import decorator_route, dev_endpoints

# path segments of endpoints that exist to fail or to debug (django-debug-toolbar's __debug__ is
# mounted by its own DEBUG switch and is not judged here)
DEBUG_SEGMENT = re.compile(r"(^|[/^])(debug|trigger[-_]?\w*|crash|boom|raise[-_]?\w*|"
                           r"error[-_]test|test[-_]error|sentry[-_]debug|throw)(/|$|\\|\?)",
                           re.I)
_DJANGO_ROUTE = frozenset({"path", "re_path", "url"})


@dataclass(frozen=True)
class _Route:
    path: str
    location: str
    include: str | None  # the included module's repository path (Django include)


def _str(e: ast.expr | None) -> str | None:
    return e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None


def _include_target(call: ast.expr) -> str | None:
    if not (isinstance(call, ast.Call) and call_name(call).endswith("include") and call.args):
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Tuple) and arg.elts:
        arg = arg.elts[0]
    mod = _str(arg)
    return mod.replace(".", "/") + ".py" if mod else None


def _guarded(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """``node`` is in a branch that never runs in production (``prodaudit.product.devguard``:
    ``if settings.DEBUG:``, ``if app.testing:``, ``if settings.ENVIRONMENT == "local":``, the
    else of ``if not settings.DEBUG:``)."""
    child, cur = node, parents.get(id(node))
    while cur is not None:
        if isinstance(cur, ast.If) and cur.test is not child:
            value = in_production(cur.test)
            branch = cur.body if value is False else cur.orelse if value is True else []
            if any(stmt is child for stmt in branch):
                return True
        child, cur = cur, parents.get(id(cur))
    return False


def _routes(m: PyModule, dev: set[tuple[str, int]]) -> list[_Route]:
    parents = {id(c): p for p in ast.walk(m.tree) for c in ast.iter_child_nodes(p)}
    out: list[_Route] = []
    for n in ast.walk(m.tree):
        if _guarded(n, parents):
            continue
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and (m.rel, n.lineno) not in dev:
            for dec in n.decorator_list:
                rd = decorator_route(dec)  # (owner, methods, path) of the product's model
                if rd is not None:
                    out.append(_Route(rd[2], m.line(dec), None))
        elif isinstance(n, ast.Call):
            name = call_name(n)
            if name.split(".")[-1] in _DJANGO_ROUTE and n.args and _str(n.args[0]) is not None:
                target = _include_target(n.args[1]) if len(n.args) > 1 else None
                out.append(_Route(_str(n.args[0]) or "", m.line(n), target))
            elif re.search(r"\.add_(route|get|post|api_route|url_rule)$", name):
                path = next((s for s in map(_str, n.args) if s and s.startswith(("/", "^"))),
                            None)
                if path is not None:
                    out.append(_Route(path, m.line(n), None))
    return out


@check("RDY-103", "No debug or error-trigger endpoint is routed in production",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("10.2.1", "3.1.3"),
       evidence=Evidence.PARSED)
def debug_routes(ctx: Context) -> list[Finding]:
    """No route declared outside a branch that never runs in production (``if settings.DEBUG:``,
    ``if app.testing:``, ``if settings.ENVIRONMENT == "local":``, the else of ``if not DEBUG:``;
    a router or blueprint mounted only there counts as inside) serves a path made to debug or
    to fail: a segment ``debug``, ``trigger…``, ``crash``, ``boom``, ``raise…``,
    ``test-error``, ``sentry-debug``. A Django ``include(...)`` whose URLconf holds only such
    routes (a whole demo/errors app) is reported once, at the include line; otherwise each
    route at its line. WARN: a name is a hint, not proof.

    An endpoint that raises on purpose lets anyone fill the error tracker and the logs, trip
    alerts, and sometimes write data (demo endpoints that create rows on GET).

    Remediation: mount demo and debug URLconfs only under ``if settings.DEBUG:`` (or behind
    staff authentication), or delete them before launch.
    """
    mods = code_modules(ctx)
    by_rel = {m.rel: m for m in mods}
    dev = {(e.module.rel, e.func.lineno) for e in dev_endpoints(ctx)}
    routes = {m.rel: _routes(m, dev) for m in mods}
    if not any(routes.values()):
        where = " outside development-only branches" if dev else ""
        raise Skip(f"no route declarations found{where} (Django/FastAPI/Flask/aiohttp)")

    def all_debug(rel: str) -> bool:
        inner = [r for k, rs in routes.items() if k == rel or k.endswith("/" + rel) for r in rs]
        return bool(inner) and all(DEBUG_SEGMENT.search(r.path) for r in inner)

    findings: list[Finding] = []
    covered: set[str] = set()
    for rs in routes.values():
        for r in rs:
            if r.include and all_debug(r.include):
                findings.append(warned(f"{r.path!r} includes {r.include}, whose every route is a "
                                       "debug or error trigger", location=r.location))
                covered.update(k for k in by_rel if k == r.include or k.endswith("/" + r.include))
    for rel, rs in routes.items():
        if rel in covered:
            continue
        findings += [warned(f"route {r.path!r} is a debug or error-trigger endpoint",
                            location=r.location) for r in rs
                     if r.include is None and DEBUG_SEGMENT.search(r.path)]
    if not findings:
        n = sum(len(rs) for rs in routes.values())
        findings.append(passed(f"{n} declared route(s): none is a debug or error trigger"))
    return findings
