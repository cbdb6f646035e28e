"""RDY-086's reading of the page sizes a client may ask a list endpoint for: route parameters
(FastAPI), query-string reads in handlers (Flask, Django, aiohttp), DRF paginators and their
default in ``REST_FRAMEWORK``. Not a check module.

A page size is *capped* when the code bounds it before it reaches the query: an upper bound on
the parameter (``Query(le=100)``, ``Field(lt=...)``, ``conint(le=...)``, a ``Literal``), a
``min(...)`` or a comparison of it in the handler, a paginator's ``max_limit``/``max_page_size``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.context import Context
from prodaudit.product.django_settings import effective_dict
from prodaudit.product.endpoint_model import Endpoint, class_attr, dotted, parameters
from prodaudit.product.pyindex import Function, PyModule, walk
from prodaudit.product.responses import classes_by_name

#: names of a parameter or query key that sets how many rows a page holds
PAGE_SIZE_NAME = re.compile(
    r"^(?:limit|page_?size|per_?page|items_?per_?page|page_?limit|max_?results|max_?items|"
    r"num_?results|take|size)$", re.I)
#: calls whose ``le``/``lt`` keyword bounds the value (FastAPI params, pydantic, annotated-types)
_BOUND_KEYWORDS = frozenset({"le", "lt", "max_value", "maximum"})
_BOUND_CALLS = frozenset({"Le", "Lt", "Interval"})
#: receivers of a query-string read in a handler: ``request.args`` (Flask), ``request.GET``
#: (Django), ``request.query_params`` (DRF, Starlette), ``request.query`` / ``rel_url.query``
#: (aiohttp)
_QUERY_RECEIVERS = ("args", "GET", "query_params", "query")
#: DRF's paginators and the attributes that let a client pick the size / cap it
DRF_PAGINATORS = {"LimitOffsetPagination": ("limit_query_param", "max_limit"),
                  "PageNumberPagination": ("page_size_query_param", "max_page_size"),
                  "CursorPagination": ("page_size_query_param", "max_page_size")}
#: the attribute a DRF paginator reads the size from by default (None: a client cannot set it)
_DRF_DEFAULT_PARAM = {"LimitOffsetPagination": "limit", "PageNumberPagination": None,
                      "CursorPagination": None}


@dataclass(frozen=True)
class PageSize:
    """One place a client sets a page size: where, what, and the cap seen ('' = none)."""

    loc: str
    what: str
    cap: str


# ---- route parameters and query reads -----------------------------------------------------
def _bound_in(node: ast.AST | None) -> str:
    """The upper bound written in an annotation or default (``Query(le=100)``), or ''."""
    if node is None:
        return ""
    for n in walk(node):
        if isinstance(n, ast.Call):
            for kw in n.keywords:
                if kw.arg in _BOUND_KEYWORDS:
                    return f"{dotted(n.func) or 'call'}({kw.arg}={ast.unparse(kw.value)[:20]})"
            if dotted(n.func).rsplit(".", 1)[-1] in _BOUND_CALLS:
                return ast.unparse(n)[:40]
        if isinstance(n, ast.Subscript) and dotted(n.value).rsplit(".", 1)[-1] == "Literal":
            return ast.unparse(n)[:40]
    return ""


def _clamped(func: Function, name: str) -> str:
    """A ``min(...)`` taking ``name`` or a comparison of ``name`` (``if limit > 100``) in the
    handler, or ''."""
    for n in walk(func):
        if isinstance(n, ast.Call) and dotted(n.func) == "min" and any(
                isinstance(a, ast.Name) and a.id == name for a in n.args):
            return f"min(...) at line {n.lineno}"
        if isinstance(n, ast.Compare) and any(
                isinstance(x, ast.Name) and x.id == name for x in (n.left, *n.comparators)) \
                and any(isinstance(op, ast.Gt | ast.GtE | ast.Lt | ast.LtE) for op in n.ops):
            return f"comparison at line {n.lineno}"
    return ""


def _passed_on(func: Function, name: str) -> bool:
    """``name`` reaches a call or a slice (a query's limit, a helper's argument), possibly
    inside arithmetic."""
    for n in walk(func):
        if isinstance(n, ast.Call):
            values: list[ast.expr] = [*n.args, *(kw.value for kw in n.keywords)]
        elif isinstance(n, ast.Slice):
            values = [v for v in (n.lower, n.upper) if v is not None]
        else:
            continue
        if any(isinstance(x, ast.Name) and x.id == name for v in values for x in walk(v)):
            return True
    return False


def _parameters(e: Endpoint) -> list[PageSize]:
    out = []
    for arg, default in parameters(e.func):
        if not PAGE_SIZE_NAME.match(arg.arg) or arg.arg in e.params:
            continue
        if not _passed_on(e.func, arg.arg):
            continue
        cap = _bound_in(arg.annotation) or _bound_in(default) or _clamped(e.func, arg.arg)
        out.append(PageSize(f"{e.module.rel}:{arg.lineno}",
                            f"parameter {arg.arg} of {e.label}", cap))
    return out


def _query_key(call: ast.Call) -> str:
    """The key of ``request.args.get("limit", ...)`` and its kind, or ''."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("get", "getone", "getlist")):
        return ""
    receiver = dotted(func.value)
    if receiver.rsplit(".", 1)[-1] not in _QUERY_RECEIVERS or "." not in receiver:
        return ""
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str) \
            and PAGE_SIZE_NAME.match(first.value):
        return first.value
    return ""


def _query_reads(e: Endpoint) -> list[PageSize]:
    out = []
    targets: dict[int, str] = {}  # id(read) -> the name it is assigned to
    inside_min: set[int] = set()
    for n in walk(e.func):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            for x in walk(n.value):
                targets.setdefault(id(x), n.targets[0].id)
        if isinstance(n, ast.Call) and dotted(n.func) == "min":
            inside_min.update(id(x) for a in n.args for x in walk(a))
    for n in walk(e.func):
        if not isinstance(n, ast.Call):
            continue
        key = _query_key(n)
        if not key:
            continue
        name = targets.get(id(n), "")
        cap = ("min(...) around the read" if id(n) in inside_min
               else _clamped(e.func, name) if name else "")
        out.append(PageSize(f"{e.module.rel}:{n.lineno}",
                            f"query parameter {key!r} read by {e.label}", cap))
    return out


def route_page_sizes(routes: list[Endpoint]) -> list[PageSize]:
    """Every page size the routes take from the client, with the cap seen."""
    out: list[PageSize] = []
    seen: set[tuple[str, str]] = set()
    for e in routes:
        found = _parameters(e) if e.framework == "fastapi" else []
        for p in found + _query_reads(e):
            if (p.loc, p.what) not in seen:
                seen.add((p.loc, p.what))
                out.append(p)
    return out


# ---- DRF paginators ---------------------------------------------------------------------
def _imported(mod: PyModule) -> dict[str, tuple[str, str]]:
    """Local names of the module's ``from X import Y [as Z]`` -> (X, Y)."""
    out = {}
    for node in mod.imports:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                out[alias.asname or alias.name] = (node.module or "", alias.name)
    return out


def _drf_name(mod: PyModule, name: str) -> str:
    """DRF's paginator ``name`` stands for in ``mod`` (imported from ``rest_framework``, under
    any alias), or ''."""
    source, original = _imported(mod).get(name, ("", name))
    if source.startswith("rest_framework") and original in DRF_PAGINATORS:
        return original
    return ""


@dataclass(frozen=True)
class _Paginator:
    kind: str  # one of DRF_PAGINATORS
    attrs: dict[str, ast.expr]  # the first value of each attribute along the chain


def _resolve(ctx: Context, mod: PyModule, cls: ast.ClassDef, depth: int = 0
             ) -> _Paginator | None:
    """The DRF paginator ``cls`` derives from through the project's classes, with the
    attributes its chain sets (the class's own first)."""
    if depth > 8:
        return None
    own = {a: v for a in ("limit_query_param", "max_limit", "page_size_query_param",
                          "max_page_size") if (v := class_attr(cls, a)) is not None}
    classes = classes_by_name(ctx)
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        drf = _drf_name(mod, name) or (  # ``pagination.LimitOffsetPagination``
            name if name in DRF_PAGINATORS and isinstance(base, ast.Attribute)
            and "pagination" in dotted(base) else "")
        hits = [(m, c) for m, c in classes.get(name, []) if c is not cls]
        if drf:
            found: _Paginator | None = _Paginator(drf, {})
        elif hits:  # a project class of that name
            found = _resolve(ctx, *hits[0], depth + 1)
        else:
            found = None
        if found is not None:
            return _Paginator(found.kind, {**found.attrs, **own})
    return None


def _none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _judge_paginator(kind: str, attrs: dict[str, ast.expr]) -> tuple[str, str]:
    """(how a client sets the size, the cap or '') of a paginator; ('', '') when a client
    cannot set it."""
    param_attr, cap_attr = DRF_PAGINATORS[kind]
    param = attrs.get(param_attr)
    if param is None:
        default = _DRF_DEFAULT_PARAM[kind]
        if default is None:
            return "", ""
        client = f"?{default}= (DRF's default {param_attr})"
    elif _none(param):
        return "", ""
    else:
        client = f"{param_attr} = {ast.unparse(param)[:30]}"
    cap = attrs.get(cap_attr)
    return client, "" if _none(cap) else f"{cap_attr} = {ast.unparse(cap)[:20]}"  # type: ignore[arg-type]


def drf_page_sizes(ctx: Context, modules: list[PyModule]) -> list[PageSize]:
    """The project's DRF paginator classes, views naming DRF's own paginators, and
    ``DEFAULT_PAGINATION_CLASS`` when it names one of DRF's."""
    out: list[PageSize] = []
    for mod in modules:
        if not mod.has("classes"):
            continue
        for cls in mod.classes:
            found = _resolve(ctx, mod, cls)
            if found is not None:
                client, cap = _judge_paginator(found.kind, found.attrs)
                if client:
                    out.append(PageSize(f"{mod.rel}:{cls.lineno}",
                                        f"paginator {cls.name} ({found.kind}, {client})", cap))
                continue
            value = class_attr(cls, "pagination_class")
            name = _drf_name(mod, dotted(value)) if isinstance(value, ast.Name) else (
                dotted(value).rsplit(".", 1)[-1] if isinstance(value, ast.Attribute)
                and "pagination" in dotted(value) else "")
            if name in DRF_PAGINATORS:
                client, cap = _judge_paginator(name, {})
                if client:
                    out.append(PageSize(f"{mod.rel}:{value.lineno}",  # type: ignore[union-attr]
                                        f"view {cls.name} with DRF's {name} ({client})", cap))
    entry = effective_dict(ctx, "REST_FRAMEWORK").get("DEFAULT_PAGINATION_CLASS")
    if entry is not None and isinstance(entry.value, str):
        name = entry.value.rsplit(".", 1)[-1]
        if entry.value.startswith("rest_framework.") and name in DRF_PAGINATORS:
            client, cap = _judge_paginator(name, {})
            if client:
                out.append(PageSize(f"{entry.path}:{entry.line}",
                                    f"DEFAULT_PAGINATION_CLASS {name} ({client})", cap))
    return out
