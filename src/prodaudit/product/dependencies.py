"""Dependency manifests and locks of the audited repository: requirements files (pins with
``path:line``), ``pyproject.toml`` dependencies (PEP 621, Poetry, PDM; dependency groups and
optional dependencies are not production dependencies), Python lock files (uv, Poetry, PDM,
pylock, Pipfile.lock; every locked version with the line of its entry), workspace roots (a uv
or Poetry workspace member is locked by the root's lock) and the exact versions the repository
deploys. Development-only requirement files (``requirements-dev.txt``, ``requirements/test.txt``)
are told apart from production ones."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from prodaudit.context import Context
from prodaudit.errors import InputError
from prodaudit.loaders import load_json, load_toml

PY_LOCKS = ("uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock", "pylock.toml")
NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
             "bun.lockb", "bun.lock")
_REQ_NAME_RE = re.compile(r"^requirements[^/]*\.txt$|^[^/]*requirements\.txt$")
#: a requirements file for development, tests, linting or docs — not what production installs
_DEV_WORD = re.compile(r"(^|[-_.])(dev|devel|develop|development|test|tests|testing|lint|linting|"
                       r"docs?|ci|local|typing|mypy|tools?|qa|check|style|format|bench)([-_.]|$)",
                       re.I)
_LOCK_NAME_RE = re.compile(r'^name\s*=\s*"([^"]+)"', re.M)


@dataclass
class Pin:
    name: str
    version: str
    location: str


@dataclass
class ReqFile:
    path: str
    pins: list[Pin] = field(default_factory=list)
    unpinned: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    hashed: bool = False


def is_dev_requirements(rel: str) -> bool:
    """``requirements-dev.txt``, ``dev-requirements.txt``, ``requirements/test.txt``,
    ``requirements/local.txt`` …: development tools, not production dependencies."""
    name = rel.rsplit("/", 1)[-1]
    stem = name[: -len(".txt")] if name.endswith(".txt") else name
    parts = rel.split("/")
    in_req_dir = len(parts) > 1 and parts[-2] == "requirements"
    words = stem if in_req_dir else re.sub(r"requirements", "", stem, flags=re.I)
    return bool(_DEV_WORD.search(words)) or any(p.lower() in ("tests", "test", "docs")
                                                for p in parts[:-1])


def is_requirements_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    if _REQ_NAME_RE.match(name):
        return True
    if not name.endswith(".txt"):
        return False
    parts = rel.split("/")
    return len(parts) > 1 and parts[-2] == "requirements"


def parse_requirements(path: str, text: str) -> ReqFile:
    rf = ReqFile(path)
    logical: list[tuple[int, str]] = []
    buf, start = "", 0
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not buf:
            start = i
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            logical.append((start, buf.strip()))
        buf = ""
    for line_no, line in logical:
        if "--hash" in line:
            rf.hashed = True
        if line.startswith(("-r", "-c", "--requirement", "--constraint", "--index-url", "-i",
                            "--extra-index-url", "--find-links", "-f", "--no-index",
                            "--trusted-host", "--prefer-binary", "--only-binary", "--pre")):
            continue
        if line.startswith(("-e", "--editable")):
            rf.unpinned.append((line_no, line))
            continue
        spec = re.split(r"\s+--hash", line)[0].strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            rf.problems.append((line_no, f"invalid requirement {spec[:60]!r}: {str(exc)[:80]}"))
            continue
        pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if pins:
            rf.pins.append(Pin(canonicalize_name(req.name), pins[0].version, f"{path}:{line_no}"))
        elif req.url and re.search(r"@[0-9a-f]{40}|#sha256=", req.url):
            continue
        else:
            rf.unpinned.append((line_no, spec))
    return rf


def requirement_files(ctx: Context) -> list[ReqFile]:
    def build() -> list[ReqFile]:
        out = []
        for rel in ctx.files.files:
            if is_requirements_file(rel):
                text = ctx.read(rel)
                if text is None:
                    out.append(ReqFile(rel, problems=[(0, "unreadable or over the size cap")]))
                else:
                    out.append(parse_requirements(rel, text))
        return out

    return ctx.memo("cfg:requirements", build)


def read_toml(ctx: Context, rel: str) -> tuple[dict[str, Any] | None, str | None]:
    text = ctx.read(rel)
    if text is None:
        return None, "unreadable or over the size cap"
    try:
        return load_toml(text, rel), None
    except InputError as exc:
        return None, exc.reason


def pyproject_dependencies(data: dict[str, Any]) -> list[str]:
    deps = list(data.get("project", {}).get("dependencies", []) or [])
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {}) or {}
    for name, spec in poetry.items():
        if name.lower() != "python":
            deps.append(f"{name}{_poetry_spec(spec)}")
    return [d for d in deps if isinstance(d, str)]


@dataclass(frozen=True)
class Declared:
    """A dependency a manifest declares for production, at its line."""

    name: str  # canonical
    spec: str  # as written
    location: str  # path:line


def _line_of(lines: list[str], needle: str, start: int = 0) -> int:
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i + 1
    return 0


def production_dependencies(ctx: Context, rel: str) -> list[Declared]:
    """The dependencies ``rel`` (a pyproject.toml) installs in production — PEP 621
    ``dependencies`` and Poetry's main group, not dependency groups, dev groups or extras —
    each with the line that declares it."""
    data, _ = read_toml(ctx, rel)
    text = ctx.read(rel) or ""
    if data is None:
        return []
    lines = text.splitlines()
    out: list[Declared] = []
    start = _line_of(lines, "dependencies") - 1
    for dep in data.get("project", {}).get("dependencies", []) or []:
        if not isinstance(dep, str):
            continue
        try:
            name = canonicalize_name(Requirement(dep).name)
        except InvalidRequirement:
            continue
        line = _line_of(lines, f'"{dep}"', max(start, 0)) or _line_of(lines, f"'{dep}'")
        out.append(Declared(name, dep, f"{rel}:{line}" if line else rel))
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {}) or {}
    head = _line_of(lines, "[tool.poetry.dependencies]")
    for name, spec in poetry.items():
        if name.lower() == "python":
            continue
        line = 0
        for i in range(head, len(lines)):
            if re.match(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=", lines[i]):
                line = i + 1
                break
        out.append(Declared(canonicalize_name(name), f"{name}{_poetry_spec(spec)}",
                            f"{rel}:{line}" if line else rel))
    return out


def _poetry_spec(spec: Any) -> str:
    v = spec.get("version", "") if isinstance(spec, dict) else str(spec)
    v = v.strip()
    if not v or v == "*":
        return ""
    if v[0].isdigit():
        return f"=={v}"
    if v.startswith("^") or v.startswith("~"):
        return f">={v[1:].lstrip('=')}"
    return v


def _toml_entry_lines(text: str) -> dict[tuple[str, str], int]:
    """(canonical name, version) → line of the ``name = …`` key of each ``[[package]]``
    (``[[packages]]`` in pylock.toml) entry of a TOML lock."""
    out: dict[tuple[str, str], int] = {}
    name, line = "", 0
    for i, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if s in ("[[package]]", "[[packages]]"):
            name, line = "", 0
        elif s.startswith("name") and not name and (m := _LOCK_NAME_RE.match(s)):
            name, line = canonicalize_name(m.group(1)), i
        elif s.startswith("version") and name and line and "=" in s:
            out.setdefault((name, s.split("=", 1)[1].strip().strip('"')), line)
            line = 0
    return out


def _json_entry_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, canonical name) → line of each package's key in a Pipfile.lock (sections
    ``default`` and ``develop``; ``_meta`` and its keys are not packages)."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    for i, raw in enumerate(text.splitlines(), 1):
        m = re.match(r'^\s*"([^"]+)"\s*:\s*\{\s*(\}\s*,?\s*)?$', raw)
        if not m:
            continue
        if m.group(1) in ("default", "develop", "_meta"):
            section = m.group(1)
        elif section in ("default", "develop"):
            out.setdefault((section, canonicalize_name(m.group(1))), i)
    return out


@dataclass
class Lock:
    """A lock file: every locked version (with the line of its entry) and which of them
    production installs (None when the lock does not say)."""

    path: str
    pins: list[Pin] = field(default_factory=list)
    production: set[str] | None = None  # canonical names installed without dev groups/extras
    error: str | None = None

    @property
    def versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.pins}

    @property
    def production_pins(self) -> list[Pin]:
        return [p for p in self.pins if self.production is None or p.name in self.production]


def _uv_production(pkgs: list[dict[str, Any]]) -> set[str] | None:
    """The packages a uv project installs without dev groups and extras: the closure of the
    root (editable or virtual) packages' ``dependencies``."""
    by_name = {canonicalize_name(str(p.get("name", ""))): p for p in pkgs}
    roots = [p for p in pkgs if isinstance(p.get("source"), dict)
             and ({"editable", "virtual"} & set(p["source"]))]
    if not roots:
        return None
    seen: set[str] = set()
    todo = [canonicalize_name(str(d.get("name", ""))) for r in roots
            for d in r.get("dependencies") or [] if isinstance(d, dict)]
    todo += [canonicalize_name(str(r.get("name", ""))) for r in roots]
    while todo and len(seen) < 20000:
        n = todo.pop()
        if n in seen or n not in by_name:
            continue
        seen.add(n)
        todo += [canonicalize_name(str(d.get("name", ""))) for d in
                 by_name[n].get("dependencies") or [] if isinstance(d, dict)]
    return seen


def _group_production(pkgs: list[dict[str, Any]]) -> set[str] | None:
    """Poetry (``category``/``groups``) and PDM (``groups``) locks: packages of the main group."""
    marked = [p for p in pkgs if "category" in p or "groups" in p]
    if not marked:
        return None
    out: set[str] = set()
    for p in pkgs:
        groups = p.get("groups") or [p.get("category", "main")]
        if {"main", "default"} & {str(g) for g in groups}:
            out.add(canonicalize_name(str(p.get("name", ""))))
    return out


def read_lock(ctx: Context, rel: str) -> Lock:
    """A uv/poetry/pdm/pylock TOML lock or a Pipfile.lock, read once per audit."""
    return ctx.memo(f"product:lock:{rel}", lambda: _read_lock(ctx, rel))


def _read_lock(ctx: Context, rel: str) -> Lock:
    lock = Lock(rel)
    text = ctx.read(rel)
    if text is None:
        lock.error = "unreadable or over the size cap"
        return lock
    if rel.rsplit("/", 1)[-1] == "Pipfile.lock":
        try:
            data = load_json(text, rel)
        except InputError as exc:
            lock.error = exc.reason
            return lock
        json_lines = _json_entry_lines(text)
        lock.production = set()
        for section in ("default", "develop"):
            for pkg, meta in (data.get(section) or {}).items():
                name = canonicalize_name(pkg)
                ver = str((meta or {}).get("version", "")).lstrip("=")
                line = json_lines.get((section, name))
                lock.pins.append(Pin(name, ver, f"{rel}:{line}" if line else rel))
                if section == "default":
                    lock.production.add(name)
        return lock
    try:
        data = load_toml(text, rel)
    except InputError as exc:
        lock.error = exc.reason
        return lock
    pkgs = [p for p in data.get("package") or data.get("packages") or [] if isinstance(p, dict)]
    lines = _toml_entry_lines(text)
    for p in pkgs:
        pkg, ver = canonicalize_name(str(p.get("name", ""))), str(p.get("version", ""))
        line = lines.get((pkg, ver))
        lock.pins.append(Pin(pkg, ver, f"{rel}:{line}" if line else rel))
    kind = rel.rsplit("/", 1)[-1]
    lock.production = _uv_production(pkgs) if kind == "uv.lock" else _group_production(pkgs)
    return lock


def lock_versions(ctx: Context, rel: str) -> tuple[dict[str, str], str | None]:
    """name → version from a uv/poetry/pdm/pylock TOML lock or Pipfile.lock."""
    lock = read_lock(ctx, rel)
    return lock.versions, lock.error


def workspace_lock(ctx: Context, pyproject: str) -> str | None:
    """The lock that covers ``pyproject``: one next to it, else the lock of the nearest
    directory above whose ``pyproject.toml`` declares a workspace (uv ``[tool.uv.workspace]``)
    including it, else a ``poetry.lock``/``uv.lock`` of a parent monorepo root."""
    d = pyproject.rpartition("/")[0]
    prefix = f"{d}/" if d else ""
    for n in PY_LOCKS:
        if prefix + n in ctx.files.files:
            return prefix + n
    parts = d.split("/") if d else []
    for k in range(len(parts) - 1, -1, -1):
        root = "/".join(parts[:k])
        rp = f"{root}/" if root else ""
        if rp + "pyproject.toml" not in ctx.files.files:
            continue
        data, _ = read_toml(ctx, rp + "pyproject.toml")
        members = ((data or {}).get("tool", {}).get("uv", {}).get("workspace", {}) or {}).get(
            "members") or []
        member = "/".join(parts[k:])
        if any(fnmatch.fnmatch(member, str(m)) for m in members):
            for n in PY_LOCKS:
                if rp + n in ctx.files.files:
                    return rp + n
    return None


# ---------------------------------------------------------------------------- vulnerabilities
def pinned_packages(ctx: Context) -> list[Pin]:
    """Exact versions the repository deploys, each at the line of its entry: the production
    packages of lock files first, then production requirements files (development-only
    requirement files and lock groups are left out). A version pinned in several files is
    listed once per file, so a finding points at every place that installs it."""
    pins: dict[tuple[str, str, str], Pin] = {}
    for rel in ctx.files.files:
        if rel.rsplit("/", 1)[-1] in PY_LOCKS:
            for p in read_lock(ctx, rel).production_pins:
                if p.version:
                    pins.setdefault((p.name, p.version, p.location), p)
    for rf in requirement_files(ctx):
        if is_dev_requirements(rf.path):
            continue
        for p in rf.pins:
            pins.setdefault((p.name, p.version, p.location), p)
    return list(pins.values())
