"""The decision policy (DESIGN.md, "Decision") and exit codes.

NO-GO: an unwaived CRITICAL or HIGH failure, or a CRITICAL check not verified in the
production profile. CONDITIONAL GO: MEDIUM failures, or HIGH checks not verified (or a
CRITICAL check not verified outside production). GO: otherwise.

A HIGH or CRITICAL check that PASSes only at evidence level ``present`` (the audit found that
something exists, not what it does: issue 18) is not verified: the product's own word is not a GO.
"""

from __future__ import annotations

from collections.abc import Iterable

from prodaudit.model import CheckResult, Decision, Severity, Status

GO, CONDITIONAL, NO_GO = "GO", "CONDITIONAL GO", "NO-GO"
EXIT_CODES = {GO: 0, NO_GO: 1, CONDITIONAL: 2}
EXIT_CANNOT_RUN = 3


def decide(
    results: Iterable[CheckResult], profile: str, fail_on: str | None = None
) -> Decision:
    results = list(results)
    no_go: list[str] = []
    conditional: list[str] = []
    for r in results:
        if r.waived:
            continue
        sev = r.effective_severity
        if r.status is Status.FAIL:
            if sev >= Severity.HIGH:
                no_go.append(f"{r.id} not met ({sev.label}): {r.title}")
            elif sev == Severity.MEDIUM:
                conditional.append(f"{r.id} not met (medium): {r.title}")
        elif not r.status.verified or (r.status is Status.PASS and not r.verified_pass):
            what = {Status.SKIP: "skipped", Status.PASS: "present only"}.get(r.status, "errored")
            if r.severity == Severity.CRITICAL and profile == "production":
                no_go.append(f"{r.id} not verified ({what}, critical): {r.title}")
            elif r.severity >= Severity.HIGH:
                conditional.append(f"{r.id} not verified ({what}, {r.severity.label}): {r.title}")
    if no_go:
        verdict, reasons = NO_GO, no_go + conditional
    elif conditional:
        verdict, reasons = CONDITIONAL, conditional
    else:
        verdict, reasons = GO, []
    return Decision(verdict=verdict, exit_code=exit_code(verdict, fail_on), reasons=tuple(reasons))


def exit_code(verdict: str, fail_on: str | None = None) -> int:
    """0 GO, 1 NO-GO, 2 CONDITIONAL GO. ``fail_on='no-go'`` lets CONDITIONAL GO pass (0);
    ``fail_on='conditional'`` keeps CONDITIONAL GO failing (2)."""
    if fail_on == "no-go" and verdict == CONDITIONAL:
        return 0
    return EXIT_CODES[verdict]
