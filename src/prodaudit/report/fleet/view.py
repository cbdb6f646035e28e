"""The fleet overview every fleet report opens with: one row per service (decision, not met,
not verified, warnings, met, missing audits), worst first; pure data for every medium."""

from __future__ import annotations

from dataclasses import dataclass, field

from prodaudit.fleet.model import FleetRun, ServiceAudit
from prodaudit.gate import CONDITIONAL, GO, NO_GO
from prodaudit.model import Severity, Status

VERDICT_ORDER = {NO_GO: 0, CONDITIONAL: 1, GO: 2}


@dataclass(frozen=True)
class ServiceRow:
    service: ServiceAudit
    verdict: str
    exit_code: int
    not_met: int
    not_met_by_severity: str  # "1 critical, 2 high"
    unverified: int
    warnings: int
    met: int
    waived: int
    missing: tuple[str, ...]  # suites no job delivered

    @property
    def name(self) -> str:
        return self.service.name


@dataclass(frozen=True)
class FleetView:
    fleet: FleetRun
    rows: list[ServiceRow] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.fleet.decision.verdict

    @property
    def headline(self) -> str:
        """One sentence: the verdict and the services behind it."""
        by: dict[str, int] = {}
        for r in self.rows:
            by[r.verdict] = by.get(r.verdict, 0) + 1
        parts = [f"{n} {v}" for v in (NO_GO, CONDITIONAL, GO) if (n := by.get(v))]
        missing = sum(len(r.missing) for r in self.rows)
        text = f"{self.verdict}: {len(self.rows)} service(s) — " + ", ".join(parts)
        if missing:
            text += f"; {missing} planned audit(s) missing (not verified: the fleet is never GO)"
        return text + "."


def _by_severity(service: ServiceAudit) -> str:
    counts: dict[str, int] = {}
    failing = [r for r in service.run.results if r.status is Status.FAIL and not r.waived]
    for sev in sorted(Severity, reverse=True):
        n = sum(1 for r in failing if r.effective_severity is sev)
        if n:
            counts[sev.label] = n
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def build_fleet_view(fleet: FleetRun) -> FleetView:
    rows = []
    for s in fleet.services:
        c = s.counts
        rows.append(
            ServiceRow(
                service=s,
                verdict=s.decision.verdict,
                exit_code=s.decision.exit_code,
                not_met=c["fail"],
                not_met_by_severity=_by_severity(s),
                unverified=c["unverified"],
                warnings=c["warn"],
                met=c["pass"],
                waived=c["waived"],
                missing=tuple(m.suite for m in s.missing),
            )
        )
    rows.sort(key=lambda r: (VERDICT_ORDER.get(r.verdict, 3), -r.not_met, -r.unverified, r.name))
    return FleetView(fleet, rows)
