"""Django settings modules and the settings production runs with. Not a check module.

A *root* settings module assigns ``INSTALLED_APPS``, ``ROOT_URLCONF``, ``MIDDLEWARE`` or
``WSGI_APPLICATION``; a module that star-imports one (``from .base import *``) is a settings
module too (split settings). Development and test modules (``dev.py``, ``local.py``,
``test.py`` ...) are left out. The production module is the one named for production
(``production.py``, ``settings_prod.py``), else a settings module no other one star-imports.
Its *effective* settings follow Python's order: a star import brings in the imported module's
settings (recursively, ``from config.settings.cors import *`` included), later assignments win.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodaudit.product.effective import deployment_sets
from prodaudit.product.envgraph import env_graph
from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pysettings import Setting, dev_path, settings_model

if TYPE_CHECKING:
    from prodaudit.context import Context

ROOT_KEYS = frozenset({"INSTALLED_APPS", "ROOT_URLCONF", "MIDDLEWARE", "WSGI_APPLICATION"})
PROD_TOKENS = frozenset({"prod", "production", "live", "deploy", "deployment"})
MAX_DEPTH = 8
#: modules a WSGI/ASGI server imports: their ``DJANGO_SETTINGS_MODULE`` fallback is what it runs
SERVER_MODULES = frozenset({"wsgi.py", "asgi.py"})
#: folders and module-name prefixes of settings modules (development ones: ``config/dev.py``)
SETTINGS_DIRS = frozenset({"settings", "config", "configs", "conf", "configuration"})
SETTINGS_STEMS = ("settings", "config", "conf")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")


@dataclass
class DjangoSettings:
    modules: list[str] = field(default_factory=list)  # every settings module (not dev/test)
    production: str | None = None  # the module production runs with
    effective: dict[str, Setting] = field(default_factory=dict)  # name -> the winning setting
    top: list[str] = field(default_factory=list)  # settings modules no other one star-imports


def _star_imports(rel: str, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, dotted target) of ``from X import *`` at module level, relative ones resolved."""
    out = []
    package = posixpath.dirname(rel).replace("/", ".")
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            if stmt.level:
                parts = package.split(".") if package else []
                base = parts[: len(parts) - stmt.level + 1] if stmt.level > 1 else parts
                target = ".".join([*base, *([stmt.module] if stmt.module else [])])
            else:
                target = stmt.module or ""
            out.append((stmt.lineno, target))
    return out


def _resolve(dotted: str, paths: set[str]) -> str | None:
    # a project template's placeholder names its directory: {{ project_name }}.settings
    raw = dotted.strip()
    dotted = _PLACEHOLDER.sub(r"\1", raw)
    suffix = dotted.replace(".", "/")
    for candidate in (suffix + ".py", suffix + "/__init__.py"):
        hit = next((p for p in sorted(paths) if p == candidate or p.endswith("/" + candidate)),
                   None)
        if hit:
            return hit
    if "{{" in raw or "____" in raw:
        return _resolve_templated(raw, paths)
    return None


def _template_key(segment: str) -> str:
    """A path segment of an unrendered template as its words: ``{{cookiecutter.project_slug}}``,
    ``{{ cookiecutter.project_slug }}`` and the parser's rendering of it
    (``cookiecutter_project_slug_____``, :func:`prodaudit.templating.render_placeholders`) agree."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", segment))


def _resolve_templated(raw: str, paths: set[str]) -> str | None:
    """``raw`` (a dotted name with a template placeholder, dots inside it included, or its
    rendering) matched against the template's folders segment by segment."""
    parts: list[str] = []
    pos = 0
    for m in _ANY_PLACEHOLDER.finditer(raw):
        parts += [p for p in raw[pos:m.start()].split(".") if p] + [m.group(0)]
        pos = m.end()
    parts += [p for p in raw[pos:].split(".") if p]
    want = [_template_key(p) for p in parts]
    for rel in sorted(paths):
        segs = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
        for tail in (segs, segs[:-1] if segs[-1] == "__init__" else None):
            if tail and len(tail) >= len(want) and \
                    [_template_key(s) for s in tail[-len(want):]] == want:
                return rel
    return None


def django_settings(ctx: Context) -> DjangoSettings:
    """The repository's Django settings (memoised); ``production`` is None without Django."""
    return ctx.memo("product:django_settings", lambda: _build(ctx))


@extractor("django:star_imports")
def _module_star_imports(module: PyModule) -> list[tuple[int, str]]:
    return _star_imports(module.rel, module.tree)


def _all_star_imports(ctx: Context) -> dict[str, list[tuple[int, str]]]:
    """Path -> :func:`_star_imports` of every application module."""
    return {m.rel: m.fact("django:star_imports") for m in py_index(ctx)}


def _build(ctx: Context) -> DjangoSettings:
    g = _graph(ctx)
    roots = {p for p, ss in g.by_path.items() if ROOT_KEYS & {s.name for s in ss}}
    modules = set(roots)
    for rel, imps in g.imports.items():
        if any(_resolve(t, g.paths) in roots for _, t in imps):
            modules.add(rel)
    modules = {m for m in modules if not dev_path(m)}
    out = DjangoSettings(sorted(modules))
    if not modules:
        return out
    imported = {_resolve(t, g.paths) for m in modules for _, t in g.imports.get(m, [])}
    named = [m for m in sorted(modules) if set(re.split(r"[^a-z0-9]+", m.rsplit("/", 1)[-1]
                                                        .lower())) & PROD_TOKENS]
    out.top = [m for m in sorted(modules) if m not in imported]
    out.production = (named or out.top or sorted(modules))[0]
    out.effective = g.effective(out.production)
    return out


def _effective(rel: str, by_path: dict[str, list[Setting]],
               imports: dict[str, list[tuple[int, str]]], paths: set[str],
               depth: int) -> dict[str, Setting]:
    if depth > MAX_DEPTH:
        return {}
    events: list[tuple[int, str, object]] = [(s.line, "set", s) for s in by_path.get(rel, [])
                                              if not s.guard]
    events += [(line, "import", target) for line, target in imports.get(rel, [])]
    out: dict[str, Setting] = {}
    for _, kind, item in sorted(events, key=lambda e: e[0]):
        if kind == "set":
            assert isinstance(item, Setting)
            out[item.name] = item
        else:
            target = _resolve(str(item), paths)
            if target is not None and target != rel:
                out.update(_effective(target, by_path, imports, paths, depth + 1))
    return out


@dataclass
class _Graph:
    """Module-level settings per settings module and the star imports between modules."""

    by_path: dict[str, list[Setting]]
    imports: dict[str, list[tuple[int, str]]]
    paths: set[str]
    _closures: dict[str, set[str]] = field(default_factory=dict)
    _effects: dict[str, dict[str, Setting]] = field(default_factory=dict)

    def closure(self, rel: str) -> set[str]:
        """``rel`` and every module it star-imports, transitively (once per module)."""
        if rel in self._closures:
            return self._closures[rel]
        seen: set[str] = set()
        pending = [rel]
        while pending:
            cur = pending.pop()
            if cur in seen:
                continue
            seen.add(cur)
            pending += [t for _, d in self.imports.get(cur, []) if (t := _resolve(d, self.paths))]
        return self._closures.setdefault(rel, seen)

    def effective(self, rel: str) -> dict[str, Setting]:
        """Name -> the setting that wins when ``rel`` runs (once per module)."""
        if rel not in self._effects:
            self._effects[rel] = _effective(rel, self.by_path, self.imports, self.paths, 0)
        return self._effects[rel]


def _graph(ctx: Context) -> _Graph:
    def build() -> _Graph:
        by_path: dict[str, list[Setting]] = {}
        for s in settings_model(ctx).settings:
            if s.scope == "module":
                by_path.setdefault(s.path, []).append(s)
        imports = _all_star_imports(ctx)
        return _Graph(by_path, imports, set(imports))

    return ctx.memo("product:django_settings_graph", build)


def run_modules(ctx: Context) -> tuple[set[str], set[str]]:
    """(the settings modules a production process can run, the modules the deployment names):
    the first are the settings modules no other one star-imports plus those the deployment
    names; the second are the repository modules ``DJANGO_SETTINGS_MODULE`` names anywhere in
    the deployment (env files, Compose, Dockerfile ``ENV``, infrastructure manifests, the
    fallback of ``os.environ.setdefault`` in wsgi/asgi/manage/celery modules), development
    ones included."""

    def build() -> tuple[set[str], set[str]]:
        dj = django_settings(ctx)
        g = _graph(ctx)
        values = [v.value for v in deployment_sets(ctx, "DJANGO_SETTINGS_MODULE")]
        var = env_graph(ctx).vars.get("DJANGO_SETTINGS_MODULE")
        values += [val for path, _, val in (var.set_in if var else []) if path.endswith(".py")]
        named = {t for v in values if v and (t := _resolve(v, g.paths))}
        return set(dj.top) | (named & set(dj.modules)), named

    return ctx.memo("product:django_run_modules", build)


def _settings_named(rel: str) -> bool:
    """In a settings folder, or a module named for settings."""
    parts = rel.lower().split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return bool(set(parts[:-1]) & SETTINGS_DIRS) or stem.startswith(SETTINGS_STEMS)


def development_modules(ctx: Context, candidates: set[str]) -> set[str]:
    """The modules of ``candidates`` named for development or tests (``settings/local.py``,
    ``test.py``, ``config/dev.py``: ``dev_path``) that no production process runs: the
    deployment does not name them (``DJANGO_SETTINGS_MODULE`` in the profile's env file, Compose,
    a Dockerfile ``ENV``, infrastructure, or the ``os.environ.setdefault`` fallback of a
    wsgi/asgi module: a server imports those; manage.py's fallback is a developer's) and no module
    it names or that runs (``run_modules``) star-imports them. A settings module is one in a
    settings folder (``settings/``, ``config/``, ``conf/``), named for settings
    (``settings_local.py``, ``config_dev.py``) or star-importing a Django settings module: a
    ``storage/local.py`` is production code."""
    g = _graph(ctx)
    roots = set(django_settings(ctx).modules)
    dev = {rel for rel in candidates if dev_path(rel) and (
        _settings_named(rel) or any(_resolve(t, g.paths) in roots for _, t in g.imports.get(rel, [])))}
    if not dev:
        return set()
    values = [v.value for v in deployment_sets(ctx, "DJANGO_SETTINGS_MODULE")]
    var = env_graph(ctx).vars.get("DJANGO_SETTINGS_MODULE")
    values += [val for path, _, val in (var.set_in if var else [])
               if path.rsplit("/", 1)[-1] in SERVER_MODULES]
    started = {t for v in values if v and (t := _resolve(v, g.paths))}
    runs = set(django_settings(ctx).top) | started
    ran = set().union(*(g.closure(r) for r in runs)) if runs else set()
    return dev - ran


def production_override(ctx: Context, setting: Setting) -> list[Setting]:
    """The assignments that replace a module-level ``setting`` of a Django settings module in
    every settings module production can run that star-imports it (``from .base import *``
    then ``DEBUG = False``): the value production runs with is theirs, not ``setting``'s.
    Empty when the setting is what runs: its module is run itself or named by the deployment
    (a development module included), one of the run modules keeps it, a replacement is in a
    development module or under an ``if``, or it is in no settings module."""
    dj = django_settings(ctx)
    if setting.scope != "module" or setting.path not in dj.modules:
        return []
    runs, named = run_modules(ctx)
    if setting.path in runs or setting.path in named:
        return []
    g = _graph(ctx)
    importers = [r for r in sorted(runs) if setting.path in g.closure(r)]
    out: list[Setting] = []
    for r in importers:
        winner = g.effective(r).get(setting.name)
        if winner is None or winner.path == setting.path or winner.dev or winner.guard:
            return []
        if all(o.loc != winner.loc for o in out):
            out.append(winner)
    return out


def unused_settings_modules(ctx: Context, settings_module: str | None) -> set[str]:
    """Django settings modules a process running ``settings_module`` (dotted) never imports:
    reads in them are not that process's requirements. Empty when it cannot be told."""
    dj = django_settings(ctx)
    if not settings_module or not dj.modules:
        return set()
    imports = _all_star_imports(ctx)
    paths = set(imports)
    start = _resolve(settings_module, paths)
    if start is None:
        return set()
    seen: set[str] = set()
    pending = [start]
    while pending:
        rel = pending.pop()
        if rel in seen or rel not in imports:
            continue
        seen.add(rel)
        pending += [t for _, d in imports[rel] if (t := _resolve(d, paths))]
    return set(dj.modules) - seen
