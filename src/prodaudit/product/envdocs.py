"""Environment variables documented in the repository's prose documentation (README, docs/):
variables assigned in a fenced code block (``NAME=value``, ``NAME: value``, ``export NAME=``) —
the env-file templates a README shows, also when the README lost its fence (two or more
consecutive ``NAME=value`` lines) — and variables named in a table cell
(``| `NAME` | what it does |``). A name merely mentioned in a sentence does not count: an
operator cannot configure a release from it. Not a check module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.context import Context

DOC_SUFFIXES = (".md", ".markdown", ".rst", ".adoc", ".mdx")
SKIP_PARTS = frozenset({"node_modules", "dist", "build", ".venv", "venv", "site-packages"})
MAX_DOC_BYTES = 1_000_000
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_ASSIGN_RE = re.compile(r"^\s*(?:export\s+|-\s+|set\s+)?['\"]?([A-Z][A-Z0-9_]{1,})['\"]?\s*[=:]")
_CELL_RE = re.compile(r"^`?\$?([A-Z][A-Z0-9_]{1,})`?(\s|\(|$)")
#: a line of an env block a README writes without a fence: ``NAME=value`` and nothing else
_BARE_RE = re.compile(r"^([A-Z][A-Z0-9_]{1,})=(\"[^\"]*\"|'[^']*'|\S*)\s*$", re.M)
#: what a fence, an indented code line or a table row needs somewhere in the text
_BLOCK_MARKS = ("```", "~~~", "    ", "\t", "|")


def documented_in_docs(ctx: Context) -> dict[str, list[tuple[str, int]]]:
    """Variable name → (doc path, line) where the documentation defines it (memoised)."""
    return ctx.memo("product:env_docs", lambda: _build(ctx))


def _build(ctx: Context) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for rel in ctx.files.files:
        if not rel.lower().endswith(DOC_SUFFIXES) or SKIP_PARTS & set(rel.split("/")[:-1]):
            continue
        text = ctx.files.read_text(rel, MAX_DOC_BYTES)
        if not text:
            continue
        for name, line in doc_variables(text):
            out.setdefault(name, []).append((rel, line))
    return out


def doc_variables(text: str) -> list[tuple[str, int]]:
    """(name, line) of every variable a document defines in code blocks or table cells, or in
    an env block written without a fence (two or more consecutive ``NAME=value`` lines)."""
    bare = _BARE_RE.search(text)
    if not bare and not any(mark in text for mark in _BLOCK_MARKS):
        return []  # prose only: no fence, no indented line, no table, no bare env block
    out: list[tuple[str, int]] = []
    run: list[tuple[str, int]] = []
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        m = None if fenced or not bare else _BARE_RE.match(line)
        if m:
            run.append((m.group(1), n))
            continue
        if len(run) >= 2:
            out += run
        run = []
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        if fenced or line.startswith(("    ", "\t")):  # fenced or indented code block
            m = _ASSIGN_RE.match(line)
            if m:
                out.append((m.group(1), n))
        elif line.lstrip().startswith("|"):
            for cell in line.strip().strip("|").split("|"):
                m = _CELL_RE.match(cell.strip())
                if m:
                    out.append((m.group(1), n))
    if len(run) >= 2:
        out += run
    return out
