"""Is a Compose project the production stack, or a development-only one?

A project is *development-only* when the repository says so about that project itself:

- its directory is a dev container (``.devcontainer/``) or its main file's name says
  development (``docker-compose.dev.yml``, ``compose.local.yaml`` chosen by ``COMPOSE_FILE``);
- or a documentation file (README, ``docs/``) has a sentence that names the compose file and
  calls it local development, development only or not for production ("this repo includes a
  ``docker-compose.yaml`` for local development").

A sentence about the workflow that does not name the file ("dockerized for local development
with docker compose") is not enough: the file may still be the only stack the project ships.
``--compose-file`` projects are what the user asked to audit and are never development-only.
Checks about production operations (restart policies, limits, healthchecks, bind-mounted
source, dev servers) skip such projects; the others label their findings.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.context import Context
    from prodaudit.product.compose import ComposeProject

_DEV_DIRS = frozenset({".devcontainer", "devcontainer", ".dev"})
_DEV_NAME = re.compile(r"(^|[._-])(dev|devel|development|local|debug)([._-]|$)", re.I)
_DEV_PHRASE = re.compile(
    r"(for\s+(?:local\s+)?(?:development|dev\b)|local(?:ly)?\s+(?:development|dev\b)|"
    r"development[\s-]+(?:only|purposes|environment|setup)|only\s+for\s+(?:local\s+)?"
    r"development|not\s+(?:meant|intended|suitable|designed|for\s+use)\s+(?:for\s+)?"
    r"(?:in\s+)?production|dev(?:elopment)?\s+use\s+only)", re.I)
_DOC_NAME = re.compile(r"(^|/)(readme[^/]*|[^/]*\.md|[^/]*\.rst)$", re.I)
MAX_DOCS = 60
MAX_DOC_BYTES = 400_000


def _sentences(text: str) -> list[tuple[int, str]]:
    """(first line, sentence) of a document: paragraphs joined, split at sentence ends."""
    out: list[tuple[int, str]] = []
    para: list[str] = []
    start = 1
    for i, line in enumerate([*text.splitlines(), ""], 1):
        if line.strip():
            if not para:
                start = i
            para.append(line.strip())
            continue
        if para:
            joined = " ".join(para)
            offset = 0
            for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z`*\[])", joined):
                out.append((start + min(offset, len(para) - 1), sent))
                offset += 1 if len(sent) > 80 else 0
            para = []
    return out


def _doc_files(ctx: Context) -> list[str]:
    docs = [f for f in ctx.files.files if _DOC_NAME.search(f)
            and "node_modules" not in f.split("/")]
    return sorted(docs, key=lambda f: (f.count("/"), f))[:MAX_DOCS]


def development_only(ctx: Context, p: ComposeProject) -> str | None:
    """Why ``p`` is a development-only stack (``path:line`` and what it says), or None."""
    if p.explicit or not p.main_files:
        return None
    parts = set(p.directory.split("/")) if p.directory else set()
    if parts & _DEV_DIRS:
        return f"{p.directory}/ is a development container definition"
    names = [posixpath.basename(f.path) for f in p.main_files]
    if all(_DEV_NAME.search(n.rsplit(".", 1)[0].replace("compose", "")) for n in names):
        return f"{', '.join(names)}: the file name says development"
    base = names[0]
    for rel in _doc_files(ctx):
        text = ctx.read(rel) or ""
        if base not in text or len(text) > MAX_DOC_BYTES:
            continue
        for line, sent in _sentences(text):
            if base in sent and _DEV_PHRASE.search(sent):
                return f"{rel}:{line} calls {base} {_DEV_PHRASE.search(sent).group(0)!r}"  # type: ignore[union-attr]
    return None
