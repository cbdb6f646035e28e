"""SEC-094: privileges granted by a request header the client sends (``IsAdmin: True``,
``X-Role: admin``). The header names come from the repository's handlers (``request.META``,
``request.headers`` lookups whose names say admin/role/staff/superuser/privilege/internal, and
the value they are compared with) plus a few well-known ones."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    skipped,
)
from prodaudit.checks.security._common import accepted, live_location, made_up_path
from prodaudit.checks.security._routes import AUTH_WORDS, Route, discover_routes
from prodaudit.checks.security._sensitive import anonymous, shape
from prodaudit.llmdetect import words_of
from prodaudit.product.endpoints import dotted, endpoints
from prodaudit.product.pyindex import walk

WELL_KNOWN = (("X-Admin", "true"), ("X-Is-Admin", "true"), ("X-Role", "admin"),
              ("X-User-Role", "admin"))
PRIVILEGE = re.compile(r"admin|role|staff|superuser|privilege|internal", re.I)
_SOURCE = re.compile(r"(^|\.)(META|headers)$")
MAX_READS = 12  # refused GETs replayed with the headers
MAX_WRITES = 2  # write operations of handlers that read such a header (--allow-mutations)


@dataclass(frozen=True)
class HeaderUse:
    """A privilege header a handler reads: its HTTP name, the value it grants on, where."""

    name: str
    value: str
    where: str  # path:line in the repository
    methods: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()


def http_name(key: str) -> str:
    """The header a client sends for a lookup key: Django's ``HTTP_X_IS_ADMIN`` is
    ``X-Is-Admin``; ``x-role`` stays as written."""
    if key.startswith("HTTP_"):
        return "-".join(p.capitalize() for p in key[5:].split("_"))
    return key


def _lookup(node: ast.AST) -> str | None:
    """The header key of ``request.META['K']``, ``request.headers.get('K')``,
    ``'K' in request.META``."""
    if isinstance(node, ast.Subscript) and _SOURCE.search(dotted(node.value)) \
            and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "get" and _SOURCE.search(dotted(node.func.value)) and node.args \
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str) and len(node.comparators) == 1 \
            and isinstance(node.ops[0], ast.In) and _SOURCE.search(dotted(node.comparators[0])):
        return node.left.value
    return None


def header_uses(ctx: Context) -> list[HeaderUse]:
    """Privilege headers the repository's route handlers read, with the compared value
    (``== "True"``; ``true`` when none is seen)."""
    out: dict[tuple[str, str], HeaderUse] = {}
    for e in endpoints(ctx):
        values: dict[str, str] = {}
        keys: dict[str, int] = {}
        for node in walk(e.func):
            key = _lookup(node)
            if key and PRIVILEGE.search(key):
                line = getattr(node, "lineno", e.line)
                keys[key] = min(keys.get(key, line), line)
            if isinstance(node, ast.Compare) and len(node.comparators) == 1:
                left, right = _lookup(node.left), node.comparators[0]
                if left and isinstance(right, ast.Constant) and isinstance(right.value, str):
                    values[left] = right.value
        for key, line in keys.items():
            name = http_name(key)
            use = HeaderUse(name, values.get(key, "true"), f"{e.module.rel}:{line}",
                            e.methods, e.templates)
            prev = out.get((name, e.loc))
            out[(name, e.loc)] = use if prev is None else prev
    return list(out.values())


def _refused(ex: Exchange) -> bool:
    return ex.status in (401, 403)


async def _reads(ctx: Context, urls: list[str], headers: dict[str, str],
                 unsent: list[str]) -> tuple[list[Finding], int]:
    """Anonymous GETs answered 401/403, replayed with the privilege headers."""
    out: list[Finding] = []
    refused = 0
    for url in urls[:MAX_READS]:
        try:
            base = await ctx.http.get(url)
            if not _refused(base):
                continue
            refused += 1
            ex = await ctx.http.get(url, headers=headers)
        except NotSent as exc:
            unsent.append(exc.reason)
            continue
        if accepted(ex):
            out.append(failed(
                f"GET {shape(url)} answers {base.status} without credentials and "
                f"{ex.status} when the client adds {_names(headers)}: the header grants access",
                location=live_location(ex), evidence=ex.evidence(0)))
    return out, refused


def _read_targets(ctx: Context, routes: list[Route]) -> list[str]:
    """GET URLs to try: those the run already saw refused (401/403) without credentials, then
    the discovered GET routes; login and token routes left out."""
    seen = [ex.url for ex in ctx.http.exchanges if ex.method == "GET" and _refused(ex)
            and anonymous(ex)]
    urls = seen + [r.url(ctx) for r in routes if r.method == "GET" and r.form is None]
    return [u for u in dict.fromkeys(urls)
            if not words_of(urlsplit(u).path) & AUTH_WORDS and u.startswith(ctx.url("/"))]


def _names(headers: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in list(headers.items())[:6])


async def _delete(ctx: Context, use: HeaderUse, template: str) -> Finding | None:
    """DELETE a made-up id without the header (refused) and with it (let past the permission
    check: 404 or 2xx). Nothing that exists is ever addressed."""
    url = ctx.url(made_up_path(template))
    base = await ctx.http.request("DELETE", url)
    if not _refused(base):
        return skipped(f"DELETE {template} (a made-up id) without {use.name} answers HTTP "
                       f"{base.status}, not 401/403: whether the header grants the delete is not "
                       "observable without deleting an item the run did not create")
    ex = await ctx.http.request("DELETE", url, headers={use.name: use.value})
    if ex.status is not None and not _refused(ex) and ex.status < 500:
        return failed(
            f"DELETE {template} (a made-up id) answers HTTP {base.status} without the header and "
            f"{ex.status} when the client sends {use.name}: {use.value} (read at {use.where}): "
            "the header lets the request past the permission check",
            location=live_location(ex), evidence=ex.evidence(0))
    return None


@check(
    "SEC-094",
    "Privileges are not granted by a request header the client sends",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2",),
    references=("CWE-290", "CWE-807", "OWASP API5:2023"),
    evidence=Evidence.OBSERVED,
)
async def privilege_header(ctx: Context) -> list[Finding]:
    """Every GET the run saw refused without credentials and every discovered GET route
    (OpenAPI document or crawl) that answers 401/403 without credentials (at most 12) is
    replayed once with the privilege headers the repository's handlers read (``request.META
    ['HTTP_ISADMIN'] == "True"`` is sent as ``Isadmin: True``) and a few well-known ones
    (``X-Admin: true``, ``X-Role: admin``); a 2xx answer FAILs. With ``--allow-mutations``, a
    DELETE route whose handler reads such a header is sent for a made-up id (an
    identifier no item has: nothing that exists is ever deleted) without the header and
    then with it: refused (401/403) without and let past the permission check (404 or 2xx) with
    it FAILs; a route that looks the item up before deciding answers the same both ways and is
    SKIP (not observable without deleting what the run did not create). PASS only when refused
    answers were replayed and stayed refused.

    A header is whatever the client wants it to be: an ``IsAdmin`` or ``X-Role`` header turns
    every caller into an administrator.

    Remediation: decide privileges from the authenticated user (its role in the database or a
    signed token claim), never from request headers; a proxy-set identity header is trusted only
    behind a proxy that strips it from client requests.
    """
    uses = header_uses(ctx)
    headers = {u.name: u.value for u in uses}
    for name, value in WELL_KNOWN:
        headers.setdefault(name, value)
    found = await discover_routes(ctx)
    reads = _read_targets(ctx, found.routes)
    unsent: list[str] = []
    findings, refused = await _reads(ctx, reads, headers, unsent)
    writes = [(u, t) for u in uses if "DELETE" in u.methods for t in u.templates][:MAX_WRITES]
    if writes and not ctx.cfg.allow_mutations:
        findings.append(skipped(f"{len(writes)} DELETE route(s) whose handler reads a privilege "
                                f"header ({writes[0][0].name} at {writes[0][0].where}) are sent "
                                "only with --allow-mutations"))
    elif writes:
        for use, template in writes:
            try:
                f = await _delete(ctx, use, template)
            except NotSent as exc:
                unsent.append(exc.reason)
                continue
            if f is not None:
                findings.append(f)
    if unsent:
        findings.append(skipped(f"{len(unsent)} request(s) not sent: {unsent[0]}"))
    if any(f.status.value == "fail" for f in findings):
        return findings
    if not refused:
        raise Skip(f"no GET route answered 401/403 without credentials ({len(reads)} tried) and "
                   "no privilege header was confirmed: nothing to replay"
                   + (f"; {findings[0].message}" if findings else ""))
    return [*findings, passed(f"{refused} refused GET(s) replayed with {_names(headers)} stayed "
                              "refused")]
