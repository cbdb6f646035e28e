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
    # failures: SEC-001, CFG-010, DEP-010; errors: CFG-030, DEP-012;
    # skipped: SEC-020, DEP-014 (not verified), SEC-030 (waived), FUN-010, CFG-032 (warnings)
    assert (xml.failures, xml.errors, xml.skipped) == (3, 2, 5)
    assert suites["prodaudit.config"].failures == 1 and suites["prodaudit.config"].errors == 1


def _kinds(case: junitparser.TestCase) -> list[str]:
    return [type(r).__name__ for r in case.result]


def _props(case: junitparser.TestCase) -> dict[str, str]:
    props = case._elem.find("properties")
    return {p.get("name"): p.get("value") for p in props} if props is not None else {}


def test_statuses_map_to_junit_results(run: AuditRun, tmp_path: Path) -> None:
    cases = {case.name.split()[0]: case for suite in _read(run, tmp_path) for case in suite}
    assert _kinds(cases["SEC-001"]) == ["Failure"]
    failure = cases["SEC-001"].result[0]
    # the effective severity (its findings are critical; the check's default is high)
    assert failure.type == "critical" and "token with alg=… accepted" in failure.message
    assert "(3 variants)" in failure.message
    assert "curl" in failure.text and "3 variants: none; None; NONE" in failure.text
    assert failure.text.count("curl") == 1  # one exchange for the three variants
    assert '`jwt.decode(token, key, algorithms=["HS256"])`' in failure.text  # RST literal as code
    assert _kinds(cases["CFG-030"]) == ["Error"]
    assert "pip-audit unreachable" in cases["CFG-030"].result[0].message
    assert _kinds(cases["SEC-020"]) == ["Skipped"]
    assert cases["SEC-020"].result[0].message.startswith("not verified: no allowed origins")
    assert _kinds(cases["SEC-030"]) == ["Skipped"]  # waived failure
    assert cases["SEC-030"].result[0].message.startswith("waived fail: CDN adds it")
    # a warning is visible: skipped with a WARN message, and its status as a property
    assert _kinds(cases["FUN-010"]) == ["Skipped"]
    assert cases["FUN-010"].result[0].message.startswith("WARN (high): GET /docs is public")
    assert _props(cases["FUN-010"])["prodaudit.status"] == "warn"
    assert _props(cases["SEC-020"])["prodaudit.status"] == "skip"
    assert cases["FUN-001"].is_passed
    assert _props(cases["FUN-001"]) == {"prodaudit.status": "pass", "prodaudit.severity": "critical"}
    assert cases["FUN-001"].time == pytest.approx(0.5)


def test_suite_time_is_wall_time(run: AuditRun, tmp_path: Path) -> None:
    """Checks run concurrently: a suite's time is first start to last end, not the sum."""
    timed = tuple(
        replace(r, started_s=1.0 + 0.1 * i, duration_s=2.0, waited_s=0.5 if r.id == "CFG-010" else 0.0)
        for i, r in enumerate(run.results)
    )
    xml = _read(replace(run, results=timed), tmp_path)
    suites = {s.name: s for s in xml}
    cfg = [r for r in timed if r.suite == "config"]
    first = min(r.started_s for r in cfg)
    last = max(r.started_s + r.duration_s + r.waited_s for r in cfg)
    assert suites["prodaudit.config"].time == pytest.approx(last - first, abs=0.001)
    assert suites["prodaudit.config"].time < sum(r.duration_s for r in cfg)
    assert xml.time == pytest.approx(90.0)  # the run: 10:15:00 -> 10:16:30
    case = next(c for c in suites["prodaudit.config"] if c.name.startswith("CFG-010"))
    assert _props(case)["prodaudit.waited_s"] == "0.500"
    # without start offsets (an older audit.json) the sum of the testcases is all there is
    plain = {s.name: s for s in _read(run, tmp_path)}
    assert plain["prodaudit.config"].time == pytest.approx(
        sum(r.duration_s for r in run.results if r.suite == "config")
    )


def test_rerender_is_byte_identical(run: AuditRun) -> None:
    from prodaudit.model import AuditRun as Run

    once = JunitRenderer().format(run)
    again = JunitRenderer().format(Run.from_dict(run.to_dict()))
    assert once == again


def test_control_characters_do_not_break_xml(run: AuditRun, tmp_path: Path) -> None:
    bad = replace(
        run.results[0],
        id="FUN-050",
        status=Status.FAIL,
        findings=(Finding(Status.FAIL, "bell \x07 and nul \x00", evidence="\x1b[31mred"),),
    )
    cases = {c.name.split()[0]: c for s in _read(replace(run, results=(bad,)), tmp_path) for c in s}
    assert "bell" in cases["FUN-050"].result[0].message
