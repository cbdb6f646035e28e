"""Compose files as Compose runs them: discovery, YAML with line numbers, the base + override
merge, and ``${VAR}`` interpolation.

Not a check module. The merge is our own (no Docker engine needed): mappings merge key by key,
``environment``/``labels``/``depends_on`` are normalised to mappings first, a known set of lists
(ports, volumes, ...) are concatenated, every other value is replaced; the Compose 2.24 tags
``!reset`` and ``!override`` are honoured. Findings built on it say so (``OWN_MERGE_NOTE``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from prodaudit.context import Context
from prodaudit.product.compose_yaml import ComposeFile, load_compose_text, merge
from prodaudit.product.interpolation import VarRef, var_refs

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
OWN_MERGE_NOTE = "(merged by prodaudit's own Compose merge, not `docker compose config`)"




@dataclass
class ComposeProject:
    """One project: its files in merge order and the merged model."""

    files: list[ComposeFile]
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return " + ".join(f.path for f in self.files)

    @property
    def merged(self) -> bool:
        return len([f for f in self.files if f.data is not None]) > 1

    @property
    def note(self) -> str:
        return f" {OWN_MERGE_NOTE}" if self.merged else ""

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        svcs = self.data.get("services") or {}
        if not isinstance(svcs, dict):
            return {}
        return {k: v for k, v in svcs.items() if isinstance(v, dict)}

    def loc(self, *path: Any) -> str:
        """``file:line`` of ``path`` in the last file that sets it; when no file has the full
        path, the nearest parent in the first (base) file that has it."""
        for n in range(len(path), 0, -1):
            order = reversed(self.files) if n == len(path) else iter(self.files)
            for f in order:
                line = f.lines.get(tuple(path[:n]))
                if line:
                    return f"{f.path}:{line}"
        return self.files[0].path if self.files else ""


def _rel(ctx: Context, path: str) -> str:
    try:
        return os.path.relpath(path, ctx.repo) if os.path.isabs(path) else path
    except ValueError:
        return path


def _read(ctx: Context, rel_or_abs: str) -> str | None:
    p = rel_or_abs if os.path.isabs(rel_or_abs) else str(ctx.repo / rel_or_abs)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(ctx.cfg.secrets.max_file_bytes + 1)
    except OSError:
        return None
    return raw.decode("utf-8", errors="replace")


def compose_projects(ctx: Context) -> list[ComposeProject]:
    """The Compose projects to audit: ``--compose-file`` files merged in order, else every
    directory's base file with its override."""

    def build() -> list[ComposeProject]:
        groups: list[list[str]] = []
        if ctx.cfg.compose_files:
            groups.append([str(p) for p in ctx.cfg.compose_files])
        else:
            by_dir: dict[str, set[str]] = {}
            for rel in ctx.files.files:
                d, _, name = rel.rpartition("/")
                by_dir.setdefault(d, set()).add(name)
            for d in sorted(by_dir):
                names = by_dir[d]
                base = next((n for n in BASE_NAMES if n in names), None)
                if base is None:
                    continue
                over = next((n for n in OVERRIDE_NAMES[base] if n in names), None)
                prefix = f"{d}/" if d else ""
                groups.append([prefix + base] + ([prefix + over] if over else []))
        projects = []
        for group in groups:
            files = []
            for p in group:
                text = _read(ctx, p)
                rel = _rel(ctx, p)
                if text is None:
                    files.append(ComposeFile(rel, None, error=(0, "unreadable")))
                    continue
                files.append(load_compose_text(rel, text))
            data: dict[str, Any] = {}
            for f in files:
                if f.data is not None:
                    data = merge(data, f.data) or {}
            projects.append(ComposeProject(files, data))
        return projects

    return ctx.memo("cfg:compose", build)


_VARIANT_RE = re.compile(r"^(docker-)?compose[.-][\w.-]*\.ya?ml$")


def variant_files(ctx: Context) -> list[ComposeFile]:
    """Compose files that no project merges (``docker-compose.prod.yml``, ``compose.dev.yaml``):
    parsed for the variable graph only."""

    def build() -> list[ComposeFile]:
        merged = {f.path for p in compose_projects(ctx) for f in p.files}
        out = []
        for rel in ctx.files.files:
            name = rel.rsplit("/", 1)[-1]
            if rel in merged or not _VARIANT_RE.match(name) or "override" in name:
                continue
            text = ctx.read(rel)
            if text is not None:
                out.append(load_compose_text(rel, text))
        return out

    return ctx.memo("cfg:compose_variants", build)


def project_refs(project: ComposeProject) -> list[tuple[VarRef, tuple[Any, ...]]]:
    """Every ``${VAR}`` reference in the merged project with the path where it occurs."""
    out: list[tuple[VarRef, tuple[Any, ...]]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, str):
            out.extend((r, path) for r in var_refs(value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))

    walk(project.data, ())
    return out
