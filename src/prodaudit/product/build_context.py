"""What a Docker build copies from its context: the ``COPY``/``ADD`` sources of a Dockerfile
(whole context or named paths), the ``.dockerignore`` rules Docker applies (its own pattern
syntax: anchored at the context root, ``**``, ``!`` exceptions, last match wins) and which
sensitive or bulky items the context holds — env files (and the real ``.env`` an example file
stands for), the git history (the repository root of a checkout), ``node_modules`` (a
``package.json``). Not a check module."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.dockerfiles import Dockerfile, Instruction
from prodaudit.product.envfiles import env_file_kind, is_env_file

if TYPE_CHECKING:
    from prodaudit.context import Context

WHOLE = frozenset({".", "./", "*", "./*", "/", ""})
_FLAG_WITH_VALUE = re.compile(r"^--(chown|chmod|from|link|parents|exclude|checksum|keep-git-dir)")
_EXAMPLE_SUFFIX = re.compile(r"[._-](example|sample|template|dist|tmpl|default)$", re.I)


@dataclass(frozen=True)
class Copy:
    instruction: Instruction
    sources: tuple[str, ...]  # context-relative, as written (globs kept)

    @property
    def whole(self) -> bool:
        return any(s.strip().rstrip("/") in WHOLE or s.strip() in WHOLE for s in self.sources)


def copies(df: Dockerfile) -> list[Copy]:
    """Every ``COPY``/``ADD`` from the build context (not ``--from``, not a URL, not a heredoc)."""
    out = []
    for ins in df.instructions:
        if ins.name not in ("COPY", "ADD") or "--from" in ins.value or "<<" in ins.value:
            continue
        value = ins.value.strip()
        try:
            words = json.loads(value) if value.startswith("[") else shlex.split(value)
        except ValueError:
            words = value.split()
        words = [w for w in words if not _FLAG_WITH_VALUE.match(w)]
        srcs = tuple(w for w in words[:-1] if "://" not in w and not w.startswith("git@"))
        if srcs:
            out.append(Copy(ins, srcs))
    return out


def parse_dockerignore(text: str) -> list[tuple[bool, str]]:
    """(negated, pattern) per rule, in order."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = posixpath.normpath(line[1:].strip() if neg else line).lstrip("/")
        out.append((neg, "" if pat == "." else pat))
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
        i += 1
    return re.compile(out)


def ignored(rules: list[tuple[bool, str]], path: str) -> bool:
    """Docker excludes ``path`` (context-relative): the last rule matching it or one of its
    parent directories decides."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for neg, pat in rules:
        rx = _regex(pat)
        if any(rx.fullmatch(p) for p in prefixes):
            excluded = not neg
    return excluded


@dataclass(frozen=True)
class Item:
    """Something the build context holds (or will hold) that must not enter an image."""

    what: str  # ".env", ".git", "node_modules"
    path: str  # context-relative path Docker would copy
    why: str  # "src/.env.example stands for src/.env"


def sensitive_items(ctx: Context, context: str) -> list[Item]:
    """Env files (an example file stands for the real one next to it), the git history when
    the context is the repository root, ``node_modules`` next to every ``package.json``."""
    prefix = f"{context}/" if context else ""
    inside = [f[len(prefix):] for f in ctx.files.files if f.startswith(prefix)]
    out: list[Item] = []
    seen: set[str] = set()
    for rel in inside:
        if "node_modules" in rel.split("/"):
            continue
        name = rel.rsplit("/", 1)[-1]
        if is_env_file(rel):
            real = rel
            if env_file_kind(rel) == "example":
                stem = _EXAMPLE_SUFFIX.sub("", name)
                real = posixpath.join(posixpath.dirname(rel), stem if stem.startswith(".env")
                                      or stem.endswith(".env") else ".env")
            if real not in seen:
                seen.add(real)
                why = f"{prefix}{rel} stands for {prefix}{real}" if real != rel else f"{prefix}{rel}"
                out.append(Item(".env", real, why))
        elif name == "package.json":
            nm = posixpath.join(posixpath.dirname(rel), "node_modules")
            out.append(Item("node_modules", nm, f"{prefix}{rel} installs {prefix}{nm}"))
    for rel in _deployment_env_files(ctx):
        if (rel.startswith(prefix) or not prefix) and rel[len(prefix):] not in seen:
            seen.add(rel[len(prefix):])
            out.append(Item(".env", rel[len(prefix):], f"{rel}: an env file the Compose "
                            "deployment reads"))
    if not context or (ctx.repo / context / ".git").exists():
        out.append(Item(".git", ".git", "the repository root of a checkout holds .git"))
    return out


def _deployment_env_files(ctx: Context) -> list[str]:
    """Repo-relative env files Compose reads (``env_file:`` and the interpolation ``.env``),
    whether or not they exist yet: the deployer creates them."""
    from prodaudit.product.compose import compose_model, rel_path  # compose needs the context

    out: list[str] = []
    for p in compose_model(ctx).projects:
        base = p.paths[0].parent if p.paths else ctx.repo
        for svc in p.services.values():
            ef = svc.get("env_file")
            for e in ef if isinstance(ef, list) else [ef] if ef else []:
                path = e.get("path") if isinstance(e, dict) else e
                if isinstance(path, str) and "${" not in path:
                    out.append(posixpath.normpath(rel_path(ctx, base / path)))
    return [r for r in out if not r.startswith("/") and not r.startswith("..")]


def copied(item: Item, copy: Copy) -> bool:
    """``copy`` brings ``item`` into the image (a whole-context copy, or a named source that is
    the item or a directory above it)."""
    if copy.whole:
        return True
    for src in copy.sources:
        s = posixpath.normpath(src.strip().lstrip("./") or ".")
        if any(ch in s for ch in "*?["):
            rx = _regex(s)
            if rx.fullmatch(item.path) or any(rx.fullmatch(p) for p in _parents(item.path)):
                return True
        elif item.path == s or item.path.startswith(s.rstrip("/") + "/"):
            return True
    return False


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
