"""audit.sarif: SARIF 2.1.0 that GitHub code scanning accepts.

- One rule per check of the run: ``shortDescription`` the requirement (the title),
  ``fullDescription`` the docstring's first paragraph, ``help.text``/``help.markdown`` the whole
  docstring (rationale and remediation; RST literals as Markdown code), ``helpUri`` the suite's
  documentation page, tags (suite, references, ``security``), ``security-severity``.
- One result per failing or warning finding; findings of one check that differ only in a variant
  are one result (the variants in the message and in ``properties.variants``). Every result has a
  ``physicalLocation`` relative to the repository root (``uriBaseId`` ``SRCROOT``, declared in
  ``originalUriBaseIds``): a finding's own file, else for a live finding (``GET URL``) the route's
  handler found by :mod:`prodaudit.report.source_map`, else the audit's configuration file (the
  compose file for deployment checks). The original location is kept as a logical location and
  named in the location's message.
- Checks that could not verify their claim (SKIP, ERROR) are not results: they are tool
  execution notifications of the invocation, each with its root cause and the action.
- Waived results carry an accepted external suppression.
- ``partialFingerprints["prodaudit/v2"]`` is stable across runs: check, sub-rule, the location
  without the ephemeral host and port of a live target, and the ordinal among equal keys.
  GitHub's own ``primaryLocationLineHash`` is added by ``github/codeql-action/upload-sarif``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status
from prodaudit.report.causes import group_causes
from prodaudit.report.interface import Renderer
from prodaudit.report.locations import display, temporary
from prodaudit.report.screen import OUTCOME, impact
from prodaudit.report.source_map import KEY as SOURCE_MAP
from prodaudit.report.text import plain, rst_to_md
from prodaudit.report.variants import FindingGroup, group_findings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/prodaudit/prodaudit"
#: GitHub code scanning limits (docs.github.com, "SARIF support for code scanning")
MAX_TEXT = 1024
MAX_ID = 255
MAX_TAGS = 10
_LOC_RE = re.compile(r"^(?P<path>[^\s:]+?)(?::(?P<line>\d+))?(?::(?P<col>\d+))?(?::\s.*)?$", re.S)
_METHOD_RE = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)\s+\S+")
# GitHub code scanning's numeric security severity, by prodaudit severity (> 0.0: shown)
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0", Severity.INFO: "0.1",
}  # fmt: skip


def level(status: Status, severity: Severity) -> str:
    """SARIF level of a failing or warning finding."""
    if status is Status.FAIL:
        if severity >= Severity.MEDIUM:
            return "error"
        return "warning" if severity >= Severity.LOW else "note"
    return "warning" if severity >= Severity.MEDIUM else "note"


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def physical_location(location: str) -> dict[str, Any] | None:
    """``path:line[:col]`` (a bare relative path, or ``path: label``) -> SARIF physicalLocation
    relative to ``SRCROOT``; None for URLs, ``METHOD URL``, labels and absolute paths."""
    if not location or "://" in location or _METHOD_RE.match(location):
        return None
    m = _LOC_RE.match(location.strip())
    if not m:
        return None
    path = m.group("path")
    if m.group("line") is None and "/" not in path and "." not in path:
        return None  # a bare word is not a file
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts:
        return None
    out: dict[str, Any] = {"artifactLocation": {"uri": str(p), "uriBaseId": "SRCROOT"}}
    line = int(m.group("line")) if m.group("line") else 0
    region: dict[str, Any] = {"startLine": line if line >= 1 else 1}
    if line >= 1 and m.group("col") is not None and int(m.group("col")) >= 1:
        region["startColumn"] = int(m.group("col"))
    out["region"] = region
    return out


def _repo(run: AuditRun) -> str:
    repo = str(run.target.get("repo") or "").rstrip("/")
    return repo + "/" if repo else ""


def _relative(run: AuditRun, location: str) -> str:
    repo = _repo(run)
    return location[len(repo) :] if repo and location.startswith(repo) else location


def _source_map(run: AuditRun) -> Mapping[str, Any]:
    smap = run.extras.get(SOURCE_MAP) if isinstance(run.extras, Mapping) else None
    return smap if isinstance(smap, Mapping) else {}


def _anchor(run: AuditRun, suite: str) -> dict[str, str]:
    """The file a location-less finding of ``suite`` is shown at."""
    anchors = _source_map(run).get("anchors")
    anchors = anchors if isinstance(anchors, Mapping) else {}
    for key in ("deployment", "config") if suite == "deployment" else ("config", "deployment"):
        a = anchors.get(key)
        if isinstance(a, Mapping) and a.get("uri"):
            return {"uri": str(a["uri"]), "why": str(a.get("why", ""))}
    # no map (an audit.json from elsewhere): a repository file named by the run itself
    for p in [*(run.target.get("compose_files") or []), run.target.get("env_file") or ""]:
        rel = _relative(run, str(p))
        if rel and not rel.startswith("/"):
            return {"uri": rel, "why": "a file of the audited configuration"}
    return {"uri": "README.md", "why": "the project's front page (no file of the audit is known)"}


def _location(run: AuditRun, r: CheckResult, location: str) -> dict[str, Any]:
    """A SARIF location with a physicalLocation for any finding location."""
    rel = _relative(run, location)
    phys = None if temporary(run, location) else physical_location(rel)
    if phys is not None:
        return {"physicalLocation": phys}
    out: dict[str, Any] = {}
    hit = _source_map(run).get("locations", {}).get(location) if location else None
    if isinstance(hit, Mapping) and hit.get("uri"):
        line = int(hit.get("line") or 1)
        out["physicalLocation"] = {
            "artifactLocation": {"uri": str(hit["uri"]), "uriBaseId": "SRCROOT"},
            "region": {"startLine": max(line, 1)},
        }
        note = f"found at {location}; {hit.get('why') or 'route handler'}"
    else:
        anchor = _anchor(run, r.suite)
        out["physicalLocation"] = {
            "artifactLocation": {"uri": anchor["uri"], "uriBaseId": "SRCROOT"},
            "region": {"startLine": 1},
        }
        where = display(run, location) if location else "no file"
        note = f"found at {where}; shown at {anchor['why'] or anchor['uri']}"
    out["message"] = {"text": _cut(note)}
    if location:
        kind = "resource" if _METHOD_RE.match(location) or "://" in location else "object"
        out["logicalLocations"] = [{"fullyQualifiedName": _cut(display(run, location), 500), "kind": kind}]
    return out


def _stable(location: str) -> str:
    """A location without the ephemeral parts of a live target (host and port change per run)."""
    m = _METHOD_RE.match(location)
    if m:
        method, _, url = location.partition(" ")
        return f"{method} {urlsplit(url.strip()).path or '/'}"
    if "://" in location:
        u = urlsplit(location)
        return f"{u.scheme}://{u.path or '/'}"
    return location


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _help_markdown(r: CheckResult) -> str:
    doc = rst_to_md(r.doc.strip()) or r.title
    refs = f"\n\nReferences: {', '.join(r.references)}." if r.references else ""
    return f"**{r.id}: {r.title}** ({r.suite} suite, severity {r.severity.label})\n\n{doc}{refs}"


def _rule(r: CheckResult) -> dict[str, Any]:
    doc = r.doc.strip() or r.title
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    tags = list(dict.fromkeys([*(("security",) if r.suite == "security" else ()), r.suite, *r.references]))[
        :MAX_TAGS
    ]
    name = re.sub(r"[^A-Za-z0-9]+", " ", r.title).title().replace(" ", "") or r.id
    return {
        "id": r.id[:MAX_ID],
        "name": name[:MAX_ID],
        "shortDescription": {"text": _cut(plain(r.title or r.id))},
        "fullDescription": {"text": _cut(plain(summary) or r.id)},
        "help": {"text": plain(doc), "markdown": _help_markdown(r)},
        "helpUri": f"{INFO_URI}/blob/main/docs/{r.suite}.md",
        "defaultConfiguration": {"level": level(Status.FAIL, r.severity)},
        "properties": {
            "tags": tags,
            "severity": r.severity.label,
            "security-severity": SECURITY_SEVERITY[r.severity],
            "precision": "high",
            "checklist": list(r.checklist),
        },
    }


def _message(r: CheckResult, g: FindingGroup) -> str:
    f = g.first
    text = f"{r.title}: {OUTCOME[f.status]} — {plain(g.message)}"
    if g.grouped:
        text += f" ({len(g.variants)} variants: {'; '.join(g.variants)})"
    if f.remediation:
        text += f" Fix: {plain(f.remediation)}"
    return text


def _results(run: AuditRun, r: CheckResult, index: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if r.status not in (Status.FAIL, Status.WARN):
        return out
    groups = [g for g in group_findings(r.findings) if g.first.status is r.status]
    if not groups:  # a failing result without a finding of its status still shows up
        groups = [FindingGroup((Finding(r.status, r.reason or r.title),))]
    seen: dict[tuple[str, str], int] = {}
    for g in groups:
        f = g.first
        sev = f.severity or r.severity
        key = (f.rule, _stable(f.location))
        seen[key] = seen.get(key, 0) + 1
        res: dict[str, Any] = {
            "ruleId": r.id,
            "ruleIndex": index,
            "kind": "fail",
            "level": level(f.status, sev),
            "message": {"text": _message(r, g)},
            "locations": [_location(run, r, f.location)],
            "partialFingerprints": {"prodaudit/v2": _fingerprint(r.id, *key, str(seen[key]))},
            "properties": {"status": f.status.value, "severity": sev.label},
        }
        if f.evidence:
            res["properties"]["evidence"] = f.evidence
        if f.rule:
            res["properties"]["subRule"] = f.rule
        if g.grouped:
            res["properties"]["variants"] = list(g.variants)
        if r.waived:
            res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": r.waiver}]
        out.append(res)
    return out


def _notifications(run: AuditRun, results: list[CheckResult], index: dict[str, int]) -> list[dict[str, Any]]:
    """One notification per check that could not verify its claim, with its cause and action."""
    out: list[dict[str, Any]] = []
    pending = [r for r in results if not r.status.verified]
    for group in group_causes(pending, results):
        for r in group.results:
            effect = impact(r, run.profile)
            action = r.reason if group.key == "other" else plain(group.action)
            out.append(
                {
                    "level": "error" if effect == "NO-GO" else "warning",
                    "message": {
                        "text": _cut(
                            f"{r.id} not verified ({r.status.value}): {plain(r.title)} — "
                            f"{plain(r.reason or 'no reason given')}. Cause: {group.title}. "
                            f"Action: {action}." + (f" Counts toward {effect}." if effect else ""),
                            2000,
                        )
                    },
                    "associatedRule": {"id": r.id, "index": index[r.id]},
                    "properties": {
                        "status": r.status.value,
                        "severity": r.effective_severity.label,
                        "cause": group.key,
                        "waived": r.waived,
                    },
                }
            )
    return out


def to_sarif(run: AuditRun) -> dict[str, Any]:
    results = sorted(run.results, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(results)}
    sarif_results: list[dict[str, Any]] = []
    for r in results:
        sarif_results.extend(_results(run, r, index[r.id]))
    crashed = any("check crashed" in r.reason for r in results if r.status is Status.ERROR)
    invocation: dict[str, Any] = {
        "executionSuccessful": not crashed,
        "exitCode": run.decision.exit_code,
        "exitCodeDescription": run.decision.verdict,
        "toolExecutionNotifications": _notifications(run, results, index),
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
                "rules": [_rule(r) for r in results],
            }
        },
        "automationDetails": {"id": f"prodaudit/{run.profile}/{run.run_id}"},
        "invocations": [invocation],
        "results": sarif_results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "decision": run.decision.verdict,
            "decisionReasons": list(run.decision.reasons),
            "profile": run.profile,
            "configDigest": run.config_digest,
        },
    }
    repo = str(run.target.get("repo") or "")
    if repo.startswith("/"):
        uri = PurePosixPath(repo).as_uri().rstrip("/") + "/"
        sarif_run["originalUriBaseIds"] = {
            "SRCROOT": {"uri": uri, "description": {"text": "the audited repository"}}
        }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [sarif_run]}


class SarifRenderer(Renderer):
    name = "sarif"
    filename = "audit.sarif"
    description = (
        "SARIF 2.1.0 for GitHub code scanning: a file location for every result, not-verified checks "
        "as tool notifications"
    )

    def format(self, run: AuditRun) -> str:
        return json.dumps(to_sarif(run), indent=2, ensure_ascii=False) + "\n"
