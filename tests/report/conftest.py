"""A fixed AuditRun (fixed ids, timestamps, results, extras) shared by the renderer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prodaudit.gate import decide
from prodaudit.http import Ledger
from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status

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
            Finding(Status.PASS, "GET /health returned 200 in 12 ms", "GET http://127.0.0.1:8000/health"),
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
            "FUN-030",
            "functional",
            "LLM endpoint answers a small prompt within the timeout",
            Severity.HIGH,
            Status.PASS,
            Finding(
                Status.PASS,
                "POST http://127.0.0.1:8000/llm/chat answered in 46 ms (limit 30 s)",
                "POST http://127.0.0.1:8000/llm/chat",
            ),
            duration=0.86,
        ),
        _r(
            "SEC-001",
            "security",
            "JWT alg none rejected",
            Severity.HIGH,  # the check's default; its findings are critical (effective severity)
            Status.FAIL,
            *(
                Finding(
                    Status.FAIL,
                    f"token with alg={alg} accepted: 200 <b>ok</b>",
                    "GET http://127.0.0.1:8000/me",
                    evidence=f'> GET /me\n< HTTP 200  ({ms} ms)\n< {{"id": 1}}\n\n{curl}',
                    remediation='pin algorithms: ``jwt.decode(token, key, algorithms=["HS256"])``',
                    severity=Severity.CRITICAL,
                )
                for alg, ms in (("none", 12), ("None", 9), ("NONE", 11))
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
            Finding(Status.FAIL, "X-Content-Type-Options missing", "GET http://127.0.0.1:8000/health"),
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
            reason="vulnerabilities not verified: pip-audit could not reach its vulnerability service "
            "(pip-audit unreachable); use --vuln-db DIR",
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
        _r(
            "DEP-012",
            "deployment",
            "The image builds",
            Severity.HIGH,
            Status.ERROR,
            reason="not verified: the build needs an image registry this engine cannot reach",
            checklist=("3.1.1",),
        ),
        _r(
            "DEP-014",
            "deployment",
            "No secret values in the image",
            Severity.CRITICAL,
            Status.SKIP,
            reason="the image did not build (see DEP-012)",
            checklist=("3.1.4",),
        ),
        _r(
            "CFG-032",
            "config",
            "Database URL is production-grade",
            Severity.HIGH,
            Status.WARN,
            Finding(
                Status.WARN,
                "DATABASE_URL points at SQLite",
                "/tmp/prodaudit-target-x1y2/runtime.env:9",
                remediation="point ``DATABASE_URL`` at PostgreSQL",
            ),
            checklist=("2.1.4",),
        ),
    )


FUNCTIONAL_FACTS: dict[str, Any] = {
    "operations": [
        {
            "method": "GET",
            "path": "/health",
            "operation_id": "health",
            "tags": ["operations"],
            "protected": False,
            "result": "ok",
            "actions": [
                {
                    "check": "FUN-012",
                    "what": "anonymously",
                    "status": 200,
                    "verdict": "ok",
                    "note": "documented status, content type and schema",
                    "ms": 9.8,
                }
            ],
            "why_not_exercised": "",
            "notes": [],
        },
        {
            "method": "GET",
            "path": "/users/me",
            "operation_id": "me",
            "tags": ["auth"],
            "protected": True,
            "result": "warn",
            "actions": [
                {
                    "check": "FUN-011",
                    "what": "without credentials",
                    "status": 401,
                    "verdict": "ok",
                    "note": "",
                    "ms": 7.4,
                },
                {
                    "check": "FUN-012",
                    "what": "with the audit account",
                    "status": 200,
                    "verdict": "warn",
                    "note": "body has an undocumented field <b>debug</b> | raw",
                    "ms": 31.6,
                },
            ],
            "why_not_exercised": "",
            "notes": [],
        },
        {
            "method": "DELETE",
            "path": "/notes/{note_id}",
            "operation_id": "delete_note",
            "tags": ["notes"],
            "protected": True,
            "result": "not exercised",
            "actions": [],
            "why_not_exercised": "FUN-013: mutating call (set allow_mutations)",
            "notes": ["FUN-013: mutating call (set allow_mutations)"],
        },
    ],
    "auth_flow": [
        {
            "check": "FUN-020",
            "step": "log in (form body)",
            "request": "POST http://127.0.0.1:8000/auth/token",
            "status": 200,
            "result": "ok",
            "detail": "token in the body, scheme Bearer, expires_in 900.0",
        },
        {
            "check": "FUN-020",
            "step": "current user",
            "request": "GET http://127.0.0.1:8000/users/me",
            "status": 200,
            "result": "ok",
            "detail": "",
        },
        {
            "check": "FUN-021",
            "step": "refresh",
            "request": "POST http://127.0.0.1:8000/auth/refresh",
            "status": 200,
            "result": "ok",
            "detail": "new access token, refresh token rotated",
        },
        {
            "check": "FUN-022",
            "step": "log out",
            "request": "POST http://127.0.0.1:8000/auth/logout",
            "status": 204,
            "result": "ok",
            "detail": "",
        },
        {
            "check": "FUN-022",
            "step": "old token after logout",
            "request": "GET http://127.0.0.1:8000/users/me",
            "status": 200,
            "result": "fail",
            "detail": "still accepted",
        },
        {
            "check": "FUN-023",
            "step": "log in with wrong password",
            "request": "POST http://127.0.0.1:8000/auth/token",
            "status": None,
            "result": "error",
            "detail": "timed out",
        },
    ],
    "performance": {
        "targets": [
            {
                "name": "liveness",
                "method": "GET",
                "url": "http://127.0.0.1:8000/health",
                "requests": 200,
                "completed": 198,
                "duration_s": 0.423,
                "p50_ms": 15.1,
                "p95_ms": 40.8,
                "p99_ms": 54.8,
                "max_ms": 195.1,
                "throughput_rps": 468.1,
                "error_rate": 0.0101,
                "errors": 2,
                "rate_limited": 0,
                "status_counts": {"200": 198, "error": 2},
            }
        ],
        "settings": {"requests": 200, "concurrency": 10, "max_seconds": 10.0},
        "thresholds": {"p95_warn_ms": 500.0, "p95_fail_ms": 2000.0},
    },
}


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
        decision=decide(results, "production"),
        facts={
            **FUNCTIONAL_FACTS,
            "security_headers": [
                {
                    "url": "http://127.0.0.1:8000/users/me",
                    "kind": "api",
                    "score": 85,
                    "grade": "B",
                    "missing": ["Cache-Control: no-store missing"],
                },
                {
                    "url": "http://127.0.0.1:5173/",
                    "kind": "html",
                    "score": 40,
                    "grade": "D",
                    "missing": ["CSP script-src allows 'unsafe-inline' <script>", "no COOP"],
                },
            ],
            "readiness.screenshots": {
                "desktop": "/srv/reports/20261120T101500Z-abc123/evidence/rdy-030-desktop-1280px.png",
                "phone": "/srv/reports/20261120T101500Z-abc123/evidence/rdy-030-phone-390px.png",
            },
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
                        "compose_required": True,
                        "documented": True,
                        "documented_in": [".env.example:31"],
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
            # written by report.source_map at write time (the repository is not read here)
            "source_map": {
                "locations": {
                    "GET http://127.0.0.1:8000/me": {
                        "uri": "app/routers/users.py",
                        "line": 14,
                        "why": "handler me of GET /me (OpenAPI operation)",
                    }
                },
                "anchors": {
                    "config": {"uri": "prodaudit.toml", "why": "the audit's configuration file"},
                    "deployment": {"uri": "docker-compose.yml", "why": "the compose file"},
                },
            },
        },
        requests=fixed_ledger(),
    )


def fixed_ledger() -> dict[str, Any]:
    """The request ledger of the fixed run, built by the HTTP layer's own ``Ledger``."""
    ledger = Ledger()
    for check_id, method, n in (("(setup)", "GET", 14), ("(setup)", "POST", 1), ("FUN-012", "GET", 9),
                                ("SEC-040", "POST", 21), ("SEC-001", "GET", 8), ("FUN-001", "GET", 4)):
        for _ in range(n):
            ledger.record_sent(check_id, method)
    ledger.record_refused("FUN-011", "DELETE", "http://127.0.0.1:8000/items/1", "mutation",
                          "DELETE /items/1 not sent: needs --allow-mutations (read-only audit)")
    return ledger.to_dict()


@pytest.fixture
def run() -> AuditRun:
    return fixed_run()
