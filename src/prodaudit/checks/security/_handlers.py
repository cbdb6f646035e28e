"""Routes that take a request body, read from the repository when the API publishes no OpenAPI
document: the product's endpoint model (``prodaudit.product.endpoints``: route decorators, URL
tables, Django URL configurations with their ``include`` prefixes) and, in each handler, the
body fields it reads —
``request.data["month"]`` / ``request.data.get("month")`` (DRF, JSON), ``request.json[...]`` and
``request.get_json()[...]`` (Flask, JSON), ``request.POST[...]`` / ``request.form[...]`` (form
fields). Used by the injection probe with ``--allow-mutations`` (a POST is a write). Bounded:
at most ``MAX_ROUTES`` routes. Not a check module."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context
from prodaudit.product.endpoints import Endpoint, endpoints

MAX_ROUTES = 10
JSON_ATTRS = {"data": "json", "json": "json", "POST": "form", "form": "form"}


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


def repository_body_routes(ctx: Context) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(path template, ``json`` | ``form``, ((field, ordinary value), ...)) for each declared
    route that may take a POST and whose handler reads named body fields; one path per handler
    (its first URL). Memoised."""

    def build() -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        handlers: dict[tuple[str, int], list[Endpoint]] = {}
        for e in endpoints(ctx):  # a view class is one handler: its post/put/patch methods
            if {"POST", "PUT", "PATCH"} & set(e.methods) and e.template:
                handlers.setdefault((e.module.rel, e.line), []).append(e)
        out = []
        for eps in handlers.values():
            kind, names = body_fields(ast.Module(body=[e.func for e in eps], type_ignores=[]))
            if not names:
                continue
            out.append((eps[0].template, kind, tuple((n, "1") for n in names[:5])))
            if len(out) >= MAX_ROUTES:
                break
        return out

    result: list[tuple[str, str, tuple[tuple[str, str], ...]]] = ctx.memo("sec:body-routes", build)
    return result
