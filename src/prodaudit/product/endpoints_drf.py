"""Django REST framework routers read statically: ``router = DefaultRouter()`` (``SimpleRouter``,
``routers.*``) with ``router.register(prefix, ViewSet, basename=...)`` — the arguments literal,
or taken from a list of dicts/tuples a ``for`` loop walks (``for r in routes:
router.register(r["regex"], r["viewset"])``, the list concatenated from other modules' lists) —
served where the URL configuration mounts ``router.urls`` (``path("api/", include(router.urls))``,
``urlpatterns += router.urls``, ``urlpatterns = router.urls``); ``trailing_slash=False`` and a
nested router (``NestedSimpleRouter(router, "users", lookup="user")``: under
``users/<user_pk>/``) are followed. Each registration yields its
ViewSet's routes: the standard actions of the DRF classes it derives from (``ModelViewSet``:
list/create on ``prefix/``, retrieve/update/partial_update/destroy on ``prefix/<pk>/``;
``ReadOnlyModelViewSet``: list/retrieve; ``GenericViewSet`` with the ``*ModelMixin`` classes),
the action methods the project's classes define (a plain ``ViewSet``), and ``@action(detail=...,
methods=[...], url_path=...)`` extra routes. The id in the URL is ``lookup_url_kwarg``, else
``lookup_field``, else ``pk``. Authentication: ``permission_classes`` of the class or of a project
base class, of the ``@action``, or a check in a handler's body; a view that sets none falls back
to ``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]`` of the settings production runs with
(``drf_default_auth``, read from the Django settings model; applied by
``prodaudit.product.endpoints`` to every DRF view).

An action the project inherits from DRF has no function in the repository: its handler is a
function built here (``<DRF ListModelMixin.list>``) that does what DRF's mixin does — looks the
object up by the URL's id in the class's ``queryset`` (or what its ``get_queryset`` returns, its
statements included), answers with ``self.get_serializer(...)`` and saves or deletes — placed at
the class (the lookup at the ``queryset``/``get_queryset`` line) so the route checks read it as
they read a handler. Part of ``prodaudit.product.endpoints``. Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from prodaudit.product.django_settings import django_settings, effective_dict
from prodaudit.product.endpoint_model import (
    Endpoint,
    auth_in,
    body_auth,
    class_attr,
    class_auth,
    dotted,
    path_params,
    str_const,
)
from prodaudit.product.pyindex import Function, PyModule
from prodaudit.product.pysettings import Setting

if TYPE_CHECKING:
    from prodaudit.context import Context

Classes = dict[str, tuple[PyModule, ast.ClassDef]]


class Resolver(Protocol):
    """What the Django URL-configuration reader offers (``endpoints_django._Resolver``)."""

    classes: Classes

    def imported(self, mod: PyModule, name: str) -> tuple[PyModule | None, str]: ...

    def view_class(self, name: str, near: PyModule) -> tuple[PyModule, ast.ClassDef] | None: ...


#: the actions each DRF base class gives a ViewSet
_BASE_ACTIONS = {
    "ModelViewSet": ("list", "create", "retrieve", "update", "partial_update", "destroy"),
    "ReadOnlyModelViewSet": ("list", "retrieve"),
    "ListModelMixin": ("list",), "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",), "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",)}
_LIST_ACTIONS = {"list": "GET", "create": "POST"}
_DETAIL_ACTIONS = {"retrieve": "GET", "update": "PUT", "partial_update": "PATCH",
                   "destroy": "DELETE"}
_MIXIN_OF = {"list": "ListModelMixin", "create": "CreateModelMixin",
             "retrieve": "RetrieveModelMixin", "update": "UpdateModelMixin",
             "partial_update": "UpdateModelMixin", "destroy": "DestroyModelMixin"}
#: what DRF's mixins do, as a handler body (``QS`` the queryset, ``KEY``/``FIELD`` the lookup)
_BODIES = {
    "list": "return self.get_serializer(QS, many=True)",
    "create": "serializer = self.get_serializer(data=request.data)\n"
              "serializer.is_valid(raise_exception=True)\nserializer.save()",
    "retrieve": "instance = get_object_or_404(QS, FIELD=KEY)\n"
                "return self.get_serializer(instance)",
    "update": "instance = get_object_or_404(QS, FIELD=KEY)\n"
              "serializer = self.get_serializer(instance, data=request.data)\n"
              "serializer.is_valid(raise_exception=True)\nserializer.save()",
    "partial_update": "instance = get_object_or_404(QS, FIELD=KEY)\n"
                      "serializer = self.get_serializer(instance, data=request.data, "
                      "partial=True)\nserializer.is_valid(raise_exception=True)\n"
                      "serializer.save()",
    "destroy": "instance = get_object_or_404(QS, FIELD=KEY)\ninstance.delete()"}
_ACTION_DECORATORS = {"action": None, "detail_route": True, "list_route": False}
_MAX_DEPTH = 6
_PUBLIC = re.compile(r"AllowAny", re.I)


# ---- the default permission ---------------------------------------------------------------------

def drf_default_auth(ctx: Context) -> str:
    """DRF's ``DEFAULT_PERMISSION_CLASSES`` in the ``REST_FRAMEWORK`` settings production runs
    with (split settings, star imports and later updates followed:
    ``django_settings.effective_dict``) when it names classes and none is ``AllowAny``, as auth
    evidence (``''`` otherwise)."""
    entry = effective_dict(ctx, "REST_FRAMEWORK").get("DEFAULT_PERMISSION_CLASSES")
    names = _class_names(ctx, entry) if entry is not None else []
    if not names or any(_PUBLIC.search(n) for n in names):
        return ""
    return f"DEFAULT_PERMISSION_CLASSES ({', '.join(n.rsplit('.', 1)[-1] for n in names)})"[:90]


def _class_names(ctx: Context, entry: Setting) -> list[str]:
    """The dotted class names a permission setting lists: its strings, or the names in its list
    or tuple (a module setting it names, ``"DEFAULT_PERMISSION_CLASSES": PERMISSIONS``, read
    once); empty when that is not static."""
    if isinstance(entry.value, list | tuple) and entry.value \
            and all(isinstance(v, str) for v in entry.value):
        return [str(v) for v in entry.value]
    expr = entry.expr.strip()
    if expr.isidentifier():
        named = django_settings(ctx).effective.get(expr)
        expr = named.expr.strip() if named is not None else ""
    if not expr.startswith(("[", "(")):
        return []
    return re.findall(r"[\w.]+", expr)


def _permission_node(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]
                     ) -> ast.expr | None:
    """The ``permission_classes`` value of the class or of the first project base declaring it."""
    own = class_attr(cls, "permission_classes")
    if own is not None:
        return own
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        if name in classes and name not in seen:
            seen.add(name)
            found = _permission_node(classes[name], classes, seen)
            if found is not None:
                return found
    return None


def _explicitly_public(node: ast.expr | None) -> bool:
    """``permission_classes = []`` / ``(AllowAny,)``: the view replaces the default with none."""
    if not isinstance(node, ast.List | ast.Tuple):
        return False
    return all(_PUBLIC.search(ast.unparse(e)) for e in node.elts)


def _declared_public(e: Endpoint, classes: Classes) -> bool:
    for dec in e.func.decorator_list:
        if dotted(dec).endswith("permission_classes") and isinstance(dec, ast.Call) and dec.args:
            return _explicitly_public(dec.args[0])
        if isinstance(dec, ast.Call):
            kw = next((k.value for k in dec.keywords if k.arg == "permission_classes"), None)
            if kw is not None:
                return _explicitly_public(kw)
    if e.view and e.view in classes:
        plain = {n: c for n, (_, c) in classes.items()}
        return _explicitly_public(_permission_node(classes[e.view][1], plain, set()))
    return False


def with_default_auth(eps: list[Endpoint], default: str, classes: Classes) -> list[Endpoint]:
    """DRF endpoints without authentication of their own get the default permission, unless
    the view sets its permission classes to none or ``AllowAny``."""
    if not default:
        return eps
    return [replace(e, auth=default) if e.framework == "drf" and not e.auth
            and not _declared_public(e, classes) else e for e in eps]


# ---- registrations ------------------------------------------------------------------------------

def _assigned(mod: PyModule, name: str) -> ast.expr | None:
    """The module-level value last assigned to ``name`` (``X += [...]`` appended)."""
    value: ast.expr | None = None
    for stmt in mod.tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in stmt.targets):
            value = stmt.value
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and \
                stmt.target.id == name and value is not None:
            value = ast.BinOp(value, ast.Add(), stmt.value)
    return value


def _elements(node: ast.expr, mod: PyModule, res: Resolver, depth: int = 0
              ) -> list[tuple[ast.expr, PyModule]]:
    """The items of a list expression: literals, ``a + b``, names of this module or imported."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(node, ast.List | ast.Tuple):
        return [(e, mod) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _elements(node.left, mod, res, depth + 1) + \
            _elements(node.right, mod, res, depth + 1)
    if isinstance(node, ast.Name | ast.Attribute):
        ref = dotted(node)
        local = _assigned(mod, ref) if isinstance(node, ast.Name) else None
        if local is not None:
            return _elements(local, mod, res, depth + 1)
        where, obj = res.imported(mod, ref)
        value = _assigned(where, obj) if where is not None else None
        if where is not None and value is not None:
            return _elements(value, where, res, depth + 1)
    return []


def _bind(target: ast.expr, item: ast.expr) -> dict[str, ast.expr]:
    if isinstance(target, ast.Name):
        return {target.id: item}
    if isinstance(target, ast.Tuple | ast.List) and isinstance(item, ast.Tuple | ast.List):
        out: dict[str, ast.expr] = {}
        for t, v in zip(target.elts, item.elts, strict=False):
            out.update(_bind(t, v))
        return out
    return {}


def _value(node: ast.expr | None, env: dict[str, ast.expr]) -> ast.expr | None:
    """``node`` with the loop's names replaced by the item's parts (``r["regex"]``, ``r[0]``)."""
    if node is None:
        return None
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
            node.value.id in env and isinstance(node.slice, ast.Constant):
        item, key = env[node.value.id], node.slice.value
        if isinstance(item, ast.Dict):
            return next((v for k, v in zip(item.keys, item.values, strict=False)
                         if isinstance(k, ast.Constant) and k.value == key), None)
        if isinstance(item, ast.Tuple | ast.List) and isinstance(key, int) and \
                -len(item.elts) <= key < len(item.elts):
            return item.elts[key]
        return None
    return node


def _register_args(call: ast.Call, env: dict[str, ast.expr]
                   ) -> tuple[ast.expr | None, ast.expr | None, ast.expr | None]:
    kws = {k.arg: k.value for k in call.keywords if k.arg}
    prefix = call.args[0] if call.args else kws.get("prefix")
    viewset = call.args[1] if len(call.args) > 1 else kws.get("viewset")
    basename = call.args[2] if len(call.args) > 2 else kws.get("basename", kws.get("base_name"))
    return _value(prefix, env), _value(viewset, env), _value(basename, env)


def registrations(mod: PyModule, router: str, res: Resolver
                  ) -> list[tuple[str, ast.expr, PyModule, str, int]]:
    """(prefix, viewset expression, the module it is named in, basename, line) of every
    ``router.register(...)`` in ``mod``."""
    out: list[tuple[str, ast.expr, PyModule, str, int]] = []
    looped: set[int] = set()

    def is_register(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "register" and dotted(node.func.value) == router

    for loop in (n for n in ast.walk(mod.tree) if isinstance(n, ast.For)):
        calls = [c for s in loop.body for c in ast.walk(s) if is_register(c)]
        if not calls:
            continue
        for item, where in _elements(loop.iter, mod, res):
            env = _bind(loop.target, item)
            for call in calls:
                looped.add(id(call))
                assert isinstance(call, ast.Call)
                prefix, viewset, basename = _register_args(call, env)
                text = str_const(prefix)
                if text is not None and viewset is not None:
                    out.append((text, viewset, where, str_const(basename) or "", call.lineno))
    for call in mod.calls:
        if is_register(call) and id(call) not in looped:
            prefix, viewset, basename = _register_args(call, {})
            text = str_const(prefix)
            if text is not None and viewset is not None:
                out.append((text, viewset, mod, str_const(basename) or "", call.lineno))
    return sorted(out, key=lambda r: r[4])


# ---- a ViewSet's routes -------------------------------------------------------------------------

def _lineage(mod: PyModule, cls: ast.ClassDef, classes: Classes
             ) -> tuple[list[tuple[PyModule, ast.ClassDef]], list[str]]:
    """The class and its project base classes (method resolution order, roughly), and the names
    of the library bases they derive from (``ModelViewSet``, ``mixins.ListModelMixin``)."""
    chain: list[tuple[PyModule, ast.ClassDef]] = []
    library: list[str] = []
    stack, seen = [(mod, cls)], {cls.name}
    while stack and len(chain) < 20:
        m, c = stack.pop(0)
        chain.append((m, c))
        for base in c.bases:
            name = dotted(base).rsplit(".", 1)[-1]
            if name in classes and name not in seen:
                seen.add(name)
                stack.append(classes[name])
            elif name not in classes:
                library.append(name)
    return chain, library


def _method(chain: list[tuple[PyModule, ast.ClassDef]], name: str
            ) -> tuple[PyModule, ast.ClassDef, Function] | None:
    for m, c in chain:
        for node in c.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                return m, c, node
    return None


def _attr(chain: list[tuple[PyModule, ast.ClassDef]], name: str) -> ast.expr | None:
    for _m, c in chain:
        value = class_attr(c, name)
        if value is not None:
            return value
    return None


def _attr_line(chain: list[tuple[PyModule, ast.ClassDef]], name: str) -> int:
    for _m, c in chain:
        for node in c.body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return node.lineno
    return 0


def _located(node: ast.AST, line: int) -> None:
    for n in ast.walk(node):
        if "lineno" in n._attributes:
            n.lineno = n.end_lineno = line  # type: ignore[attr-defined]
            n.col_offset = n.end_col_offset = 0  # type: ignore[attr-defined]


def _object_checks(perms: ast.expr | None, classes: Classes) -> list[ast.stmt]:
    """The statements of the ``has_object_permission`` methods of the project's permission
    classes in ``perms`` (DRF's ``get_object`` runs them on the object it looked up)."""
    out: list[ast.stmt] = []
    if perms is None:
        return out
    for name in dict.fromkeys(n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(perms)
                              if isinstance(n, ast.Name | ast.Attribute)):
        if name in classes:
            found = _method(_lineage(*classes[name], classes)[0], "has_object_permission")
            out += found[2].body if found is not None else []
    return out


def _inherited(action: str, chain: list[tuple[PyModule, ast.ClassDef]], key: str, field: str,
               line: int, object_checks: list[ast.stmt]) -> Function:
    """The handler DRF's mixin runs for ``action``, as a function placed at the class."""
    getter = _method(chain, "get_queryset")
    queryset, qs_line = "self.get_queryset()", line
    if getter is not None:
        ret = next((n for n in ast.walk(getter[2]) if isinstance(n, ast.Return) and n.value), None)
        if isinstance(ret, ast.Return) and ret.value is not None:
            queryset, qs_line = ast.unparse(ret.value), getter[2].lineno
    elif _attr(chain, "queryset") is not None:
        queryset = ast.unparse(_attr(chain, "queryset"))  # type: ignore[arg-type]
        qs_line = _attr_line(chain, "queryset") or line
    args = "self, request" + (f", {key}" if action in _DETAIL_ACTIONS else "")
    body = _BODIES[action].replace("QS", queryset).replace("FIELD", field).replace("KEY", key)
    text = f"def {action}({args}):\n" + "".join(f"    {ln}\n" for ln in body.splitlines())
    func = ast.parse(text).body[0]
    assert isinstance(func, ast.FunctionDef)
    _located(func, line)
    for stmt in func.body:  # the lookup points at the queryset it reads
        if "QS" in _BODIES[action].splitlines()[func.body.index(stmt)]:
            _located(stmt, qs_line)
    func.name = action
    for own in ("get_queryset", "get_object"):  # their checks of the caller are the handler's
        found = _method(chain, own)
        if found is not None:
            func.body = [*func.body, *found[2].body]
    if action in _DETAIL_ACTIONS:
        func.body = [*func.body, *object_checks]
    return func


def _action(dec: ast.expr) -> tuple[bool, tuple[str, ...], str, ast.expr | None] | None:
    """(detail, methods, url_path, permission_classes) of ``@action(...)``."""
    name = dotted(dec).rsplit(".", 1)[-1]
    if name not in _ACTION_DECORATORS:
        return None
    kws = {k.arg: k.value for k in dec.keywords if k.arg} if isinstance(dec, ast.Call) else {}
    detail = _ACTION_DECORATORS[name]
    if detail is None:
        flag = kws.get("detail")
        detail = bool(flag.value) if isinstance(flag, ast.Constant) else False
    methods = tuple(str(e.value).upper() for e in getattr(kws.get("methods"), "elts", [])
                    if isinstance(e, ast.Constant)) or ("GET",)
    return detail, methods, str_const(kws.get("url_path")) or "", kws.get("permission_classes")


def _basename(given: str, chain: list[tuple[PyModule, ast.ClassDef]]) -> str:
    if given:
        return given
    qs = _attr(chain, "queryset")
    model = dotted(qs).split(".")[0] if qs is not None else ""
    return model.lower()


def viewset_endpoints(mod: PyModule, cls: ast.ClassDef, prefix: str, base: str, classes: Classes,
                      basename: str = "", ns: str = "", slash: str = "/") -> list[Endpoint]:
    """The routes a router serves for ViewSet ``cls`` registered at ``prefix`` under ``base``
    (the URL the router is mounted at; ``slash`` ends each URL, ``""`` with
    ``trailing_slash=False``)."""
    chain, library = _lineage(mod, cls, classes)
    plain = {n: c for n, (_, c) in classes.items()}
    class_wide = class_auth(cls, plain, set())
    checks = _object_checks(_permission_node(cls, plain, set()), classes)
    key = str_const(_attr(chain, "lookup_url_kwarg")) or \
        str_const(_attr(chain, "lookup_field")) or "pk"
    field = str_const(_attr(chain, "lookup_field")) or "pk"
    collection = base.rstrip("/") + "/" + prefix.strip("/") if prefix.strip("/") else \
        base.rstrip("/")
    detail = f"{collection}/<{key}>"
    basename = ns + _basename(basename, chain)
    actions = [a for lib in library for a in _BASE_ACTIONS.get(lib, ())]
    out: list[Endpoint] = []
    for action in (*_LIST_ACTIONS, *_DETAIL_ACTIONS):
        found = _method(chain, action)
        if found is None and action not in actions:
            continue
        path = (collection if action in _LIST_ACTIONS else detail) + slash
        method = _LIST_ACTIONS.get(action) or _DETAIL_ACTIONS[action]
        params = path_params(path)
        url = f"{basename}-{'list' if action in _LIST_ACTIONS else 'detail'}"
        if found is not None:
            where, owner, func = found
            auth = class_wide or body_auth(func)
            out.append(Endpoint("drf", (method,), path, where, func, owner.lineno, auth, params,
                                view=owner.name, name=url))
        else:
            func = _inherited(action, chain, key, field, cls.lineno, checks)
            out.append(Endpoint("drf", (method,), path, mod, func, cls.lineno,
                                class_wide, params, view=cls.name, name=url,
                                decorators=(f"<DRF {_MIXIN_OF[action]}.{action}>",)))
    done = {a for a in (*_LIST_ACTIONS, *_DETAIL_ACTIONS)}
    for m, c in chain:
        for node in c.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name in done:
                continue
            act = next((a for d in node.decorator_list if (a := _action(d)) is not None), None)
            if act is None:
                continue
            done.add(node.name)
            is_detail, methods, url_path, perms = act
            tail = (url_path or node.name).strip("/") + slash
            path = (detail if is_detail else collection) + "/" + tail
            auth = (auth_in([perms]) if perms is not None else class_wide) or body_auth(node)
            out.append(Endpoint("drf", methods, path, m, node, c.lineno, auth,
                                path_params(path), view=c.name,
                                decorators=tuple(dotted(d) for d in node.decorator_list),
                                name=f"{basename}-{(url_path or node.name).replace('_', '-')}"))
    return out


def router_endpoints(res: Resolver, mod: PyModule, ref: str, base: str, ns: str
                     ) -> list[Endpoint]:
    """The routes of router ``ref`` (a name in ``mod``, or imported into it) mounted at
    ``base``."""
    where, obj = res.imported(mod, ref)
    if where is None:
        where, obj = mod, ref
    made = _assigned(where, obj)
    kws = {k.arg: k.value for k in made.keywords if k.arg} if isinstance(made, ast.Call) else {}
    flag = kws.get("trailing_slash")
    slash = "" if isinstance(flag, ast.Constant) and not flag.value else "/"
    parent = str_const(made.args[1]) if isinstance(made, ast.Call) and len(made.args) > 1 \
        else None
    if parent is not None:  # NestedSimpleRouter(router, "users", lookup="user")
        lookup = str_const(kws.get("lookup")) or "parent"
        base = base.rstrip("/") + "/" + parent.strip("/") + f"/<{lookup}_pk>/"
    out: list[Endpoint] = []
    for prefix, viewset, named_in, basename, _line in registrations(where, obj, res):
        found = res.view_class(dotted(viewset), named_in) if dotted(viewset) else None
        if found is not None:
            out += viewset_endpoints(*found, prefix, base, res.classes, basename, ns, slash)
    return out
