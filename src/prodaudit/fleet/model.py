"""The fleet document: per-service results and decisions, one fleet decision (frozen dataclasses,
serialised as the fleet's ``audit.json``, schema ``prodaudit/fleet/1``).

Each service's merged run is an ordinary :class:`~prodaudit.model.AuditRun`, so every renderer
of one audit renders a service of the fleet. Check documentation is identical across services
(the merge requires one tool version), so the document stores each check's docstring once
(``check_docs``) and the results refer to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from prodaudit.model import AuditRun, Decision
from prodaudit.report.screen import status_counts

SCHEMA = "prodaudit/fleet/1"


@dataclass(frozen=True)
class JobAudit:
    """One job's ``audit.json`` as the merge used it (or set aside)."""

    service: str
    suites: tuple[str, ...]  # the suites the merge took from it
    run_id: str
    source: str  # the audit.json it was read from
    decision: str
    finished_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "suites": list(self.suites),
            "run_id": self.run_id,
            "source": self.source,
            "decision": self.decision,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JobAudit:
        return cls(
            str(d["service"]),
            tuple(d.get("suites", [])),
            str(d.get("run_id", "")),
            str(d.get("source", "")),
            str(d.get("decision", "")),
            str(d.get("finished_at", "")),
        )


@dataclass(frozen=True)
class Missing:
    """A planned service/suite audit no job delivered: its checks are not verified."""

    service: str
    suite: str
    job: str  # the plan's job id, when the plan names it
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "suite": self.suite, "job": self.job, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Missing:
        return cls(str(d["service"]), str(d["suite"]), str(d.get("job", "")), str(d.get("reason", "")))


@dataclass(frozen=True)
class ServiceAudit:
    """One service of the fleet: its merged run (decision included), the jobs it came from and
    the planned audits that are missing."""

    name: str
    suites: tuple[str, ...]  # planned
    run: AuditRun
    jobs: tuple[JobAudit, ...] = ()
    missing: tuple[Missing, ...] = ()
    repo: str = ""  # the service's directory, relative to the fleet's (as its jobs recorded it)

    @property
    def decision(self) -> Decision:
        return self.run.decision

    @property
    def counts(self) -> dict[str, int]:
        return status_counts(self.run.results)

    def to_dict(self, docs: dict[str, str]) -> dict[str, Any]:
        run = self.run.to_dict()
        for r in run["results"]:
            if docs.setdefault(r["id"], r["doc"]) == r["doc"]:
                r["doc"] = ""  # in check_docs
        return {
            "name": self.name,
            "decision": self.run.decision.verdict,
            "exit_code": self.run.decision.exit_code,
            "counts": self.counts,
            "suites": list(self.suites),
            "repo": self.repo,
            "jobs": [j.to_dict() for j in self.jobs],
            "missing": [m.to_dict() for m in self.missing],
            "run": run,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], docs: Mapping[str, str]) -> ServiceAudit:
        run = AuditRun.from_dict(d["run"])
        results = tuple(replace(r, doc=docs.get(r.id, "")) if not r.doc else r for r in run.results)
        return cls(
            name=str(d["name"]),
            suites=tuple(d.get("suites", [])),
            run=replace(run, results=results),
            jobs=tuple(JobAudit.from_dict(j) for j in d.get("jobs", [])),
            missing=tuple(Missing.from_dict(m) for m in d.get("missing", [])),
            repo=str(d.get("repo", "")),
        )


@dataclass(frozen=True)
class FleetRun:
    """A merged fleet audit: the source of truth of every fleet report."""

    run_id: str
    tool_version: str
    fleet_digest: str
    config_file: str | None
    started_at: str
    finished_at: str
    decision: Decision
    services: tuple[ServiceAudit, ...]
    superseded: tuple[JobAudit, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[Missing]:
        return [m for s in self.services for m in s.missing]

    def service(self, name: str) -> ServiceAudit:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        docs: dict[str, str] = {}
        services = [s.to_dict(docs) for s in self.services]
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "decision": self.decision.verdict,
            "exit_code": self.decision.exit_code,
            "decision_reasons": list(self.decision.reasons),
            "tool_version": self.tool_version,
            "fleet_digest": self.fleet_digest,
            "config_file": self.config_file,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "services": services,
            "superseded": [j.to_dict() for j in self.superseded],
            "check_docs": dict(sorted(docs.items())),
            "extras": dict(self.extras),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FleetRun:
        docs = d.get("check_docs") or {}
        return cls(
            run_id=str(d["run_id"]),
            tool_version=str(d.get("tool_version", "")),
            fleet_digest=str(d.get("fleet_digest", "")),
            config_file=d.get("config_file"),
            started_at=str(d.get("started_at", "")),
            finished_at=str(d.get("finished_at", "")),
            decision=Decision(str(d["decision"]), int(d["exit_code"]), tuple(d.get("decision_reasons", []))),
            services=tuple(ServiceAudit.from_dict(s, docs) for s in d.get("services", [])),
            superseded=tuple(JobAudit.from_dict(j) for j in d.get("superseded", [])),
            extras=d.get("extras") or {},
        )
