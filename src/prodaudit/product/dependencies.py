"""Dependency manifests and locks of the audited repository: requirements files (pins with
``path:line``), ``pyproject.toml`` dependencies (PEP 621 and Poetry), Python lock files (uv, Poetry,
PDM, pylock, Pipfile.lock) and the exact versions the repository deploys."""

from __future__ import annotations

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


def is_requirements_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    parts = rel.split("/")
    in_req_dir = len(parts) > 1 and parts[-2] == "requirements" and name.endswith(".txt")
    return bool(_REQ_NAME_RE.match(name)) or in_req_dir


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


def lock_versions(ctx: Context, rel: str) -> tuple[dict[str, str], str | None]:
    """name → version from a uv/poetry/pdm/pylock TOML lock or Pipfile.lock."""
    name = rel.rsplit("/", 1)[-1]
    if name == "Pipfile.lock":
        text = ctx.read(rel)
        try:
            data = load_json(text or "", rel)
        except InputError as exc:
            return {}, exc.reason
        out: dict[str, str] = {}
        for section in ("default", "develop"):
            for pkg, meta in (data.get(section) or {}).items():
                ver = str(meta.get("version", "")).lstrip("=")
                out[canonicalize_name(pkg)] = ver
        return out, None
    data, err = read_toml(ctx, rel)
    if data is None:
        return {}, err
    pkgs = data.get("package") or data.get("packages") or []
    versions: dict[str, str] = {canonicalize_name(str(p.get("name", ""))): str(p.get("version", ""))
                                for p in pkgs if isinstance(p, dict)}
    return versions, None


# ---------------------------------------------------------------------------- vulnerabilities
def pinned_packages(ctx: Context) -> list[Pin]:
    """Exact versions the repository deploys: lock files first, then requirements files."""
    pins: dict[tuple[str, str], Pin] = {}
    for rel in ctx.files.files:
        if rel.rsplit("/", 1)[-1] in PY_LOCKS:
            versions, _ = lock_versions(ctx, rel)
            for n, v in versions.items():
                if v:
                    pins.setdefault((n, v), Pin(n, v, rel))
    for rf in requirement_files(ctx):
        for p in rf.pins:
            pins.setdefault((p.name, p.version), p)
    return list(pins.values())
