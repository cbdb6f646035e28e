"""A fixed AuditRun (fixed ids, timestamps, results, extras) shared by the renderer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.model import AuditRun, CheckResult, Decision, Finding, Severity, Status

GOLDEN = Path(__file__).parent / "golden"

DOC_JWT = """Rejects tokens signed with ``alg: none``.

An API that accepts unsigned tokens lets anyone impersonate any user.

Remediation: pin the accepted algorithms when decoding (``algorithms=["HS256"]``)."""

DOC_SECRET = """No secret literals in the repository.

Hard-coded credentials leak through the repository and every image built from it.

Remediation: move the value into the environment and rotate it."""


def _r(
    id: str,
    suite: str,
    title: str,
    severity: Severity,
    status: Status,
    *findings: Finding,
    reason: str = "",
    checklist: tuple[str, ...] = (),
    doc: str = "",
    duration: float = 0.5,
    waived: bool = False,
    waiver: str = "",
) -> CheckResult:
    return CheckResult(
        id=id,
        suite=suite,
        title=title,
        severity=severity,
        status=status,
        findings=findings,
        duration_s=duration,
        reason=reason,
        checklist=checklist,
        references=("CWE-347",) if suite == "security" else (),
        doc=doc or f"{title}.\n\nRemediation: fix {id}.",
        waived=waived,
        waiver=waiver,
    )


def fixed_results() -> tuple[CheckResult, ...]:
    curl = "curl -sS -H 'Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.' http://127.0.0.1:8000/me"
    return (
        _r(
            "FUN-001",
            "functional",
            "Health endpoint answers",
            Severity.CRITICAL,
            Status.PASS,
            Finding(
                Status.PASS, "GET /health returned 200 in 12 ms", "GET http://127.0.0.1:8000/health"
            ),
            checklist=("9.2.4", "P.2.5"),
        ),
        _r(
            "FUN-010",
            "functional",
            "Every GET operation answers",
            Severity.HIGH,
            Status.WARN,
            Finding(
                Status.WARN,
                "GET /docs is public in production",
                "GET http://127.0.0.1:8000/docs",
                remediation="disable the docs in production",
            ),
            checklist=("1.1.5",),
        ),
        _r(
            "SEC-001",
            "security",
            "JWT alg none rejected",
            Severity.CRITICAL,
            Status.FAIL,
            Finding(
                Status.FAIL,
                "token with alg none accepted: 200 <b>ok</b>",
                "GET http://127.0.0.1:8000/me",
                evidence=f'> GET /me\n< HTTP/1.1 200 OK\n< {{"id": 1}}\n\n{curl}',
                remediation="pin algorithms",
            ),
            checklist=("8.1.1", "1.3.1"),
            doc=DOC_JWT,
        ),
        _r(
            "SEC-020",
            "security",
            "CORS allowlist",
            Severity.HIGH,
            Status.SKIP,
            reason="no allowed origins configured (cors.allowed_origins)",
            checklist=("8.2.3", "P.3.3"),
        ),
        _r(
            "SEC-030",
            "security",
            "Security headers",
            Severity.MEDIUM,
            Status.FAIL,
            Finding(
                Status.FAIL, "X-Content-Type-Options missing", "GET http://127.0.0.1:8000/health"
            ),
            waived=True,
            waiver="CDN adds it (alice, until 2026-12-31)",
            checklist=("1.3.5",),
        ),
        _r(
            "CFG-010",
            "config",
            "No secrets in code",
            Severity.HIGH,
            Status.FAIL,
            Finding(
                Status.FAIL,
                "AWS key literal",
                "app/settings.py:12",
                evidence='12 | AWS_KEY = "AKIA[REDACTED]"',
                remediation="use the environment",
            ),
            Finding(Status.FAIL, "password in compose file", "docker-compose.yml:30:7"),
            Finding(Status.PASS, "frontend bundle clean", "frontend/dist"),
            checklist=("2.1.2",),
            doc=DOC_SECRET,
        ),
        _r(
            "CFG-020",
            "config",
            "Dependencies pinned",
            Severity.MEDIUM,
            Status.PASS,
            Finding(Status.PASS, "14 of 14 requirements pinned", "requirements.txt"),
            checklist=("2.2.1",),
        ),
        _r(
            "CFG-030",
            "config",
            "Known vulnerabilities",
            Severity.HIGH,
            Status.ERROR,
            reason="check crashed: OSError: pip-audit unreachable",
            checklist=("2.2.2",),
        ),
        _r(
            "DEP-001",
            "deployment",
            "Compose file valid",
            Severity.HIGH,
            Status.PASS,
            Finding(Status.PASS, "docker compose config succeeded", "docker-compose.yml"),
            checklist=("P.2.2",),
        ),
        _r(
            "DEP-010",
            "deployment",
            "Redis memory limit",
            Severity.LOW,
            Status.FAIL,
            Finding(
                Status.FAIL,
                "maxmemory is 0 (unbounded)",
                "redis://127.0.0.1:6379",
                remediation="set maxmemory",
            ),
            checklist=("3.3.2",),
        ),
    )


def fixed_run() -> AuditRun:
    results = fixed_results()
    checklist_map: dict[str, list[str]] = {}
    for r in results:
        for item in r.checklist:
            checklist_map.setdefault(item, []).append(r.id)
    checklist_map.setdefault("5.2.1", []).append("DEP-050")  # mapped, not run in this audit
    return AuditRun(
        run_id="20261120T101500Z-abc123",
        target={
            "repo": "/srv/ultra-mvp",
            "base_url": "http://127.0.0.1:8000",
            "frontend_url": "http://127.0.0.1:5173",
            "env_file": "/srv/ultra-mvp/.env",
            "compose_files": ["/srv/ultra-mvp/docker-compose.yml"],
            "reference_target": False,
            "suites": ["config", "functional", "security", "deployment"],
        },
        profile="production",
        tool_version="0.1.0",
        config_digest="0123456789abcdef",
        started_at="2026-11-20T10:15:00+00:00",
        finished_at="2026-11-20T10:16:30+00:00",
        results=results,
        decision=Decision(
            "NO-GO",
            1,
            (
                "SEC-001 failed (critical): JWT alg none rejected",
                "CFG-010 failed (high): No secrets in code",
                "CFG-030 not verified (errored, high): Known vulnerabilities",
                "SEC-020 not verified (skipped, high): CORS allowlist",
            ),
        ),
        facts={
            "env_graph": {
                "variables": [
                    {
                        "name": "JWT_SECRET",
                        "required": True,
                        "default": None,
                        "secret": True,
                        "read_at": ["app/settings.py:10"],
                        "set_in": [".env.example", "docker-compose.yml"],
                        "description": "Signing key for access and refresh tokens.",
                    },
                    {
                        "name": "DATABASE_URL",
                        "required": False,
                        "default": "sqlite:///./app.db",
                        "secret": True,
                        "read_at": ["app/db.py:5"],
                        "set_in": [".env.example"],
                        "description": "SQLAlchemy URL.",
                    },
                    {
                        "name": "LOG_LEVEL",
                        "required": False,
                        "default": "INFO",
                        "secret": False,
                        "read_at": ["app/logging.py:3"],
                        "set_in": [],
                        "description": "",
                    },
                ]
            },
        },
        extras={
            "waivers": {
                "file": "/srv/ultra-mvp/prodaudit-waivers.toml",
                "applied": [
                    {
                        "check": "SEC-030",
                        "location": "",
                        "reason": "CDN adds it",
                        "owner": "alice",
                        "expires": "2026-12-31",
                        "results": ["SEC-030"],
                    }
                ],
                "expired": [
                    {
                        "check": "DEP-010",
                        "location": "",
                        "reason": "tuning later",
                        "owner": "bob",
                        "expires": "2026-10-01",
                        "results": ["DEP-010"],
                    }
                ],
                "unused": [
                    {
                        "check": "FUN-099",
                        "location": "",
                        "reason": "old",
                        "owner": "carol",
                        "expires": "2027-01-31",
                    }
                ],
            },
            "attestations": {
                "file": "/srv/ultra-mvp/prodaudit-attestations.toml",
                "items": {
                    "3.2.4": {
                        "item": "3.2.4",
                        "name": "Dana Ops",
                        "role": "Operations lead",
                        "date": "2026-11-19",
                        "note": "nightly pg_dump to S3, restore drill done",
                    },
                    "A.1": {
                        "item": "A.1",
                        "name": "Tom Tech",
                        "role": "Technical lead",
                        "date": "2026-11-20",
                        "note": "",
                    },
                },
            },
            "baseline": {
                "file": "reports/20261119T090000Z-def456/audit.json",
                "run_id": "20261119T090000Z-def456",
                "decision": "NO-GO",
                "finished_at": "2026-11-19T09:01:00+00:00",
                "new": [
                    {
                        "id": "CFG-010",
                        "title": "No secrets in code",
                        "severity": "high",
                        "status": "fail",
                    }
                ],
                "fixed": [
                    {
                        "id": "DEP-001",
                        "title": "Compose file valid",
                        "severity": "high",
                        "status": "pass",
                    }
                ],
                "still_failing": [
                    {
                        "id": "SEC-001",
                        "title": "JWT alg none rejected",
                        "severity": "critical",
                        "status": "fail",
                    }
                ],
                "no_longer_verified": [],
            },
            "checklist_map": checklist_map,
        },
    )


@pytest.fixture
def run() -> AuditRun:
    return fixed_run()
