"""The HTTP endpoints a Python backend declares, read statically from its source (never imported):
FastAPI/Starlette and Flask/Quart decorators (``@router.get``, ``@app.route(methods=...)``,
``@bp.post``) with their router/blueprint prefixes (``APIRouter(prefix=)``,
``Blueprint(url_prefix=)``, ``register_blueprint(bp, url_prefix=)``), aiohttp route tables and
router calls (``app.router.add_route("POST", path, views.x)``, ``add_post``, ``web.post(path,
h)``, ``@routes.post``), Flask ``add_url_rule``, Flask class-based views and flask-restful/
flask-smorest resources (``prodaudit.product.endpoints_views``), Django URL configurations with
function and class views (``prodaudit.product.endpoints_django``), and Django REST framework views
(``@api_view([...])`` functions and ``APIView``/``ViewSet`` classes, their handler methods; the
ViewSets a router registers with their standard and ``@action`` routes,
``prodaudit.product.endpoints_drf``). Each endpoint carries the evidence of authentication found
on it — a decorator, a FastAPI dependency, a DRF permission class or Django mixin (its own or
inherited from a project base class), DRF's ``DEFAULT_PERMISSION_CLASSES`` for a DRF view that
sets none, a check in the handler's body — whether it is registered only where production
never goes (a router included, a blueprint registered, URL patterns added under ``if
settings.ENVIRONMENT == "local":``/``if settings.DEBUG:``, ``prodaudit.product.devguard``:
``endpoints`` leaves those out, ``dev_endpoints`` lists them) — and its URL name where the
framework gives one (Django ``name=`` with its namespaces, Flask's endpoint
``blueprint.function``) — so checks judge routes without each parsing every framework again.
The one model of the product's routes: shared by the config checks (route authorisation, CSRF,
mass assignment, caching) and the readiness suite. Not a check module."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from prodaudit.product.devguard import dev_branches, guard_at
from prodaudit.product.endpoint_model import (
    ADMIN_NAME,
    AUTH_NAME,
    HANDLER_METHODS,
    VERBS,
    WRITE_METHODS,
    DeclaredRoute,
    Endpoint,
    auth_in,
    body_auth,
    class_auth,
    dotted,
    framework_of,
    path_params,
    signature_auth,
    str_const,
)
from prodaudit.product.endpoints_django import django_endpoints
from prodaudit.product.endpoints_drf import drf_default_auth, with_default_auth
from prodaudit.product.endpoints_views import flask_class_views
from prodaudit.product.pyindex import Function, PyModule, extractor, py_index, walk

__all__ = ["ADMIN_NAME", "AUTH_NAME", "WRITE_METHODS", "DeclaredRoute", "Endpoint", "body_auth",
           "decorator_route", "dev_endpoints", "dev_note", "dev_only_inputs", "dotted",
           "endpoints", "external_routes", "global_guard", "middleware_refuses", "path_params"]

_VERBS = set(VERBS)
_DECORATOR_VERBS = _VERBS | {"api_route", "route"}
_AIOHTTP_ADD = {f"add_{v}": v.upper() for v in _VERBS}
_DRF_VIEW_BASE = re.compile(r"(APIView|ViewSet|GenericView|View)$")
_MAX_NESTING = 8  # levels of routers included in routers

if TYPE_CHECKING:
    from prodaudit.context import Context


def decorator_route(dec: ast.expr) -> tuple[str, list[str], str] | None:
    """(owner, methods, path) of ``@owner.get("/p")`` / ``@owner.route("/p", methods=[...])``."""
    if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
            and dec.func.attr in _DECORATOR_VERBS):
        return None
    path = str_const(dec.args[0]) if dec.args else None
    kws = {k.arg: k.value for k in dec.keywords if k.arg}
    path = path if path is not None else str_const(kws.get("path") or kws.get("rule"))
    if path is None:
        return None
    verb = dec.func.attr
    if verb in ("route", "api_route"):
        meth = kws.get("methods")
        methods = [str(e.value).upper() for e in getattr(meth, "elts", [])
                   if isinstance(e, ast.Constant)] or ["GET"]
    else:
        methods = [verb.upper()]
    return dotted(dec.func.value), methods, path


def _router_dependencies(mod: PyModule) -> dict[str, str]:
    """``router = APIRouter(dependencies=[Depends(auth)])`` (the list directly or through a name
    assigned in the module): owner name -> auth evidence."""
    out: dict[str, str] = {}
    named = {t.id: node.value for node in mod.assigns if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    for node in mod.assigns:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            deps = [k.value for k in node.value.keywords if k.arg == "dependencies"]
            # ``guard = [Depends(require_admin)]; APIRouter(dependencies=guard)``
            deps = [named.get(d.id, d) if isinstance(d, ast.Name) else d for d in deps]
            auth = auth_in(deps)
            if auth:
                out.update({dotted(t): auth for t in node.targets})
    return out


def _blueprint_names(mod: PyModule) -> dict[str, str]:
    """Flask's ``bp = Blueprint("user", __name__)``: owner name -> the blueprint's name (the
    first part of its endpoints' names, ``url_for("user.register")``)."""
    out: dict[str, str] = {}
    for node in mod.assigns:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                dotted(node.value.func).rsplit(".", 1)[-1].endswith("Blueprint"):
            first = node.value.args[0] if node.value.args else next(
                (k.value for k in node.value.keywords if k.arg == "name"), None)
            name = str_const(first)
            if name:
                out.update({dotted(t): name for t in node.targets})
    return out


def _flask_endpoint(dec: ast.Call, func: Function, owner: str, blueprints: dict[str, str]
                    ) -> str:
    """The endpoint name Flask gives a decorated view: ``endpoint=`` or the function's name,
    after ``<blueprint>.`` for a blueprint's route (``url_for`` takes it)."""
    given = str_const(next((k.value for k in dec.keywords if k.arg == "endpoint"), None))
    endpoint = given or func.name
    return f"{blueprints[owner]}.{endpoint}" if owner in blueprints else endpoint


def _decorated(mod: PyModule, fw: str) -> list[Endpoint]:
    out: list[Endpoint] = []
    router_auth = _router_dependencies(mod)
    blueprints = _blueprint_names(mod) if fw == "flask" else {}
    for func in mod.functions:
        for dec in func.decorator_list:
            route = decorator_route(dec)
            if route is None:
                continue
            owner, methods, path = route
            assert isinstance(dec, ast.Call)
            others = [d for d in func.decorator_list if d is not dec]
            deps = [k.value for k in dec.keywords if k.arg == "dependencies"]
            auth = (auth_in(others) or auth_in(deps) or router_auth.get(owner, "")
                    or signature_auth(func) or body_auth(func))
            name = _flask_endpoint(dec, func, owner, blueprints) if fw == "flask" else \
                str_const(next((k.value for k in dec.keywords if k.arg == "name"), None)) or ""
            out.append(Endpoint(fw or "fastapi", tuple(methods), path, mod, func, func.lineno,
                                auth, path_params(path), owner=owner, name=name))
    return out


def _stem(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1].removesuffix(".py")
    return rel.rsplit("/", 2)[-2] if name == "__init__" and "/" in rel else name


def _mounted(mods: list[PyModule], attr: str, value: Callable[[ast.Call], str]
             ) -> dict[tuple[str, str], str]:
    """``app.<attr>(items.router, ...)`` (``include_router``, ``register_blueprint``): (module
    stem, object name) -> ``value(call)`` when not empty, the module resolved through the
    calling module's imports (``from .routers.items import router as items_router``,
    ``from .api import items``)."""
    out: dict[tuple[str, str], str] = {}
    for mod in mods:
        if attr not in mod.names:
            continue
        aliases = {a.asname or a.name: ((imp.module or "").rsplit(".", 1)[-1], a.name)
                   for imp in mod.imports if isinstance(imp, ast.ImportFrom) for a in imp.names}
        for call in mod.calls:
            if dotted(call).rsplit(".", 1)[-1] != attr or not call.args:
                continue
            found = value(call)
            target = dotted(call.args[0])
            if not found:
                continue
            if "." in target:
                stem, name = target.rsplit(".", 1)
                out[(stem.rsplit(".", 1)[-1], name)] = found
            elif target in aliases:
                out[aliases[target]] = found
    return out


def _mount_edges(mods: list[PyModule]) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    """(child, parent, guard) of every ``parent.include_router(child)`` /
    ``parent.register_blueprint(child)``: (module stem, object name) keys resolved like
    ``_mounted``'s, the guard that keeps the call out of production ('' when none)."""
    out: list[tuple[tuple[str, str], tuple[str, str], str]] = []
    for mod in mods:
        if "include_router" not in mod.names and "register_blueprint" not in mod.names:
            continue
        aliases = {a.asname or a.name: ((imp.module or "").rsplit(".", 1)[-1], a.name)
                   for imp in mod.imports if isinstance(imp, ast.ImportFrom) for a in imp.names}
        branches = dev_branches(mod)
        for call in mod.calls:
            if not (isinstance(call.func, ast.Attribute) and call.args and
                    call.func.attr in ("include_router", "register_blueprint")):
                continue
            target = dotted(call.args[0])
            if "." in target:
                stem, name = target.rsplit(".", 1)
                child = (stem.rsplit(".", 1)[-1], name)
            elif target in aliases:
                child = aliases[target]
            else:
                continue
            parent = (_stem(mod.rel), dotted(call.func.value))
            out.append((child, parent, guard_at(branches, call.lineno)))
    return out


def _dev_mounts(mods: list[PyModule]) -> dict[tuple[str, str], str]:
    """Routers and blueprints mounted only outside production: every ``include_router``/
    ``register_blueprint`` of them is under a development guard, or on a parent that is itself
    mounted only there: (module stem, name) -> the guard."""
    edges = _mount_edges(mods)
    out: dict[tuple[str, str], str] = {}
    for _ in range(_MAX_NESTING):
        by_child: dict[tuple[str, str], list[str]] = {}
        for child, parent, guard in edges:
            by_child.setdefault(child, []).append(guard or out.get(parent, ""))
        found = {c: gs[0] for c, gs in by_child.items() if all(gs)}
        if found == out:
            break
        out = found
    return out


def _included_auth(mods: list[PyModule]) -> dict[tuple[str, str], str]:
    """FastAPI's ``app.include_router(items.router, dependencies=[Depends(auth)])``: (module
    stem, router name) -> auth evidence."""
    return _mounted(mods, "include_router", lambda call: auth_in(
        [k.value for k in call.keywords if k.arg == "dependencies"]))


#: what a middleware writes to turn a request away: an exception, its own response, a status
_REFUSAL = re.compile(r"^(abort|send)$|Response$", re.I)


def middleware_refuses(ctx: Context, name: str) -> bool | None:
    """Whether the project's middleware class ``name`` can answer a request itself (raise, build
    a ``*Response``, ``abort``, ``send`` an ASGI message, name a 401/403 status) rather than
    always handing it to the next layer; ``None`` when no project class of that name with a
    ``dispatch`` or ``__call__`` method is found (a library's middleware)."""
    for mod in py_index(ctx):
        if f"class {name}" not in mod.text:
            continue
        for cls in mod.classes:
            if cls.name != name:
                continue
            methods = [f for f in cls.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
            if not any(f.name in ("dispatch", "__call__") for f in methods):
                return None
            for f in methods:
                for node in walk(f):
                    if isinstance(node, ast.Raise):
                        return True
                    if isinstance(node, ast.Call) and \
                            _REFUSAL.search(dotted(node).rsplit(".", 1)[-1]):
                        return True
                    if isinstance(node, ast.Constant) and node.value in (401, 403):
                        return True
                    if isinstance(node, ast.Attribute) and \
                            re.search(r"HTTP_40[13]", node.attr):
                        return True
            return False
    return None


def global_guard(ctx: Context) -> str:
    """Authentication enforced for every route at once: a Flask/Quart ``before_request`` hook
    that checks the caller, an authentication middleware (``add_middleware(...Auth...)``, not a
    project middleware that only attaches the caller and passes every request on:
    :func:`middleware_refuses`), Django's ``LoginRequiredMiddleware``, or ''."""
    for mod in py_index(ctx):
        # the text holds every name a decorator or a callee is written with
        for func in mod.functions if "before_" in mod.text else []:
            hooked = any(re.search(r"before_request|before_app_request", ast.unparse(d))
                         for d in func.decorator_list)
            if hooked and body_auth(func):
                return f"{mod.rel}:{func.lineno} {func.name} (before_request)"
        for call in mod.calls if "add_middleware" in mod.text else []:
            name = dotted(call).rsplit(".", 1)[-1]
            if name == "add_middleware" and call.args and \
                    re.search(r"auth|login|jwt|token", ast.unparse(call.args[0]), re.I) and \
                    middleware_refuses(ctx, dotted(call.args[0]).rsplit(".", 1)[-1]) is not False:
                return f"{mod.rel}:{call.lineno} {ast.unparse(call.args[0])}"
        if "LoginRequiredMiddleware" in mod.text:
            return f"{mod.rel} LoginRequiredMiddleware"
    return ""


@extractor("endpoints:function_names")
def _function_names(module: PyModule) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.name for f in module.functions))


class FunctionsByName:
    """Name -> [(module, function)] of every function of ``mods`` in module and source order,
    loading a module's tree only when one of its function names is looked up."""

    def __init__(self, mods: list[PyModule]) -> None:
        self._mods = mods
        self._where: dict[str, list[int]] = {}
        for i, mod in enumerate(mods):
            for name in mod.fact("endpoints:function_names"):
                self._where.setdefault(name, []).append(i)
        self._found: dict[str, list[tuple[PyModule, Function]]] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def __getitem__(self, name: str) -> list[tuple[PyModule, Function]]:
        found = self._found.get(name)
        if found is None:
            found = [(self._mods[i], f) for i in self._where[name]
                     for f in self._mods[i].functions if f.name == name]
            self._found[name] = found
        return found

    def get(self, name: str) -> list[tuple[PyModule, Function]] | None:
        return self[name] if name in self._where else None


def _functions_by_name(mods: list[PyModule]) -> FunctionsByName:
    return FunctionsByName(mods)


def _registered(mod: PyModule, by_name: FunctionsByName, fw: str) -> list[Endpoint]:
    """aiohttp ``add_route(method, path, handler)``/``add_post(path, handler)``/
    ``web.post(path, handler)`` and Flask ``add_url_rule(path, view_func=h, methods=[...])``."""
    out: list[Endpoint] = []
    branches = dev_branches(mod)
    for call in mod.calls:
        if not isinstance(call.func, ast.Attribute):
            continue
        attr, args = call.func.attr, call.args
        kws = {k.arg: k.value for k in call.keywords if k.arg}
        if attr == "add_route" and len(args) >= 3:
            methods, path, handler = [(str_const(args[0]) or "GET").upper()], str_const(args[1]), args[2]
        elif attr in _AIOHTTP_ADD and len(args) >= 2:
            methods, path, handler = [_AIOHTTP_ADD[attr]], str_const(args[0]), args[1]
        elif fw == "aiohttp" and attr in _VERBS and len(args) >= 2 and \
                dotted(call.func.value) == "web":
            methods, path, handler = [attr.upper()], str_const(args[0]), args[1]
        elif attr == "add_url_rule" and args and "view_func" in kws:
            meth = kws.get("methods")
            methods = [str(e.value).upper() for e in getattr(meth, "elts", [])
                       if isinstance(e, ast.Constant)] or ["GET"]
            path, handler = str_const(args[0]), kws["view_func"]
        else:
            continue
        name = dotted(handler).rsplit(".", 1)[-1]
        if path is None or not name or name not in by_name:
            continue
        hmod, func = by_name[name][0]
        auth = auth_in(list(func.decorator_list)) or body_auth(func)
        out.append(Endpoint(fw or framework_of(hmod) or "aiohttp", tuple(methods), path, hmod,
                            func, func.lineno, auth, path_params(path),
                            dev_only=guard_at(branches, call.lineno)))
    return out


def _is_view(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> bool:
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        if _DRF_VIEW_BASE.search(name) and name not in classes:
            return True
        if name in classes and name not in seen:
            seen.add(name)
            if _is_view(classes[name], classes, seen):
                return True
    return False


def _drf(mod: PyModule, classes: dict[str, ast.ClassDef]) -> list[Endpoint]:
    out: list[Endpoint] = []
    for func in mod.functions:
        api_view = next((d for d in func.decorator_list
                         if isinstance(d, ast.Call) and dotted(d.func).endswith("api_view")), None)
        if api_view is None:
            continue
        methods = [str(e.value).upper() for e in getattr(api_view.args[0] if api_view.args
                                                         else None, "elts", [])
                   if isinstance(e, ast.Constant)] or ["GET"]
        perms = [d for d in func.decorator_list if dotted(d).endswith("permission_classes")]
        auth = auth_in(perms) or auth_in([d for d in func.decorator_list
                                            if d is not api_view]) or body_auth(func)
        params = tuple(a.arg for a in func.args.args[1:])
        out.append(Endpoint("drf", tuple(methods), "", mod, func, func.lineno, auth, params))
    for cls in mod.classes:
        if not _is_view(cls, classes, set()):
            continue
        auth = class_auth(cls, classes, set())
        for node in cls.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                    node.name in HANDLER_METHODS:
                params = tuple(a.arg for a in node.args.args[2:])
                out.append(Endpoint("drf", (HANDLER_METHODS[node.name],), "", mod, node,
                                    cls.lineno, auth or body_auth(node), params, cls.name))
    return out


def _prefixes(mod: PyModule) -> dict[str, str]:
    """``router = APIRouter(prefix="/items")`` / ``bp = Blueprint(..., url_prefix="/items")``:
    owner name -> the prefix its routes are served under."""
    out: dict[str, str] = {}
    for node in mod.assigns:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            kws = {k.arg: k.value for k in node.value.keywords if k.arg}
            pre = str_const(kws.get("prefix") or kws.get("url_prefix"))
            if pre:
                out.update({dotted(t): pre for t in node.targets})
    return out


def _blueprint_mounts(mods: list[PyModule]) -> dict[tuple[str, str], str]:
    """Flask's ``app.register_blueprint(auth.bp, url_prefix="/auth")``: (module stem, name) ->
    prefix (it replaces the blueprint's own)."""
    return _mounted(mods, "register_blueprint", lambda call: str_const(
        next((k.value for k in call.keywords if k.arg == "url_prefix"), None)) or "")


def _router_mounts(mods: list[PyModule]) -> dict[tuple[str, str], str]:
    """FastAPI's ``app.include_router(items.router, prefix="/api")``: (module stem, router
    name) -> the prefix put before the router's routes."""
    return _mounted(mods, "include_router", lambda call: str_const(
        next((k.value for k in call.keywords if k.arg == "prefix"), None)) or "")


def _with_prefix(e: Endpoint, own: dict[str, str], mounts: dict[tuple[str, str], str]
                 ) -> Endpoint:
    """Flask's ``register_blueprint(bp, url_prefix=...)`` replaces the blueprint's own prefix."""
    mount = mounts.get((_stem(e.module.rel), e.owner))
    pre = mount if mount is not None else own.get(e.owner, e.prefix)
    return replace(e, prefix=pre) if pre != e.prefix else e


def _merge_urlconf(out: list[Endpoint], confs: list[Endpoint]) -> list[Endpoint]:
    """Django URL-configuration endpoints: a DRF view already read from its class gets the
    path; the others are added."""
    pathless = {(e.module.rel, e.func.lineno): i for i, e in enumerate(out) if not e.path}
    for e in confs:
        i = pathless.get((e.module.rel, e.func.lineno))
        if i is None:
            out.append(e)
        elif not out[i].path:
            out[i] = replace(out[i], path=e.path, params=out[i].params or e.params,
                             decorators=e.decorators, auth=out[i].auth or e.auth, name=e.name,
                             dev_only=e.dev_only)
        elif out[i].dev_only and not e.dev_only:  # routed in production too
            out[i] = replace(out[i], path=e.path, dev_only="")
    return out


_REGISTERING = frozenset({"add_route", "add_url_rule"})
_CLASS_VIEWS = frozenset({"as_view", "add_resource"})


def _module_endpoints(mod: PyModule, ctx_maps: tuple[Any, ...]) -> list[Endpoint]:
    by_name, classes, included, mounts, views, routers, dev_mounts = ctx_maps
    fw = framework_of(mod)
    out: list[Endpoint] = []
    names = mod.names
    decorated = mod.has("decorated") and (
        "route" in names or any(v in names for v in _DECORATOR_VERBS))
    registered = not _REGISTERING.isdisjoint(names) or \
        any(a in names for a in _AIOHTTP_ADD) or fw == "aiohttp"
    class_views = not _CLASS_VIEWS.isdisjoint(names) or \
        ("route" in names and any(c.decorator_list for c in mod.classes))
    drf = fw == "drf" or "api_view" in names
    if not (decorated or registered or class_views or drf):
        return out  # no route in this module: its tree is not needed
    own = _prefixes(mod)
    branches = dev_branches(mod)
    if decorated:
        for e in _decorated(mod, fw):
            key = (_stem(mod.rel), e.owner)
            e = replace(e, auth=e.auth or included.get(key, ""),
                        mounts=(routers[key],) if key in routers else (),
                        dev_only=guard_at(branches, e.func.lineno) or dev_mounts.get(key, ""))
            out.append(_with_prefix(e, own, mounts))
    if registered:
        out += [_with_prefix(e, own, mounts) for e in _registered(mod, by_name, fw)]
    if class_views:
        out += [_with_prefix(replace(e, dev_only=e.dev_only or dev_mounts.get(
            (_stem(mod.rel), e.owner), "")), {}, mounts) for e in flask_class_views(mod, views, own)]
    if drf:
        out += _drf(mod, classes)
    return out


def _nested_setup_modules(ctx: Context) -> list[PyModule]:
    """``setup.py`` files below a package's top (``src/app/core/setup.py``): application modules
    named like a packaging script, which the settings index leaves out."""
    from prodaudit.product.envgraph import python_source_file
    from prodaudit.pysource import source_cache

    out = []
    for rel in ctx.files.files:
        if rel.count("/") < 2 or not rel.endswith("/setup.py") or \
                not python_source_file(rel.removesuffix("setup.py") + "x.py"):
            continue
        text = ctx.read(rel)
        tree = source_cache(ctx).get(rel, text).tree if text is not None else None
        if tree is not None and text is not None:
            out.append(PyModule(rel, tree, text).index())
    return out


def endpoints(ctx: Context) -> list[Endpoint]:
    """Every endpoint of the application's modules served in production (tests, docs and
    builds excluded; routes registered only under a development guard left out: see
    ``dev_endpoints``)."""
    return [e for e in _model(ctx)[0] if not e.dev_only]


def dev_endpoints(ctx: Context) -> list[Endpoint]:
    """The endpoints registered only where production never goes (``prodaudit.product.
    devguard``): a router included, a blueprint registered, a URL pattern added under ``if
    settings.ENVIRONMENT == "local":``/``if settings.DEBUG:``. Checks of production routes
    do not judge them; ``dev_note`` names them."""
    return [e for e in _model(ctx)[0] if e.dev_only]


def _annotation_names(func: Function) -> set[str]:
    args = func.args
    anns = [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs if a.annotation]
    return {n.id if isinstance(n, ast.Name) else n.attr for ann in anns for n in ast.walk(ann)
            if isinstance(n, ast.Name | ast.Attribute)}


def dev_only_inputs(ctx: Context) -> dict[str, str]:
    """Request schemas taken only by development-only routes: a class a ``dev_endpoints``
    handler's parameter is annotated with, that no production route takes and no module other
    than its own and those handlers' names -> the guard of the route."""

    def build() -> dict[str, str]:
        dev = dev_endpoints(ctx)
        if not dev:
            return {}
        live = {n for e in endpoints(ctx) for n in _annotation_names(e.func)}
        found: dict[str, str] = {}
        for e in dev:
            for name in sorted(_annotation_names(e.func) - live):
                found.setdefault(name, e.dev_only)
        handlers = {e.module.rel for e in dev}
        for mod in py_index(ctx):
            used = [n for n in found if n in mod.names] if mod.rel not in handlers else []
            for name in used:
                if not any(c.name == name for c in mod.classes):
                    del found[name]  # another module uses it: it may serve production
        return found

    return ctx.memo("product:dev_only_inputs", build)


def dev_note(ctx: Context) -> str:
    """``"; N development-only route(s) not judged: POST /private/users/ (create_user) under
    `if settings.ENVIRONMENT == 'local'` (app/api/main.py:14)"`` for a PASS message, or ''."""
    dev = dev_endpoints(ctx)
    if not dev:
        return ""
    shown = ", ".join(f"{e.label} under {e.dev_only}" for e in dev[:3])
    more = f" (+{len(dev) - 3} more)" if len(dev) > 3 else ""
    return f"; {len(dev)} development-only route(s) not judged: {shown}{more}"


def external_routes(ctx: Context) -> list[DeclaredRoute]:
    """URLs the Django URL configuration routes to views defined outside the repository."""
    return _model(ctx)[1]


def _model(ctx: Context) -> tuple[list[Endpoint], list[DeclaredRoute]]:
    def build() -> tuple[list[Endpoint], list[DeclaredRoute]]:
        mods = py_index(ctx) + _nested_setup_modules(ctx)
        by_name = _functions_by_name(mods)
        classes = {c.name: c for m in mods for c in m.classes}
        views = {c.name: (m, c) for m in mods for c in m.classes}
        maps = (by_name, classes, _included_auth(mods), _blueprint_mounts(mods), views,
                _router_mounts(mods), _dev_mounts(mods))
        out: list[Endpoint] = []
        for mod in mods:
            out += _module_endpoints(mod, maps)
        confs, external = django_endpoints(mods, by_name, views)
        out = _merge_urlconf(out, confs)
        if any(e.framework == "drf" for e in out):
            out = with_default_auth(out, drf_default_auth(ctx), views)
        seen: set[tuple[str, int, str, str]] = set()
        unique = []
        for e in out:
            key = (e.module.rel, e.func.lineno, "/".join(e.methods), e.route)
            if key not in seen:
                seen.add(key)
                unique.append(e)
        return unique, external

    return ctx.memo("product:endpoints", build)
