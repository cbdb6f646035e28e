"""Image builds: every Dockerfile with the build contexts it is built in, and the
``.dockerignore`` that applies to each build.

The Compose services that build a Dockerfile decide its context (``build.context``); a
Dockerfile no service builds is assumed to be built in its own directory or, with
``docker build -f path/Dockerfile .``, in the repository root (when only the root has an ignore
file, or when the files it copies by name exist at the root and not next to it). Docker's rule
for the ignore file: ``<Dockerfile>.dockerignore`` next to the Dockerfile wins, else
``.dockerignore`` at the root of the build context.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.compose import rel_path
from prodaudit.product.dockerfiles import Dockerfile, dockerfiles
from prodaudit.product.services import dockerfile_services

if TYPE_CHECKING:
    from prodaudit.context import Context


@dataclass(frozen=True)
class Build:
    """One way a Dockerfile is built."""

    dockerfile: str  # repo-relative
    context: str  # repo-relative ("" = the repository root); absolute when outside it
    services: tuple[str, ...]  # the Compose services that build it so ("" when none)
    dockerignore: str | None  # the ignore file Docker uses (repo-relative), None: none

    @property
    def by_compose(self) -> bool:
        return bool(self.services)


def _exists(ctx: Context, rel: str) -> bool:
    return rel in ctx.files.files or (ctx.repo / rel).is_file()


def dockerignore_for(ctx: Context, dockerfile: str, context: str) -> str | None:
    """The ignore file Docker applies when ``dockerfile`` is built in ``context``."""
    for cand in (f"{dockerfile}.dockerignore",
                 posixpath.join(context, ".dockerignore") if context else ".dockerignore"):
        if _exists(ctx, cand):
            return cand
    return None


def builds(ctx: Context, df: Dockerfile) -> list[Build]:
    """How ``df`` is built: in each Compose service's context, else in its own directory (or
    the repository root when only that has an ignore file)."""
    by_compose = dockerfile_services(ctx).get(posixpath.normpath(df.path), [])
    contexts: dict[str, list[str]] = {}
    for svc in by_compose:
        assert svc.build is not None
        rel = rel_path(ctx, svc.build.context)
        contexts.setdefault("" if rel == "." else rel, []).append(
            f"{svc.name} ({svc.project.name})" if len(ctx.compose().projects) > 1 else svc.name)
    if contexts:
        return [Build(df.path, c, tuple(names), dockerignore_for(ctx, df.path, c))
                for c, names in contexts.items()]
    own = posixpath.dirname(df.path)
    found = dockerignore_for(ctx, df.path, own)
    if found is None and own:
        found = dockerignore_for(ctx, df.path, "")
        if found is not None or _copies_from_root(ctx, df, own):
            return [Build(df.path, "", (), found)]
    return [Build(df.path, own, (), found)]


def _copies_from_root(ctx: Context, df: Dockerfile, own: str) -> bool:
    """The Dockerfile's named COPY sources exist relative to the repository root but not to its
    own directory: it is built with ``docker build -f <dir>/Dockerfile .``."""
    from prodaudit.product.build_context import WHOLE, copies  # parses COPY sources

    named = [s.strip("./") for c in copies(df) for s in c.sources
             if s not in WHOLE and not any(ch in s for ch in "*?[$")]
    if not named:
        return False
    at_root = sum(1 for s in named if _exists_path(ctx, s))
    at_own = sum(1 for s in named if _exists_path(ctx, f"{own}/{s}"))
    return at_root > at_own


def _exists_path(ctx: Context, rel: str) -> bool:
    rel = rel.rstrip("/")
    return _exists(ctx, rel) or any(f.startswith(rel + "/") for f in ctx.files.files)


def all_builds(ctx: Context) -> list[Build]:
    """Every build of every Dockerfile in the repository."""
    return [b for df in dockerfiles(ctx) for b in builds(ctx, df)]
