"""The security suite against one hardened and two flawed reference targets (compatible flaws
combined), each audited once with every non-burst security check; every test judges one check
from those runs. Bursts, TLS and scanners have their own modules."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import audit_target, result
from sec_util import api_requests

from prodaudit.model import AuditRun, Severity, Status
from prodaudit.target import ReferenceTarget

# Security checks that do not burst (bursts get their own targets in test_sec_rate_limit.py).
NON_BURST = ["SEC-00", "SEC-01", "SEC-02", "SEC-03", "SEC-05", "SEC-06", "SEC-07", "SEC-08"]
FLAWS_A = ",".join(
    [
        "jwt-alg-none",
        "jwt-weak-secret",
        "jwt-long-expiry",
        "refresh-as-access",
        "no-logout-revocation",
        "cors-reflect-origin",
        "no-security-headers",
        "server-version-header",
        "debug-tracebacks",
        "stack-trace-on-422",
        "unauthenticated-admin",
        "bola",
        "insecure-cookie",
        "docs-public",
        "leak-provider-key",
        "host-header-injection",
    ]
)
FLAWS_B = "jwt-no-exp,cors-null-origin,cors-suffix-match"
# The login limit is raised on the shared targets: their audits log in several accounts, and
# the bursts that test the limit run against targets of their own.
ROOMY = {"RATE_LIMIT_LOGIN": "200/60"}


@pytest.fixture(scope="module")
def sec_hardened() -> Iterator[ReferenceTarget]:
    with ReferenceTarget(flaws="", overrides=ROOMY) as t:
        yield t


@pytest.fixture(scope="module")
def sec_flawed_a() -> Iterator[ReferenceTarget]:
    with ReferenceTarget(flaws=FLAWS_A, overrides=ROOMY) as t:
        yield t


@pytest.fixture(scope="module")
def sec_flawed_b() -> Iterator[ReferenceTarget]:
    with ReferenceTarget(flaws=FLAWS_B, overrides=ROOMY) as t:
        yield t


@pytest.fixture(scope="module")
def hardened_run(
    sec_hardened: ReferenceTarget, tmp_path_factory: pytest.TempPathFactory
) -> AuditRun:
    return audit_target(
        sec_hardened, tmp_path_factory.mktemp("sec-h"), only=NON_BURST, allow_mutations=True
    )


@pytest.fixture(scope="module")
def flawed_a_run(
    sec_flawed_a: ReferenceTarget, tmp_path_factory: pytest.TempPathFactory
) -> AuditRun:
    return audit_target(
        sec_flawed_a, tmp_path_factory.mktemp("sec-a"), only=NON_BURST, allow_mutations=True
    )


@pytest.fixture(scope="module")
def flawed_b_run(
    sec_flawed_b: ReferenceTarget, tmp_path_factory: pytest.TempPathFactory
) -> AuditRun:
    return audit_target(sec_flawed_b, tmp_path_factory.mktemp("sec-b"), only=NON_BURST)


# ---- JWT (SEC-001–013) ------------------------------------------------------------
JWT_IDS = [
    "SEC-001",
    "SEC-002",
    "SEC-003",
    "SEC-004",
    "SEC-005",
    "SEC-006",
    "SEC-007",
    "SEC-010",
    "SEC-012",
    "SEC-013",
]


@pytest.mark.parametrize("check_id", JWT_IDS)
def test_hardened_passes(hardened_run: AuditRun, check_id: str) -> None:
    r = result(hardened_run, check_id)
    assert r.status is Status.PASS, (r.status, r.reason, [f.message for f in r.findings])


def test_claims_rejection_uses_the_deployment_secret(hardened_run: AuditRun) -> None:
    r = result(hardened_run, "SEC-011")
    assert r.status is Status.PASS, (r.reason, [f.message for f in r.findings])
    msg = r.findings[0].message
    assert "$JWT_SECRET from --env-file" in msg and "exp one hour in the past" in msg


def test_claims_rejection_skips_without_a_known_secret(
    sec_hardened: ReferenceTarget, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("ENVIRONMENT=production\n", encoding="utf-8")
    run = audit_target(sec_hardened, tmp_path, only=["SEC-011"], env_file=empty)
    r = result(run, "SEC-011")
    assert r.status is Status.SKIP
    assert "secret is unknown" in r.reason


def test_alg_none_accepted_is_critical_with_the_forged_request(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-001")
    assert r.status is Status.FAIL
    fails = [f for f in r.findings if f.status is Status.FAIL]
    labels = " ".join(f.message for f in fails)
    for alg in ("alg=none", "alg=None", "alg=NONE", "alg=nOnE"):
        assert alg in labels
    assert all(f.severity is Severity.CRITICAL for f in fails)
    ev = fails[0].evidence
    assert "curl" in ev and "authorization: bearer eyj" in ev.lower() and "< HTTP 200" in ev
    # the forged token's header really says alg none and has an empty signature
    token = ev.split("authorization: Bearer ", 1)[1].split()[0].strip("'")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"].lower() == "none" and token.endswith(".")


def test_signature_checks_still_hold_on_the_alg_none_target(flawed_a_run: AuditRun) -> None:
    # the flaw is specific: stripped signatures (with an HS256 header) and edited claims are
    # still rejected, so these checks must not fail just because another flaw is on
    for cid in ("SEC-002", "SEC-003", "SEC-004", "SEC-006", "SEC-007"):
        r = result(flawed_a_run, cid)
        assert r.status is Status.PASS, (cid, [f.message for f in r.findings])


def test_weak_secret_is_cracked_offline_and_confirmed_live(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-005")
    assert r.status is Status.FAIL
    f = r.findings[0]
    assert f.severity is Severity.CRITICAL
    assert "accepted live" in f.message
    assert "secret123" not in f.message + f.evidence  # the cracked value is redacted
    assert "< HTTP 200" in f.evidence and "curl" in f.evidence


def test_cracked_secret_drives_claim_rejection_tests(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-011")
    assert r.status is Status.PASS, [f.message for f in r.findings]
    assert "exp one hour in the past" in r.findings[0].message
    assert "nbf one hour in the future" in r.findings[0].message


def test_long_expiry_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-010")
    assert r.status is Status.FAIL
    assert any("30.0 days" in f.message for f in r.findings)


def test_missing_exp_fails(flawed_b_run: AuditRun) -> None:
    r = result(flawed_b_run, "SEC-010")
    assert r.status is Status.FAIL
    assert any("no exp claim" in f.message and f.severity is Severity.HIGH for f in r.findings)


def test_refresh_token_as_access_token_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-012")
    assert r.status is Status.FAIL
    assert "refresh token" in r.findings[0].message


def test_logout_without_revocation_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-013")
    assert r.status is Status.FAIL
    assert "still works after POST /auth/logout" in r.findings[0].message


# ---- leaks, CORS, headers, exposure, authorization -----------------------------------------
HARDENED_PASS = [
    "SEC-020",
    "SEC-030",
    "SEC-031",
    "SEC-032",
    "SEC-050",
    "SEC-051",
    "SEC-070",
    "SEC-071",
    "SEC-072",
    "SEC-080",
    "SEC-081",
    "SEC-082",
]


@pytest.mark.parametrize("check_id", HARDENED_PASS)
def test_hardened_web_checks_pass(hardened_run: AuditRun, check_id: str) -> None:
    r = result(hardened_run, check_id)
    assert r.status is Status.PASS, (r.status, r.reason, [f.message for f in r.findings])


def test_hardened_probe_volume_is_bounded(
    hardened_run: AuditRun, sec_hardened: ReferenceTarget
) -> None:
    # every check is bounded; the whole non-burst security audit stays well under the
    # configured probe budgets (probes.max_requests=50 per loop, a dozen loops)
    total = api_requests(sec_hardened)
    assert 30 < total < 400, total
    # audit, audit2, admin, logout test; SEC-085's published-password logins (at most six)
    assert api_requests(sec_hardened, "/auth/token", "POST") <= 8 + 6


def test_published_passwords_do_not_log_in_on_the_hardened_target(hardened_run: AuditRun) -> None:
    r = result(hardened_run, "SEC-085")
    assert r.status is Status.PASS, (r.reason, [f.message for f in r.findings])
    assert "were refused" in r.findings[0].message


def test_provider_key_leak_in_a_header_is_found(
    flawed_a_run: AuditRun, sec_flawed_a: ReferenceTarget
) -> None:
    r = result(flawed_a_run, "SEC-020")
    assert r.status is Status.FAIL
    msgs = [f.message for f in r.findings if f.status is Status.FAIL]
    assert any("LLM_API_KEY" in m and "x-debug-provider-key" in m.lower() for m in msgs), msgs
    key = sec_flawed_a.env["LLM_API_KEY"]
    for f in r.findings:  # the leaked value itself is never in the report
        assert key not in f.message + f.evidence
        assert f.severity is Severity.CRITICAL


def test_cors_reflection_names_the_class_and_headers(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-030")
    assert r.status is Status.FAIL
    arbitrary = [f for f in r.findings if "arbitrary origin" in f.message]
    assert arbitrary and "with credentials" in arbitrary[0].message
    ev = arbitrary[0].evidence
    assert "Access-Control-Allow-Origin: https://prodaudit-evil.example" in ev
    assert "Access-Control-Allow-Credentials: true" in ev and "curl" in ev


def test_cors_null_and_suffix_flaws_are_told_apart(flawed_b_run: AuditRun) -> None:
    r = result(flawed_b_run, "SEC-030")
    assert r.status is Status.FAIL
    classes = {f.rule for f in r.findings if f.status is Status.FAIL}
    assert "null origin" in classes
    assert "suffix match" in classes
    assert "arbitrary origin reflected" not in classes  # no reflection on this target
    assert "prefix match" not in classes


def test_missing_security_headers_grade_f(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-050")
    assert r.status is Status.FAIL
    api = [f for f in r.findings if f.message.startswith("API ")]
    assert api and "grade F" in api[0].message and "X-Content-Type-Options" in api[0].message
    assert any(f.message.startswith("HTML ") and f.status is Status.PASS for f in r.findings)
    facts = flawed_a_run.facts["security_headers"]
    assert {x["kind"] for x in facts} == {"api", "html"}


def test_hardened_headers_grade_and_fact(hardened_run: AuditRun) -> None:
    facts = hardened_run.facts["security_headers"]
    assert all(x["grade"] in ("A+", "A") for x in facts), facts


def test_version_disclosure_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-051")
    assert r.status is Status.FAIL
    assert any("uvicorn/" in f.message for f in r.findings)
    assert any("x-powered-by" in f.message.lower() for f in r.findings)


def test_tracebacks_in_errors_fail(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-070")
    assert r.status is Status.FAIL
    by = {f.message.split(":")[0]: f for f in r.findings if f.status is Status.FAIL}
    assert "Python traceback" in by["malformed JSON"].message  # stack-trace-on-422
    assert "HTTP 422" in by["malformed JSON"].message
    assert "Python traceback" in by["oversized body (2200 kB)"].message  # debug-tracebacks
    assert "Traceback" in by["malformed JSON"].evidence
    assert "unknown route" not in by  # a plain 404 is fine even on this target


def test_public_docs_warn_in_production(flawed_a_run: AuditRun, hardened_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-071")
    assert r.status is Status.WARN
    assert "/docs" in r.findings[0].message and "/redoc" in r.findings[0].message


def test_host_header_reflection_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-072")
    assert r.status is Status.FAIL
    f = r.findings[0]
    assert "auth/register" in f.message
    assert "host: prodaudit-evil.example" in f.evidence.lower()
    assert "prodaudit-evil.example/users/me" in f.evidence


def test_unauthenticated_admin_fails(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-081")
    assert r.status is Status.FAIL
    msgs = [f.message for f in r.findings]
    assert any("without any token" in m for m in msgs)
    assert any("non-admin audit account" in m for m in msgs)


def test_bola_fails_with_both_requests_in_evidence(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-082")
    assert r.status is Status.FAIL
    f = [x for x in r.findings if x.status is Status.FAIL][0]
    assert f.severity is Severity.CRITICAL
    assert "account A: GET" in f.evidence and "< HTTP 200" in f.evidence


def test_authn_required_uses_the_cracked_secret_for_expired_tokens(flawed_a_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-080")
    assert r.status is Status.PASS
    assert "an expired, correctly signed token" in r.findings[0].message


def test_insecure_cookie_fails(flawed_a_run: AuditRun, hardened_run: AuditRun) -> None:
    r = result(flawed_a_run, "SEC-062")
    assert r.status is Status.FAIL
    assert "no Secure, no HttpOnly, no SameSite" in r.findings[0].message
    h = result(hardened_run, "SEC-062")
    assert h.status is Status.PASS, [f.message for f in h.findings]
    assert "SameSite=strict" in h.findings[0].message
