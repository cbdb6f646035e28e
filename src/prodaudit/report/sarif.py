"""audit.sarif: SARIF 2.1.0. One rule per check id (help text from the check's docstring);
FAIL/WARN findings become results (file locations for ``path:line`` findings, a logical location
for ``METHOD URL`` ones); SKIP/ERROR checks become ``kind: open`` results (not verified);
waived results carry an accepted external suppression."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PurePosixPath
from typing import Any

from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status
from prodaudit.report.interface import Renderer

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/prodaudit/prodaudit"
_LOC_RE = re.compile(r"^(?P<path>[^\s:]+?)(?::(?P<line>\d+))?(?::(?P<col>\d+))?$")
_METHOD_RE = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)\s+\S+")
# GitHub code scanning's numeric security severity, by prodaudit severity
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0", Severity.INFO: "0.0",
}  # fmt: skip


def level(status: Status, severity: Severity) -> str:
    """SARIF level of a failing or warning finding."""
    if status is Status.FAIL:
        if severity >= Severity.MEDIUM:
            return "error"
        return "warning" if severity >= Severity.LOW else "note"
    return "warning" if severity >= Severity.MEDIUM else "note"


def physical_location(location: str) -> dict[str, Any] | None:
    """``path:line[:col]`` (or a bare relative path) -> SARIF physicalLocation, else None."""
    if not location or "://" in location or _METHOD_RE.match(location):
        return None
    m = _LOC_RE.match(location.strip())
    if not m:
        return None
    path = m.group("path")
    if m.group("line") is None and "/" not in path and "." not in path:
        return None  # a bare word is not a file
    p = PurePosixPath(path)
    artifact: dict[str, Any] = {"uri": str(p), "uriBaseId": "SRCROOT"}
    if p.is_absolute():
        artifact = {"uri": p.as_uri()}
    out: dict[str, Any] = {"artifactLocation": artifact}
    if m.group("line") is not None and int(m.group("line")) >= 1:
        region: dict[str, Any] = {"startLine": int(m.group("line"))}
        if m.group("col") is not None and int(m.group("col")) >= 1:
            region["startColumn"] = int(m.group("col"))
        out["region"] = region
    return out


def _location(location: str) -> dict[str, Any] | None:
    phys = physical_location(location)
    if phys is not None:
        return {"physicalLocation": phys}
    if location:
        return {"logicalLocations": [{"fullyQualifiedName": location, "kind": "resource"}]}
    return None


def _rule(r: CheckResult) -> dict[str, Any]:
    doc = r.doc.strip() or r.title
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    tags = list(
        dict.fromkeys([r.suite, *r.references, *(("security",) if r.suite == "security" else ())])
    )
    rule: dict[str, Any] = {
        "id": r.id,
        "name": re.sub(r"[^A-Za-z0-9]+", " ", r.title).title().replace(" ", "") or r.id,
        "shortDescription": {"text": r.title or r.id},
        "fullDescription": {"text": summary},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": level(Status.FAIL, r.severity)},
        "properties": {
            "tags": tags,
            "severity": r.severity.label,
            "security-severity": SECURITY_SEVERITY[r.severity],
            "checklist": list(r.checklist),
        },
    }
    return rule


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _finding_result(r: CheckResult, index: int, f: Finding) -> dict[str, Any]:
    sev = f.severity or r.severity
    text = f.message or r.title
    if f.remediation:
        text += f" Remediation: {f.remediation}"
    res: dict[str, Any] = {
        "ruleId": r.id,
        "ruleIndex": index,
        "kind": "fail",
        "level": level(f.status, sev),
        "message": {"text": text},
        "partialFingerprints": {"prodaudit/v1": _fingerprint(r.id, f.rule, f.location, f.message)},
        "properties": {"status": f.status.value, "severity": sev.label},
    }
    loc = _location(f.location)
    if loc is not None:
        res["locations"] = [loc]
    if f.evidence:
        res["properties"]["evidence"] = f.evidence
    if f.rule:
        res["properties"]["subRule"] = f.rule
    return res


def _results(r: CheckResult, index: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if r.status in (Status.FAIL, Status.WARN):
        out = [_finding_result(r, index, f) for f in r.findings if f.status is r.status]
        if not out:
            out = [_finding_result(r, index, Finding(r.status, r.reason or r.title))]
    elif not r.status.verified:
        out = [
            {
                "ruleId": r.id,
                "ruleIndex": index,
                "kind": "open",
                "level": "none",
                "message": {
                    "text": f"Not verified ({r.status.value}): {r.reason or 'no reason given'}"
                },
                "partialFingerprints": {"prodaudit/v1": _fingerprint(r.id, "open")},
                "properties": {"status": r.status.value, "severity": r.severity.label},
            }
        ]
    if r.waived:
        for res in out:
            res["suppressions"] = [
                {"kind": "external", "status": "accepted", "justification": r.waiver}
            ]
    return out


def to_sarif(run: AuditRun) -> dict[str, Any]:
    results = sorted(run.results, key=lambda r: r.id)
    rules = [_rule(r) for r in results]
    sarif_results: list[dict[str, Any]] = []
    for i, r in enumerate(results):
        sarif_results.extend(_results(r, i))
    repo = str(run.target.get("repo") or "")
    invocation: dict[str, Any] = {
        "executionSuccessful": all(r.status is not Status.ERROR for r in results),
        "exitCode": run.decision.exit_code,
        "exitCodeDescription": run.decision.verdict,
    }
    if run.started_at:
        invocation["startTimeUtc"] = run.started_at
    if run.finished_at:
        invocation["endTimeUtc"] = run.finished_at
    sarif_run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "prodaudit",
                "version": run.tool_version,
                "semanticVersion": run.tool_version,
                "informationUri": INFO_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"prodaudit/{run.profile}/{run.run_id}"},
        "invocations": [invocation],
        "results": sarif_results,
        "properties": {
            "decision": run.decision.verdict,
            "decisionReasons": list(run.decision.reasons),
            "profile": run.profile,
            "configDigest": run.config_digest,
        },
    }
    if repo.startswith("/"):
        uri = PurePosixPath(repo).as_uri().rstrip("/") + "/"
        sarif_run["originalUriBaseIds"] = {"SRCROOT": {"uri": uri}}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [sarif_run]}


class SarifRenderer(Renderer):
    name = "sarif"
    filename = "audit.sarif"

    def format(self, run: AuditRun) -> str:
        return json.dumps(to_sarif(run), indent=2, ensure_ascii=False) + "\n"
