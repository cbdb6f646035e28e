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
from dataclasses import dataclass, field
from typing import Any

import yaml

from prodaudit.context import Context

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
OWN_MERGE_NOTE = "(merged by prodaudit's own Compose merge, not `docker compose config`)"
_UNION_LISTS = frozenset({
    "ports", "expose", "volumes", "dns", "dns_search", "tmpfs", "cap_add", "cap_drop",
    "security_opt", "external_links", "env_file", "devices", "secrets", "configs", "networks",
})  # fmt: skip
_MAPPING_LISTS = frozenset({"environment", "labels", "extra_hosts", "depends_on", "annotations"})
_REF_RE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}"
    r"|([A-Za-z_][A-Za-z0-9_]*))"
)


class Reset:
    """``!reset``: remove the value inherited from earlier files."""


class Override:
    """``!override VALUE``: replace instead of merge."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _Loader(yaml.SafeLoader):
    pass


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


@dataclass(frozen=True)
class VarRef:
    """One ``${NAME...}`` reference in a Compose value."""

    name: str
    op: str  # "", ":-", "-", ":?", "?", ":+", "+"
    arg: str

    @property
    def required(self) -> bool:
        return self.op in (":?", "?")

    @property
    def default(self) -> str | None:
        return self.arg if self.op in (":-", "-") else None


def var_refs(text: str) -> list[VarRef]:
    """Variable references in a Compose string (``$$`` escapes are ignored)."""
    text = text.replace("$$", "")
    out = []
    for m in _REF_RE.finditer(text):
        if m.group(4):
            out.append(VarRef(m.group(4), "", ""))
        else:
            out.append(VarRef(m.group(1), m.group(2) or "", m.group(3) or ""))
            out.extend(var_refs(m.group(3) or ""))
    return out


def interpolate(text: str, env: dict[str, str], missing: bool = False) -> str:
    """Compose interpolation with ``env``; unset variables without default become empty, or
    ``<NAME>`` with ``missing=True`` (a value that will be provided but is unknown here)."""

    def repl(m: re.Match[str]) -> str:
        if m.group(4):
            return env.get(m.group(4), f"<{m.group(4)}>" if missing else "")
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        val = env.get(name)
        if val is None and missing and op in ("", ":?", "?"):
            return f"<{name}>"
        if op == ":-":
            return val if val else interpolate(arg, env, missing)
        if op == "-":
            return val if val is not None else interpolate(arg, env, missing)
        if op == ":+":
            return interpolate(arg, env, missing) if val else ""
        if op == "+":
            return interpolate(arg, env, missing) if val is not None else ""
        return val or ""

    parts = text.split("$$")
    return "$".join(_REF_RE.sub(repl, p) for p in parts)


@dataclass
class ComposeFile:
    path: str  # repo-relative when inside the repo
    data: dict[str, Any] | None
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    error: tuple[int, str] | None = None


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


def _line_map(node: yaml.Node, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                path = (*prefix, key.value)
                out.setdefault(path, key.start_mark.line + 1)
                _line_map(value, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, i)
            out.setdefault(path, item.start_mark.line + 1)
            if (prefix and prefix[-1] in ("environment", "labels")
                    and isinstance(item, yaml.ScalarNode) and isinstance(item.value, str)):
                out.setdefault((*prefix, item.value.split("=", 1)[0]), item.start_mark.line + 1)
            _line_map(item, path, out)


def load_compose_text(path: str, text: str) -> ComposeFile:
    try:
        node = yaml.compose(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return ComposeFile(path, None, error=(line, f"invalid YAML: {problem}"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return ComposeFile(path, None, error=(1, "not a YAML mapping"))
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return ComposeFile(path, data, lines)


def _normalise(key: str, value: Any) -> Any:
    if key in _MAPPING_LISTS and isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if key == "depends_on":
                out[str(item)] = {"condition": "service_started"}
            elif isinstance(item, str):
                sep = ":" if key == "extra_hosts" and "=" not in item else "="
                k, _, v = item.partition(sep)
                out[k.strip()] = v if _ else None
        return out
    return value


def merge(base: Any, over: Any, key: str = "") -> Any:
    """Compose's merge of ``over`` onto ``base``."""
    if isinstance(over, Reset):
        return None
    if isinstance(over, Override):
        return over.value
    base = _normalise(key, base)
    over = _normalise(key, over)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if isinstance(v, Reset):
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v, str(k))
            else:
                out[k] = v.value if isinstance(v, Override) else _strip(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and key in _UNION_LISTS:
        return base + [v for v in over if v not in base]
    return _strip(over)


def _strip(value: Any) -> Any:
    """Remove tag markers from a value that is not merged with anything."""
    if isinstance(value, Override):
        return value.value
    if isinstance(value, Reset):
        return None
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


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


def service_env(svc: dict[str, Any]) -> dict[str, Any]:
    """A service's ``environment`` as a mapping."""
    env = _normalise("environment", svc.get("environment") or {})
    return env if isinstance(env, dict) else {}


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
