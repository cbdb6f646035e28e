"""Unit tests of the field harness's pure functions: locations, matching, scoring, loading."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import pytest
from harness import Fact, ManifestError, Observed, Topic, Verdict

TOPICS = {
    "hard-coded-secret": Topic("hard-coded-secret", "d", frozenset({"CFG-023", "CFG-040"})),
    "no-check-yet": Topic("no-check-yet", "d", frozenset()),
}


def fact(fid: str = "F01", *, topic: str = "hard-coded-secret", path: str = "app/config.py",
         line: int = 21, statuses: tuple[str, ...] = ("FAIL", "WARN"), checks: tuple[str, ...] = ()) -> Fact:
    return Fact(fid, topic, frozenset(checks), path, line, frozenset(statuses), "why")


def obs(check: str = "CFG-023", status: str = "FAIL", location: str = "app/config.py:21") -> Observed:
    path, line = harness.parse_location(location)
    return Observed(check, status, "message", location, path, line)


def manifest(must_flag: tuple[Fact, ...] = (), must_not: tuple[Fact, ...] = (),
             readiness: tuple[Verdict, ...] = ()) -> harness.Manifest:
    return harness.Manifest("owner__name", "", ".", "", must_flag, must_not, readiness,
                            Path("owner__name.toml"))


@pytest.mark.parametrize(("location", "expected"), [
    ("app/config.py:21", ("app/config.py", 21)),
    ("app/config.py:21:5", ("app/config.py", 21)),
    ("docker-compose.yml: services.web", ("docker-compose.yml", None)),
    ("docker-compose.yml:", ("docker-compose.yml", None)),
    ("Dockerfile", ("Dockerfile", None)),
    ("./src/app.py:3", ("src/app.py", 3)),
    ("/tmp/copy/repo/src/app.py:3", ("src/app.py", 3)),
    ("GET http://127.0.0.1:8000/health", (None, None)),
    ("", (None, None)),
])
def test_parse_location(location: str, expected: tuple[str | None, int | None]) -> None:
    assert harness.parse_location(location, ["/tmp/copy/repo"]) == expected


def test_normalise_path_prefers_the_longest_root() -> None:
    roots = ["/tmp/w/proj", "/tmp/w/proj/out/app"]
    assert harness.normalise_path("/tmp/w/proj/out/app/backend/x.py", roots) == "backend/x.py"
    assert harness.normalise_path("/tmp/w/proj/README.md", roots) == "README.md"
    assert harness.normalise_path("/elsewhere/x.py", roots) == "/elsewhere/x.py"


@pytest.mark.parametrize(("finding_line", "hit"),
                         [(19, True), (21, True), (23, True), (18, False), (24, False)])
def test_line_tolerance_is_two(finding_line: int, hit: bool) -> None:
    assert harness.matches(fact(), obs(location=f"app/config.py:{finding_line}"), TOPICS) is hit


def test_matching_needs_a_check_of_the_topic_or_the_fact() -> None:
    assert not harness.matches(fact(), obs(check="CFG-030"), TOPICS)
    assert harness.matches(fact(checks=("CFG-030",)), obs(check="CFG-030"), TOPICS)
    assert not harness.matches(fact(topic="no-check-yet"), obs(), TOPICS)


def test_matching_needs_the_same_path() -> None:
    assert not harness.matches(fact(), obs(location="other/config.py:21"), TOPICS)
    assert harness.matches(fact(), obs(location="./app/config.py:21"), TOPICS)


def test_whole_file_fact_matches_any_line_and_none() -> None:
    whole = fact(line=0)
    assert harness.matches(whole, obs(location="app/config.py:400"), TOPICS)
    assert harness.matches(whole, obs(location="app/config.py"), TOPICS)
    assert not harness.matches(fact(line=21), obs(location="app/config.py"), TOPICS)


def test_status_filter_and_any_status() -> None:
    fail_only = fact(statuses=("FAIL",))
    warn = obs(status="WARN")
    assert not harness.matches(fail_only, warn, TOPICS)
    assert harness.matches(fail_only, warn, TOPICS, any_status=True)


def test_score_counts_found_missed_violated_and_noise() -> None:
    m = manifest(
        must_flag=(fact("F01"), fact("F02", path="b.py", line=5)),
        must_not=(fact("N01", path="c.py", line=0),),
    )
    findings = [obs(), obs(location="c.py:9"), obs(check="CFG-101", location="Dockerfile:3")]
    score = harness.score_project(m, findings, {}, TOPICS)
    assert [f.id for f, _ in score.found] == ["F01"]
    assert [f.id for f in score.missed] == ["F02"]
    assert [f.id for f, _ in score.violated] == ["N01"]
    assert [n.check for n in score.noise] == ["CFG-101"]


def test_finding_at_a_must_flag_line_does_not_violate_a_nearby_must_not() -> None:
    m = manifest(must_flag=(fact("F01", line=21),), must_not=(fact("N01", line=23),))
    assert not harness.score_project(m, [obs(location="app/config.py:21")], {}, TOPICS).violated
    score = harness.score_project(m, [obs(location="app/config.py:23")], {}, TOPICS)
    assert [f.id for f, _ in score.violated] == ["N01"]


def test_fact_found_with_another_status_is_not_noise() -> None:
    m = manifest(must_flag=(fact(statuses=("FAIL",)),))
    score = harness.score_project(m, [obs(status="WARN")], {}, TOPICS)
    assert score.missed and not score.noise


def test_findings_of_judged_readiness_checks_are_not_noise() -> None:
    m = manifest(readiness=(Verdict("RDY-066", "not-pass", "no runbook"),))
    findings = [obs(check="RDY-066", location=""), obs(check="RDY-067", location="")]
    score = harness.score_project(m, findings, {"RDY-066": "FAIL"}, TOPICS)
    assert [n.check for n in score.noise] == ["RDY-067"]
    assert score.readiness[0].agreed


@pytest.mark.parametrize(("expect", "actual", "agreed"), [
    ("pass", "PASS", True), ("pass", "WARN", False), ("fail", "FAIL", True), ("warn", "FAIL", False),
    ("not-pass", "SKIP", True), ("not-pass", "ERROR", True), ("not-pass", "PASS", False),
    ("pass", "absent", False), ("not-pass", "PRESENT", True), ("pass", "PRESENT", True),
    ("fail", "PRESENT", False),
])
def test_judge_verdict(expect: str, actual: str, agreed: bool) -> None:
    statuses = {} if actual == "absent" else {"RDY-001": actual}
    result = harness.judge_verdict(Verdict("RDY-001", expect, "why"), statuses)
    assert (result.actual, result.agreed) == (actual, agreed)


def test_observed_from_audit() -> None:
    audit = {"results": [
        {"id": "CFG-023", "status": "fail", "findings": [
            {"status": "fail", "message": "m", "location": "/r/app.py:3"},
            {"status": "pass", "message": "ok", "location": "/r/b.py:1"},
        ]},
        {"id": "RDY-066", "status": "fail", "reason": "no runbook", "findings": []},
        {"id": "DEP-041", "status": "error", "reason": "boom", "findings": []},
        {"id": "CFG-060", "status": "pass", "evidence_level": "parsed",
         "findings": [{"status": "pass", "message": "ok", "location": ""}]},
        {"id": "RDY-067", "status": "pass", "evidence_level": "present",
         "findings": [{"status": "pass", "message": "heading only", "location": "OPS.md:3"}]},
    ]}
    findings, statuses, errors = harness.observed_from_audit(audit, ["/r"])
    assert [(f.check, f.path, f.line) for f in findings] == [
        ("CFG-023", "app.py", 3), ("RDY-066", None, None)]
    assert statuses == {"CFG-023": "FAIL", "RDY-066": "FAIL", "DEP-041": "ERROR", "CFG-060": "PASS",
                        "RDY-067": "PRESENT"}
    assert errors == ["DEP-041 ERROR: boom"]


def test_totals_and_summary() -> None:
    m = manifest(must_flag=(fact("F01"), fact("F02", line=90)), readiness=(Verdict("RDY-066", "pass", "w"),))
    score = harness.score_project(m, [obs(), obs(check="CFG-101", location="Dockerfile")],
                                  {"RDY-066": "PASS"}, TOPICS)
    t = harness.totals([score])
    assert (t.found, t.must_flag, t.violated, t.readiness_agreed, t.noise) == (1, 2, 0, 1, 1)
    summary = harness.summary_json([score], {"commit": "abc"})
    assert summary["overall"]["found_ratio"] == 0.5
    assert summary["projects"][0]["missed"][0]["id"] == "F02"
    text = harness.render_text([score])
    assert "MISSED  F02" in text and "NOISE   CFG-101" in text and "1/2" in text


def _valid() -> dict[str, Any]:
    return {
        "project": {"folder": "owner__name", "repo": ".", "render": "", "env_file": ""},
        "must_flag": [{"id": "F01", "topic": "hard-coded-secret", "path": "a.py", "line": 3, "why": "w"}],
        "must_not_flag": [{"id": "N01", "topic": "hard-coded-secret", "path": "a.py", "line": 4, "why": "w"}],
        "readiness": [{"check": "RDY-001", "expect": "pass", "why": "w"}],
    }


def test_parse_manifest_defaults() -> None:
    m = harness.parse_manifest(_valid(), Path("owner__name.toml"))
    assert m.must_flag[0].statuses == frozenset({"FAIL", "WARN"})
    assert m.repo == "." and m.readiness[0].expect == "pass"


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("project"), "missing [project]"),
    (lambda d: d["must_flag"][0].update(line=-1), "`line`"),
    (lambda d: d["must_flag"][0].update(status=["PASS"]), "`status`"),
    (lambda d: d["must_flag"][0].pop("why"), "`why`"),
    (lambda d: d["must_flag"][0].update(topic="", checks=[]), "topic or checks"),
    (lambda d: d["readiness"][0].update(expect="maybe"), "`expect`"),
])
def test_parse_manifest_rejects(mutate: Callable[[Any], object], message: str) -> None:
    data = _valid()
    mutate(data)
    with pytest.raises(ManifestError, match=re.escape(message)):
        harness.parse_manifest(data, Path("owner__name.toml"))


def test_select_manifests() -> None:
    paths = [Path("a__one.toml"), Path("b__two.toml")]
    assert harness.select_manifests(paths, []) == paths
    assert harness.select_manifests(paths, ["TWO"]) == [Path("b__two.toml")]
    with pytest.raises(ManifestError, match="no manifest matches"):
        harness.select_manifests(paths, ["three"])


def test_suite_invocations_and_fallback_detection() -> None:
    assert harness.suite_invocations(["config", "readiness"], True) == ["config,readiness"]
    assert harness.suite_invocations(["config", "readiness"], False) == ["config", "readiness"]
    usage = "prodaudit run: error: argument --suite: invalid choice: 'a,b'"
    rejected = subprocess.CompletedProcess([], 2, "", usage)
    decided = subprocess.CompletedProcess([], 2, "", "")  # exit 2 is also CONDITIONAL GO
    assert harness._rejects_suite_list(rejected)
    assert not harness._rejects_suite_list(decided)


def test_audit_environment_has_no_engine_and_no_service_urls(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1")
    env = harness.audit_environment(tmp_path)
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    assert env["DOCKER_HOST"] == f"unix://{tmp_path / 'no-docker-engine.sock'}"
    assert not (tmp_path / "no-docker-engine.sock").exists()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(harness.PROJECT_ROOT / "src")


def test_real_topics_file_loads() -> None:
    topics = harness.load_topics()
    assert "hard-coded-secret" in topics and topics["hard-coded-secret"].checks


def test_load_topics_rejects_bad_checks(tmp_path: Path) -> None:
    bad = tmp_path / "topics.toml"
    bad.write_text('[topics.x]\ndescription = "d"\nchecks = "CFG-001"\n', encoding="utf-8")
    with pytest.raises(ManifestError, match="`checks`"):
        harness.load_topics(bad)
