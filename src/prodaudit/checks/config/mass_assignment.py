"""CFG-174: request data bound wholesale onto models (``obj.__dict__.update(form.data)``,
``setattr`` over every key of a request body, ``Model(**request.json)``), read from the code."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.endpoints import dotted, endpoints
from prodaudit.product.pyindex import Function, py_index, walk

#: expressions that carry what the client sent
_REQUEST_DATA = re.compile(r"request\.(json|form|data|POST|values|args|get_json\(\)|"
                           r"query_params|post\(\))|\bform\.data\b", re.I)
_MODEL_BASE = re.compile(r"(^|\.)(Model|Base|DeclarativeBase|Document|SQLModel)$")


def _model_classes(ctx: Context) -> set[str]:
    """ORM model classes of the project (``db.Model``, ``models.Model``, declarative ``Base``
    subclasses; ``SQLModel`` with ``table=True``): a splat into a schema class validates, a
    splat into a model writes."""
    return {c.name for m in py_index(ctx) for c in m.classes
            if any(_MODEL_BASE.search(dotted(b)) for b in c.bases)}


def _tainted(fn: Function) -> set[str]:
    """Local names assigned from request data (one level of propagation: ``data =
    request.get_json()``, ``values = {k: v for k, v in form.data.items() ...}``)."""
    names: set[str] = set()
    for _ in range(2):
        for node in walk(fn):
            if isinstance(node, ast.Assign):
                text = ast.unparse(node.value)
                if _REQUEST_DATA.search(text) or any(re.search(rf"\b{n}\b", text) for n in names):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _is_request(node: ast.AST, tainted: set[str]) -> bool:
    text = ast.unparse(node)
    return bool(_REQUEST_DATA.search(text)) or any(re.search(rf"\b{n}\b", text) for n in tainted)


def _binding(fn: Function, models: set[str]) -> tuple[int, str] | None:
    tainted = _tainted(fn)
    for node in walk(fn):
        if isinstance(node, ast.Call):
            name = dotted(node)
            if name.endswith("__dict__.update") and node.args:
                return node.lineno, f"{name}({ast.unparse(node.args[0])[:40]})"
            for kw in node.keywords:
                if kw.arg is None and _is_request(kw.value, tainted) and (
                        name.rsplit(".", 1)[-1] in models
                        or re.search(r"\.(create|update|update_or_create|get_or_create)$", name)):
                    return node.lineno, f"{name}(**{ast.unparse(kw.value)[:40]})"
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                dotted(node.iter).endswith(".items") and \
                _is_request(node.iter.func, tainted):
            for inner in walk(node):
                if isinstance(inner, ast.Call) and dotted(inner) == "setattr" and \
                        len(inner.args) == 3 and isinstance(inner.args[1], ast.Name):
                    return inner.lineno, f"setattr over {ast.unparse(node.iter)[:40]}"
    return None


@check("CFG-174", "Request data is not bound wholesale onto models",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.3",),
       references=("CWE-915", "OWASP API3:2023"), evidence=Evidence.PARSED)
def mass_assignment(ctx: Context) -> list[Finding]:
    """Route handlers (FastAPI/Starlette, Flask, aiohttp, Django REST framework) copy only the
    fields a client may change: no ``obj.__dict__.update(...)``, no ``setattr(obj, key,
    value)`` over every key of the request body or form, no ``Model(**request.json)`` (an ORM
    model of the project; a validation schema is fine) or ``.create(**request.data)``.
    Routes registered only outside production (a router included under ``if
    settings.ENVIRONMENT == "local":``) are not judged.

    A generic update writes whatever the client sends, including fields it must never set
    (``is_admin``, ``role``, ``owner_id``, ``balance``): one extra form field makes a user an
    administrator.

    Remediation: validate the body with a schema that lists the writable fields
    (pydantic model, marshmallow schema, DRF serializer ``fields``) and assign those fields
    explicitly.
    """
    eps = endpoints(ctx)
    if not eps:
        raise Skip("no route handlers found in the code (FastAPI, Flask, aiohttp, Django REST "
                   "framework)")
    out: list[Finding] = []
    models = _model_classes(ctx)
    seen: set[int] = set()
    for e in eps:
        if id(e.func) in seen:
            continue
        seen.add(id(e.func))
        found = _binding(e.func, models)
        if found:
            out.append(failed(f"{e.label} binds request data onto a model wholesale "
                              f"({found[1]}): the client chooses which fields change",
                              location=f"{e.module.rel}:{found[0]}"))
    if not out:
        out.append(passed(f"{len(seen)} route handler(s): none binds request data onto a model "
                          "wholesale"))
    return out
