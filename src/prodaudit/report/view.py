"""Derived, presentation-ready facts about a run (ordering, counts), shared by renderers.

There is no 0-100 score: a number computed from the checks that passed contradicts the verdict
whenever the verdict is decided by what failed or could not be verified (a green 96 under a red
NO-GO); the decision screen (``screen.py``) shows counts by result instead."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.model import SUITES, AuditRun, CheckResult, Status
from prodaudit.report.checklist_view import ChecklistView, build_checklist

STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}


@dataclass
class RunView:
    run: AuditRun
    ordered: list[CheckResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    suites: list[str] = field(default_factory=list)
    not_verified: list[CheckResult] = field(default_factory=list)
    failures: list[CheckResult] = field(default_factory=list)
    suite_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    remediation: list[CheckResult] = field(default_factory=list)  # by severity, then status
    waived: list[CheckResult] = field(default_factory=list)
    waivers: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    repository_ignored: list[dict[str, Any]] = field(default_factory=list)  # issue 18

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
    v.not_verified = [r for r in v.ordered if not r.status.verified]
    v.failures = [r for r in v.ordered if r.status in (Status.FAIL, Status.WARN)]
    v.suite_counts = {
        s: {st.value: sum(1 for r in run.results if r.suite == s and r.status is st) for st in Status}
        for s in v.suites
    }
    v.remediation = sorted(
        v.failures, key=lambda r: (-int(r.effective_severity), STATUS_ORDER[r.status], r.id)
    )
    v.waived = [r for r in v.ordered if r.waived]
    raw_w = run.extras.get("waivers")
    v.waivers = dict(raw_w) if isinstance(raw_w, Mapping) else {}
    raw_r = run.extras.get("repository_config")
    ignored = raw_r.get("ignored") if isinstance(raw_r, Mapping) else None
    v.repository_ignored = [dict(i) for i in ignored if isinstance(i, Mapping)] \
        if isinstance(ignored, list) else []
    raw_b = run.extras.get("baseline")
    v.baseline = dict(raw_b) if isinstance(raw_b, Mapping) else None
    return v
