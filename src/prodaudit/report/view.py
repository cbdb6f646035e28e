"""Derived, presentation-ready facts about a run (ordering, counts, scores), shared by renderers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.model import SUITES, AuditRun, CheckResult, Severity, Status
from prodaudit.report.checklist_view import ChecklistView, build_checklist

STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}
# severity weights for the 0-100 score (Lighthouse-style weighted mean of verified checks)
WEIGHTS = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 6,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0.5,
}
CREDIT = {Status.PASS: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0}


def score(results: list[CheckResult]) -> int | None:
    """Severity-weighted share of verified checks that passed (WARN counts half); None if none."""
    num = den = 0.0
    for r in results:
        if r.status not in CREDIT:
            continue
        w = WEIGHTS[r.severity]
        den += w
        num += w * (1.0 if r.waived else CREDIT[r.status])
    return round(100 * num / den) if den else None


@dataclass
class RunView:
    run: AuditRun
    ordered: list[CheckResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    suites: list[str] = field(default_factory=list)
    suite_scores: dict[str, int | None] = field(default_factory=dict)
    overall: int | None = None
    not_verified: list[CheckResult] = field(default_factory=list)
    failures: list[CheckResult] = field(default_factory=list)
    suite_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    remediation: list[CheckResult] = field(default_factory=list)  # by severity, then status
    waived: list[CheckResult] = field(default_factory=list)
    waivers: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None

    @property
    def checklist(self) -> ChecklistView:
        if self._checklist is None:
            self._checklist = build_checklist(self.run)
        return self._checklist

    _checklist: ChecklistView | None = None


def sort_key(r: CheckResult) -> tuple[int, int, str]:
    return (STATUS_ORDER[r.status], -int(r.effective_severity), r.id)


def build_view(run: AuditRun) -> RunView:
    v = RunView(run=run)
    v.ordered = sorted(run.results, key=sort_key)
    v.counts = {s.value: sum(1 for r in run.results if r.status is s) for s in Status}
    v.suites = [s for s in SUITES if any(r.suite == s for r in run.results)]
    v.suite_scores = {s: score([r for r in run.results if r.suite == s]) for s in v.suites}
    v.overall = score(list(run.results))
    v.not_verified = [r for r in v.ordered if not r.status.verified]
    v.failures = [r for r in v.ordered if r.status in (Status.FAIL, Status.WARN)]
    v.suite_counts = {
        s: {
            st.value: sum(1 for r in run.results if r.suite == s and r.status is st)
            for st in Status
        }
        for s in v.suites
    }
    v.remediation = sorted(
        v.failures, key=lambda r: (-int(r.effective_severity), STATUS_ORDER[r.status], r.id)
    )
    v.waived = [r for r in v.ordered if r.waived]
    raw_w = run.extras.get("waivers")
    v.waivers = dict(raw_w) if isinstance(raw_w, Mapping) else {}
    raw_b = run.extras.get("baseline")
    v.baseline = dict(raw_b) if isinstance(raw_b, Mapping) else None
    return v
