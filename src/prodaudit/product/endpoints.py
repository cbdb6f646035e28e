"""The HTTP endpoints a Python backend declares, read statically from its source (never imported):
FastAPI/Starlette and Flask/Quart decorators (``@router.get``, ``@app.route(methods=...)``,
``@bp.post``), aiohttp route tables and router calls (``app.router.add_route("POST", path,
views.x)``, ``add_post``, ``web.post(path, h)``, ``@routes.post``), Flask ``add_url_rule``,
and Django REST framework views (``@api_view([...])`` functions and ``APIView``/``ViewSet``
classes, their handler methods). Each endpoint carries the evidence of authentication found on
it — a decorator, a FastAPI dependency, a DRF permission class (its own or inherited from a
project base class), a check in the handler's body — so checks judge routes without each parsing
every framework again. Shared by the config checks of route authorisation. Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from prodaudit.product.pyindex import Function, PyModule, py_index, walk

if TYPE_CHECKING:
    from prodaudit.context import Context

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERBS = {"get", "post", "put", "patch", "delete", "head", "options"}
_DECORATOR_VERBS = _VERBS | {"api_route", "route"}
_AIOHTTP_ADD = {f"add_{v}": v.upper() for v in _VERBS}
_DRF_METHODS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE",
                "list": "GET", "retrieve": "GET", "create": "POST", "update": "PUT",
                "partial_update": "PATCH", "destroy": "DELETE"}
_DRF_VIEW_BASE = re.compile(r"(APIView|ViewSet|GenericView|View)$")
#: names that carry authentication: decorators, dependencies, permission classes, body checks
AUTH_NAME = re.compile(
    r"login_required|auth|permission|jwt|token|current_?user|get_?user|require|protected|"
    r"is_authenticated|IsAdmin|IsOwner|superuser|staff|admin_only|roles?_required|\bsecurity\b|"
    r"oauth|verify|session_user|api_key|apikey", re.I)
#: authentication that means the caller is an administrator (any object is theirs to see)
ADMIN_NAME = re.compile(r"admin|superuser|staff", re.I)
_NOT_AUTH = re.compile(r"AllowAny|no_auth|optional|public|RequestForm", re.I)
_PATH_PARAM = re.compile(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}|<(?:[^:<>]+:)?([A-Za-z_]\w*)>|"
                         r"\(\?P<([A-Za-z_]\w*)>")


@dataclass(frozen=True)
class Endpoint:
    """One handler: its framework, methods, path (``""`` when the URL configuration is
    elsewhere), where it is defined, the function that answers, and the authentication seen."""

    framework: str  # fastapi | flask | aiohttp | drf
    methods: tuple[str, ...]
    path: str
    module: PyModule
    func: Function
    line: int  # where a finding about the route points: the def, or the view class
    auth: str  # what authenticates the caller ('' = nothing seen)
    params: tuple[str, ...]  # path parameters (or handler arguments that take them)
    view: str = ""  # the view class of a class-based handler
    owner: str = ""  # the router/app object a decorator registers on (``router``, ``bp``)

    @property
    def loc(self) -> str:
        return f"{self.module.rel}:{self.line}"

    @property
    def writes(self) -> bool:
        return bool(WRITE_METHODS & set(self.methods))

    @property
    def label(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{'/'.join(self.methods)}{where} ({self.func.name})"


def dotted(node: ast.AST) -> str:
    """``a.b.c`` of a name/attribute chain (calls unwrapped), or ''."""
    if isinstance(node, ast.Call):
        node = node.func
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    elif isinstance(node, ast.Call):
        names.append(dotted(node) + "()")
    return ".".join(reversed(names))


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _framework(mod: PyModule) -> str:
    for node in mod.imports:
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names]
        for name in names:
            top = name.split(".")[0]
            if top in ("fastapi", "starlette"):
                return "fastapi"
            if top in ("flask", "quart", "apiflask"):
                return "flask"
            if top == "aiohttp":
                return "aiohttp"
            if top == "rest_framework":
                return "drf"
    return ""


def path_params(path: str) -> tuple[str, ...]:
    return tuple(next(g for g in m.groups() if g) for m in _PATH_PARAM.finditer(path))


def _auth_in(nodes: list[ast.expr]) -> str:
    """The first auth-bearing name among ``nodes`` (decorators, dependencies, permission
    classes), or ''."""
    for node in nodes:
        text = ast.unparse(node)
        if _NOT_AUTH.search(text) and not re.search(r"IsAuthenticated|login_required", text):
            continue
        m = AUTH_NAME.search(text)
        if m:
            return text[:80]
    return ""


def _signature_auth(func: Function) -> str:
    """FastAPI dependencies of the handler's parameters (``Depends(get_current_user)``,
    ``Annotated[User, Depends(...)]``, an alias such as ``CurrentUser``)."""
    args = func.args
    nodes: list[ast.expr] = [d for d in args.defaults + args.kw_defaults if d is not None]
    nodes += [a.annotation for a in args.args + args.kwonlyargs if a.annotation is not None]
    return _auth_in(nodes)


_CALLER = re.compile(r"request\.user|current_user|g\.user|auth_user|is_authenticated|"
                     r"is_anonymous|logged_in|has_perm|permission|\btoken\b|claims", re.I)
_REQUIRE_CALL = re.compile(
    r"^(require_|check_(auth|login|permission|user|token)|verify_(token|jwt|user|auth|api_key)|"
    r"ensure_(auth|login|user)|authenticate$|authorize$|get_auth_user|get_current_user|"
    r"login_required|current_user$)", re.I)


def body_auth(func: Function) -> str:
    """A check of the caller in the handler's body: an ``if`` on the caller's identity
    (``if not request.user.is_authenticated``, ``if auth_user:``) or a call that requires one
    (``require_login(request)``, ``verify_token(...)``, ``get_auth_user(request)``)."""
    for node in walk(func):
        if isinstance(node, ast.If | ast.Assert):
            text = ast.unparse(node.test)
            if _CALLER.search(text):
                return f"if {text[:60]}"
        elif isinstance(node, ast.Call):
            name = dotted(node).rsplit(".", 1)[-1]
            if _REQUIRE_CALL.search(name):
                return f"{name}()"
    return ""


def _decorator_route(dec: ast.expr) -> tuple[str, list[str], str] | None:
    """(owner, methods, path) of ``@owner.get("/p")`` / ``@owner.route("/p", methods=[...])``."""
    if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
            and dec.func.attr in _DECORATOR_VERBS):
        return None
    path = _str(dec.args[0]) if dec.args else None
    kws = {k.arg: k.value for k in dec.keywords if k.arg}
    path = path if path is not None else _str(kws.get("path") or kws.get("rule"))
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
    """``router = APIRouter(dependencies=[Depends(auth)])``: owner name -> auth evidence."""
    out: dict[str, str] = {}
    for node in mod.assigns:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            deps = [k.value for k in node.value.keywords if k.arg == "dependencies"]
            auth = _auth_in(deps)
            if auth:
                out.update({dotted(t): auth for t in node.targets})
    return out


def _decorated(mod: PyModule, fw: str) -> list[Endpoint]:
    out: list[Endpoint] = []
    router_auth = _router_dependencies(mod)
    for func in mod.functions:
        for dec in func.decorator_list:
            route = _decorator_route(dec)
            if route is None:
                continue
            owner, methods, path = route
            assert isinstance(dec, ast.Call)
            others = [d for d in func.decorator_list if d is not dec]
            deps = [k.value for k in dec.keywords if k.arg == "dependencies"]
            auth = (_auth_in(others) or _auth_in(deps) or router_auth.get(owner, "")
                    or _signature_auth(func) or body_auth(func))
            out.append(Endpoint(fw or "fastapi", tuple(methods), path, mod, func, func.lineno,
                                auth, path_params(path), owner=owner))
    return out


def _stem(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1].removesuffix(".py")
    return rel.rsplit("/", 2)[-2] if name == "__init__" and "/" in rel else name


def _included_auth(mods: list[PyModule]) -> dict[tuple[str, str], str]:
    """FastAPI's ``app.include_router(items.router, dependencies=[Depends(auth)])``: (module
    stem, router name) -> auth evidence, the module resolved through the including module's
    imports (``from .routers.items import router as items_router``)."""
    out: dict[tuple[str, str], str] = {}
    for mod in mods:
        if "include_router" not in mod.names:
            continue
        aliases: dict[str, tuple[str, str]] = {}
        for imp in mod.imports:
            if isinstance(imp, ast.ImportFrom):
                base = (imp.module or "").rsplit(".", 1)[-1]
                for a in imp.names:
                    # from .items import router as items_router / from .api import items
                    aliases[a.asname or a.name] = (base, a.name)
        for call in mod.calls:
            if dotted(call).rsplit(".", 1)[-1] != "include_router" or not call.args:
                continue
            auth = _auth_in([k.value for k in call.keywords if k.arg == "dependencies"])
            if not auth:
                continue
            target = dotted(call.args[0])
            if "." in target:
                stem, name = target.rsplit(".", 1)
                out[(stem.rsplit(".", 1)[-1], name)] = auth
            elif target in aliases:
                out[aliases[target]] = auth
    return out


def global_guard(ctx: Context) -> str:
    """Authentication enforced for every route at once: a Flask/Quart ``before_request`` hook
    that checks the caller, an authentication middleware (``add_middleware(...Auth...)``,
    Django's ``LoginRequiredMiddleware``), or ''."""
    for mod in py_index(ctx):
        for func in mod.functions:
            hooked = any(re.search(r"before_request|before_app_request", ast.unparse(d))
                         for d in func.decorator_list)
            if hooked and body_auth(func):
                return f"{mod.rel}:{func.lineno} {func.name} (before_request)"
        for call in mod.calls:
            name = dotted(call).rsplit(".", 1)[-1]
            if name == "add_middleware" and call.args and \
                    re.search(r"auth|login|jwt|token", ast.unparse(call.args[0]), re.I):
                return f"{mod.rel}:{call.lineno} {ast.unparse(call.args[0])}"
        if "LoginRequiredMiddleware" in mod.text:
            return f"{mod.rel} LoginRequiredMiddleware"
    return ""


def _functions_by_name(mods: list[PyModule]) -> dict[str, list[tuple[PyModule, Function]]]:
    out: dict[str, list[tuple[PyModule, Function]]] = {}
    for mod in mods:
        for func in mod.functions:
            out.setdefault(func.name, []).append((mod, func))
    return out


def _registered(mod: PyModule, by_name: dict[str, list[tuple[PyModule, Function]]],
                fw: str) -> list[Endpoint]:
    """aiohttp ``add_route(method, path, handler)``/``add_post(path, handler)``/
    ``web.post(path, handler)`` and Flask ``add_url_rule(path, view_func=h, methods=[...])``."""
    out: list[Endpoint] = []
    for call in mod.calls:
        if not isinstance(call.func, ast.Attribute):
            continue
        attr, args = call.func.attr, call.args
        kws = {k.arg: k.value for k in call.keywords if k.arg}
        if attr == "add_route" and len(args) >= 3:
            methods, path, handler = [(_str(args[0]) or "GET").upper()], _str(args[1]), args[2]
        elif attr in _AIOHTTP_ADD and len(args) >= 2:
            methods, path, handler = [_AIOHTTP_ADD[attr]], _str(args[0]), args[1]
        elif fw == "aiohttp" and attr in _VERBS and len(args) >= 2 and \
                dotted(call.func.value) == "web":
            methods, path, handler = [attr.upper()], _str(args[0]), args[1]
        elif attr == "add_url_rule" and args and "view_func" in kws:
            meth = kws.get("methods")
            methods = [str(e.value).upper() for e in getattr(meth, "elts", [])
                       if isinstance(e, ast.Constant)] or ["GET"]
            path, handler = _str(args[0]), kws["view_func"]
        else:
            continue
        name = dotted(handler).rsplit(".", 1)[-1]
        if path is None or not name or name not in by_name:
            continue
        hmod, func = by_name[name][0]
        auth = _auth_in(list(func.decorator_list)) or body_auth(func)
        out.append(Endpoint(fw or _framework(hmod) or "aiohttp", tuple(methods), path, hmod,
                            func, func.lineno, auth, path_params(path)))
    return out


def _class_attr(cls: ast.ClassDef, name: str) -> ast.expr | None:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id == name:
            return node.value
    return None


def _class_auth(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> str:
    """``permission_classes``/``authentication_classes`` of a view class or of a project base
    class it inherits from (``class ApiAuthMixin: permission_classes = (IsAuthenticated,)``)."""
    own = _class_attr(cls, "permission_classes")
    if own is not None:
        return _auth_in([own])
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        if name in classes and name not in seen:
            seen.add(name)
            found = _class_auth(classes[name], classes, seen)
            if found:
                return found
        elif re.search(r"LoginRequired|PermissionRequired|UserPassesTest|Authenticated", name):
            return name
    return ""


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
        auth = _auth_in(perms) or _auth_in([d for d in func.decorator_list
                                            if d is not api_view]) or body_auth(func)
        params = tuple(a.arg for a in func.args.args[1:])
        out.append(Endpoint("drf", tuple(methods), "", mod, func, func.lineno, auth, params))
    for cls in mod.classes:
        if not _is_view(cls, classes, set()):
            continue
        auth = _class_auth(cls, classes, set())
        for node in cls.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                    node.name in _DRF_METHODS:
                params = tuple(a.arg for a in node.args.args[2:])
                out.append(Endpoint("drf", (_DRF_METHODS[node.name],), "", mod, node,
                                    cls.lineno, auth or body_auth(node), params, cls.name))
    return out


def endpoints(ctx: Context) -> list[Endpoint]:
    """Every endpoint of the application's modules (tests, docs and builds excluded)."""

    def build() -> list[Endpoint]:
        mods = py_index(ctx)
        by_name = _functions_by_name(mods)
        classes = {c.name: c for m in mods for c in m.classes}
        out: list[Endpoint] = []
        included = _included_auth(mods)
        for mod in mods:
            fw = _framework(mod)
            if "route" in mod.names or any(v in mod.names for v in _DECORATOR_VERBS):
                out += [replace(e, auth=included.get((_stem(mod.rel), e.owner), ""))
                        if not e.auth else e for e in _decorated(mod, fw)]
            if {"add_route", "add_url_rule"} & set(mod.names) or \
                    any(a in mod.names for a in _AIOHTTP_ADD) or fw == "aiohttp":
                out += _registered(mod, by_name, fw)
            if fw == "drf" or "api_view" in mod.names:
                out += _drf(mod, classes)
        seen: set[tuple[str, int, str]] = set()
        unique = []
        for e in out:
            key = (e.module.rel, e.func.lineno, "/".join(e.methods))
            if key not in seen:
                seen.add(key)
                unique.append(e)
        return unique

    return ctx.memo("product:endpoints", build)
