"""The audit's data model: frozen dataclasses and sortable enums (DESIGN.md, "Model")."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUITES: tuple[str, ...] = ("config", "functional", "security", "deployment", "readiness")
# "target": a base URL is configured (the check runs even when the backend does not answer);
# "live": the backend answers HTTP
NEEDS: frozenset[str] = frozenset(
    {"repo", "target", "live", "frontend", "docker", "database", "redis"}
)


class Severity(enum.IntEnum):
    """How bad a failure is; sortable, CRITICAL highest."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r}") from None


class Status(enum.Enum):
    """Outcome of one check. SKIP and ERROR mean "not verified"."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def verified(self) -> bool:
        return self not in (Status.SKIP, Status.ERROR)

    @property
    def rank(self) -> int:
        """Order used to combine findings: the worst status wins."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.PASS: 0, Status.SKIP: 1, Status.WARN: 2, Status.ERROR: 3, Status.FAIL: 4}


class Evidence(enum.Enum):
    """How strongly a result was established (issue 18): the checklist ticks "verified" only for
    an OBSERVED or PARSED pass.

    - OBSERVED: the audit ran, measured or rendered it (a request, a build, a test run);
    - PARSED: the audit read the artefact and validated what it means;
    - PRESENT: the audit only found that it exists (a file name, a heading, a keyword).
    """

    OBSERVED = "observed"
    PARSED = "parsed"
    PRESENT = "present"

    @property
    def rank(self) -> int:
        """Higher is stronger: OBSERVED 2, PARSED 1, PRESENT 0."""
        return {"observed": 2, "parsed": 1, "present": 0}[self.value]

    @property
    def verifies(self) -> bool:
        """Whether a PASS at this level counts as verified."""
        return self is not Evidence.PRESENT

    @classmethod
    def default_for(cls, needs: frozenset[str]) -> Evidence:
        """The level a check reaches by its prerequisites when it does not declare one: anything
        that talks to a running system observes; a repository check parses."""
        return cls.OBSERVED if needs - {"repo"} else cls.PARSED


@dataclass(frozen=True)
class Finding:
    """One observation of a check. A PASS finding states what was verified."""

    status: Status
    message: str
    location: str = ""
    evidence: str = ""
    remediation: str = ""
    severity: Severity | None = None  # overrides the check's severity for this finding
    rule: str = ""  # optional sub-rule id (e.g. a hadolint-compatible id)
    level: Evidence | None = None  # how this observation was made (None: the check's level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "level": self.level.value if self.level is not None else None,
            "message": self.message,
            "location": self.location,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "severity": self.severity.label if self.severity is not None else None,
            "rule": self.rule,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        sev = data.get("severity")
        return cls(
            status=Status(data["status"]),
            message=data.get("message", ""),
            location=data.get("location", ""),
            evidence=data.get("evidence", ""),
            remediation=data.get("remediation", ""),
            severity=Severity.parse(sev) if sev else None,
            rule=data.get("rule", ""),
            level=Evidence(data["level"]) if data.get("level") else None,
        )


CheckFunc = Callable[..., Any]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check. Its docstring is its documentation (rationale and remediation)."""

    id: str
    title: str
    suite: str
    severity: Severity
    func: CheckFunc
    needs: frozenset[str] = frozenset()
    checklist: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    exclusive: bool = False  # runs alone after the concurrent phase (bursts, load tests)
    timeout: float | None = None
    is_async: bool = False
    doc: str = ""
    final: bool = False  # runs alone after every other check (judges what the run left behind)
    evidence: Evidence = Evidence.PARSED  # the strongest level this check reaches when it passes

    @property
    def summary(self) -> str:
        """First paragraph of the docstring."""
        return self.doc.strip().split("\n\n", 1)[0].replace("\n", " ").strip()

    @property
    def remediation(self) -> str:
        """The docstring's "Remediation:" paragraph, if any."""
        marker = "Remediation:"
        if marker not in self.doc:
            return ""
        text = self.doc.split(marker, 1)[1].strip()
        return " ".join(text.split("\n\n", 1)[0].split())


@dataclass(frozen=True)
class CheckResult:
    """Result of running one check."""

    id: str
    suite: str
    title: str
    severity: Severity
    status: Status
    findings: tuple[Finding, ...] = ()
    duration_s: float = 0.0
    reason: str = ""  # why SKIP / ERROR
    checklist: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    doc: str = ""
    waived: bool = False
    waiver: str = ""
    waited_s: float = 0.0  # time spent waiting for shared facts other checks were building
    started_s: float | None = None  # when the check started, seconds after the first check
    evidence: Evidence = Evidence.PARSED  # the check's declared level (CheckSpec.evidence)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    @property
    def evidence_level(self) -> Evidence | None:
        """How strongly a PASS was established: the weakest level among the PASS findings (a
        finding without a level has the check's). None unless the result is PASS."""
        if self.status is not Status.PASS:
            return None
        levels = [f.level or self.evidence for f in self.findings if f.status is Status.PASS]
        return min(levels, key=lambda e: e.rank) if levels else self.evidence

    @property
    def verified_pass(self) -> bool:
        """A PASS that counts as verified (observed or parsed), never a WARN."""
        level = self.evidence_level
        return level is not None and level.verifies

    @property
    def effective_severity(self) -> Severity:
        """Highest severity among failing findings, else the check's."""
        sevs = [f.severity for f in self.findings if f.status is Status.FAIL and f.severity]
        return max(sevs) if sevs else self.severity

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "suite": self.suite,
            "title": self.title,
            "severity": self.severity.label,
            "effective_severity": self.effective_severity.label,
            "status": self.status.value,
            "duration_s": round(self.duration_s, 4),
            "waited_s": round(self.waited_s, 4),
            "started_s": None if self.started_s is None else round(self.started_s, 4),
            "evidence": self.evidence.value,
            "evidence_level": level.value if (level := self.evidence_level) is not None else None,
            "reason": self.reason,
            "checklist": list(self.checklist),
            "references": list(self.references),
            "doc": self.doc,
            "waived": self.waived,
            "waiver": self.waiver,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            id=data["id"],
            suite=data["suite"],
            title=data.get("title", ""),
            severity=Severity.parse(data["severity"]),
            status=Status(data["status"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
            duration_s=float(data.get("duration_s", 0.0)),
            reason=data.get("reason", ""),
            checklist=tuple(data.get("checklist", [])),
            references=tuple(data.get("references", [])),
            doc=data.get("doc", ""),
            waived=bool(data.get("waived", False)),
            waiver=data.get("waiver", ""),
            waited_s=float(data.get("waited_s") or 0.0),
            started_s=None if data.get("started_s") is None else float(data["started_s"]),
            evidence=Evidence(data.get("evidence") or Evidence.PARSED.value),
        )


@dataclass(frozen=True)
class Decision:
    """The gate's verdict with its reasons."""

    verdict: str  # "GO" | "CONDITIONAL GO" | "NO-GO"
    exit_code: int
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "exit_code": self.exit_code, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class AuditRun:
    """One audit: what was audited, every result, the decision. Serialised as audit.json."""

    run_id: str
    target: Mapping[str, Any]
    profile: str
    tool_version: str
    config_digest: str
    started_at: str
    finished_at: str
    results: tuple[CheckResult, ...]
    decision: Decision
    facts: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)  # waivers, baseline diff, attestations...
    # the request ledger: every request sent to the target, per check and per method, and every
    # request refused (read-only, exclusions, budgets); empty for runs before it existed
    requests: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "prodaudit/audit/1",
            "run_id": self.run_id,
            "decision": self.decision.verdict,
            "exit_code": self.decision.exit_code,
            "decision_reasons": list(self.decision.reasons),
            "tool_version": self.tool_version,
            "target": dict(self.target),
            "profile": self.profile,
            "config_digest": self.config_digest,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": [r.to_dict() for r in self.results],
            "facts": dict(self.facts),
            "extras": dict(self.extras),
            "requests": dict(self.requests),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRun:
        return cls(
            run_id=data.get("run_id", ""),
            target=data.get("target", {}),
            profile=data.get("profile", ""),
            tool_version=data.get("tool_version", ""),
            config_digest=data.get("config_digest", ""),
            started_at=data.get("started_at", ""),
            finished_at=data.get("finished_at", ""),
            results=tuple(CheckResult.from_dict(r) for r in data.get("results", [])),
            decision=Decision(
                verdict=data["decision"],
                exit_code=int(data["exit_code"]),
                reasons=tuple(data.get("decision_reasons", [])),
            ),
            facts=data.get("facts", {}),
            extras=data.get("extras", {}),
            requests=data.get("requests") or {},
        )
