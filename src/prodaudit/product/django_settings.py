"""Django settings modules and the settings production runs with. Not a check module.

A *root* settings module assigns ``INSTALLED_APPS``, ``ROOT_URLCONF``, ``MIDDLEWARE`` or
``WSGI_APPLICATION``; a module that star-imports one (``from .base import *``) is a settings
module too (split settings). Development and test modules (``dev.py``, ``local.py``,
``test.py`` ...) are left out. The production module is the one named for production
(``production.py``, ``settings_prod.py``), else a settings module no other one star-imports.
Its *effective* settings follow Python's order: a star import brings in the imported module's
settings (recursively, ``from config.settings.cors import *`` included), later assignments win.
The entries of a settings dictionary production runs with (``effective_dict``: ``REST_FRAMEWORK``)
follow the same order: an assignment of the dictionary starts it again with the literal's own
entries, and later updates at module level (``REST_FRAMEWORK["KEY"] = v``,
``REST_FRAMEWORK.update({...})`` / ``update(KEY=v)``, ``REST_FRAMEWORK |= {...}``) replace keys,
in whichever module of the chain they are.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodaudit.product.effective import deployment_sets
from prodaudit.product.envgraph import env_graph
from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pysettings import Setting, dev_path, settings_model
from prodaudit.product.pyvalues import evaluate
from prodaudit.product.starimports import resolve, star_imports

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


@dataclass
class DjangoSettings:
    modules: list[str] = field(default_factory=list)  # every settings module (not dev/test)
    production: str | None = None  # the module production runs with
    effective: dict[str, Setting] = field(default_factory=dict)  # name -> the winning setting
    top: list[str] = field(default_factory=list)  # settings modules no other one star-imports


def django_settings(ctx: Context) -> DjangoSettings:
    """The repository's Django settings (memoised); ``production`` is None without Django."""
    return ctx.memo("product:django_settings", lambda: _build(ctx))


@extractor("django:dict_updates")
def _module_dict_updates(module: PyModule) -> tuple[tuple[str, Setting], ...]:
    """(dictionary name, the entry as a setting of scope ``dict NAME``) of every module-level
    update of a dictionary by key (``NAME["KEY"] = v``, ``NAME.update(...)``, ``NAME |= {...}``;
    inside ``try``/``with`` too, not under an ``if``)."""
    if not ("update" in module.text or "[" in module.text or "|=" in module.text):
        return ()
    out: list[tuple[str, Setting]] = []
    # no nested functions: a closure cycle made during the pass would keep the tree alive
    pending = list(module.tree.body)
    while pending:
        stmt = pending.pop(0)
        if isinstance(stmt, ast.Try):
            pending[:0] = stmt.body + stmt.orelse + stmt.finalbody
        elif isinstance(stmt, ast.With):
            pending[:0] = stmt.body
        else:
            out += [(owner, _dict_entry(module.rel, owner, key, value))
                    for owner, key, value in _updates_by_key(stmt) if key.isidentifier()]
    return tuple(out)


def _owner(node: ast.expr) -> str | None:
    """The dictionary ``node`` names: ``NAME``, or ``NAME.KEY`` for the entry ``NAME["KEY"]``
    (a nested dictionary: ``DATABASES["default"]``); None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return f"{node.value.id}.{node.slice.value}"
    return None


def _updates_by_key(stmt: ast.stmt) -> list[tuple[str, str, ast.expr]]:
    """(dictionary, key, value) of what one statement sets in a dictionary by key; a nested
    dictionary's owner is ``NAME.KEY`` (``DATABASES["default"]["CONN_MAX_AGE"] = 60``)."""
    pairs: list[tuple[str | None, ast.expr | None, ast.expr]] = []
    if isinstance(stmt, ast.Assign):
        pairs = [(_owner(t.value), t.slice, stmt.value) for t in stmt.targets
                 if isinstance(t, ast.Subscript)]
    elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.BitOr) \
            and isinstance(stmt.value, ast.Dict):
        pairs = [(_owner(stmt.target), k, v) for k, v in zip(stmt.value.keys, stmt.value.values,
                                                              strict=False)]
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "update":
        owner = _owner(stmt.value.func.value)
        pairs = [(owner, k, v) for arg in stmt.value.args if isinstance(arg, ast.Dict)
                 for k, v in zip(arg.keys, arg.values, strict=False)]
        pairs += [(owner, ast.Constant(kw.arg), kw.value) for kw in stmt.value.keywords if kw.arg]
    return [(owner, k.value, v) for owner, k, v in pairs
            if owner is not None and isinstance(k, ast.Constant) and isinstance(k.value, str)]


def _dict_entry(rel: str, owner: str, key: str, value: ast.expr) -> Setting:
    return Setting(key, rel, value.lineno, evaluate(value, {}, set()), scope=f"dict {owner}",
                   expr=ast.unparse(value)[:200], dev=dev_path(rel),
                   literal=isinstance(value, ast.Constant))


def _build(ctx: Context) -> DjangoSettings:
    g = _graph(ctx)
    roots = {p for p, ss in g.by_path.items() if ROOT_KEYS & {s.name for s in ss}}
    modules = set(roots)
    for rel, imps in g.imports.items():
        if any(t in roots for _, t in imps):
            modules.add(rel)
    modules = {m for m in modules if not dev_path(m)}
    out = DjangoSettings(sorted(modules))
    if not modules:
        return out
    imported = {t for m in modules for _, t in g.imports.get(m, [])}
    named = [m for m in sorted(modules) if set(re.split(r"[^a-z0-9]+", m.rsplit("/", 1)[-1]
                                                        .lower())) & PROD_TOKENS]
    out.top = [m for m in sorted(modules) if m not in imported]
    out.production = (named or out.top or sorted(modules))[0]
    out.effective = g.effective(out.production)
    return out


def _effective(rel: str, by_path: dict[str, list[Setting]],
               imports: dict[str, list[tuple[int, str | None]]], depth: int) -> dict[str, Setting]:
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
        elif item is not None and item != rel:
            out.update(_effective(str(item), by_path, imports, depth + 1))
    return out


@dataclass
class _Graph:
    """Module-level settings per settings module and the star imports between modules."""

    by_path: dict[str, list[Setting]]
    imports: dict[str, list[tuple[int, str | None]]]  # (line, the module) of module-level ones
    updates: dict[str, tuple[tuple[str, Setting], ...]]  # path -> its dictionary updates by key
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
            pending += [t for _, t in self.imports.get(cur, []) if t]
        return self._closures.setdefault(rel, seen)

    def effective(self, rel: str) -> dict[str, Setting]:
        """Name -> the setting that wins when ``rel`` runs (once per module)."""
        if rel not in self._effects:
            self._effects[rel] = _effective(rel, self.by_path, self.imports, 0)
        return self._effects[rel]


def _module_level(ctx: Context) -> dict[str, list[tuple[int, str | None]]]:
    """Path -> (line, the module it names) of each module-level star import, every module."""
    return {rel: [(i.line, i.target) for i in imps if i.top]
            for rel, imps in star_imports(ctx).items()}


def _graph(ctx: Context) -> _Graph:
    def build() -> _Graph:
        by_path: dict[str, list[Setting]] = {}
        for s in settings_model(ctx).settings:
            if s.scope == "module":
                by_path.setdefault(s.path, []).append(s)
        updates = {m.rel: u for m in py_index(ctx) if (u := m.fact("django:dict_updates"))}
        return _Graph(by_path, _module_level(ctx), updates)

    return ctx.memo("product:django_settings_graph", build)


def dict_entries(ctx: Context, rf: Setting) -> dict[str, Setting]:
    """The keys of the dictionary literal a module-level setting ``rf`` assigns
    (``REST_FRAMEWORK = {...}``; a nested dictionary's key by its first entry): its own entries
    only, a later assignment of the same name in that module starts another dictionary."""
    model = settings_model(ctx).settings
    later = [s.line for s in model if s.path == rf.path and s.name == rf.name
             and s.scope == "module" and s.line > rf.line]
    end = min(later, default=10**9)
    own = f"dict {rf.name}"
    out: dict[str, Setting] = {}
    for s in model:
        if s.path == rf.path and rf.line <= s.line < end and s.scope.split(".")[0] == own:
            key = s.name if s.scope == own else s.scope.split(".")[1]
            out.setdefault(key, s)
    return out


def effective_dict(ctx: Context, name: str) -> dict[str, Setting]:
    """Key -> the entry of the settings dictionary ``name`` production runs with (its last
    assignment's literal, then the updates by key that follow it in Python's order through the
    star imports); empty without Django or when production never assigns it (memoised)."""

    def build() -> dict[str, Setting]:
        dj = django_settings(ctx)
        out: dict[str, Setting] = {}
        if dj.production is not None:
            _dict_walk(ctx, _graph(ctx), dj.production, name, out, 0)
        return out if dj.production is not None and name in dj.effective else {}

    return ctx.memo(f"product:django_dict:{name}", build)


def nested_updates(ctx: Context, name: str, key: str) -> dict[str, Setting]:
    """Key -> the update by key of the dictionary ``name[key]`` production runs with, made after
    the last assignment of ``name`` (``DATABASES["default"]["CONN_MAX_AGE"] = 60``,
    ``DATABASES["default"].update(CONN_MAX_AGE=60)``); empty without Django (memoised)."""

    def build() -> dict[str, Setting]:
        dj = django_settings(ctx)
        out: dict[str, Setting] = {}
        if dj.production is not None:
            _dict_walk(ctx, _graph(ctx), dj.production, name, out, 0, f"{name}.{key}")
        return out

    return ctx.memo(f"product:django_nested:{name}.{key}", build)


def _dict_walk(ctx: Context, g: _Graph, rel: str, name: str, out: dict[str, Setting],
               depth: int, owner: str = "") -> None:
    """The entries of ``name`` (or of the updates of ``owner``, a dictionary inside it) in
    Python's order from ``rel`` on: an assignment of ``name`` starts over."""
    if depth > MAX_DEPTH:
        return
    owner = owner or name
    events: list[tuple[int, int, object]] = [
        (s.line, 0, s) for s in g.by_path.get(rel, []) if s.name == name and not s.guard]
    events += [(e.line, 1, e) for who, e in g.updates.get(rel, ()) if who == owner]
    events += [(line, 2, target) for line, target in g.imports.get(rel, [])]
    for _, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            assert isinstance(item, Setting)
            out.clear()
            if owner == name:
                out.update(dict_entries(ctx, item))
        elif kind == 1:
            assert isinstance(item, Setting)
            out[item.name] = item
        elif item is not None and item != rel:
            _dict_walk(ctx, g, str(item), name, out, depth + 1, owner)


def run_modules(ctx: Context) -> tuple[set[str], set[str]]:
    """(the settings modules a production process can run, the modules the deployment names):
    the first are the settings modules no other one star-imports plus those the deployment
    names; the second are the repository modules ``DJANGO_SETTINGS_MODULE`` names anywhere in
    the deployment (env files, Compose, Dockerfile ``ENV``, infrastructure manifests, the
    fallback of ``os.environ.setdefault`` in wsgi/asgi/manage/celery modules), development
    ones included."""

    def build() -> tuple[set[str], set[str]]:
        dj = django_settings(ctx)
        values = [v.value for v in deployment_sets(ctx, "DJANGO_SETTINGS_MODULE")]
        var = env_graph(ctx).vars.get("DJANGO_SETTINGS_MODULE")
        values += [val for path, _, val in (var.set_in if var else []) if path.endswith(".py")]
        named = {t for v in values if v and (t := resolve(ctx, v))}
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
        _settings_named(rel) or any(t in roots for _, t in g.imports.get(rel, [])))}
    if not dev:
        return set()
    values = [v.value for v in deployment_sets(ctx, "DJANGO_SETTINGS_MODULE")]
    var = env_graph(ctx).vars.get("DJANGO_SETTINGS_MODULE")
    values += [val for path, _, val in (var.set_in if var else [])
               if path.rsplit("/", 1)[-1] in SERVER_MODULES]
    started = {t for v in values if v and (t := resolve(ctx, v))}
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
    start = resolve(ctx, settings_module)
    if start is None:
        return set()
    return set(dj.modules) - _graph(ctx).closure(start)
