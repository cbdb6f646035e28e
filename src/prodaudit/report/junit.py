"""junit.xml: one testsuite per audit suite, one testcase per check.

- FAIL -> ``<failure type="SEVERITY">``; ERROR -> ``<error>``; SKIP -> ``<skipped message="not
  verified: REASON">``.
- WARN -> ``<skipped message="WARN (SEVERITY): first warning">``: CI test views show skipped
  tests, so a warning stays visible instead of disappearing among passes; it does not fail the
  build (the decision does that, through the exit code). Every testcase also carries
  ``<properties>`` ``prodaudit.status`` (pass, warn, fail, skip, error), ``prodaudit.severity``
  (effective) and, when it waited, ``prodaudit.waited_s``, so tools can tell a warning from a
  check that was not verified.
- A waived non-pass is ``<skipped message="waived STATUS: WAIVER">`` (it does not count against
  the decision but stays visible).
- ``time`` of a testcase is the check's own duration (without waiting for shared facts); the
  ``time`` of a testsuite is its wall time (first start to last end of its checks, which run
  concurrently), not the sum of its testcases; the root's is the run's wall time.
- Rendering is pure and byte-identical for the same ``audit.json``.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from prodaudit.model import SUITES, AuditRun, CheckResult, Status
from prodaudit.report.interface import Renderer
from prodaudit.report.locations import display
from prodaudit.report.text import plain
from prodaudit.report.variants import group_findings

# characters XML 1.0 cannot carry, even escaped
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text or "")


def _details(run: AuditRun, r: CheckResult) -> str:
    lines: list[str] = []
    if r.reason:
        lines.append(f"Reason: {plain(r.reason)}")
    for g in group_findings(r.findings):
        f = g.first
        where = f" [{display(run, f.location)}]" if f.location else ""
        lines.append(f"{f.status.value.upper()}{where}: {plain(g.message)}")
        if g.grouped:
            lines.append(f"    {len(g.variants)} variants: " + "; ".join(g.variants))
        if f.evidence:
            lines.extend("    " + ln for ln in f.evidence.splitlines())
        if f.remediation and f.status in (Status.FAIL, Status.WARN):
            lines.append(f"    Remediation: {plain(f.remediation)}")
    return "\n".join(lines)


def _first_message(r: CheckResult) -> str:
    first = next((g for g in group_findings(r.findings) if g.first.status is r.status), None)
    text = plain(first.message) if first else (r.reason or r.title)
    if first is not None and first.grouped:
        text += f" ({len(first.variants)} variants)"
    return text if len(text) <= 300 else text[:297] + "..."


def _testcase(parent: ET.Element, run: AuditRun, r: CheckResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        {
            "classname": f"prodaudit.{r.suite}",
            "name": clean(f"{r.id} {r.title}"),
            "time": f"{r.duration_s:.3f}",
        },
    )
    props = ET.SubElement(case, "properties")
    values = [("prodaudit.status", r.status.value), ("prodaudit.severity", r.effective_severity.label)]
    if r.waited_s >= 0.001:
        values.append(("prodaudit.waited_s", f"{r.waited_s:.3f}"))
    if r.waived:
        values.append(("prodaudit.waived", "true"))
    for name, value in values:
        ET.SubElement(props, "property", {"name": name, "value": clean(value)})
    details = clean(_details(run, r))
    sev = r.effective_severity.label
    if r.waived and r.status is not Status.PASS:
        ET.SubElement(case, "skipped", {"message": clean(f"waived {r.status.value}: {r.waiver}")}).text = (
            details or None
        )
    elif r.status is Status.FAIL:
        el = ET.SubElement(case, "failure", {"message": clean(_first_message(r)), "type": sev})
        el.text = details
    elif r.status is Status.ERROR:
        message = clean(f"not verified: {r.reason or _first_message(r)}")
        el = ET.SubElement(case, "error", {"message": message, "type": "error"})
        el.text = details
    elif r.status is Status.SKIP:
        ET.SubElement(case, "skipped", {"message": clean(f"not verified: {r.reason or 'skipped'}")})
    elif r.status is Status.WARN:
        ET.SubElement(case, "skipped", {"message": clean(f"WARN ({sev}): {_first_message(r)}")}).text = (
            details or None
        )
    if details and r.status is Status.PASS:
        ET.SubElement(case, "system-out").text = details


def _iso(ts: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(ts)
    except ValueError:
        return None


def wall_time(results: Iterable[CheckResult]) -> float | None:
    """First start to last end of the results (None when a result has no start offset)."""
    rs = list(results)
    if not rs or any(r.started_s is None for r in rs):
        return None
    starts = [r.started_s or 0.0 for r in rs]
    ends = [(r.started_s or 0.0) + r.waited_s + r.duration_s for r in rs]
    return max(ends) - min(starts)


def _run_time(run: AuditRun) -> float:
    start, end = _iso(run.started_at), _iso(run.finished_at)
    if start and end and end >= start:
        return (end - start).total_seconds()
    return wall_time(run.results) or sum(r.duration_s for r in run.results)


def _counts(results: Iterable[CheckResult], time: float) -> dict[str, str]:
    rs = list(results)
    failures = sum(1 for r in rs if r.status is Status.FAIL and not r.waived)
    errors = sum(1 for r in rs if r.status is Status.ERROR and not r.waived)
    skipped = sum(
        1 for r in rs if r.status in (Status.SKIP, Status.WARN) or (r.waived and r.status is not Status.PASS)
    )
    return {
        "tests": str(len(rs)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{time:.3f}",
    }


def to_junit(run: AuditRun) -> ET.Element:
    root = ET.Element("testsuites", {"name": "prodaudit", **_counts(run.results, _run_time(run))})
    suites = [s for s in SUITES if any(r.suite == s for r in run.results)]
    suites += sorted({r.suite for r in run.results} - set(suites))
    for i, suite in enumerate(suites):
        results = sorted((r for r in run.results if r.suite == suite), key=lambda r: r.id)
        wall = wall_time(results)
        ts = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"prodaudit.{suite}",
                "id": str(i),
                **_counts(results, wall if wall is not None else sum(r.duration_s for r in results)),
                "timestamp": run.started_at[:19],
                "hostname": "localhost",
            },
        )
        props = ET.SubElement(ts, "properties")
        for key, value in (
            ("run_id", run.run_id),
            ("profile", run.profile),
            ("decision", run.decision.verdict),
            ("tool_version", run.tool_version),
            ("warnings", str(sum(1 for r in results if r.status is Status.WARN and not r.waived))),
            ("not_verified", str(sum(1 for r in results if not r.status.verified and not r.waived))),
            ("time", "wall" if wall is not None else "sum of testcases (no start times recorded)"),
        ):
            ET.SubElement(props, "property", {"name": key, "value": clean(value)})
        for r in results:
            _testcase(ts, run, r)
    return root


class JunitRenderer(Renderer):
    name = "junit"
    filename = "junit.xml"
    description = "JUnit XML for CI test views (warnings as skipped with a message, suite wall times)"

    def format(self, run: AuditRun) -> str:
        root = to_junit(run)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
