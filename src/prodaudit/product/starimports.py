"""``from X import *`` between the application's modules: read once per module (a ``py_index``
extractor) and resolved to repository modules once per audit. Not a check module.

The settings model follows them for the environment readers a module gets from another
(``pysettings.readers_of``: ``from .base import *`` brings base's ``env``), the Django settings
model for split settings (``django_settings``: module-level ones only). A relative import is
resolved against the importing module's package; a dotted name names the module at that path
(``a/b.py``, else ``a/b/__init__.py``), else the first module in path order whose path ends with
it (a project under ``src/`` or ``backend/``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pyvalues import READER_IMPORTS

if TYPE_CHECKING:
    from prodaudit.context import Context

# a project template's placeholder names its directory: {{ project_name }}.settings
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")


@dataclass(frozen=True)
class StarImport:
    line: int
    dotted: str  # the module imported from (a relative import resolved)
    top: bool  # at module level (not under an ``if``/``try``/``def``)
    reader: bool  # from an environment reader's package (``pyvalues.READER_IMPORTS``)
    target: str | None  # the repository module it names; None outside the repository


@extractor("starimports:star")
def _module_star_imports(module: PyModule) -> tuple[tuple[int, str, bool, bool], ...]:
    """(line, dotted module, at module level, from a reader package) of each ``from X import *``."""
    found = [node for node in module.imports if isinstance(node, ast.ImportFrom)
             and any(a.name == "*" for a in node.names)]
    if not found:
        return ()
    top = {id(stmt) for stmt in module.tree.body}
    package = module.rel.split("/")[:-1]
    out = []
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
        if node.level:
            base = package[: len(package) - node.level + 1]
            dotted = ".".join([*base, *([node.module] if node.module else [])])
        elif node.module:
            dotted = node.module
        else:
            continue
        out.append((node.lineno, dotted, id(node) in top, node.module in READER_IMPORTS))
    return tuple(out)


class _Resolver:
    """Dotted name -> repository module path, each name resolved once."""

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        self.ordered = sorted(paths)
        self.done: dict[str, str | None] = {}

    def __call__(self, dotted: str) -> str | None:
        if dotted not in self.done:
            self.done[dotted] = self._find(dotted)
        return self.done[dotted]

    def _find(self, dotted: str) -> str | None:
        suffix = _PLACEHOLDER.sub(r"\1", dotted.strip()).replace(".", "/")
        for candidate in (suffix + ".py", suffix + "/__init__.py"):
            if candidate in self.paths:
                return candidate
            hit = next((p for p in self.ordered if p.endswith("/" + candidate)), None)
            if hit:
                return hit
        if "{{" in dotted or "____" in dotted:
            return self._templated(dotted.strip())
        return None

    def _templated(self, raw: str) -> str | None:
        """``raw`` (a dotted name with a template placeholder, dots inside it included, or the
        parser's rendering of it) matched against the template's folders segment by segment."""
        parts: list[str] = []
        pos = 0
        for m in _ANY_PLACEHOLDER.finditer(raw):
            parts += [p for p in raw[pos:m.start()].split(".") if p] + [m.group(0)]
            pos = m.end()
        parts += [p for p in raw[pos:].split(".") if p]
        want = [_template_key(p) for p in parts]
        for rel in self.ordered:
            segs = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
            for tail in (segs, segs[:-1] if segs[-1] == "__init__" else None):
                if tail and len(tail) >= len(want) and \
                        [_template_key(s) for s in tail[-len(want):]] == want:
                    return rel
        return None


def _template_key(segment: str) -> str:
    """A path segment of an unrendered template as its words: ``{{cookiecutter.project_slug}}``,
    ``{{ cookiecutter.project_slug }}`` and the parser's rendering of it
    (``cookiecutter_project_slug_____``, :func:`prodaudit.templating.render_placeholders`) agree."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", segment))


def _resolver(ctx: Context) -> _Resolver:
    return ctx.memo("product:module_resolver", lambda: _Resolver({m.rel for m in py_index(ctx)}))


def resolve(ctx: Context, dotted: str) -> str | None:
    """The repository module a dotted name (``config.settings.base``) names; None when none."""
    return _resolver(ctx)(dotted)


def star_imports(ctx: Context) -> dict[str, tuple[StarImport, ...]]:
    """Path -> the star imports of every application module, resolved (memoised)."""

    def build() -> dict[str, tuple[StarImport, ...]]:
        find = _resolver(ctx)
        return {m.rel: tuple(StarImport(line, dotted, top, reader, find(dotted))
                             for line, dotted, top, reader in m.fact("starimports:star"))
                for m in py_index(ctx)}

    return ctx.memo("product:star_imports", build)
