"""junit.xml read back with a real JUnit parser (junitparser) and checked against the run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from prodaudit.model import AuditRun, Finding, Status
from prodaudit.report.junit import JunitRenderer

junitparser = pytest.importorskip("junitparser", reason="junitparser (test extra) not installed")


def _read(run: AuditRun, tmp_path: Path) -> junitparser.JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_text(JunitRenderer().format(run), encoding="utf-8")
    return junitparser.JUnitXml.fromfile(str(path))


def test_one_testcase_per_check(run: AuditRun, tmp_path: Path) -> None:
    xml = _read(run, tmp_path)
    cases = {case.name.split()[0]: case for suite in xml for case in suite}
    assert sorted(cases) == sorted(r.id for r in run.results)
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {
        "prodaudit.config",
        "prodaudit.functional",
        "prodaudit.security",
        "prodaudit.deployment",
    }
    assert xml.tests == len(run.results)
    assert (xml.failures, xml.errors, xml.skipped) == (3, 1, 2)
    assert suites["prodaudit.config"].failures == 1 and suites["prodaudit.config"].errors == 1


def _kinds(case: junitparser.TestCase) -> list[str]:
    return [type(r).__name__ for r in case.result]


def test_statuses_map_to_junit_results(run: AuditRun, tmp_path: Path) -> None:
    cases = {case.name.split()[0]: case for suite in _read(run, tmp_path) for case in suite}
    assert _kinds(cases["SEC-001"]) == ["Failure"]
    failure = cases["SEC-001"].result[0]
    assert failure.type == "critical" and "alg none accepted" in failure.message
    assert "curl" in failure.text
    assert _kinds(cases["CFG-030"]) == ["Error"]
    assert "pip-audit unreachable" in cases["CFG-030"].result[0].message
    assert _kinds(cases["SEC-020"]) == ["Skipped"]
    assert _kinds(cases["SEC-030"]) == ["Skipped"]  # waived failure
    assert cases["SEC-030"].result[0].message.startswith("waived fail: CDN adds it")
    assert cases["FUN-001"].is_passed and cases["FUN-010"].is_passed  # WARN passes
    assert "GET /docs is public" in (cases["FUN-010"].system_out or "")
    assert cases["FUN-001"].time == pytest.approx(0.5)


def test_control_characters_do_not_break_xml(run: AuditRun, tmp_path: Path) -> None:
    bad = replace(
        run.results[0],
        id="FUN-050",
        status=Status.FAIL,
        findings=(Finding(Status.FAIL, "bell \x07 and nul \x00", evidence="\x1b[31mred"),),
    )
    cases = {c.name.split()[0]: c for s in _read(replace(run, results=(bad,)), tmp_path) for c in s}
    assert "bell" in cases["FUN-050"].result[0].message
