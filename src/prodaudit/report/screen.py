"""The decision screen: what a release manager reads first, in every medium (console, the top of
``production-readiness.md`` and of ``index.html``, the CI step summary).

Order: the verdict and why; requirements not met, worst first; "not verified" grouped by root
cause, each group with the one action that resolves it; warnings; passes folded into a count.
Nothing is truncated silently: every failing and every not-verified check is listed.

Wording: a check's title states the requirement ("JWT with alg none is rejected"); the result
says which way it went (:data:`OUTCOME`). The severity shown is the result's effective severity
(the highest severity of its failing findings, else the check's) everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.gate import CONDITIONAL, NO_GO, decide
from prodaudit.model import SUITES, AuditRun, CheckResult, Severity, Status
from prodaudit.report.causes import CauseGroup, group_causes

#: what the result says about the requirement in the title
OUTCOME = {
    Status.PASS: "met",
    Status.WARN: "met, with warnings",
    Status.FAIL: "NOT MET",
    Status.SKIP: "not verified",
    Status.ERROR: "not verified (error)",
}
SYMBOL = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "?", Status.ERROR: "?"}


def impact(result: CheckResult, profile: str) -> str:
    """What this result alone does to the decision: ``NO-GO``, ``CONDITIONAL GO`` or ``""``."""
    if result.waived:
        return ""
    verdict = decide([result], profile).verdict
    return verdict if verdict in (NO_GO, CONDITIONAL) else ""


def _sev_key(r: CheckResult) -> tuple[int, str]:
    return (-int(r.effective_severity), r.id)


@dataclass
class SuiteSummary:
    suite: str
    counts: dict[str, int]
    verdict: str  # the verdict of this suite's results alone
    total: int


@dataclass
class Screen:
    run: AuditRun
    failures: list[CheckResult] = field(default_factory=list)
    warnings: list[CheckResult] = field(default_factory=list)
    unverified: list[CauseGroup] = field(default_factory=list)
    waived: list[CheckResult] = field(default_factory=list)
    passed: int = 0
    total: int = 0
    suites: list[SuiteSummary] = field(default_factory=list)
    matrix: dict[str, dict[str, int]] = field(default_factory=dict)  # severity -> status -> n

    @property
    def verdict(self) -> str:
        return self.run.decision.verdict

    @property
    def unverified_count(self) -> int:
        return sum(len(g.results) for g in self.unverified)

    def impact(self, r: CheckResult) -> str:
        return impact(r, self.run.profile)

    @property
    def headline(self) -> str:
        """One sentence: the verdict and the counts behind it."""
        parts = []
        if self.failures:
            sev = _by_severity(self.failures)
            parts.append(f"{len(self.failures)} requirement(s) not met ({sev})")
        if self.unverified:
            blocking = sum(1 for g in self.unverified for r in g.results if self.impact(r))
            extra = f", {blocking} of them count against the decision" if blocking else ""
            parts.append(f"{self.unverified_count} not verified ({len(self.unverified)} cause(s){extra})")
        if self.warnings:
            parts.append(f"{len(self.warnings)} met with warnings")
        parts.append(f"{self.passed} met")
        if self.waived:
            parts.append(f"{len(self.waived)} waived")
        return f"{self.verdict}: " + "; ".join(parts) + f" — {self.total} checks."

    @property
    def requests_line(self) -> str:
        """One line from the request ledger (``AuditRun.requests``): what the audit sent to the
        target, what it refused to send, billable LLM calls; "" for a run without a ledger."""
        return requests_line(self.run.requests)


def requests_line(req: Mapping[str, Any]) -> str:
    """``Requests sent: 42 (GET 40, POST 2) · refused 3 (mutation 2, budget 1) · LLM calls 0``."""
    if not req:
        return ""
    methods = ", ".join(f"{m} {n}" for m, n in (req.get("by_method") or {}).items())
    refused = req.get("refused") or {}
    kinds = ", ".join(f"{k} {n}" for k, n in (refused.get("by_kind") or {}).items())
    return (
        f"Requests sent: {req.get('total', 0)}{f' ({methods})' if methods else ''} · refused "
        f"{refused.get('total', 0)}{f' ({kinds})' if kinds else ''} · LLM calls {req.get('llm_calls', 0)}"
    )


def _by_severity(results: list[CheckResult]) -> str:
    counts: dict[str, int] = {}
    for r in sorted(results, key=_sev_key):
        counts[r.effective_severity.label] = counts.get(r.effective_severity.label, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def build_screen(run: AuditRun) -> Screen:
    results = list(run.results)
    s = Screen(run=run, total=len(results))
    s.failures = sorted((r for r in results if r.status is Status.FAIL and not r.waived), key=_sev_key)
    s.warnings = sorted((r for r in results if r.status is Status.WARN and not r.waived), key=_sev_key)
    s.waived = sorted((r for r in results if r.waived), key=_sev_key)
    s.passed = sum(1 for r in results if r.status is Status.PASS and not r.waived)
    s.unverified = group_causes([r for r in results if not r.status.verified and not r.waived], results)
    for suite in (x for x in SUITES if any(r.suite == x for r in results)):
        mine = [r for r in results if r.suite == suite]
        s.suites.append(
            SuiteSummary(
                suite=suite,
                counts=status_counts(mine),
                verdict=decide(mine, run.profile).verdict,
                total=len(mine),
            )
        )
    for sev in sorted(Severity, reverse=True):
        s.matrix[sev.label] = status_counts([r for r in results if r.effective_severity is sev])
    return s


def status_counts(results: Iterable[CheckResult]) -> dict[str, int]:
    """Counts per presentation status: fail (not met), warn, not verified, pass, waived."""
    out = {"fail": 0, "unverified": 0, "warn": 0, "pass": 0, "waived": 0}
    for r in results:
        if r.waived:
            out["waived"] += 1
        elif r.status is Status.FAIL:
            out["fail"] += 1
        elif r.status is Status.WARN:
            out["warn"] += 1
        elif r.status is Status.PASS:
            out["pass"] += 1
        else:
            out["unverified"] += 1
    return out


COUNT_LABELS: Mapping[str, str] = {
    "fail": "not met", "unverified": "not verified", "warn": "warnings", "pass": "met", "waived": "waived",
}  # fmt: skip
