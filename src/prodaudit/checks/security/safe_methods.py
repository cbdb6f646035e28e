"""SEC-086: GET handlers have no side effects (they enqueue no jobs, send no mail, commit no
writes). Read from the handlers of the repository's routes; the route is located on the target's
URL, nothing is sent (the request would trigger the side effect)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    passed,
    warned,
)
from prodaudit.checks.security._repo_routes import served_routes
from prodaudit.pysource import parse_tree
from prodaudit.report.source_map import Route

# calls that act: queue a job, send mail, write to the database
ACTION_CALLS = frozenset({"send_task", "apply_async", "delay", "enqueue", "enqueue_call",
                          "enqueue_job", "add_job", "send_mail", "send_email", "send_mass_mail",
                          "commit", "bulk_create", "bulk_update", "get_or_create",
                          "update_or_create"})
# ``X.objects.create(...)``, ``X.objects.filter(...).delete()`` / ``.update(...)``
ORM_WRITES = frozenset({"create", "delete", "update"})
MAX_FINDINGS = 10


def _handler(tree: ast.Module, route: Route) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == route.func \
                and (node.lineno == route.line or any(d.lineno == route.line
                                                      for d in node.decorator_list)):
            return node
    return None


def _chain(node: ast.AST) -> list[str]:
    out: list[str] = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            out.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            out.append(node.id)
            return out[::-1]
        else:
            return out[::-1]


def side_effects(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[int, str]]:
    """(line, call) of the calls in the handler's own body that act."""
    out = []
    for node in ast.walk(func):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        chain = _chain(node.func)
        name = node.func.attr
        if name in ACTION_CALLS or (name in ORM_WRITES and "objects" in chain[:-1]):
            out.append((node.lineno, ".".join(chain[-3:])))
    return out


def _get_routes(ctx: Context) -> list[Route]:
    return [r for r in served_routes(ctx) if "GET" in r.methods and r.func.isidentifier()]


@check(
    "SEC-086",
    "GET handlers have no side effects",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.2",),
    references=("CWE-650", "RFC 9110 9.2.1"),
    evidence=Evidence.PARSED,
)
async def safe_method_side_effects(ctx: Context) -> list[Finding]:
    """The handlers of the GET routes the repository declares (FastAPI/Starlette, Flask,
    aiohttp decorators and route tables) call nothing that acts: no job queued (Celery
    ``send_task``/``delay``/``apply_async``, RQ ``enqueue``, a scheduler's ``add_job``), no
    mail sent, no database write committed (``commit``, ``X.objects.create/update/delete``,
    ``bulk_create``). Each finding is located at the route's URL on the target and names the
    call; the request is never sent (it would trigger what it reports). Only the handler's own
    body is read, not the functions it calls.

    Browsers prefetch GET links, crawlers and monitors follow them, any page can trigger one with
    an ``<img src>`` (no CSRF protection applies to GET), and retries repeat them: a GET that
    queues work or writes does it for strangers, repeatedly.

    Remediation: make the action a POST (with authentication and CSRF protection as the other
    writes), and keep GET handlers to reads.
    """
    routes = _get_routes(ctx)
    if not routes:
        raise Skip("no GET route with a handler function found in the repository's Python code")
    out: list[Finding] = []
    for route in routes:
        text = ctx.read(route.file)
        tree = parse_tree(text, route.file) if text else None
        func = _handler(tree, route) if tree is not None else None
        acts = side_effects(func) if func is not None else []
        if not acts:
            continue
        path = re.sub(r"\{[^}]+\}|<[^>]+>", "1", route.path)
        calls = ", ".join(f"{c} (line {line})" for line, c in acts[:3])
        out.append(warned(
            f"GET {route.path} acts: its handler {route.func}() calls {calls}; prefetchers, "
            "crawlers and cross-site <img> tags trigger it",
            location=f"GET {ctx.url(path)}",
            evidence=f"{route.file}:{acts[0][0]}: {acts[0][1]}(...) in {route.func}() "
                     f"(route declared at {route.file}:{route.line})"))
        if len(out) >= MAX_FINDINGS:
            break
    return out or [passed(f"the handlers of {len(routes)} GET route(s) call nothing that queues "
                          "a job, sends mail or commits a write")]
