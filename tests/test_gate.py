from __future__ import annotations

import dataclasses

import pytest

from prodaudit.gate import CONDITIONAL, GO, NO_GO, decide, exit_code
from prodaudit.model import CheckResult, Evidence, Finding, Severity, Status


def res(status: Status, sev: Severity, cid: str = "SEC-001", **kw) -> CheckResult:
    return CheckResult(id=cid, suite="security", title="t", severity=sev, status=status, **kw)


@pytest.mark.parametrize(
    ("results", "profile", "verdict", "code"),
    [
        ([res(Status.PASS, Severity.CRITICAL)], "production", GO, 0),
        ([res(Status.FAIL, Severity.LOW), res(Status.WARN, Severity.HIGH)], "production", GO, 0),
        ([res(Status.FAIL, Severity.CRITICAL)], "production", NO_GO, 1),
        ([res(Status.FAIL, Severity.HIGH)], "development", NO_GO, 1),
        ([res(Status.FAIL, Severity.MEDIUM)], "production", CONDITIONAL, 2),
        ([res(Status.SKIP, Severity.CRITICAL)], "production", NO_GO, 1),
        ([res(Status.ERROR, Severity.CRITICAL)], "production", NO_GO, 1),
        ([res(Status.SKIP, Severity.CRITICAL)], "staging", CONDITIONAL, 2),
        ([res(Status.SKIP, Severity.HIGH)], "production", CONDITIONAL, 2),
        ([res(Status.ERROR, Severity.MEDIUM)], "production", GO, 0),
    ],
)
def test_decision_branches(results, profile, verdict, code) -> None:
    d = decide(results, profile)
    assert (d.verdict, d.exit_code) == (verdict, code)
    if verdict != GO:
        assert d.reasons


def test_finding_severity_overrides_check_severity() -> None:
    r = res(Status.FAIL, Severity.MEDIUM,
            findings=(Finding(Status.FAIL, "weak secret", severity=Severity.CRITICAL),))
    assert decide([r], "production").verdict == NO_GO


def test_waived_failure_does_not_count() -> None:
    r = dataclasses.replace(res(Status.FAIL, Severity.CRITICAL), waived=True)
    assert decide([r], "production").verdict == GO


def test_fail_on() -> None:
    assert exit_code(CONDITIONAL, "no-go") == 0
    assert exit_code(CONDITIONAL, "conditional") == 2
    assert exit_code(NO_GO, "no-go") == 1


def present_pass(sev: Severity, evidence: Evidence = Evidence.PRESENT) -> CheckResult:
    return res(Status.PASS, sev, evidence=evidence,
               findings=(Finding(Status.PASS, "document present"),))


@pytest.mark.parametrize(
    ("sev", "profile", "verdict"),
    [
        (Severity.CRITICAL, "production", NO_GO),
        (Severity.CRITICAL, "staging", CONDITIONAL),
        (Severity.HIGH, "production", CONDITIONAL),
        (Severity.MEDIUM, "production", GO),
        (Severity.LOW, "production", GO),
    ],
)
def test_a_pass_on_presence_is_not_verified_for_high_items(sev, profile, verdict) -> None:
    """Issue 18: a HIGH/CRITICAL PASS at level ``present`` (the product's own word, e.g. a
    documented step nobody saw run) counts as not verified, like a SKIP."""
    d = decide([present_pass(sev)], profile)
    assert d.verdict == verdict
    if verdict != GO:
        assert d.reasons == (f"SEC-001 not verified (present only, {sev.label}): t",)
    # the same PASS at a verifying level is a GO, and a finding's own level decides
    assert decide([present_pass(sev, Evidence.PARSED)], profile).verdict == GO
    mixed = res(Status.PASS, sev, evidence=Evidence.PARSED,
                findings=(Finding(Status.PASS, "parsed"),
                          Finding(Status.PASS, "documented only", level=Evidence.PRESENT)))
    assert decide([mixed], profile).verdict == verdict
