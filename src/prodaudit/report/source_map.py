"""Where in the repository each finding belongs: the file GitHub code scanning shows a result at.

Live findings are located at a URL (``GET http://host/users/me``); their fix is in the route's
handler. The handler is found statically: the URL path is matched against the operation paths of
the OpenAPI document (``facts.operations``), then against the route decorators and URL tables of
the repository's Python code (FastAPI/Starlette ``@router.get("/x")`` with ``APIRouter(prefix=)``
and ``include_router(prefix=)``, Flask ``@bp.route("/x", methods=[...])`` with ``url_prefix``,
aiohttp ``web.get("/x", handler)`` / ``add_get``, Django ``path("x/", view)``); when the path
matches no decorator, the OpenAPI ``operationId`` names the handler function. Findings without a
file (a setting, a service, a temporary file of the run) are anchored at the audit's
configuration file, else the compose file, else another file of the audited project.

Building the map reads the repository (bounded: Python files only, at most ``MAX_FILES`` files of
at most ``MAX_BYTES`` each, nothing outside the repository), so the report writer builds it once
and stores it in ``audit.json`` (``extras.source_map``); the SARIF renderer stays pure.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prodaudit.model import AuditRun, Status
from prodaudit.pysource import parse_tree

if TYPE_CHECKING:
    from prodaudit.files import FileIndex

KEY = "source_map"
MAX_FILES = 3000
MAX_BYTES = 1_000_000
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_LIVE = re.compile(r"^(?P<method>GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE)\s+(?P<url>\S+)")
_DECORATOR_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
_ANY_METHOD = ("route", "api_route", "websocket", "add_route", "view")
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_SKIP_PARTS = {"tests", "test", "node_modules", "site-packages", "migrations", "alembic", "docs"}


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]  # empty: any method
    path: str  # as declared, with the known prefixes
    file: str  # repository-relative
    line: int
    func: str

    def regex(self) -> re.Pattern[str]:
        return template_regex(self.path)


def template_regex(path: str) -> re.Pattern[str]:
    """A URL path template (``/notes/{note_id}``, ``/u/<int:id>``, ``items/<slug>/``) as a regex."""
    out = []
    pos = 0
    for m in re.finditer(r"\{(?P<a>[^}]+)\}|<(?P<b>[^>]+)>", path):
        out.append(re.escape(path[pos : m.start()]))
        name = m.group("a") or m.group("b") or ""
        out.append(".+" if name.startswith("path:") or name.endswith(":path") else "[^/]+")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    body = "".join(out).rstrip("/")
    if not body.startswith("/"):
        body = "/" + body
    return re.compile(f"^{body}/?$")


def _literal(path: str) -> int:
    return len(re.sub(r"\{[^}]+\}|<[^>]+>", "", path))


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _methods(call: ast.Call, attr: str) -> tuple[str, ...]:
    if attr in _DECORATOR_METHODS:
        return (attr.upper(),)
    if attr.startswith("add_") and attr[4:] in _DECORATOR_METHODS:
        return (attr[4:].upper(),)
    node = _kw(call, "methods")
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        vals = tuple(str(v).upper() for e in node.elts if (v := _const(e)))
        if vals:
            return vals
    return ("GET",) if attr == "route" else ()


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


DJANGO = "django-include:"  # marks a Django include(...) among the includes of a module


DJANGO_PATHS = ("path", "re_path", "url")


def _django_path(func: str, pattern: str | None) -> str | None:
    """A Django pattern as a path: ``path()`` as written, a ``re_path``/``url`` regex only when
    it is plain (``^activities/$``)."""
    if pattern is None or func == "path":
        return pattern
    plain = pattern.lstrip("^").removesuffix("$")
    return None if re.search(r"[()\[\]*+?\\|$^]", plain) else plain


def _django_include(node: ast.AST) -> tuple[str, str] | None:
    """``path("errors/", include("app.errors.urls"))`` (or ``include(("app.urls", "ns"))``,
    ``re_path``/``url`` with a plain ``^prefix/`` regex): (included module, prefix)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("path", "re_path", "url") and len(node.args) >= 2):
        return None
    inc = node.args[1]
    if not (isinstance(inc, ast.Call) and _name(inc.func).endswith("include") and inc.args):
        return None
    target = inc.args[0]
    if isinstance(target, ast.Tuple) and target.elts:
        target = target.elts[0]
    module, prefix = _const(target), _django_path(node.func.id, _const(node.args[0]))
    if module is None or prefix is None:
        return None
    return module, prefix


def _django_prefixes(files: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """Module (dotted, from the file path) -> the URL prefixes its patterns are served under,
    following ``include`` chains from the root URLconf (at most five levels)."""
    def module_of(rel: str) -> str:
        return rel[:-3].replace("/", ".")

    edges = [(module_of(rel), target, pre) for rel, incs in files.items() for target, pre in incs]

    def matches(mod: str, target: str) -> bool:
        return mod == target or mod.endswith("." + target)

    def prefixes(mod: str, depth: int) -> list[str]:
        parents = [(src, pre) for src, target, pre in edges if matches(mod, target)]
        if not parents or depth > 5:
            return [""]
        return [up.rstrip("/") + "/" + pre.lstrip("/") for src, pre in parents
                for up in prefixes(src, depth + 1)]

    out = {}
    for rel in files:
        mod = module_of(rel)
        if any(matches(mod, target) for _, target, _ in edges):
            out[rel] = prefixes(mod, 0)
    return out


def _module_routes(rel: str, tree: ast.Module) -> tuple[list[Route], dict[str, str], list[tuple[str, str]]]:
    """(routes, router variable -> own prefix, (included router expression, prefix) pairs)."""
    prefixes: dict[str, str] = {}
    includes: list[tuple[str, str]] = []
    routes: list[Route] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            ctor = _name(node.value.func).rsplit(".", 1)[-1]
            if ctor in ("APIRouter", "Blueprint", "RouteTableDef"):
                pre = _const(_kw(node.value, "prefix")) or _const(_kw(node.value, "url_prefix")) or ""
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        prefixes[t.id] = pre
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in ("include_router", "register_blueprint") and node.args:
                pre = _const(_kw(node, "prefix")) or _const(_kw(node, "url_prefix")) or ""
                if pre:
                    includes.append((_name(node.args[0]), pre))
            elif (attr in _DECORATOR_METHODS or attr.startswith("add_")) and len(node.args) >= 2:
                # aiohttp: web.get("/x", handler), app.router.add_get("/x", handler)
                path = _const(node.args[0])
                if path is not None and path.startswith("/") and _name(node.args[1]):
                    routes.append(Route(_methods(node, attr), path, rel, node.lineno, _name(node.args[1])))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DJANGO_PATHS:
            # Django: path("users/<int:pk>/", views.detail); re_path/url with a plain r"^x/$"
            path = _django_path(node.func.id, _const(node.args[0]) if node.args else None)
            if path is not None and len(node.args) >= 2 and not _name(node.args[1]).endswith("include"):
                routes.append(Route((), "/" + path.lstrip("/"), rel, node.lineno, _name(node.args[1])))
        included = _django_include(node)
        if included is not None:
            includes.append((DJANGO + included[0], included[1]))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                if not isinstance(dec, ast.Call) or not isinstance(dec.func, ast.Attribute):
                    continue
                attr = dec.func.attr
                if attr not in _DECORATOR_METHODS and attr not in _ANY_METHOD:
                    continue
                path = _const(dec.args[0]) if dec.args else _const(_kw(dec, "path"))
                if path is None:
                    continue
                owner = _name(dec.func.value)
                pre = prefixes.get(owner, "")
                routes.append(Route(_methods(dec, attr), pre + path, rel, dec.lineno, node.name))
    return routes, prefixes, includes


def scan_routes(repo: Path, files: Iterable[str]) -> list[Route]:
    """Every route declared in the repository's Python files (bounded; see module docstring)."""
    root = repo.resolve()
    routes: list[Route] = []
    includes: list[tuple[str, str]] = []
    django: dict[str, list[tuple[str, str]]] = {}
    for n, rel in enumerate(f for f in files if f.endswith(".py")):
        if n >= MAX_FILES:
            break
        if _SKIP_PARTS & set(rel.split("/")[:-1]):
            continue
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        tree = parse_tree(text, rel)
        if tree is None:
            continue
        found, _, inc = _module_routes(rel, tree)
        routes += found
        includes += [(f"{Path(rel).stem}:{expr}", pre) for expr, pre in inc if not expr.startswith(DJANGO)]
        django[rel] = [(expr[len(DJANGO):], pre) for expr, pre in inc if expr.startswith(DJANGO)]
    served = _django_prefixes({rel: [] for rel in {r.file for r in routes}} | {
        rel: incs for rel, incs in django.items() if incs})
    routes += [Route(r.methods, pre.rstrip("/") + r.path, r.file, r.line, r.func)
               for r in list(routes) for pre in served.get(r.file, []) if pre.strip("/")]
    if not includes:
        return routes
    # include_router(users.router, prefix="/api"): routes of module users on variable router
    out: list[Route] = []
    for r in routes:
        extra = [pre for expr, pre in includes if expr.split(":", 1)[1].split(".")[0] == Path(r.file).stem]
        out.append(r)
        out += [Route(r.methods, pre + r.path, r.file, r.line, r.func) for pre in extra]
    return out


def _operations(run: AuditRun) -> list[Mapping[str, Any]]:
    ops = run.facts.get("operations") if isinstance(run.facts, Mapping) else None
    return [o for o in ops if isinstance(o, Mapping)] if isinstance(ops, list) else []


def _match(method: str, path: str, routes: list[Route]) -> Route | None:
    best: tuple[int, Route] | None = None
    for r in routes:
        if r.methods and method not in r.methods and method not in ("HEAD", "OPTIONS"):
            continue
        if method == "HEAD" and r.methods and "GET" not in r.methods and "HEAD" not in r.methods:
            continue
        if r.regex().match(path):
            score = _literal(r.path) * 2 + (1 if not r.methods or method in r.methods else 0)
            if best is None or score > best[0]:
                best = (score, r)
    return best[1] if best else None


def _operation_id_func(op_id: str, routes: list[Route]) -> Route | None:
    """FastAPI's default operationId is ``{function}_{path}_{method}``: the longest function name
    that prefixes the id names the handler."""
    cands = [r for r in routes if op_id == r.func or op_id.startswith(r.func + "_")]
    return max(cands, key=lambda r: len(r.func)) if cands else None


def locate_live(method: str, url: str, routes: list[Route], run: AuditRun) -> dict[str, Any] | None:
    path = urlsplit(url).path or "/"
    for op in _operations(run):
        template = str(op.get("path") or "")
        if str(op.get("method", "")).upper() != method or not template:
            continue
        if not template_regex(template).match(path):
            continue
        r = _match(method, template_regex_sample(template), routes) or _operation_id_func(
            str(op.get("operation_id") or ""), routes
        )
        if r is not None:
            return {
                "uri": r.file,
                "line": r.line,
                "why": f"handler {r.func} of {method} {template} (OpenAPI operation)",
            }
    r = _match(method, path, routes)
    if r is None:
        return None
    return {"uri": r.file, "line": r.line, "why": f"handler {r.func} of {method} {r.path}"}


def template_regex_sample(template: str) -> str:
    """A concrete path for a template (parameters filled), to match it against code routes."""
    return re.sub(r"\{[^}]+\}", "x", template)


def _anchors(run: AuditRun, repo: Path, files: set[str]) -> dict[str, dict[str, str]]:
    root = str(repo.resolve())
    out: dict[str, dict[str, str]] = {}

    def rel(p: str) -> str | None:
        if not p:
            return None
        q = p[len(root) + 1 :] if p.startswith(root + "/") else p
        return q if q in files else None

    config = next((c for c in ("prodaudit.toml",) if c in files), None)
    if config is None and "pyproject.toml" in files:
        try:
            text = (repo / "pyproject.toml").read_text(encoding="utf-8", errors="replace")[:MAX_BYTES]
        except OSError:
            text = ""
        if "[tool.prodaudit" in text:
            config = "pyproject.toml"
    compose = [c for c in (rel(str(p)) for p in run.target.get("compose_files") or []) if c]
    compose += [c for c in COMPOSE_NAMES if c in files]
    env = rel(str(run.target.get("env_file") or ""))
    docs = [c for c in ("README.md", "README.rst", "README", ".env.example") if c in files]
    for key, cands in (
        ("config", [config, env, *compose, *docs]),
        ("deployment", [*compose, "Dockerfile" if "Dockerfile" in files else None, config, *docs]),
    ):
        pick = next((c for c in cands if c), None)
        if pick:
            why = (
                "the audit's configuration file"
                if pick == config
                else "the audited env file"
                if pick == env
                else "the compose file"
                if pick in compose
                else "the project's front page"
            )
            out[key] = {"uri": pick, "why": why}
    return out


def build_source_map(run: AuditRun, index: FileIndex | None = None) -> dict[str, Any]:
    """The map for this run: live locations -> handler file and line; anchors for the rest.
    ``index``: the run's own file index (else the repository is walked again)."""
    repo = Path(str(run.target.get("repo") or ""))
    if not str(run.target.get("repo") or "") or not repo.is_dir():
        return {}
    from prodaudit.files import FileIndex

    if index is None or index.root != repo:
        index = FileIndex.build(repo)
    files = set(index.files)
    live = sorted(
        {
            f.location
            for r in run.results
            if r.status in (Status.FAIL, Status.WARN)
            for f in r.findings
            if f.status in (Status.FAIL, Status.WARN) and _LIVE.match(f.location or "")
        }
    )
    locations: dict[str, Any] = {}
    if live:
        routes = scan_routes(repo, index.files)
        for loc in live:
            m = _LIVE.match(loc)
            assert m is not None
            hit = locate_live(m.group("method"), m.group("url"), routes, run)
            if hit is not None:
                locations[loc] = hit
    return {"locations": locations, "anchors": _anchors(run, repo, files)}


def with_source_map(run: AuditRun, index: FileIndex | None = None) -> AuditRun:
    """The run with ``extras.source_map`` (kept when the run already has one)."""
    from dataclasses import replace

    if isinstance(run.extras, Mapping) and KEY in run.extras:
        return run
    smap = build_source_map(run, index)
    if not smap:
        return run
    return replace(run, extras={**dict(run.extras), KEY: smap})
