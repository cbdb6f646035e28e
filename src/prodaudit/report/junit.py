"""junit.xml: one testsuite per audit suite, one testcase per check.

FAIL -> ``<failure>``, ERROR -> ``<error>``, SKIP -> ``<skipped>``; a waived failure is
``<skipped>`` with the waiver as message (it does not count against the decision but stays
visible); WARN and PASS pass, their findings in ``<system-out>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from prodaudit.model import SUITES, AuditRun, CheckResult, Status
from prodaudit.report.interface import Renderer

# characters XML 1.0 cannot carry, even escaped
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text or "")


def _details(r: CheckResult) -> str:
    lines: list[str] = []
    if r.reason:
        lines.append(f"Reason: {r.reason}")
    for f in r.findings:
        where = f" [{f.location}]" if f.location else ""
        lines.append(f"{f.status.value.upper()}{where}: {f.message}")
        if f.evidence:
            lines.extend("    " + ln for ln in f.evidence.splitlines())
        if f.remediation and f.status in (Status.FAIL, Status.WARN):
            lines.append(f"    Remediation: {f.remediation}")
    return "\n".join(lines)


def _first_message(r: CheckResult) -> str:
    first = next((f for f in r.findings if f.status is r.status), None)
    text = first.message if first else (r.reason or r.title)
    return text if len(text) <= 300 else text[:297] + "..."


def _testcase(parent: ET.Element, r: CheckResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        {
            "classname": f"prodaudit.{r.suite}",
            "name": clean(f"{r.id} {r.title}"),
            "time": f"{r.duration_s:.3f}",
        },
    )
    details = clean(_details(r))
    if r.waived and r.status is not Status.PASS:
        ET.SubElement(
            case, "skipped", {"message": clean(f"waived {r.status.value}: {r.waiver}")}
        ).text = details or None
    elif r.status is Status.FAIL:
        el = ET.SubElement(
            case,
            "failure",
            {"message": clean(_first_message(r)), "type": r.effective_severity.label},
        )
        el.text = details
    elif r.status is Status.ERROR:
        el = ET.SubElement(
            case, "error", {"message": clean(r.reason or _first_message(r)), "type": "error"}
        )
        el.text = details
    elif r.status is Status.SKIP:
        ET.SubElement(case, "skipped", {"message": clean(r.reason or "skipped")})
    if details and r.status in (Status.PASS, Status.WARN):
        ET.SubElement(case, "system-out").text = details


def _counts(results: Iterable[CheckResult]) -> dict[str, str]:
    rs = list(results)
    failures = sum(1 for r in rs if r.status is Status.FAIL and not r.waived)
    errors = sum(1 for r in rs if r.status is Status.ERROR and not r.waived)
    skipped = sum(
        1 for r in rs if r.status is Status.SKIP or (r.waived and r.status is not Status.PASS)
    )
    return {
        "tests": str(len(rs)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{sum(r.duration_s for r in rs):.3f}",
    }


def to_junit(run: AuditRun) -> ET.Element:
    root = ET.Element("testsuites", {"name": "prodaudit", **_counts(run.results)})
    suites = [s for s in SUITES if any(r.suite == s for r in run.results)]
    suites += sorted({r.suite for r in run.results} - set(suites))
    for i, suite in enumerate(suites):
        results = sorted((r for r in run.results if r.suite == suite), key=lambda r: r.id)
        ts = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"prodaudit.{suite}",
                "id": str(i),
                **_counts(results),
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
        ):
            ET.SubElement(props, "property", {"name": key, "value": clean(value)})
        for r in results:
            _testcase(ts, r)
    return root


class JunitRenderer(Renderer):
    name = "junit"
    filename = "junit.xml"

    def format(self, run: AuditRun) -> str:
        root = to_junit(run)
        ET.indent(root)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode")
            + "\n"
        )
