"""Flask class-based endpoints read statically: ``flask.views.MethodView``/``View`` classes
registered with ``add_url_rule(path, view_func=X.as_view("name"))``, flask-restful/flask-restx
``Resource`` classes registered with ``api.add_resource(X, "/a", "/b")``, and classes decorated
with a route (flask-smorest ``@blp.route("/a")``, flask-restx ``@ns.route("/a")``). Each handler
method (``get``, ``post`` …; ``dispatch_request`` with the class's ``methods``) is one endpoint;
authentication comes from the class's ``decorators``/``method_decorators``, a mixin or base
class, the method's own decorators or a check in its body. Part of
``prodaudit.product.endpoints``. Not a check module."""

from __future__ import annotations

import ast
from dataclasses import replace

from prodaudit.product.devguard import dev_branches, guard_at
from prodaudit.product.endpoint_model import (
    HANDLER_METHODS,
    Endpoint,
    auth_in,
    body_auth,
    class_attr,
    class_auth,
    dotted,
    path_params,
    str_const,
)
from prodaudit.product.pyindex import PyModule

Classes = dict[str, tuple[PyModule, ast.ClassDef]]
_FLASK_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def _handlers(cls: ast.ClassDef, classes: Classes, seen: set[str]) -> list[ast.FunctionDef
                                                                          | ast.AsyncFunctionDef]:
    """The class's handler methods, with those inherited from the project's own base classes."""
    own = [n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
           and (n.name in _FLASK_METHODS or n.name == "dispatch_request")]
    names = {n.name for n in own}
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        if name in classes and name not in seen:
            seen.add(name)
            own += [n for n in _handlers(classes[name][1], classes, seen) if n.name not in names]
    return own


def _listed_methods(cls: ast.ClassDef) -> list[str]:
    node = class_attr(cls, "methods")
    return [str(e.value).upper() for e in getattr(node, "elts", [])
            if isinstance(e, ast.Constant)] or ["GET"]


def view_endpoints(cls_mod: PyModule, cls: ast.ClassDef, paths: list[str], classes: Classes,
                   prefix: str = "", owner: str = "", extra_auth: str = "") -> list[Endpoint]:
    """One endpoint per handler method and path of a Flask view/resource class."""
    decorators = [class_attr(cls, "decorators"), class_attr(cls, "method_decorators")]
    class_wide = auth_in([d for d in decorators if d is not None]) or \
        auth_in(list(cls.decorator_list)) or class_auth(cls, {n: c for n, (_, c) in
                                                              classes.items()}, set())
    out: list[Endpoint] = []
    for func in _handlers(cls, classes, set()):
        methods = _listed_methods(cls) if func.name == "dispatch_request" else \
            [HANDLER_METHODS[func.name] if func.name in HANDLER_METHODS else func.name.upper()]
        auth = extra_auth or class_wide or auth_in(list(func.decorator_list)) or body_auth(func)
        decos = tuple(dotted(d) for d in func.decorator_list)
        for path in paths:
            params = path_params(path) or tuple(a.arg for a in func.args.args[1:])
            out.append(Endpoint("flask", tuple(methods), path, cls_mod, func, cls.lineno, auth,
                                params, view=cls.name, owner=owner, prefix=prefix,
                                decorators=decos))
    return out


def _as_view_class(node: ast.AST | None) -> str:
    """``X`` of ``X.as_view("name")`` (also inside a wrapper such as ``login_required(...)``)."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "as_view":
            return dotted(node.func.value).rsplit(".", 1)[-1]
        return _as_view_class(node.args[0]) if node.args else ""
    return ""


def _wrapper_auth(node: ast.AST | None) -> str:
    """``login_required(X.as_view(...))``: the wrapper's authentication."""
    if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Attribute)
                                           and node.func.attr == "as_view"):
        return auth_in([node.func])
    return ""


def _registered_views(call: ast.Call, classes: Classes, prefixes: dict[str, str]
                      ) -> list[Endpoint]:
    """The endpoints of one ``add_url_rule(path, view_func=X.as_view(...))`` /
    ``add_resource(X, path, ...)`` call."""
    if not isinstance(call.func, ast.Attribute):
        return []
    attr, owner = call.func.attr, dotted(call.func.value)
    kws = {k.arg: k.value for k in call.keywords if k.arg}
    if attr == "add_url_rule" and call.args:
        view = kws.get("view_func") or (call.args[2] if len(call.args) > 2 else None)
        name, path = _as_view_class(view), str_const(call.args[0])
        if name in classes and path is not None:
            return view_endpoints(*classes[name], [path], classes, prefixes.get(owner, ""),
                                  owner, _wrapper_auth(view))
    elif attr == "add_resource" and call.args:
        name = dotted(call.args[0]).rsplit(".", 1)[-1]
        paths = [p for a in call.args[1:] if (p := str_const(a)) is not None]
        if name in classes and paths:
            return view_endpoints(*classes[name], paths, classes, prefixes.get(owner, ""), owner)
    return []


def flask_class_views(mod: PyModule, classes: Classes, prefixes: dict[str, str]
                      ) -> list[Endpoint]:
    """The class-based endpoints registered or declared in ``mod`` (a registration under a
    development guard, ``prodaudit.product.devguard``, marks its endpoints ``dev_only``)."""
    out: list[Endpoint] = []
    branches = dev_branches(mod)
    for call in mod.calls:
        found = _registered_views(call, classes, prefixes)
        guard = guard_at(branches, call.lineno) if found else ""
        out += [replace(e, dev_only=guard) for e in found] if guard else found
    for cls in mod.classes:
        for dec in cls.decorator_list:
            if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and \
                    dec.func.attr == "route" and dec.args and \
                    (path := str_const(dec.args[0])) is not None:
                owner = dotted(dec.func.value)
                out += view_endpoints(mod, cls, [path], classes, prefixes.get(owner, ""), owner)
    return out
