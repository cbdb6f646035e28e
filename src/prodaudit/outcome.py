"""Small constructors for findings, and ``Skip`` for a missing prerequisite."""

from __future__ import annotations

from prodaudit.model import Evidence, Finding, Severity, Status


class Skip(Exception):
    """Raised by a check whose prerequisite is missing; becomes SKIP with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def passed(
    message: str, *, location: str = "", evidence: str = "", level: Evidence | None = None
) -> Finding:
    """What was verified and found fine. ``level`` says how, when it is weaker (or stronger) than
    the check's declared evidence level (e.g. ``Evidence.PRESENT`` when only a file was found)."""
    return Finding(Status.PASS, message, location=location, evidence=evidence, level=level)


def failed(
    message: str,
    *,
    location: str = "",
    evidence: str = "",
    remediation: str = "",
    severity: Severity | None = None,
    rule: str = "",
) -> Finding:
    return Finding(
        Status.FAIL,
        message,
        location=location,
        evidence=evidence,
        remediation=remediation,
        severity=severity,
        rule=rule,
    )


def warned(
    message: str,
    *,
    location: str = "",
    evidence: str = "",
    remediation: str = "",
    rule: str = "",
) -> Finding:
    return Finding(
        Status.WARN, message, location=location, evidence=evidence, remediation=remediation, rule=rule
    )


def errored(message: str, *, location: str = "", evidence: str = "") -> Finding:
    """A part of the check could not be verified because input was broken (bad file, bad answer)."""
    return Finding(Status.ERROR, message, location=location, evidence=evidence)


def skipped(message: str, *, location: str = "") -> Finding:
    """A part of the check that could not be verified; the rest of the check may still run."""
    return Finding(Status.SKIP, message, location=location)
