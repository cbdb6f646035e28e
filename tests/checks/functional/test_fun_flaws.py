"""Functional checks against reference targets with flaws switched on (several flaws that do
not interfere share one target) and with dependencies pointed at closed ports."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import audit_target, result
from conftest_services import require_service

from prodaudit.model import AuditRun, Severity, Status
from prodaudit.ports import free_port
from prodaudit.target import ReferenceTarget

FLAWS = (
    "shallow-health,user-enumeration,no-logout-revocation,mock-llm-in-production,"
    "no-prompt-limit,unauthenticated-admin"
)


def _closed_port_url(scheme: str, suffix: str = "") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}{suffix}"  # nothing listens there


@pytest.fixture(scope="module")
def flawed() -> Iterator[ReferenceTarget]:
    with ReferenceTarget(
        flaws=FLAWS, frontend=False, overrides={"RATE_LIMIT_LOGIN": "100/60"}
    ) as t:
        yield t


@pytest.fixture(scope="module")
def flawed_run(flawed: ReferenceTarget, tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    return audit_target(  # the module's own throwaway target: logout and LLM calls allowed
        flawed, tmp_path_factory.mktemp("flawed"), suites=["functional"], skip=["FUN-04", "FUN-050"],
        allow_mutations=True,
    )


@pytest.fixture(scope="module")
def provider_down() -> Iterator[ReferenceTarget]:
    """Hardened target whose LLM provider URL is a closed port."""
    with ReferenceTarget(
        flaws="",
        frontend=False,
        overrides={
            "LLM_BASE_URL": _closed_port_url("http", "/v1"),
            "RATE_LIMIT_LOGIN": "100/60",
        },
    ) as t:
        yield t


def test_shallow_health_is_a_warning(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-003")
    assert r.status is Status.WARN
    assert "shallow health check" in r.findings[0].message
    ready = result(flawed_run, "FUN-002")
    assert ready.status is Status.SKIP
    assert "reports no dependency" in ready.reason


def test_user_enumeration_fails(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-023")
    assert r.status is Status.FAIL
    msg = " ".join(f.message for f in r.findings)
    assert "tells unknown users from wrong passwords" in msg
    assert "404" in msg and "401" in msg
    assert "curl" in r.findings[-1].evidence


def test_logout_without_revocation_fails(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-022")
    assert r.status is Status.FAIL
    assert "still works after" in r.findings[0].message
    assert "HTTP 200" in r.findings[0].evidence


def test_mock_llm_in_production_is_high(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-031")
    assert r.status is Status.FAIL
    assert r.effective_severity is Severity.HIGH
    assert "x-llm-mock" in r.findings[0].message.lower()


def test_mock_llm_passes_in_development(flawed: ReferenceTarget, tmp_path: Path) -> None:
    run = audit_target(flawed, tmp_path, only=["FUN-031"], profile="development",
                       allow_mutations=True)
    r = result(run, "FUN-031")
    assert r.status is Status.PASS
    assert "development" in r.findings[0].message


def test_missing_prompt_limit_fails(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-033")
    assert r.status is Status.FAIL
    assert "accepted a 200000-character prompt" in r.findings[0].message


def test_unauthenticated_admin_is_critical(flawed_run: AuditRun) -> None:
    r = result(flawed_run, "FUN-011")
    assert r.status is Status.FAIL
    bad = [f for f in r.findings if f.status is Status.FAIL]
    assert [f.location.split()[0] for f in bad] == ["GET"]
    assert "/admin/users" in bad[0].message
    assert bad[0].severity is Severity.CRITICAL
    row = next(o for o in flawed_run.facts["operations"] if o["path"] == "/admin/users")
    assert row["result"] == "fail"


def test_provider_outage_gives_clean_502(provider_down: ReferenceTarget, tmp_path: Path) -> None:
    run = audit_target(provider_down, tmp_path, only=["FUN-002", "FUN-030", "FUN-032"],
                       allow_mutations=True)
    outage = result(run, "FUN-032")
    assert outage.status is Status.PASS, outage.findings
    assert "502" in outage.findings[0].message
    assert result(run, "FUN-030").status is Status.FAIL
    ready = result(run, "FUN-002")
    assert ready.status is Status.FAIL
    assert any(
        f.status is Status.PASS and "answers 503 while llm_provider" in f.message
        for f in ready.findings
    )


def test_provider_outage_as_500_fails(tmp_path: Path) -> None:
    with ReferenceTarget(
        flaws="llm-500-on-outage",
        frontend=False,
        overrides={
            "LLM_BASE_URL": _closed_port_url("http", "/v1"),
        },
    ) as t:
        run = audit_target(t, tmp_path, only=["FUN-032"], allow_mutations=True)
    r = result(run, "FUN-032")
    assert r.status is Status.FAIL
    assert "answered 500" in r.findings[0].message


def test_readiness_503_when_redis_is_down(tmp_path: Path) -> None:
    with ReferenceTarget(
        flaws="",
        frontend=False,
        overrides={
            "REDIS_URL": _closed_port_url("redis", "/0"),
        },
    ) as t:
        run = audit_target(t, tmp_path, only=["FUN-002", "FUN-003"])
    r = result(run, "FUN-002")
    assert r.status is Status.FAIL
    msgs = [(f.status, f.message) for f in r.findings]
    assert any(s is Status.PASS and "answers 503 while redis" in m for s, m in msgs), msgs
    assert any(s is Status.FAIL and "redis" in m and "not ready" in m for s, m in msgs), msgs
    assert result(run, "FUN-003").status is Status.PASS


def test_mutations_create_and_delete(provider_down: ReferenceTarget, tmp_path: Path) -> None:
    # FUN-013 generates payloads with hypothesis-jsonschema (a declared dependency)
    require_service("hypothesis-jsonschema", importlib.util.find_spec("hypothesis_jsonschema") is not None,
                    "not installed")
    run = audit_target(provider_down, tmp_path, only=["FUN-013", "FUN-024"], allow_mutations=True)
    w = result(run, "FUN-013")
    assert w.status is Status.PASS, [f.message for f in w.findings]
    assert "POST /notes" in w.findings[-1].message and "DELETE /notes/" in w.findings[-1].message
    rows = {f"{o['method']} {o['path']}": o for o in run.facts["operations"]}
    assert [a["status"] for a in rows["POST /notes"]["actions"]] == [201]
    assert [a["status"] for a in rows["DELETE /notes/{note_id}"]["actions"]] == [204]
    reg = result(run, "FUN-024")
    assert reg.status is Status.PASS, [f.message for f in reg.findings]
    assert "logs in" in reg.findings[0].message


def test_performance_thresholds_fail(provider_down: ReferenceTarget, tmp_path: Path) -> None:
    run = audit_target(
        provider_down,
        tmp_path,
        only=["FUN-050"],
        perf={
            "requests": 20,
            "concurrency": 4,
            "max_seconds": 5,
            "p95_warn_ms": 0.001,
            "p95_fail_ms": 0.002,
        },
    )
    r = result(run, "FUN-050")
    assert r.status is Status.FAIL
    assert sum("p95 above" in f.message for f in r.findings) == 2
    assert [t["requests"] for t in run.facts["performance"]["targets"]] == [20, 20]
