"""SEC-090–091: external scanners whose results join the audit: bandit and pip-audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prodaudit import tools
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    warned,
)
from prodaudit.product.dependencies import is_dev_requirements
from prodaudit.product.dependencies import requirement_files as dependency_requirement_files

EXCLUDE_DIRS = (
    ".venv",
    "venv",
    "node_modules",
    "tests",
    "test",
    ".git",
    ".nox",
    ".tox",
    "site-packages",
    "build",
    "dist",
    "__pycache__",
    "migrations",
    "versions",
)
BANDIT_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
SCAN_TIMEOUT = 300  # the tools time out first (prodaudit.tools)


def _python_files(ctx: Context) -> list[str]:
    return [
        f
        for f in ctx.files.files
        if f.endswith(".py") and not any(part in EXCLUDE_DIRS for part in f.split("/")[:-1])
    ]


def _bandit_finding(r: dict[str, Any]) -> Finding | None:
    """One bandit result: FAIL (high severity, high/medium confidence), WARN (medium) or None."""
    sev, conf = r.get("issue_severity", "LOW"), r.get("issue_confidence", "LOW")
    path = str(Path(r.get("filename", "?")).as_posix()).removeprefix("./")
    loc = f"{path}:{r.get('line_number', 0)}"
    msg = (
        f"bandit {r.get('test_id')} ({sev.lower()} severity, {conf.lower()} confidence): "
        f"{r.get('issue_text')}"
    )
    ev = (r.get("code") or "").rstrip() + (f"\n{r.get('more_info')}" if r.get("more_info") else "")
    if sev == "HIGH" and conf in ("HIGH", "MEDIUM"):
        return failed(msg, location=loc, evidence=ev, severity=Severity.HIGH,
                      rule=str(r.get("test_id", "")))
    if sev in ("HIGH", "MEDIUM"):
        return warned(msg, location=loc, evidence=ev, rule=str(r.get("test_id", "")))
    return None


@check(
    "SEC-090",
    "bandit finds no high-severity issue in the target's Python code",
    severity=Severity.MEDIUM,
    needs=("repo",),
    timeout=SCAN_TIMEOUT,
    checklist=("10.1.2", "1.3.4"),
    references=("CWE-20",),
    evidence=Evidence.PARSED,
)
def bandit_scan(ctx: Context) -> list[Finding]:
    """Runs ``python -m bandit -f json`` over the target's Python files of the repository index
    (tests, virtualenvs and migrations excluded). High-severity issues with medium or high
    confidence fail (HIGH); medium-severity ones warn; low-severity ones are counted. Skipped
    when bandit is not installed (``nox -s security`` installs it). The answer is cached by the
    files' contents and bandit's version: an unchanged tree is not scanned again (the finding
    says so).

    Static analysis catches shell injection, unsafe deserialisation, weak hashes, ``debug=True``
    and hard-coded binds before an attacker does.

    Remediation: fix the reported line or, for a reviewed false positive, add ``# nosec <ID>``
    with a reason.
    """
    if not tools.bandit_available():
        raise Skip("bandit is not installed in this environment: install prodaudit[audit]")
    files = _python_files(ctx)
    if not files:
        raise Skip("no Python files in the repository")
    run = tools.bandit(ctx, files)
    if run.error:
        return [errored(run.error)]
    data = run.data
    out: list[Finding] = []
    low = 0
    for r in data.get("results", []):
        f = _bandit_finding(r)
        if f is None:
            low += 1
        else:
            out.append(f)
    errors = data.get("errors") or []
    scanned = len(data.get("metrics", {})) - 1 if data.get("metrics") else len(files)
    ctx.export(
        "bandit",
        {
            "files": scanned,
            "results": len(data.get("results", [])),
            "low": low,
            "errors": len(errors),
            "from_cache": run.cached_at is not None,
        },
    )
    if not out:
        out.append(
            passed(
                f"bandit scanned {scanned} files: no high or medium issue"
                f" ({low} low-severity noted){run.cache_note}"
            )
        )
    return out


def requirement_files(ctx: Context) -> tuple[list[str], list[str]]:
    """(production requirements files, development ones) as the dependency model knows them
    (``requirements*.txt``, ``*requirements.txt``, ``requirements/*.txt``), outside tests and
    vendored trees; at most 10 production files are audited."""
    rels = [
        rf.path
        for rf in dependency_requirement_files(ctx)
        if not any(part in EXCLUDE_DIRS for part in rf.path.split("/")[:-1])
    ]
    dev = [r for r in rels if is_dev_requirements(r)]
    return [r for r in rels if r not in dev][:10], dev


def _pip_audit_file(ctx: Context, rel: str) -> tuple[list[Finding], int, int, str]:
    """pip-audit on one requirements file: (findings, packages audited, packages not audited,
    cache note)."""
    out: list[Finding] = []
    audited = unaudited = 0
    run = tools.pip_audit(ctx, ctx.repo / rel)
    if run.error:
        return [errored(f"{rel}: {run.error}", location=rel)], 0, 0, ""
    for dep in run.data.get("dependencies", []):
        if dep.get("skip_reason"):
            unaudited += 1
            continue
        audited += 1
        for v in dep.get("vulns", []):
            ids = ", ".join([v.get("id", "?")] + list(v.get("aliases", []))[:3])
            fix = ", ".join(v.get("fix_versions", [])) or "no fixed version"
            out.append(
                failed(
                    f"{dep.get('name')} {dep.get('version')}: {ids} (fixed in {fix})",
                    location=rel,
                    evidence=(v.get("description") or "")[:600],
                )
            )
    return out, audited, unaudited, run.cache_note


@check(
    "SEC-091",
    "pip-audit finds no known vulnerability in the target's requirements",
    severity=Severity.HIGH,
    needs=("repo",),
    timeout=SCAN_TIMEOUT,
    checklist=("2.2.2", "10.1.2"),
    references=("CWE-1395", "OWASP A06:2021"),
    evidence=Evidence.PARSED,
)
def pip_audit_scan(ctx: Context) -> list[Finding]:
    """Runs ``pip-audit -r <file> --no-deps --disable-pip -f json`` on every production
    requirements file of the target — ``requirements*.txt``, ``*requirements.txt`` and the files
    of a ``requirements/`` folder (``requirements/prod.txt``), the files CFG-060 reads;
    development ones (``requirements-dev.txt``, ``requirements/dev.txt``,
    ``requirements/test.txt``) are left out, as CFG-063 leaves them out. Each vulnerable pin
    fails (with its advisory ids and fixed versions). When the vulnerability service is
    unreachable pip-audit reports every package as "could not be audited" and exits 0: that is
    SKIP ("not verified"), never PASS. Whether the service answers is probed once per run and
    shared with CFG-063; each file's answer is shared too, and reused from the cache for up to
    12 hours while the file is unchanged (the finding says so).

    Known-vulnerable dependencies are the easiest way in: exploits are public.

    Remediation: upgrade to a fixed version (shown in the finding) and re-run ``nox -s security``.
    """
    reqs, dev = requirement_files(ctx)
    if not reqs:
        raise Skip("no production requirements file in the repository"
                   + (f" (development only: {', '.join(dev[:5])})" if dev else ""))
    down = tools.pip_audit_unavailable(ctx)  # the same decision as CFG-063's
    if down:
        raise Skip(f"not verified: {down}")
    out: list[Finding] = []
    audited = unaudited = 0
    notes = set()
    for rel in reqs:
        part, ok, skipped_, note = _pip_audit_file(ctx, rel)
        out += part
        audited += ok
        unaudited += skipped_
        notes.add(note)
    if audited == 0 and unaudited:
        raise Skip(
            f"not verified: pip-audit could not audit any of {unaudited} packages "
            "(vulnerability service unreachable)"
        )
    if not out:
        out.append(
            passed(
                f"pip-audit: {audited} pinned packages in {', '.join(reqs)} have no known "
                "vulnerability" + (f" ({unaudited} could not be audited)" if unaudited else "")
                + ("".join(sorted(notes)) if len(notes) == 1 else "")
            )
        )
    elif unaudited:
        out.append(warned(f"{unaudited} packages could not be audited"))
    return out
