"""CFG-175: ``Cache-Control: public`` set by the code on authenticated responses (a middleware
that marks every response public, or an authenticated handler)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.endpoints import dotted, endpoints
from prodaudit.product.pyindex import Function, PyModule, py_index, walk
from prodaudit.product.textwords import contains, contains_folded

_MIDDLEWARE_FN = re.compile(r"^(dispatch|__call__|after_request|process_response|"
                            r"add_cache_headers?|set_cache_headers?)$|middleware", re.I)
_PUBLIC = re.compile(r"\bpublic\b", re.I)


def _public_header(fn: Function) -> ast.AST | None:
    """A ``Cache-Control`` value with ``public`` set in ``fn``: ``headers["Cache-Control"] =
    "public, ..."``, ``headers={"Cache-Control": f"public, ..."}``, ``cache_control(public=True)``."""
    for node in walk(fn):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and "cache-control" in ast.unparse(t.slice).lower()
                for t in node.targets) and _PUBLIC.search(ast.unparse(node.value)):
            return node
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if k is not None and "cache-control" in ast.unparse(k).lower() and \
                        _PUBLIC.search(ast.unparse(v)):
                    return node
        if isinstance(node, ast.Call) and dotted(node).endswith(("cache_control",
                                                                 "patch_cache_control")) and \
                any(k.arg == "public" and ast.unparse(k.value) == "True" for k in node.keywords):
            return node
    return None


_SCOPING_TEST = re.compile(r"path|url|static|asset|content_type|media|status|method|"
                           r"authenticated|user|authorization|cookie", re.I)


def _scoped(fn: Function, node: ast.AST) -> bool:
    """The header is set only under a condition that selects some responses (static paths,
    content types, anonymous callers): not every response."""
    for test in walk(fn):
        if isinstance(test, ast.If) and _SCOPING_TEST.search(ast.unparse(test.test)) and \
                any(node is inner for stmt in test.body + test.orelse for inner in walk(stmt)):
            return True
    return False


def _middlewares(mod: PyModule) -> list[Function]:
    out = [f for f in mod.functions if _MIDDLEWARE_FN.search(f.name)]
    out += [f for f in mod.functions for d in f.decorator_list
            if re.search(r"after_request|middleware", ast.unparse(d)) and f not in out]
    return out


@check("CFG-175", "Authenticated responses are not marked publicly cacheable",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("1.3.5",),
       references=("CWE-524", "CWE-525"), evidence=Evidence.PARSED)
def public_cache_control(ctx: Context) -> list[Finding]:
    """In an application with authenticated routes, no middleware (a Starlette ``dispatch``,
    Flask ``after_request``, Django ``process_response``, aiohttp middleware) sets
    ``Cache-Control: public`` on every response (a header set only under a condition on the
    path, content type or caller is scoped, not judged), and no authenticated handler sets it on
    its own response. Routes registered only outside production (``if settings.DEBUG:``) are
    not judged.

    ``public`` lets shared caches (a CDN, a corporate proxy) store the answer and serve it to
    the next caller: one user's profile, tokens or data reach another.

    Remediation: set ``Cache-Control: private, no-store`` (or nothing) on authenticated
    responses; mark only anonymous static or public content ``public``.
    """
    eps = endpoints(ctx)
    protected = next((e for e in eps if e.auth), None)
    if protected is None:
        raise Skip("no authenticated route found in the code: nothing private to cache")
    out: list[Finding] = []
    for mod in py_index(ctx):
        if not contains_folded(mod, "cache-control") and not contains(mod, "cache_control"):
            continue
        for fn in _middlewares(mod):
            node = _public_header(fn)
            if node is not None and not _scoped(fn, node):
                out.append(failed(
                    f"{fn.name} marks every response Cache-Control: public, authenticated ones "
                    f"included (e.g. {protected.label}): shared caches may serve one user's "
                    "data to another", location=f"{mod.rel}:{getattr(node, 'lineno', 1)}"))
    for e in eps:
        node = _public_header(e.func) if e.auth else None
        if node is not None:
            out.append(failed(f"{e.label} requires authentication but answers Cache-Control: "
                              "public", location=f"{e.module.rel}:{getattr(node, 'lineno', 1)}"))
    if not out:
        out.append(passed(f"{len(eps)} route(s), authenticated ones included: no middleware or "
                          "authenticated handler marks responses public"))
    return out
