"""The audited backend's own modules and routes (helper apps in tools/, scripts/ or a frontend
server left out), shared by the readiness checks. Not a check module."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Finding, Skip, errored, skipped
from prodaudit.checks.readiness._scan import (
    PyModule,
    call_name,
    imports_any,
    py_sources,
)
from prodaudit.product.endpoints import Endpoint, endpoints
from prodaudit.templating import TEMPLATE_NOT_RENDERED

_NON_APP_DIRS = frozenset({"tools", "scripts", "examples", "docs", "bin", "frontend", "benchmarks"})


def _routed_root(rel: str, routed: list[str]) -> tuple[str, int]:
    """The folder of the module that builds the app and how many routes live under it, widened
    to its parent folders while it holds none (an app factory in ``app/core/setup.py`` serves the
    routers of ``app/api/``)."""
    root = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
    while True:
        routes = sum(1 for r in routed if r.startswith(root))
        if routes or not root:
            return root, routes
        root = root[:-1].rsplit("/", 1)[0] + "/" if "/" in root[:-1] else ""


def backend_modules(ctx: Context) -> list[PyModule]:
    """Modules of the main backend: the package of the FastAPI app with the most routes (helper
    apps in tools/, scripts/ or a frontend server are left out)."""

    def build() -> list[PyModule]:
        app = py_sources(ctx).app
        routed = [e.module.rel for e in endpoints(ctx)]
        roots: dict[str, int] = {}
        for m in app:
            if _NON_APP_DIRS & set(m.rel.split("/")[:-1]):
                continue
            if any(
                isinstance(n, ast.Call) and call_name(n).split(".")[-1] == "FastAPI"
                for n in ast.walk(m.tree)
            ):
                root, routes = _routed_root(m.rel, routed)
                roots[root] = routes
        if not roots:
            return [m for m in app if not _NON_APP_DIRS & set(m.rel.split("/")[:-1])]
        best = max(roots, key=lambda k: (roots[k], -len(k)))
        return [m for m in app if m.rel.startswith(best)]

    return ctx.memo("rdy:backend", build)


def web_modules(ctx: Context) -> list[PyModule]:
    mods = [m for m in backend_modules(ctx) if imports_any(m, "fastapi", "starlette")]
    if not mods:
        raise Skip("no FastAPI/Starlette module found in the repository")
    return mods


def broken_sources(ctx: Context) -> list[Finding]:
    """Unparseable Python files inside the backend's top-level directories (ERROR findings; an
    unrendered template's module that does not parse even with its placeholders as names is a
    SKIP: "template not rendered")."""
    tops = {m.rel.split("/")[0] for m in backend_modules(ctx) if "/" in m.rel}
    return [
        skipped(f"{rel}: {why}", location=rel) if why.startswith(TEMPLATE_NOT_RENDERED)
        else errored(f"{rel}: cannot parse: {why}", location=rel)
        for rel, why in py_sources(ctx).broken
        if not tops or rel.split("/")[0] in tops
    ]


def backend_routes(ctx: Context) -> list[Endpoint]:
    """Endpoints declared in the backend's modules (helper apps left out), from the product's
    one endpoint model (``prodaudit.product.endpoints``)."""
    rels = {m.rel for m in backend_modules(ctx)}
    return [e for e in endpoints(ctx) if e.module.rel in rels]


def app_calls(ctx: Context) -> list[tuple[PyModule, ast.Call]]:
    return [
        (m, node)
        for m in web_modules(ctx)
        for node in ast.walk(m.tree)
        if isinstance(node, ast.Call) and call_name(node).split(".")[-1] in ("FastAPI", "Starlette")
    ]
