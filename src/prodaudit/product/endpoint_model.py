"""The model of one HTTP endpoint read statically from a backend's source, and the evidence of
authentication the framework readers share (decorators, dependencies, permission classes,
checks in the handler's body). Built by ``prodaudit.product.endpoints``. Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.product.pyindex import Function, PyModule, walk

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
#: handler methods of a view class and the HTTP method each answers (DRF's viewset actions too)
HANDLER_METHODS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
                   "delete": "DELETE", "list": "GET", "retrieve": "GET", "create": "POST",
                   "update": "PUT", "partial_update": "PATCH", "destroy": "DELETE"}
#: names that carry authentication: decorators, dependencies, permission classes, body checks
AUTH_NAME = re.compile(
    r"login_required|auth|permission|jwt|token|current_?user|get_?user|require|protected|"
    r"is_authenticated|IsAdmin|IsOwner|superuser|staff|admin_only|roles?_required|\bsecurity\b|"
    r"oauth|verify|session_user|api_key|apikey", re.I)
#: authentication that means the caller is an administrator (any object is theirs to see)
ADMIN_NAME = re.compile(r"admin|superuser|staff", re.I)
#: names that match ``AUTH_NAME`` but authenticate nobody (Django's method restrictions)
_NOT_AUTH = re.compile(r"AllowAny|no_auth|optional|public|RequestForm|"
                       r"require_(POST|GET|safe|http_methods)\b", re.I)
_PATH_PARAM = re.compile(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}|<(?:[^:<>]+:)?([A-Za-z_]\w*)>|"
                         r"\(\?P<([A-Za-z_]\w*)>")


_TEMPLATE_PARAM = re.compile(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}|<(?:[^:<>]+:)?([A-Za-z_]\w*)>|"
                             r"\(\?P<([A-Za-z_]\w*)>(?:[^()]|\([^()]*\))*\)")


@dataclass(frozen=True)
class Endpoint:
    """One handler: its framework, methods, path (``""`` when the URL configuration is
    elsewhere), where it is defined, the function that answers, and the authentication seen."""

    framework: str  # fastapi | flask | aiohttp | drf | django
    methods: tuple[str, ...]
    path: str
    module: PyModule
    func: Function
    line: int  # where a finding about the route points: the def, or the view class
    auth: str  # what authenticates the caller ('' = nothing seen)
    params: tuple[str, ...]  # path parameters (or handler arguments that take them)
    view: str = ""  # the view class of a class-based handler
    owner: str = ""  # the router/app object a decorator registers on (``router``, ``bp``)
    prefix: str = ""  # the known prefix before ``path`` (router/blueprint/``include()``)
    decorators: tuple[str, ...] = ()  # other decorators and URL-conf wrappers (``csrf_exempt``)
    name: str = ""  # the URL name tests reverse (Django ``api:users:list``, Flask ``user.login``,
    #: FastAPI's ``name=`` given to the route decorator)
    mounts: tuple[str, ...] = ()  # ``include_router(router, prefix=...)`` prefixes before route
    dev_only: str = ""  # the guard that keeps the route out of production (``devguard``)

    @property
    def loc(self) -> str:
        return f"{self.module.rel}:{self.line}"

    @property
    def route(self) -> str:
        """The path with its known prefix (``""`` when the URL configuration is elsewhere)."""
        if not self.path and not self.prefix:
            return ""
        joined = self.prefix.rstrip("/") + "/" + self.path.lstrip("/")
        return joined if self.prefix or self.path.startswith("/") else joined.lstrip("/")

    @property
    def template(self) -> str:
        """The route as a ``{name}`` template (``<int:pk>``, ``(?P<pk>[0-9]+)`` -> ``{pk}``), or
        ``""`` when other regular-expression syntax is left (no URL can be built from it)."""
        return _template(self.route)

    @property
    def templates(self) -> tuple[str, ...]:
        """Every URL template the route may be served at: as declared, and under each prefix
        the router is included with (FastAPI ``include_router(prefix=...)``)."""
        own = self.template
        if not own:
            return ()
        return (own, *(m.rstrip("/") + "/" + own.lstrip("/") for m in self.mounts))

    @property
    def is_async(self) -> bool:
        return isinstance(self.func, ast.AsyncFunctionDef)

    @property
    def writes(self) -> bool:
        return bool(WRITE_METHODS & set(self.methods))

    @property
    def label(self) -> str:
        """``POST /users/login (login)``: the route under the one prefix its router is included
        with, if there is exactly one (``@router.post("")`` included at ``/users`` reads
        ``POST /users``)."""
        route = self.route
        if len(self.mounts) == 1:
            route = self.mounts[0].rstrip("/") + ("/" + route.lstrip("/") if route else "")
        where = f" {route}" if route else ""
        return f"{'/'.join(self.methods)}{where} ({self.func.name})"


@dataclass(frozen=True)
class DeclaredRoute:
    """A URL the configuration routes to a view the repository does not define (a library's
    ``TemplateView.as_view()``, ``admin.site.urls``): its path, where it is declared, the view."""

    path: str
    loc: str
    view: str

    @property
    def template(self) -> str:
        return _template(self.path)


def _template(route: str) -> str:
    out = _TEMPLATE_PARAM.sub(lambda m: "{" + next(g for g in m.groups() if g) + "}", route)
    return "" if re.search(r"[()\[\]*+?\\|^$<>]", out) else out


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


def str_const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def framework_of(mod: PyModule) -> str:
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


def auth_in(nodes: list[ast.expr]) -> str:
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


def signature_auth(func: Function) -> str:
    """FastAPI dependencies of the handler's parameters (``Depends(get_current_user)``,
    ``Annotated[User, Depends(...)]``, an alias such as ``CurrentUser``)."""
    args = func.args
    nodes: list[ast.expr] = [d for d in args.defaults + args.kw_defaults if d is not None]
    nodes += [a.annotation for a in args.args + args.kwonlyargs if a.annotation is not None]
    return auth_in(nodes)


_CALLER = re.compile(r"request\.(state\.)?user|current_user|g\.user|auth_user|is_authenticated|"
                     r"is_anonymous|logged_in|has_perm|permission|\btoken\b|claims", re.I)
_REQUIRE_CALL = re.compile(
    r"^(require_|check_(auth|login|permission|user|token)|verify_(token|jwt|user|auth|api_key)|"
    r"ensure_(auth|login|user)|authenticate$|authorize$|get_auth_user|get_current_user|"
    r"login_required|current_user$)", re.I)


#: the caller's identity as a value a handler keeps in a local name (``user =
#: getattr(request.state, "user", None)``, ``user = request.user``)
_CALLER_VALUE = re.compile(r"request\.(state\.)?user\b|getattr\(\s*request\.state\s*,\s*['\"]user|"
                           r"current_user|\bg\.user\b|auth_user", re.I)


def body_auth(func: Function) -> str:
    """A check of the caller in the handler's body: an ``if`` on the caller's identity
    (``if not request.user.is_authenticated``, ``if auth_user:``, ``if not user`` after ``user =
    getattr(request.state, "user", None)``) or a call that requires one
    (``require_login(request)``, ``verify_token(...)``, ``get_auth_user(request)``)."""
    aliases = {t.id for node in walk(func) if isinstance(node, ast.Assign)
               and _CALLER_VALUE.search(ast.unparse(node.value))
               for t in node.targets if isinstance(t, ast.Name)}
    for node in walk(func):
        if isinstance(node, ast.If | ast.Assert):
            text = ast.unparse(node.test)
            if _CALLER.search(text) or any(isinstance(n, ast.Name) and n.id in aliases
                                           for n in ast.walk(node.test)):
                return f"if {text[:60]}"
        elif isinstance(node, ast.Call):
            name = dotted(node).rsplit(".", 1)[-1]
            if _REQUIRE_CALL.search(name):
                return f"{name}()"
    return ""


def parameters(func: Function) -> list[tuple[ast.arg, ast.expr | None]]:
    """Each named parameter of ``func`` (positional, then keyword-only) with its default."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    return [*zip(positional, [*defaults, *args.defaults], strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True)]


def class_attr(cls: ast.ClassDef, name: str) -> ast.expr | None:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id == name:
            return node.value
    return None


def class_auth(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> str:
    """``permission_classes``/``authentication_classes`` of a view class or of a project base
    class it inherits from (``class ApiAuthMixin: permission_classes = (IsAuthenticated,)``)."""
    own = class_attr(cls, "permission_classes")
    if own is not None:
        return auth_in([own])
    for base in cls.bases:
        name = dotted(base).rsplit(".", 1)[-1]
        if name in classes and name not in seen:
            seen.add(name)
            found = class_auth(classes[name], classes, seen)
            if found:
                return found
        elif re.search(r"LoginRequired|PermissionRequired|UserPassesTest|Authenticated", name):
            return name
    return ""
