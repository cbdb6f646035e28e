"""CFG-060–069: Python and npm dependencies pinned and locked, the lock in sync with
``pyproject.toml``, known vulnerabilities (pip-audit online, or OSV files offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from prodaudit import tools
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    Skip,
    check,
    errored,
    failed,
    load_json,
    passed,
    read_document,
    skipped,
)
from prodaudit.product.dependencies import (
    NPM_LOCKS,
    PY_LOCKS,
    Pin,
    is_dev_requirements,
    lock_versions,
    pinned_packages,
    pyproject_dependencies,
    read_toml,
    requirement_files,
    workspace_lock,
)


@check("CFG-060", "Python dependencies are pinned or locked", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.2.1",), references=("CWE-1357", "CWE-829"), evidence=Evidence.PARSED)
def python_pinned(ctx: Context) -> list[Finding]:
    """Every production ``requirements*.txt`` line pins an exact version (``==``; a VCS URL at a
    commit or a file with ``--hash``), and every ``pyproject.toml`` with dependencies is covered
    by a lock file (``uv.lock``, ``poetry.lock``, ``Pipfile.lock``, ``pdm.lock``,
    ``pylock.toml``) next to it or at the root of the uv workspace it belongs to, or sits next to
    a fully pinned requirements file. Development-only requirement files
    (``requirements-dev.txt``, ``requirements/test.txt`` …) are not production dependencies and
    are not judged (CFG-065 judges development tools that reach production).

    Unpinned dependencies make two builds of the same commit different: a new release can break
    production or bring a compromised version in, and a vulnerability scan of the repository says
    nothing about what was deployed.

    Remediation: ``uv lock`` / ``poetry lock``, or ``pip-compile --generate-hashes`` to a pinned
    ``requirements.txt``; install with ``--require-hashes`` in the Dockerfile.
    """
    out: list[Finding] = []
    every = requirement_files(ctx)
    reqs = [rf for rf in every if not is_dev_requirements(rf.path)]
    dev = [rf.path for rf in every if is_dev_requirements(rf.path)]
    for rf in reqs:
        for line, msg in rf.problems:
            out.append(errored(f"{rf.path}:{line}: {msg}", location=f"{rf.path}:{line}"))
        for line, spec in rf.unpinned:
            out.append(failed(f"{spec} is not pinned to an exact version",
                              location=f"{rf.path}:{line}"))
    projects = [f for f in ctx.files.files if f.rsplit("/", 1)[-1] == "pyproject.toml"]
    for rel in projects:
        data, err = read_toml(ctx, rel)
        if data is None:
            out.append(errored(f"{rel}: {err}", location=rel))
            continue
        deps = pyproject_dependencies(data)
        if not deps:
            continue
        d = rel.rpartition("/")[0]
        lock = workspace_lock(ctx, rel)
        pinned_reqs = [rf for rf in reqs if rf.path.rpartition("/")[0] == d and rf.pins
                       and not rf.unpinned]
        if lock is None and not pinned_reqs:
            out.append(failed(f"{rel} declares {len(deps)} dependencies but has no lock file "
                              f"({', '.join(PY_LOCKS)}) or pinned requirements file", location=rel))
    if not every and not projects:
        raise Skip("no requirements*.txt or pyproject.toml in the repository")
    if not out:
        pins = sum(len(r.pins) for r in reqs)
        ignored = f"; development-only, not judged: {', '.join(dev[:5])}" if dev else ""
        out.append(passed(f"{pins} requirement(s) pinned in {len(reqs)} production requirements "
                          f"file(s); {len(projects)} pyproject.toml file(s) locked or pinned"
                          f"{ignored}"))
    return out


@check("CFG-061", "Lock files are in sync with pyproject.toml", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.2.1",), evidence=Evidence.PARSED)
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
        data, err = read_toml(ctx, rel)
        if data is None:
            out.append(errored(f"{rel}: {err}", location=rel))
            continue
        deps = pyproject_dependencies(data)
        d = rel.rpartition("/")[0]
        locked: dict[str, str] = {}
        source = workspace_lock(ctx, rel) or ""
        if source:
            locked, lerr = lock_versions(ctx, source)
            if lerr:
                out.append(errored(f"{source}: {lerr}", location=source))
        if not source:
            for rf in requirement_files(ctx):
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
       checklist=("2.2.1",), references=("CWE-1357",), evidence=Evidence.PARSED)
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
            data = load_json(text or "", rel)
        except InputError as exc:
            out.append(errored(f"{rel}: {exc.reason}", location=rel))
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
            data = load_json(read_document(path), str(path))
        except InputError as exc:
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


def _pip_audit(ctx: Context, pins: list[Pin]) -> tuple[list[Finding], str | None, str]:
    """pip-audit on the pinned set (one shared decision on availability, one run per input:
    ``prodaudit.tools``); (findings, reason it could not verify, where the answer came from)."""
    down = tools.pip_audit_unavailable(ctx)
    if down:
        return [], down, ""
    run = tools.pip_audit_pins(ctx, list(dict.fromkeys((p.name, p.version) for p in pins)))
    if run.error:
        return [], run.error, ""
    deps = run.data.get("dependencies", [])
    audited = [d for d in deps if not d.get("skip_reason")]
    if not audited:
        return [], "pip-audit could not reach its vulnerability service (every package skipped)", ""
    out = []
    for d in audited:
        name = canonicalize_name(d["name"])
        where = [p.location for p in pins if p.name == name and p.version == d["version"]]
        for v in d.get("vulns", []):
            out += [failed(f"{d['name']} {d['version']} is affected by {v.get('id')}",
                           location=loc, rule=str(v.get("id", "")),
                           remediation=f"upgrade to {', '.join(v.get('fix_versions') or [])}")
                    for loc in where or [""]]
    skipped_n = len(deps) - len(audited)
    if skipped_n:
        out.append(skipped(f"pip-audit could not audit {skipped_n} package(s)"))
    return out, None, run.cache_note


@check("CFG-063", "No known vulnerabilities in pinned dependencies", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.2.2", "10.1.2"), references=("CWE-1395",), timeout=300,
       evidence=Evidence.PARSED)
def vulnerabilities(ctx: Context) -> list[Finding]:
    """The exact versions in lock and requirements files have no known vulnerability: checked
    offline against OSV JSON advisories in ``--vuln-db DIR`` (config ``vuln_db``), otherwise
    with pip-audit when its service is reachable. With neither, the check is SKIP (not
    verified) — never PASS. Each finding points at the entry that installs the version: the
    requirements line, or the ``name =`` line of the package in ``uv.lock``, ``poetry.lock``,
    ``pdm.lock``, ``pylock.toml`` (its key in ``Pipfile.lock``); a version pinned in several
    files is reported at each. Development groups and development requirement files are left
    out; npm lock files are not looked up.

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
        n = len({(p.name, p.version) for p in pins})
        if not advisories:
            return [*out, errored(f"--vuln-db {ctx.cfg.vuln_db}: no OSV advisory found")]
        if not any(f.status.value == "fail" for f in out):
            out.insert(0, passed(f"{n} pinned package(s) checked against {advisories} "
                                 f"OSV advisories in {ctx.cfg.vuln_db}: none affected"))
        return out
    out, reason, note = _pip_audit(ctx, pins)
    if reason:
        raise Skip(f"vulnerabilities not verified: {reason}; use --vuln-db DIR with OSV files "
                   "for an offline check")
    if not any(f.status.value == "fail" for f in out):
        out.insert(0, passed(f"pip-audit: {len({(p.name, p.version) for p in pins})} pinned "
                             f"package(s), no known vulnerability"
                             f"{note}"))
    return out

