"""Server-side page templates of the readiness suite: entry pages and the ``{% extends %}``
chain of Django and Jinja2 templates, read as text (never rendered)."""

from __future__ import annotations

import posixpath
import re

from prodaudit.checks.api import Context

#: folders whose pages are generated reports or documentation, not the product's
NOT_APP_PAGES = frozenset({"node_modules", "coverage", "htmlcov", "site", "docs", "_build",
                           "reports", "playwright-report", "test-results"})
PAGE_NAMES = frozenset({"index.html", "index.htm", "index.jinja2", "index.jinja", "index.j2",
                         "index.html.j2", "index.html.jinja2", "index.njk"})
TEMPLATE_DIRS = frozenset({"templates", "jinja2", "layouts", "views"})
EXTENDS = re.compile(
    r"""\{%-?\s*extends\s+(?:(["'])(?P<name>[^"']+)\1|(?P<expr>[^%]+?))\s*-?%\}""")
VIEWPORT = re.compile(r"<meta[^>]+name=[\"']viewport[\"'][^>]*>", re.I)
MAXEXTENDS = 10


def find_template(ctx: Context, name: str, child: str) -> str | None:
    """The repository file a template engine would load for ``{% extends "name" %}``: a path
    relative to the child for ``./``/``../`` names (Django), else a file whose path ends with
    ``/name``, preferring one right under a templates directory (``templates/``, ``jinja2/``),
    then the one sharing the longest folder prefix with the child."""
    if name.startswith(("./", "../")):
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(child), name))
        return rel if rel in ctx.files.files else None
    name = name.lstrip("/")
    hits = [f for f in ctx.files.files if f == name or f.endswith("/" + name)]
    if not hits:
        return None
    child_dir = posixpath.dirname(child)

    def rank(f: str) -> tuple[bool, int, str]:
        prefix = f[: len(f) - len(name)].rstrip("/")
        in_templates = posixpath.basename(prefix) in TEMPLATE_DIRS
        common = len(posixpath.commonpath([prefix, child_dir])) if prefix and child_dir else 0
        return (not in_templates, -common, f)

    return min(hits, key=rank)


def page_head(ctx: Context, rel: str) -> tuple[str, str, list[str]] | str:
    """(file, text, extends chain) of the first template in ``rel``'s ``{% extends %}`` chain
    (the page itself first) that declares a viewport meta tag, or of the chain's root; a string
    says why the chain could not be followed."""
    chain: list[str] = []
    cur = rel
    while True:
        text = ctx.read(cur) or ""
        if VIEWPORT.search(text):
            return cur, text, chain
        m = EXTENDS.search(text)
        if not m:
            return cur, text, chain
        if m.group("name") is None:
            return f"extends a template chosen at run time ({m.group('expr').strip()})"
        parent = find_template(ctx, m.group("name"), cur)
        if parent is None:
            return f"extends '{m.group('name')}', not found among the repository's templates"
        if parent == rel or parent in chain or len(chain) >= MAXEXTENDS:
            return f"extends chain loops or is deeper than {MAXEXTENDS}: {' -> '.join(chain)}"
        chain.append(parent)
        cur = parent


def index_pages(ctx: Context) -> list[str]:
    """The repository's entry pages: ``index.html`` and server-side ``index`` templates outside
    report and documentation folders."""
    return [rel for rel in ctx.files.files
            if rel.rsplit("/", 1)[-1] in PAGE_NAMES and not NOT_APP_PAGES & set(rel.split("/")[:-1])]
