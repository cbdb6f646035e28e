"""Request data reaching dangerous calls: a small taint analysis over the backend's parsed modules
(``ast``; nothing is imported or run), shared by the code-security checks RDY-010–012. Not a
check module.

Sources: attributes of the request that carry client input (``request.args``/``form``/``json``/
``cookies``/``headers``/``path``, Django ``GET``/``POST``/``body``/``COOKIES``, aiohttp
``match_info``/``query``/``post()``, Starlette ``query_params``/``json()`` …) and the parameters of
route handlers (path and body parameters; ``Depends(...)`` ones excluded). Taint follows
assignments inside a function, containers, f-strings and formatting, subscripts and attributes of
tainted values, method calls on tainted values and plain function calls with a tainted argument
(``b64decode(cookie)``, ``Form(request.form)``); a method called on an untainted object with a
tainted argument (``config.get(name)``) is not tainted. One step across functions: a function
whose parameter reaches a sink is itself a sink for that argument (to a fixed point), so
``fetch(form.url.data)`` → ``def fetch(url): urlopen(url)`` is found at the ``urlopen`` line.
For URL fetches only the scheme and host matter: a URL whose head is a constant or an untainted
base (``f"{API}/users/{uid}"``) is not server-side request forgery."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.checks.api import Context
from prodaudit.checks.readiness._scan import PyModule, call_name, py_sources
from prodaudit.product.endpoint_model import parameters

REQUEST_NAMES = frozenset({"request", "req"})
USER_ATTRS = frozenset({
    "args", "form", "values", "json", "get_json", "data", "files", "cookies", "headers", "path",
    "full_path", "url", "base_url", "query_string", "view_args", "stream", "get_data",
    "GET", "POST", "body", "COOKIES", "META", "FILES", "query", "match_info", "rel_url", "post",
    "text", "content", "read", "query_params", "path_params", "form_data", "raw_path",
})
_ROUTE_DECORATORS = frozenset({
    "route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "api_view",
    "view", "action",
})
_NOT_INPUT_ANNOTATIONS = ("Session", "AsyncSession", "Request", "Response", "BackgroundTasks",
                          "Connection", "WebSocket")

# kind -> qualified call names whose first argument (or ``url=``) is the dangerous one
SINKS: dict[str, frozenset[str]] = {
    "template": frozenset({
        "flask.render_template_string", "quart.render_template_string", "jinja2.Template",
        "django.template.Template", "mako.template.Template", "jinja2.Environment.from_string",
    }),
    "url-fetch": frozenset({
        "urllib.request.urlopen", "urllib.urlopen", "urllib2.urlopen", "urllib.request.Request",
        *(f"{lib}.{m}" for lib in ("requests", "httpx")
          for m in ("get", "post", "put", "patch", "delete", "head", "options", "stream")),
    }),
    "markup": frozenset({
        "markupsafe.Markup", "flask.Markup", "jinja2.Markup", "django.utils.safestring.mark_safe",
        "django.utils.html.format_html",
    }),
    "deserialise": frozenset({
        "pickle.loads", "pickle.load", "_pickle.loads", "cPickle.loads", "dill.loads",
        "marshal.loads", "jsonpickle.decode", "yaml.load", "yaml.load_all", "yaml.unsafe_load",
        "yaml.full_load", "pandas.read_pickle", "shelve.open",
    }),
}
_SAFE_YAML_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader")


_NOT_SERVED = frozenset({"tools", "scripts", "examples", "docs", "bin", "benchmarks", "frontend"})


def code_modules(ctx: Context) -> list[PyModule]:
    """Every application module that may serve requests (tests, migrations, build output and
    helper directories such as scripts/ and tools/ left out)."""
    return [m for m in py_sources(ctx).app if not _NOT_SERVED & set(m.rel.split("/")[:-1])]


@dataclass(frozen=True)
class Hit:
    kind: str  # a key of SINKS
    sink: str  # the qualified call name
    location: str  # path:line of the dangerous call
    source: str  # where the request data came from (path:line and expression)


def aliases(mod: PyModule) -> dict[str, str]:
    """Local name -> qualified name from the module's imports."""
    out: dict[str, str] = {}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[(a.asname or a.name).split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def qualified(call: ast.Call, names: dict[str, str]) -> str:
    dotted = call_name(call)
    if not dotted:
        return ""
    head, _, rest = dotted.partition(".")
    head = names.get(head, head)
    return f"{head}.{rest}" if rest else head


def _sink_kind(call: ast.Call, names: dict[str, str]) -> str | None:
    q = qualified(call, names)
    if q.endswith(".from_string") and not q.startswith(("datetime", "bytes", "str")):
        return "template"
    for kind, sinks in SINKS.items():
        if q in sinks:
            if q.startswith("yaml.load") and any(
                kw.arg == "Loader" and ast.unparse(kw.value).endswith(_SAFE_YAML_LOADERS)
                for kw in call.keywords
            ):
                return None
            return kind
    return None


def _danger_arg(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg in ("url", "source"):
            return kw.value
    return call.args[0] if call.args else None


def is_handler(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in fn.decorator_list:
        name = call_name(dec).split(".")[-1]
        if name in _ROUTE_DECORATORS:
            return True
    return False


def handler_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters of a route handler that carry client input."""
    out: set[str] = set()
    for p, dflt in parameters(fn):
        if p.arg in ("self", "cls") or p.arg in REQUEST_NAMES:
            continue
        if isinstance(dflt, ast.Call) and call_name(dflt).split(".")[-1] in ("Depends", "Security"):
            continue
        if p.annotation is not None and \
                ast.unparse(p.annotation).split(".")[-1] in _NOT_INPUT_ANNOTATIONS:
            continue
        out.add(p.arg)
    return out


class Flow:
    """Taint of the names of one function (flow-insensitive, to a fixed point)."""

    def __init__(self, fn: ast.AST, names: dict[str, str], seeds: set[str],
                 request_global: bool) -> None:
        self.names = names
        self.tainted = set(seeds)
        self.request_global = request_global
        # the value of names assigned exactly once (to see how a URL was built)
        self.single: dict[str, ast.expr | None] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                self.single[name] = None if name in self.single else node.value
        for _ in range(6):
            before = len(self.tainted)
            for node in ast.walk(fn):
                self._bind(node)
            if len(self.tainted) == before:
                break

    def _bind(self, node: ast.AST) -> None:
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and node.value:
            value, targets = node.value, [node.target]
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            value, targets = node.iter, [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            value, targets = node.context_expr, [node.optional_vars]
        if value is None or not self.is_tainted(value):
            return
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    self.tainted.add(n.id)

    def is_tainted(self, e: ast.AST | None) -> bool:  # noqa: C901 - one case per node type
        if e is None:
            return False
        if isinstance(e, ast.Name):
            return e.id in self.tainted
        if isinstance(e, ast.Attribute):
            if e.attr in USER_ATTRS and self._is_request(e.value):
                return True
            return self.is_tainted(e.value)
        if isinstance(e, ast.Subscript):
            return self.is_tainted(e.value)
        if isinstance(e, ast.Await | ast.Starred | ast.FormattedValue):
            return self.is_tainted(e.value)
        if isinstance(e, ast.Call):
            return self._call_tainted(e)
        if isinstance(e, ast.Compare):
            return False
        if isinstance(e, ast.JoinedStr | ast.BinOp | ast.BoolOp | ast.IfExp | ast.Tuple |
                      ast.List | ast.Set | ast.Dict):
            return any(self.is_tainted(c) for c in ast.iter_child_nodes(e)
                       if isinstance(c, ast.expr))
        return False

    def url_host_tainted(self, e: ast.expr | None, depth: int = 0) -> bool:
        """Whether request data can choose the scheme and host of the URL ``e``: a URL built
        from a constant or untainted base (``f"{BASE}/users/{uid}"``, ``"https://api.x/" +
        q``) keeps its host whatever the path or query holds."""
        if e is None or depth > 5:
            return False
        if isinstance(e, ast.Name) and self.single.get(e.id) is not None:
            return self.url_host_tainted(self.single[e.id], depth + 1)
        if isinstance(e, ast.JoinedStr) and e.values:
            head = e.values[0]
            if isinstance(head, ast.Constant):
                return not re.match(r"^(\w+://[^/{]|/)", str(head.value))
            return self.is_tainted(head)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Mod):
            return self.url_host_tainted(e.left, depth + 1)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and \
                e.func.attr == "format" and isinstance(e.func.value, ast.Constant):
            return self.url_host_tainted(e.func.value, depth + 1) or \
                str(e.func.value.value).startswith("{")
        if isinstance(e, ast.Constant):
            return False
        return self.is_tainted(e)

    def _is_request(self, e: ast.expr) -> bool:
        if isinstance(e, ast.Name) and e.id in REQUEST_NAMES:
            return self.request_global
        return self.request_global and isinstance(e, ast.Attribute) and e.attr == "request"

    def _call_tainted(self, e: ast.Call) -> bool:
        args = [*e.args, *(k.value for k in e.keywords)]
        f = e.func
        if isinstance(f, ast.Attribute):
            if f.attr in USER_ATTRS and self._is_request(f.value):
                return True  # request.get_json(), await request.post()
            if self.is_tainted(f.value):
                return True
            root = f.value
            while isinstance(root, ast.Attribute):
                root = root.value
            module_call = isinstance(root, ast.Name) and root.id in self.names
            literal_format = isinstance(f.value, ast.Constant)
            if module_call or literal_format:
                return any(self.is_tainted(a) for a in args)
            return False
        return any(self.is_tainted(a) for a in args)


@dataclass(frozen=True)
class _Fn:
    mod: PyModule
    node: ast.FunctionDef | ast.AsyncFunctionDef
    is_method: bool


def _functions(mods: list[PyModule]) -> Iterator[_Fn]:
    for m in mods:
        for node in ast.walk(m.tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        yield _Fn(m, item, True)
        for node in m.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield _Fn(m, node, False)
                for inner in ast.walk(node):
                    if inner is not node and isinstance(inner, ast.FunctionDef |
                                                        ast.AsyncFunctionDef):
                        yield _Fn(m, inner, False)


def _params(fn: _Fn) -> list[str]:
    a = fn.node.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if fn.is_method and names and names[0] in ("self", "cls"):
        names = names[1:]
    return names


# summary: function name -> argument index -> (kind, sink, location)
_Summary = dict[str, dict[int, tuple[str, str, str]]]


def _sinks_in(fn: _Fn, flow: Flow, names: dict[str, str],
              summary: _Summary) -> Iterator[tuple[ast.Call, str, str, str]]:
    """(call, kind, sink, sink location) for every call of ``fn`` that receives tainted data."""
    for node in ast.walk(fn.node):
        if not isinstance(node, ast.Call):
            continue
        kind = _sink_kind(node, names)
        if kind is not None:
            arg = _danger_arg(node)
            hit = flow.url_host_tainted(arg) if kind == "url-fetch" else flow.is_tainted(arg)
            if hit:
                yield node, kind, qualified(node, names), fn.mod.line(node)
            continue
        callee = call_name(node).split(".")[-1]
        for i, (k, sink, where) in summary.get(callee, {}).items():
            if i >= len(node.args):
                continue
            arg = node.args[i]
            if flow.url_host_tainted(arg) if k == "url-fetch" else flow.is_tainted(arg):
                yield node, k, sink, where


def tainted_sinks(mods: list[PyModule]) -> list[Hit]:
    """Every dangerous call that request data reaches, with where the data came from."""
    fns = list(_functions(mods))
    names_of = {id(m): aliases(m) for m in mods}
    summary: _Summary = {}
    for _ in range(4):  # parameter -> sink summaries, to a fixed point
        changed = False
        for fn in fns:
            names = names_of[id(fn.mod)]
            for i, p in enumerate(_params(fn)):
                flow = Flow(fn.node, names, {p}, request_global=False)
                for _call, kind, sink, where in _sinks_in(fn, flow, names, summary):
                    slot = summary.setdefault(fn.node.name, {})
                    if i not in slot:
                        slot[i] = (kind, sink, where)
                        changed = True
        if not changed:
            break
    hits: dict[tuple[str, str], Hit] = {}
    for fn in fns:
        names = names_of[id(fn.mod)]
        seeds = handler_params(fn.node) if is_handler(fn.node) else set()
        flow = Flow(fn.node, names, seeds, request_global=True)
        for call, kind, sink, where in _sinks_in(fn, flow, names, summary):
            src = f"{fn.mod.line(call)} in {fn.node.name}()"
            hits.setdefault((kind, where), Hit(kind, sink, where, src))
    return sorted(hits.values(), key=lambda h: (h.kind, h.location))
