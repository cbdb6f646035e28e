"""Django endpoints read statically from the URL configuration: ``urlpatterns`` entries made
with ``path()``, ``re_path()`` or ``url()``, their ``include("app.urls")`` prefixes followed
into the included module, and the view each names — a function (``views.detail``) or a class
(``DetailView.as_view()``). A function view answers the methods its ``require_POST``/
``require_http_methods([...])`` decorator allows (every method, read as GET and POST, without
one); a class view one endpoint per handler method. Authentication comes from decorators
(``login_required``, ``permission_required``, ``user_passes_test``), a wrapper in the URL
configuration (``login_required(views.f)``), ``method_decorator(login_required, ...)`` on the
class, a mixin (``LoginRequiredMixin``, ``PermissionRequiredMixin``), DRF permission classes or
a check in the body. Other decorators (``csrf_exempt``) are kept on the endpoint. Part of
``prodaudit.product.endpoints``. Not a check module."""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import replace
from typing import Protocol

from prodaudit.product.devguard import DevBranch, in_production
from prodaudit.product.endpoint_model import (
    HANDLER_METHODS,
    DeclaredRoute,
    Endpoint,
    auth_in,
    body_auth,
    class_auth,
    dotted,
    framework_of,
    path_params,
    str_const,
)
from prodaudit.product.endpoints_drf import router_endpoints
from prodaudit.product.pyindex import Function, PyModule

Classes = dict[str, tuple[PyModule, ast.ClassDef]]


class Functions(Protocol):
    """Name -> [(module, function)] (``endpoints.FunctionsByName``)."""

    def get(self, name: str) -> list[tuple[PyModule, Function]] | None: ...


_URL_FUNCS = {"path", "re_path", "url"}
_REQUIRE = {"require_POST": ("POST",), "require_GET": ("GET",), "require_safe": ("GET", "HEAD")}
_MAX_DEPTH = 8


def _pattern(text: str) -> str:
    """A route or regular expression as a path fragment (``^items/(?P<pk>\\d+)/$`` keeps its
    named groups for ``path_params``; anchors dropped)."""
    return text.removeprefix("^").removesuffix("$")


def _join(prefix: str, part: str) -> str:
    return prefix.rstrip("/") + "/" + part.lstrip("/") if prefix else "/" + part.lstrip("/")


def _methods(func: Function) -> tuple[str, ...]:
    for dec in func.decorator_list:
        name = dotted(dec).rsplit(".", 1)[-1]
        if name in _REQUIRE:
            return _REQUIRE[name]
        if name == "require_http_methods" and isinstance(dec, ast.Call) and dec.args:
            found = tuple(str(e.value).upper() for e in getattr(dec.args[0], "elts", [])
                          if isinstance(e, ast.Constant))
            if found:
                return found
    return ("GET", "POST")


class _Resolver:
    def __init__(self, mods: list[PyModule], functions: Functions, classes: Classes) -> None:
        self.by_rel = {m.rel: m for m in mods}
        self.functions, self.classes = functions, classes
        self.out: list[Endpoint] = []
        self.external: list[DeclaredRoute] = []
        self.at = ""  # where the URL entry being read is declared
        self.seen: set[tuple[str, str]] = set()

    def module(self, dotted_name: str) -> PyModule | None:
        tail = dotted_name.replace(".", "/")
        for cand in (f"{tail}.py", f"{tail}/__init__.py"):
            hit = next((m for rel, m in self.by_rel.items()
                        if rel == cand or rel.endswith("/" + cand)), None)
            if hit is not None:
                return hit
        return None

    def imported(self, mod: PyModule, name: str) -> tuple[PyModule | None, str]:
        """(module, object name) that ``name`` (``views.detail``, ``detail``) refers to through
        ``mod``'s imports (``from . import views``, ``from .views import detail``)."""
        head, _, rest = name.partition(".")
        package = posixpath.dirname(mod.rel).replace("/", ".")
        for imp in mod.imports:
            for alias in imp.names:
                if (alias.asname or alias.name.split(".")[0]) != head:
                    continue
                if isinstance(imp, ast.ImportFrom):
                    base = (imp.module or "") if not imp.level else ".".join(
                        [p for p in [package.rsplit(".", imp.level - 1)[0]
                                     if imp.level > 1 else package, imp.module or ""] if p])
                    full = f"{base}.{alias.name}" if base else alias.name
                else:
                    full = alias.name
                target = f"{full}.{rest}" if rest else full
                owner, _, obj = target.rpartition(".")
                return self.module(owner), obj
        return None, name.rsplit(".", 1)[-1]

    def function(self, name: str, near: PyModule) -> tuple[PyModule, Function] | None:
        where, obj = self.imported(near, name)
        cands = self.functions.get(obj) or []
        here = posixpath.dirname(near.rel)
        return next((c for c in cands if c[0] is where), None) or \
            next((c for c in cands if posixpath.dirname(c[0].rel) == here),
                 cands[0] if cands else None)

    def view_class(self, name: str, near: PyModule) -> tuple[PyModule, ast.ClassDef] | None:
        where, obj = self.imported(near, name)
        if where is not None:
            cls = next((c for c in where.classes if c.name == obj), None)
            if cls is not None:
                return where, cls
        return self.classes.get(obj)

    def urlconf(self, mod: PyModule, prefix: str, ns: str, depth: int) -> None:
        if (mod.rel, prefix) in self.seen or depth > _MAX_DEPTH:
            return
        self.seen.add((mod.rel, prefix))
        self.statements(mod, mod.tree.body, prefix, ns, depth)

    def statements(self, mod: PyModule, body: list[ast.stmt], prefix: str, ns: str,
                   depth: int) -> None:
        """The ``urlpatterns`` assignments of ``body`` and of its ``if`` branches; the entries
        of a branch that never runs in production (``if settings.DEBUG: urlpatterns += [...]``)
        are marked ``dev_only``."""
        for stmt in body:
            if isinstance(stmt, ast.If):
                value = in_production(stmt.test)
                for branch, dev in ((stmt.body, value is False), (stmt.orelse, value is True)):
                    before = len(self.out)
                    self.statements(mod, branch, prefix, ns, depth)
                    if dev:
                        guard = DevBranch(mod.rel, stmt.lineno, 0, 0,
                                          ast.unparse(stmt.test)[:100], value is True).describe
                        self.out[before:] = [replace(e, dev_only=e.dev_only or guard)
                                             for e in self.out[before:]]
                continue
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) and stmt.targets else \
                getattr(stmt, "target", None)
            if isinstance(target, ast.Name) and target.id == "urlpatterns" and \
                    isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
                for node in _lists(stmt.value):
                    self.patterns(node, mod, prefix, ns, depth)
                for ref in _router_urls(stmt.value):  # urlpatterns += router.urls
                    self.out += router_endpoints(self, mod, ref, prefix or "/", ns)

    def patterns(self, node: ast.List | ast.Tuple, mod: PyModule, prefix: str, ns: str,
                 depth: int) -> None:
        for call in node.elts:
            if not isinstance(call, ast.Call) or len(call.args) < 2 or \
                    dotted(call.func).rsplit(".", 1)[-1] not in _URL_FUNCS:
                continue
            route = str_const(call.args[0])
            if route is None:
                continue
            name = str_const(next((k.value for k in call.keywords if k.arg == "name"), None))
            where = _join(prefix, _pattern(route)) if route else prefix or "/"
            self.at = f"{mod.rel}:{call.lineno}"
            self.entry(mod, where, call.args[1], (), depth, (ns, ns + name if name else ""))

    def include(self, mod: PyModule, path: str, call: ast.Call, ns: str, depth: int) -> None:
        """``include("app.urls")``, ``include(("app.urls", "ns"))``, ``include([...])``,
        ``include(("app.urls"), namespace="ns")``: the patterns under ``path``."""
        target = call.args[0]
        space = str_const(next((k.value for k in call.keywords if k.arg == "namespace"), None))
        if isinstance(target, ast.Tuple) and target.elts:
            space = str_const(target.elts[1]) if len(target.elts) > 1 else space
            target = target.elts[0]
        if isinstance(target, ast.Name):  # include(login_urlpatterns): a list of this module
            target = next((stmt.value for stmt in mod.tree.body if isinstance(stmt, ast.Assign)
                           and any(isinstance(t, ast.Name) and t.id == target.id
                                   for t in stmt.targets)), target)
        if isinstance(target, ast.List | ast.Tuple):
            self.patterns(target, mod, path, ns + f"{space}:" if space else ns, depth + 1)
            return
        if isinstance(target, ast.Attribute) and target.attr == "urls":  # include(router.urls)
            self.out += router_endpoints(self, mod, dotted(target.value), path,
                                         ns + f"{space}:" if space else ns)
            return
        included = self.module(str_const(target) or "")
        if included is not None:
            space = space or _app_name(included)
            self.urlconf(included, path, ns + f"{space}:" if space else ns, depth + 1)

    def entry(self, mod: PyModule, path: str, view: ast.expr, wrappers: tuple[str, ...],
              depth: int, names: tuple[str, str]) -> None:
        if not isinstance(view, ast.Call):
            ref = dotted(view)
            found = self.function(ref, mod) if ref else None
            if found is not None:
                self.function_view(*found, path, wrappers, names[1])
            elif ref:
                self.external.append(DeclaredRoute(path, self.at, ref))
            return
        called = dotted(view.func).rsplit(".", 1)[-1]
        if called == "include" and view.args:
            self.include(mod, path, view, names[0], depth)
        elif called == "as_view" and isinstance(view.func, ast.Attribute):
            cls = self.view_class(dotted(view.func.value), mod)
            if cls is not None:
                self.class_view(*cls, path, wrappers, names[1])
            else:
                self.external.append(DeclaredRoute(path, self.at, ast.unparse(view)[:80]))
        elif view.args:  # login_required(views.f), csrf_exempt(View.as_view())
            self.entry(mod, path, view.args[0], (*wrappers, ast.unparse(view.func)), depth,
                       names)

    def function_view(self, mod: PyModule, func: Function, path: str,
                      wrappers: tuple[str, ...], name: str) -> None:
        decos = (*wrappers, *(dotted(d) for d in func.decorator_list))
        auth = auth_in([ast.Name(w) for w in wrappers]) or auth_in(list(func.decorator_list)) \
            or body_auth(func)
        params = path_params(path) or tuple(a.arg for a in func.args.args[1:])
        kind = "drf" if any(d.endswith("api_view") for d in decos) else "django"
        self.out.append(Endpoint(kind, _methods(func), path, mod, func, func.lineno, auth,
                                 params, decorators=decos, name=name))

    def class_view(self, mod: PyModule, cls: ast.ClassDef, path: str,
                   wrappers: tuple[str, ...], name: str) -> None:
        plain = {n: c for n, (_, c) in self.classes.items()}
        kind = "drf" if framework_of(mod) == "drf" else "django"
        class_decos = [d for d in cls.decorator_list]
        auth = auth_in([ast.Name(w) for w in wrappers]) or auth_in(class_decos) or \
            class_auth(cls, plain, set())
        for node in cls.body:
            if not (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and node.name in HANDLER_METHODS):
                continue
            decos = (*wrappers, *(ast.unparse(d) for d in class_decos),
                     *(dotted(d) for d in node.decorator_list))
            own = auth or auth_in(list(node.decorator_list)) or body_auth(node)
            params = path_params(path) or tuple(a.arg for a in node.args.args[2:])
            self.out.append(Endpoint(kind, (HANDLER_METHODS[node.name],), path, mod, node,
                                     cls.lineno, own, params, view=cls.name, decorators=decos,
                                     name=name))


def _lists(node: ast.expr | None) -> list[ast.List | ast.Tuple]:
    """The literal lists of ``[...]``, ``[...] + [...]``, ``[...] + static(...)``."""
    if isinstance(node, ast.List | ast.Tuple):
        return [node]
    if isinstance(node, ast.BinOp):
        return _lists(node.left) + _lists(node.right)
    return []


def _router_urls(node: ast.expr | None) -> list[str]:
    """The routers of ``router.urls``, ``[...] + router.urls`` (a DRF router's patterns)."""
    if isinstance(node, ast.Attribute) and node.attr == "urls":
        return [dotted(node.value)]
    if isinstance(node, ast.BinOp):
        return _router_urls(node.left) + _router_urls(node.right)
    return []


def _app_name(mod: PyModule) -> str:
    for stmt in mod.tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "app_name"
                                                for t in stmt.targets):
            return str_const(stmt.value) or ""
    return ""


def django_endpoints(mods: list[PyModule], functions: Functions, classes: Classes
                     ) -> tuple[list[Endpoint], list[DeclaredRoute]]:
    """The endpoints of every root URL configuration (a ``urls.py`` no other one includes is
    read from ``/``; an included one under its prefix), and the routes to views the repository
does not define."""
    confs = [m for m in mods if "urlpatterns" in m.names and
             re.search(r"\b(path|re_path|url)\s*\(|\.urls\b", m.text)]
    if not confs:
        return [], []
    resolver = _Resolver(mods, functions, classes)
    included = {m.rel for m in confs for other in confs if other is not m and
                re.search(r"['\".]" + re.escape(".".join(m.rel.removesuffix(".py").split("/")[-2:]))
                          + r"['\"]", other.text)}
    for mod in sorted(confs, key=lambda m: (m.rel in included, m.rel.count("/"))):
        if not any(rel == mod.rel for rel, _ in resolver.seen):
            resolver.urlconf(mod, "", "", 0)
    return resolver.out, resolver.external
