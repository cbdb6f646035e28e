from __future__ import annotations

import dataclasses

import pytest

from prodaudit.gate import CONDITIONAL, GO, NO_GO, decide, exit_code
from prodaudit.model import CheckResult, Finding, Severity, Status


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
