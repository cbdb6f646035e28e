"""Routes that take a request body, read from the repository when the API publishes no OpenAPI
document: the route decorators and URL tables (:func:`prodaudit.report.source_map.scan_routes`,
Django ``include`` prefixes resolved) and, in each handler, the body fields it reads —
``request.data["month"]`` / ``request.data.get("month")`` (DRF, JSON), ``request.json[...]`` and
``request.get_json()[...]`` (Flask, JSON), ``request.POST[...]`` / ``request.form[...]`` (form
fields). Used by the injection probe with ``--allow-mutations`` (a POST is a write). Bounded:
the repository scan of the source map, at most ``MAX_ROUTES`` routes. Not a check module."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context
from prodaudit.pysource import parse_tree
from prodaudit.report.source_map import scan_routes

MAX_ROUTES = 10
MAX_FILES = 2000
MAX_BYTES = 500_000
JSON_ATTRS = {"data": "json", "json": "json", "POST": "form", "form": "form"}
WRITE_METHODS = {"post", "put", "patch"}
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\{(\w+)(?::[^}]*)?\}")
_SKIP_PARTS = {"tests", "test", "node_modules", "site-packages", "migrations", "venv", ".venv"}


def body_fields(func: ast.AST) -> tuple[str, list[str]]:
    """(``json`` | ``form``, the field names) a handler reads from the request body."""
    kinds: list[str] = []
    names: list[str] = []

    def add(attr: str, key: ast.AST | None) -> None:
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in names:
            names.append(key.value)
            kinds.append(JSON_ATTRS.get(attr, "json"))

    for node in ast.walk(func):
        if isinstance(node, ast.Subscript):
            holder = node.value
            if isinstance(holder, ast.Attribute) and holder.attr in JSON_ATTRS:
                add(holder.attr, node.slice)
            elif (isinstance(holder, ast.Call) and isinstance(holder.func, ast.Attribute)
                  and holder.func.attr == "get_json"):
                add("json", node.slice)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args
              and isinstance(node.func.value, ast.Attribute)
              and node.func.value.attr in JSON_ATTRS):
            add(node.func.value.attr, node.args[0])
    kind = "form" if kinds and kinds.count("form") > kinds.count("json") else "json"
    return kind, names


def _definitions(ctx: Context) -> dict[str, ast.AST]:
    """Function and class definitions of the repository by name (the first one wins)."""
    out: dict[str, ast.AST] = {}
    files = [f for f in ctx.files.files if f.endswith(".py")
             and not _SKIP_PARTS & set(f.split("/")[:-1])][:MAX_FILES]
    for rel in files:
        text = ctx.files.read_text(rel, MAX_BYTES)
        tree = parse_tree(text, rel) if text else None
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                out.setdefault(node.name, node)
    return out


def _handler(defs: dict[str, ast.AST], func: str) -> ast.AST | None:
    """``views.get_activity`` -> the function; ``ActivityApi.as_view`` -> the class's write
    methods."""
    parts = [p for p in func.split(".") if p]
    if not parts:
        return None
    name = parts[-2] if parts[-1] == "as_view" and len(parts) > 1 else parts[-1]
    node = defs.get(name)
    if isinstance(node, ast.ClassDef):
        writes = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                  and n.name in WRITE_METHODS]
        return ast.Module(body=list(writes), type_ignores=[]) if writes else None
    return node


def template_of(path: str) -> str:
    """A declared path as a ``{name}`` template (Django ``<int:pk>``, Flask ``<id>``)."""
    return _PARAM.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", path)


def repository_body_routes(ctx: Context) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(path template, ``json`` | ``form``, ((field, ordinary value), ...)) for each declared
    route that may take a POST and whose handler reads named body fields; one path per handler
    (the first prefixed one). Memoised."""

    def build() -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        try:
            routes = scan_routes(ctx.repo, ctx.files.files)
        except OSError:
            return []
        routes = [r for r in routes if not r.methods or "POST" in r.methods]
        if not routes:
            return []
        by_handler: dict[tuple[str, int], list[str]] = {}
        funcs: dict[tuple[str, int], str] = {}
        for r in routes:
            by_handler.setdefault((r.file, r.line), []).append(r.path)
            funcs[(r.file, r.line)] = r.func
        defs = _definitions(ctx)
        out = []
        for key, paths in by_handler.items():
            node = _handler(defs, funcs[key])
            if node is None:
                continue
            kind, names = body_fields(node)
            if not names:
                continue
            path = paths[1] if len(paths) > 1 else paths[0]
            out.append((template_of(path), kind, tuple((n, "1") for n in names[:5])))
            if len(out) >= MAX_ROUTES:
                break
        return out

    result: list[tuple[str, str, tuple[tuple[str, str], ...]]] = ctx.memo("sec:body-routes", build)
    return result
