"""CFG-060–069: Python and npm dependencies pinned and locked, the lock in sync with
``pyproject.toml``, known vulnerabilities (pip-audit online, or OSV files offline)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from prodaudit.context import Context
from prodaudit.model import Finding, Severity
from prodaudit.outcome import Skip, errored, failed, passed, skipped
from prodaudit.registry import check

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


def _is_req_file(rel: str) -> bool:
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


def _req_files(ctx: Context) -> list[ReqFile]:
    def build() -> list[ReqFile]:
        out = []
        for rel in ctx.files.files:
            if _is_req_file(rel):
                text = ctx.read(rel)
                if text is None:
                    out.append(ReqFile(rel, problems=[(0, "unreadable or over the size cap")]))
                else:
                    out.append(parse_requirements(rel, text))
        return out

    return ctx.memo("cfg:requirements", build)


def _toml(ctx: Context, rel: str) -> tuple[dict[str, Any] | None, str | None]:
    text = ctx.read(rel)
    if text is None:
        return None, "unreadable or over the size cap"
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        return None, f"invalid TOML: {exc}"


def _pyproject_deps(data: dict[str, Any]) -> list[str]:
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


def _lock_versions(ctx: Context, rel: str) -> tuple[dict[str, str], str | None]:
    """name → version from a uv/poetry/pdm/pylock TOML lock or Pipfile.lock."""
    name = rel.rsplit("/", 1)[-1]
    if name == "Pipfile.lock":
        text = ctx.read(rel)
        try:
            data = json.loads(text or "")
        except ValueError as exc:
            return {}, f"invalid JSON: {exc}"
        out: dict[str, str] = {}
        for section in ("default", "develop"):
            for pkg, meta in (data.get(section) or {}).items():
                ver = str(meta.get("version", "")).lstrip("=")
                out[canonicalize_name(pkg)] = ver
        return out, None
    data, err = _toml(ctx, rel)
    if data is None:
        return {}, err
    pkgs = data.get("package") or data.get("packages") or []
    versions: dict[str, str] = {canonicalize_name(str(p.get("name", ""))): str(p.get("version", ""))
                                for p in pkgs if isinstance(p, dict)}
    return versions, None


@check("CFG-060", "Python dependencies are pinned or locked", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.2.1",), references=("CWE-1357", "CWE-829"))
def python_pinned(ctx: Context) -> list[Finding]:
    """Every ``requirements*.txt`` line pins an exact version (``==``; a VCS URL at a commit or a
    file with ``--hash``), and every ``pyproject.toml`` with dependencies sits next to a lock file
    (``uv.lock``, ``poetry.lock``, ``Pipfile.lock``, ``pdm.lock``, ``pylock.toml``) or a fully
    pinned requirements file.

    Unpinned dependencies make two builds of the same commit different: a new release can break
    production or bring a compromised version in, and a vulnerability scan of the repository says
    nothing about what was deployed.

    Remediation: ``uv lock`` / ``poetry lock``, or ``pip-compile --generate-hashes`` to a pinned
    ``requirements.txt``; install with ``--require-hashes`` in the Dockerfile.
    """
    out: list[Finding] = []
    reqs = _req_files(ctx)
    for rf in reqs:
        for line, msg in rf.problems:
            out.append(errored(f"{rf.path}:{line}: {msg}", location=f"{rf.path}:{line}"))
        for line, spec in rf.unpinned:
            out.append(failed(f"{spec} is not pinned to an exact version",
                              location=f"{rf.path}:{line}"))
    projects = [f for f in ctx.files.files if f.rsplit("/", 1)[-1] == "pyproject.toml"]
    for rel in projects:
        data, err = _toml(ctx, rel)
        if data is None:
            out.append(errored(f"{rel}: {err}", location=rel))
            continue
        deps = _pyproject_deps(data)
        if not deps:
            continue
        d = rel.rpartition("/")[0]
        prefix = f"{d}/" if d else ""
        locks = [prefix + n for n in PY_LOCKS if prefix + n in ctx.files.files]
        pinned_reqs = [rf for rf in reqs if rf.path.rpartition("/")[0] == d and rf.pins
                       and not rf.unpinned]
        if not locks and not pinned_reqs:
            out.append(failed(f"{rel} declares {len(deps)} dependencies but has no lock file "
                              f"({', '.join(PY_LOCKS)}) or pinned requirements file", location=rel))
    if not reqs and not projects:
        raise Skip("no requirements*.txt or pyproject.toml in the repository")
    if not out:
        pins = sum(len(r.pins) for r in reqs)
        out.append(passed(f"{pins} requirement(s) pinned in {len(reqs)} requirements file(s); "
                          f"{len(projects)} pyproject.toml file(s) locked or pinned"))
    return out


@check("CFG-061", "Lock files are in sync with pyproject.toml", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.2.1",))
def lock_in_sync(ctx: Context) -> list[Finding]:
    """Every dependency declared in ``pyproject.toml`` is present in the lock file (or pinned
    requirements file) next to it, at a version the declared specifier allows.

    A stale lock means the declared and the deployed dependency sets differ: either the new
    dependency is missing at run time, or an old, possibly vulnerable, version is shipped.

    Remediation: re-run ``uv lock`` / ``poetry lock`` / ``pip-compile`` and commit the result.
    """
    out: list[Finding] = []
    compared = 0
    for rel in [f for f in ctx.files.files if f.rsplit("/", 1)[-1] == "pyproject.toml"]:
        data, err = _toml(ctx, rel)
        if data is None:
            out.append(errored(f"{rel}: {err}", location=rel))
            continue
        deps = _pyproject_deps(data)
        d = rel.rpartition("/")[0]
        prefix = f"{d}/" if d else ""
        locked: dict[str, str] = {}
        source = ""
        for n in PY_LOCKS:
            if prefix + n in ctx.files.files:
                locked, lerr = _lock_versions(ctx, prefix + n)
                source = prefix + n
                if lerr:
                    out.append(errored(f"{source}: {lerr}", location=source))
                break
        if not source:
            for rf in _req_files(ctx):
                if rf.path.rpartition("/")[0] == d and rf.pins:
                    locked.update({p.name: p.version for p in rf.pins})
                    source = rf.path
        if not deps or not locked:
            continue
        compared += 1
        for dep in deps:
            try:
                req = Requirement(dep)
            except InvalidRequirement:
                out.append(errored(f"{rel}: invalid dependency {dep!r}", location=rel))
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            name = canonicalize_name(req.name)
            ver = locked.get(name)
            if ver is None:
                out.append(failed(f"{req.name} is declared in {rel} but missing from {source}",
                                  location=rel))
            elif req.specifier and not req.specifier.contains(ver, prereleases=True):
                out.append(failed(f"{req.name} {ver} in {source} does not satisfy "
                                  f"{req.specifier} declared in {rel}", location=source))
    if not compared and not out:
        raise Skip("no pyproject.toml with dependencies next to a lock or pinned requirements file")
    if not out:
        out.append(passed(f"{compared} pyproject.toml file(s) in sync with their lock"))
    return out


@check("CFG-062", "npm dependencies have a lock file", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("2.2.1",), references=("CWE-1357",))
def npm_locked(ctx: Context) -> list[Finding]:
    """Every ``package.json`` with dependencies has a lock file (``package-lock.json``,
    ``yarn.lock``, ``pnpm-lock.yaml``, ``bun.lock``) in its directory or a workspace root above.

    Without a lock, ``npm install`` resolves ranges at build time: the frontend that ships is not
    the one that was tested, and a compromised patch release is pulled in automatically.

    Remediation: run ``npm install`` (or yarn/pnpm) and commit the lock; build with ``npm ci``.
    """
    out: list[Finding] = []
    pkgs = [f for f in ctx.files.files if f.rsplit("/", 1)[-1] == "package.json"
            and "node_modules" not in f.split("/")]
    if not pkgs:
        raise Skip("no package.json in the repository")
    for rel in pkgs:
        text = ctx.read(rel)
        try:
            data = json.loads(text or "")
        except ValueError as exc:
            out.append(errored(f"{rel}: invalid JSON: {exc}", location=rel))
            continue
        deps = {**(data.get("dependencies") or {}), **(data.get("devDependencies") or {})}
        if not deps:
            continue
        parts = rel.split("/")[:-1]
        found = None
        for n in range(len(parts), -1, -1):
            prefix = "/".join(parts[:n]) + ("/" if n else "")
            found = next((prefix + lk for lk in NPM_LOCKS if prefix + lk in ctx.files.files), None)
            if found:
                break
        if not found:
            out.append(failed(f"{rel} has {len(deps)} dependencies and no lock file", location=rel))
    if not out:
        out.append(passed(f"{len(pkgs)} package.json file(s): dependencies locked"))
    return out


# ---------------------------------------------------------------------------- vulnerabilities
def pinned_packages(ctx: Context) -> list[Pin]:
    """Exact versions the repository deploys: lock files first, then requirements files."""
    pins: dict[tuple[str, str], Pin] = {}
    for rel in ctx.files.files:
        if rel.rsplit("/", 1)[-1] in PY_LOCKS:
            versions, _ = _lock_versions(ctx, rel)
            for n, v in versions.items():
                if v:
                    pins.setdefault((n, v), Pin(n, v, rel))
    for rf in _req_files(ctx):
        for p in rf.pins:
            pins.setdefault((p.name, p.version), p)
    return list(pins.values())


def _osv_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.json") if p.is_file())


def _affected(version: str, aff: dict[str, Any]) -> bool:
    if version in (aff.get("versions") or []):
        return True
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    for rng in aff.get("ranges") or []:
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        introduced: Version | None = None
        for ev in rng.get("events") or []:
            try:
                if "introduced" in ev:
                    intro = str(ev["introduced"])
                    introduced = Version("0") if intro == "0" else Version(intro)
                elif "fixed" in ev and introduced is not None:
                    if introduced <= v < Version(ev["fixed"]):
                        return True
                    introduced = None
                elif "last_affected" in ev and introduced is not None:
                    if introduced <= v <= Version(ev["last_affected"]):
                        return True
                    introduced = None
            except InvalidVersion:
                continue
        if introduced is not None and v >= introduced:
            return True
    return False


def _osv_severity(adv: dict[str, Any]) -> Severity:
    label = str((adv.get("database_specific") or {}).get("severity", "")).upper()
    mapping = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH, "MODERATE": Severity.MEDIUM,
               "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
    return mapping.get(label, Severity.HIGH)


def _osv_findings(pins: list[Pin], db: Path) -> tuple[list[Finding], int]:
    by_name: dict[str, list[Pin]] = {}
    for p in pins:
        by_name.setdefault(p.name, []).append(p)
    out: list[Finding] = []
    count = 0
    for path in _osv_files(db):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            out.append(errored(f"{path.name}: not an OSV JSON document: {exc}", location=str(path)))
            continue
        advisories = data if isinstance(data, list) else data.get("vulns", [data])
        for adv in advisories:
            if not isinstance(adv, dict):
                continue
            count += 1
            for aff in adv.get("affected") or []:
                pkg = aff.get("package") or {}
                if str(pkg.get("ecosystem", "")).lower() != "pypi":
                    continue
                for pin in by_name.get(canonicalize_name(str(pkg.get("name", ""))), []):
                    if _affected(pin.version, aff):
                        fixed = [ev["fixed"] for r in aff.get("ranges") or []
                                 for ev in r.get("events") or [] if "fixed" in ev]
                        ids = ", ".join([adv.get("id", "?"), *(adv.get("aliases") or [])][:3])
                        out.append(failed(
                            f"{pin.name} {pin.version} is affected by {ids}: "
                            f"{str(adv.get('summary', ''))[:120]}", location=pin.location,
                            severity=_osv_severity(adv), rule=str(adv.get("id", "")),
                            remediation=f"upgrade {pin.name} to {fixed[-1]} or later" if fixed
                            else "no fixed version: remove or replace the package"))
    return out, count


def _pip_audit(pins: list[Pin]) -> tuple[list[Finding], str | None]:
    """Run pip-audit on the pinned set; (findings, reason it could not verify)."""
    exe = shutil.which("pip-audit")
    if exe is None:
        return [], "pip-audit is not installed: install prodaudit[audit]"
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("".join(f"{p.name}=={p.version}\n" for p in pins), encoding="utf-8")
        try:
            proc = subprocess.run(
                [exe, "-r", str(req), "--no-deps", "--disable-pip", "--progress-spinner", "off",
                 "-f", "json"], capture_output=True, text=True, timeout=120,
                env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [], f"pip-audit did not finish: {type(exc).__name__}"
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        return [], f"pip-audit failed: {tail[0][:200]}"
    deps = data.get("dependencies", []) if isinstance(data, dict) else []
    audited = [d for d in deps if not d.get("skip_reason")]
    if not audited:
        return [], "pip-audit could not reach its vulnerability service (every package skipped)"
    loc = {p.name: p.location for p in pins}
    out = []
    for d in audited:
        for v in d.get("vulns", []):
            out.append(failed(f"{d['name']} {d['version']} is affected by {v.get('id')}",
                              location=loc.get(canonicalize_name(d["name"]), ""),
                              rule=str(v.get("id", "")),
                              remediation=f"upgrade to {', '.join(v.get('fix_versions') or [])}"))
    skipped_n = len(deps) - len(audited)
    if skipped_n:
        out.append(skipped(f"pip-audit could not audit {skipped_n} package(s)"))
    return out, None


@check("CFG-063", "No known vulnerabilities in pinned dependencies", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.2.2", "10.1.2"), references=("CWE-1395",), timeout=300)
def vulnerabilities(ctx: Context) -> list[Finding]:
    """The exact versions in lock and requirements files have no known vulnerability: checked
    offline against OSV JSON advisories in ``--vuln-db DIR`` (config ``vuln_db``), otherwise
    with pip-audit when its service is reachable. With neither, the check is SKIP (not
    verified) — never PASS.

    A known CVE in a web framework, a JWT or a crypto library is the cheapest way in.

    Remediation: upgrade to the fixed version named in the finding; when no fix exists, remove
    the dependency or record a waiver with the mitigation and an expiry date.
    """
    pins = pinned_packages(ctx)
    if not pins:
        raise Skip("no pinned dependency (lock or requirements file) to look up")
    if ctx.cfg.vuln_db is not None:
        if not ctx.cfg.vuln_db.exists():
            return [errored(f"--vuln-db {ctx.cfg.vuln_db}: no such file or directory")]
        out, advisories = _osv_findings(pins, ctx.cfg.vuln_db)
        if not advisories:
            return [*out, errored(f"--vuln-db {ctx.cfg.vuln_db}: no OSV advisory found")]
        if not any(f.status.value == "fail" for f in out):
            out.insert(0, passed(f"{len(pins)} pinned package(s) checked against {advisories} "
                                 f"OSV advisories in {ctx.cfg.vuln_db}: none affected"))
        return out
    out, reason = _pip_audit(pins)
    if reason:
        raise Skip(f"vulnerabilities not verified: {reason}; use --vuln-db DIR with OSV files "
                   "for an offline check")
    if not any(f.status.value == "fail" for f in out):
        out.insert(0, passed(f"pip-audit: {len(pins)} pinned package(s), no known vulnerability"))
    return out

