"""The runtime, service and framework versions the repository deploys, each where it is written:
Dockerfile ``FROM`` lines (and the Python 2 an image installs from its distribution), Compose
``image:`` keys, ``.python-version``, ``runtime.txt``, ``.tool-versions``, ``.nvmrc``,
``requires-python`` and ``engines.node`` when they bound the version, Pipfile's
``python_version``, and framework pins (Django) in production locks and requirements. The
end-of-life check judges them against the shipped table. Not a check module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from prodaudit.errors import InputError
from prodaudit.loaders import load_json
from prodaudit.product.compose import compose_model
from prodaudit.product.dependencies import pinned_packages, read_toml
from prodaudit.product.dockerfiles import chain, dockerfiles, targets
from prodaudit.product.eol import eol_table
from prodaudit.product.images import carried, parse_image

if TYPE_CHECKING:
    from prodaudit.context import Context

#: distribution packages that install Python 2 (Alpine before 3.12, Debian before bullseye)
_PY2_PACKAGES = frozenset({"python", "python2", "python2.7", "python-dev", "python2-dev",
                           "python-minimal", "python2.7-dev"})
_PKG_INSTALL = re.compile(r"\b(apk\s+(?:-\S+\s+)*add|apt(?:-get)?\s+(?:-\S+\s+)*install|"
                          r"yum\s+(?:-\S+\s+)*install|dnf\s+(?:-\S+\s+)*install)\b(?P<args>[^;&|]*)")
FRAMEWORKS = ("django",)


@dataclass(frozen=True)
class RuntimeUse:
    """A product version the repository deploys."""

    product: str
    version: str
    location: str  # path:line
    what: str  # "FROM python:3.8", "compose image postgres:12", "requires-python <3.9" ...
    build_only: bool = False  # a build stage that does not run in production


def _dockerfile_uses(ctx: Context) -> list[RuntimeUse]:
    out: list[RuntimeUse] = []
    for df in dockerfiles(ctx):
        aliases = {s.alias.lower() for s in df.stages if s.alias}
        running = {id(s) for t in targets(df) for s in chain(df, t)}
        for st in df.stages:
            build_only = id(st) not in running
            img = parse_image(st.resolved) if st.resolved.lower() not in aliases else None
            for c in carried(img) if img else []:
                out.append(RuntimeUse(c.product, c.version, df.loc(st.line),
                                      f"FROM {st.resolved}", build_only))
            for ins in st.instructions:
                if ins.name != "RUN":
                    continue
                for m in _PKG_INSTALL.finditer(ins.value):
                    words = {w.strip("\\") for w in m.group("args").split()}
                    hit = sorted(words & _PY2_PACKAGES)
                    if hit:
                        out.append(RuntimeUse("python", "2.7", df.loc(ins.line),
                                              f"installs {hit[0]} (Python 2) from the "
                                              "distribution", build_only))
    return out


def _compose_uses(ctx: Context) -> list[RuntimeUse]:
    from prodaudit.product.services import project_services  # services need the compose model

    out: list[RuntimeUse] = []
    for p in compose_model(ctx).stacks:
        for svc in project_services(ctx, p):
            if svc.build is not None or not svc.image:
                continue
            img = parse_image(svc.image)
            for c in carried(img) if img else []:
                out.append(RuntimeUse(c.product, c.version, p.loc("services", svc.name, "image"),
                                      f"service {svc.name}: image {svc.image}"))
    return out


def _first_line(text: str) -> tuple[int, str]:
    for i, line in enumerate(text.splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if s:
            return i, s
    return 0, ""


def _newest_allowed(product: str, spec: str) -> str | None:
    """The newest release line of ``product`` a PEP 440 specifier allows, when the specifier
    bounds it below the newest line the table knows (None: unbounded or unparsable)."""
    try:
        specs = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    cycles = [c.cycle for c in eol_table().products.get(product, ())]
    allowed = [c for c in cycles if specs.contains(f"{c}.0", prereleases=True)
               or specs.contains(f"{c}.99", prereleases=True)]
    if not allowed or allowed[-1] == cycles[-1]:
        return None
    return allowed[-1]


def _node_range(spec: str) -> str | None:
    """The newest Node.js major an ``engines.node`` range allows, when it is bounded
    (``12.x``, ``^14.17.0``, ``>=16 <19``, ``14 || 16``); None for ``>=16``, ``*`` …"""
    newest = -1
    for alt in spec.split("||"):
        alt = alt.strip()
        upper = re.search(r"<\s*(=)?\s*v?(\d+)(\.(\d+))?", alt)
        if upper:
            exclusive = not upper.group(1) and not int(upper.group(4) or 0)
            major = int(upper.group(2)) - (1 if exclusive else 0)
        elif ">" in alt or alt in ("", "*", "x", "latest", "lts") or "-" in alt:
            return None
        else:
            m = re.search(r"(\d+)", alt)
            if m is None:
                return None
            major = int(m.group(1))
        newest = max(newest, major)
    return str(newest) if newest >= 0 else None


def _version_file_uses(ctx: Context) -> list[RuntimeUse]:
    out: list[RuntimeUse] = []
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1]
        if name in (".python-version", "runtime.txt", ".nvmrc", ".node-version", ".tool-versions"):
            line, value = _first_line(ctx.read(rel) or "")
            if name == ".tool-versions":
                for i, raw in enumerate((ctx.read(rel) or "").splitlines(), 1):
                    tool, _, ver = raw.strip().partition(" ")
                    prod = {"python": "python", "nodejs": "nodejs", "node": "nodejs"}.get(tool)
                    if prod and re.match(r"^\d", ver.strip()):
                        out.append(RuntimeUse(prod, ver.strip(), f"{rel}:{i}", f"{tool} {ver}"))
                continue
            m = re.match(r"^(?:python-)?v?(\d+(?:\.\d+)*)", value)
            if m and line:
                prod = "nodejs" if name in (".nvmrc", ".node-version") else "python"
                out.append(RuntimeUse(prod, m.group(1), f"{rel}:{line}", f"{name} {value}"))
        elif name == "pyproject.toml":
            out += _pyproject_uses(ctx, rel)
        elif name == "Pipfile":
            text = ctx.read(rel) or ""
            for i, raw in enumerate(text.splitlines(), 1):
                m = re.match(r'^\s*python_(?:full_)?version\s*=\s*"(\d+(?:\.\d+)*)"', raw)
                if m:
                    out.append(RuntimeUse("python", m.group(1), f"{rel}:{i}",
                                          f"Pipfile python_version {m.group(1)}"))
        elif name == "package.json" and "node_modules" not in rel.split("/"):
            out += _package_json_uses(ctx, rel)
    return out


def _pyproject_uses(ctx: Context, rel: str) -> list[RuntimeUse]:
    data, _ = read_toml(ctx, rel)
    spec = str(((data or {}).get("project") or {}).get("requires-python") or "")
    newest = _newest_allowed("python", spec) if spec else None
    if newest is None:
        return []
    text = ctx.read(rel) or ""
    line = next((i for i, raw in enumerate(text.splitlines(), 1)
                 if raw.strip().startswith("requires-python")), 0)
    return [RuntimeUse("python", newest, f"{rel}:{line}" if line else rel,
                       f"requires-python {spec} (newest allowed: {newest})")]


def _package_json_uses(ctx: Context, rel: str) -> list[RuntimeUse]:
    text = ctx.read(rel) or ""
    try:
        data = load_json(text, rel)
    except InputError:
        return []
    engines = data.get("engines") if isinstance(data, dict) else None
    spec = str(engines.get("node") or "") if isinstance(engines, dict) else ""
    newest = _node_range(spec) if spec else None
    if newest is None:
        return []
    line = next((i for i, raw in enumerate(text.splitlines(), 1) if '"node"' in raw), 0)
    return [RuntimeUse("nodejs", newest, f"{rel}:{line}" if line else rel,
                       f"engines.node {spec} (newest allowed: {newest})")]


def _framework_uses(ctx: Context) -> list[RuntimeUse]:
    return [RuntimeUse(p.name, p.version, p.location, f"{p.name}=={p.version}")
            for p in pinned_packages(ctx) if p.name in FRAMEWORKS]


def runtime_uses(ctx: Context) -> list[RuntimeUse]:
    """Every runtime, service and framework version of the repository (built once per audit)."""
    return ctx.memo("product:runtimes", lambda: _dockerfile_uses(ctx) + _compose_uses(ctx)
                    + _version_file_uses(ctx) + _framework_uses(ctx))
