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

from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pysettings import Setting, dev_path, settings_model

if TYPE_CHECKING:
    from prodaudit.context import Context

ROOT_KEYS = frozenset({"INSTALLED_APPS", "ROOT_URLCONF", "MIDDLEWARE", "WSGI_APPLICATION"})
PROD_TOKENS = frozenset({"prod", "production", "live", "deploy", "deployment"})
MAX_DEPTH = 8


@dataclass
class DjangoSettings:
    modules: list[str] = field(default_factory=list)  # every settings module (not dev/test)
    production: str | None = None  # the module production runs with
    effective: dict[str, Setting] = field(default_factory=dict)  # name -> the winning setting


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
    suffix = dotted.replace(".", "/")
    for candidate in (suffix + ".py", suffix + "/__init__.py"):
        hit = next((p for p in sorted(paths) if p == candidate or p.endswith("/" + candidate)),
                   None)
        if hit:
            return hit
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
    by_path: dict[str, list[Setting]] = {}
    for s in settings_model(ctx).settings:
        if s.scope == "module":
            by_path.setdefault(s.path, []).append(s)
    imports = _all_star_imports(ctx)
    paths = set(imports)
    roots = {p for p, ss in by_path.items() if ROOT_KEYS & {s.name for s in ss}}
    modules = set(roots)
    for rel, imps in imports.items():
        if any(_resolve(t, paths) in roots for _, t in imps):
            modules.add(rel)
    modules = {m for m in modules if not dev_path(m)}
    out = DjangoSettings(sorted(modules))
    if not modules:
        return out
    imported = {_resolve(t, paths) for m in modules for _, t in imports.get(m, [])}
    named = [m for m in sorted(modules) if set(re.split(r"[^a-z0-9]+", m.rsplit("/", 1)[-1]
                                                        .lower())) & PROD_TOKENS]
    top = [m for m in sorted(modules) if m not in imported]
    out.production = (named or top or sorted(modules))[0]
    out.effective = _effective(out.production, by_path, imports, paths, 0)
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
