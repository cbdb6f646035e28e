"""audit.sarif validated against the vendored OASIS SARIF 2.1.0 schema (tests/data) and against
GitHub code scanning's documented upload constraints (``github_sarif.py``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from github_sarif import github_problems

from prodaudit.model import AuditRun, Finding, Status
from prodaudit.report.sarif import SarifRenderer, physical_location

SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert "SARIF" in schema["title"] and "2.1.0" in schema["title"]
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _sarif(run: AuditRun) -> dict:
    return json.loads(SarifRenderer().format(run))


def test_valid_against_schema_and_github(run: AuditRun, validator: jsonschema.Draft4Validator) -> None:
    doc = _sarif(run)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert github_problems(doc) == []


def test_checks_catch_broken_documents(run: AuditRun, validator: jsonschema.Draft4Validator) -> None:
    doc = _sarif(run)
    doc["runs"][0]["results"][0]["level"] = "fatal"
    del doc["version"]
    assert len(list(validator.iter_errors(doc))) >= 2
    gh = _sarif(run)
    res = gh["runs"][0]["results"]
    del res[0]["locations"]
    res[1]["partialFingerprints"] = {}
    gh["runs"][0]["tool"]["driver"]["rules"][0]["id"] = "X" * 300
    gh["runs"][0]["tool"]["driver"]["rules"][1]["fullDescription"]["text"] = "y" * 1025
    problems = "\n".join(github_problems(gh))
    for expected in ("0 locations", "partialFingerprints", "over 255", "over 1024"):
        assert expected in problems


def test_one_rule_per_check_with_docstring_help(run: AuditRun) -> None:
    drv = _sarif(run)["runs"][0]["tool"]["driver"]
    ids = [r["id"] for r in drv["rules"]]
    assert ids == sorted(r.id for r in run.results)
    sec = next(r for r in drv["rules"] if r["id"] == "SEC-001")
    assert "alg: none" in sec["help"]["text"] and "Remediation:" in sec["help"]["text"]
    assert "``" not in sec["help"]["markdown"] and '`algorithms=["HS256"]`' in sec["help"]["markdown"]
    assert sec["helpUri"].endswith("/docs/security.md")
    assert sec["shortDescription"]["text"] == "JWT alg none rejected"
    assert "CWE-347" in sec["properties"]["tags"] and "security" in sec["properties"]["tags"]


def test_every_result_has_a_file_location(run: AuditRun) -> None:
    sarif_run = _sarif(run)["runs"][0]
    results = sarif_run["results"]
    rules = sarif_run["tool"]["driver"]["rules"]
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        phys = res["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uriBaseId"] == "SRCROOT"
        assert not phys["artifactLocation"]["uri"].startswith(("/", "file:"))
    by_rule: dict[str, list[dict]] = {}
    for res in results:
        by_rule.setdefault(res["ruleId"], []).append(res)
    cfg = by_rule["CFG-010"]
    assert len(cfg) == 2  # the PASS finding is not a result
    loc = cfg[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "app/settings.py", "uriBaseId": "SRCROOT"}
    assert loc["region"] == {"startLine": 12}
    assert cfg[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 30, "startColumn": 7}
    assert cfg[0]["level"] == "error"
    assert sarif_run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///srv/ultra-mvp/"
    # a live finding is shown at its route's handler; the URL stays as a logical location
    (live,) = by_rule["SEC-001"]  # three variants of alg none: one result
    assert live["properties"]["variants"] == ["none", "None", "NONE"]
    assert live["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/routers/users.py"
    assert live["locations"][0]["physicalLocation"]["region"] == {"startLine": 14}
    assert live["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "GET http://127.0.0.1:8000/me"
    assert live["level"] == "error" and live["properties"]["severity"] == "critical"
    # no file: the audit's configuration file (deployment: the compose file), said in the message
    (redis,) = by_rule["DEP-010"]
    assert redis["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docker-compose.yml"
    assert "redis://127.0.0.1:6379" in redis["locations"][0]["message"]["text"]
    # a temporary file of the run is never the location
    (tmp,) = by_rule["CFG-032"]
    assert tmp["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "prodaudit.toml"
    assert "/tmp/" not in json.dumps(tmp["locations"])
    waived = by_rule["SEC-030"][0]
    assert waived["suppressions"][0]["status"] == "accepted"
    assert not any(r in by_rule for r in ("FUN-001", "CFG-020"))  # passes
    assert sarif_run["invocations"][0]["exitCode"] == 1


def test_not_verified_checks_are_notifications(run: AuditRun) -> None:
    sarif_run = _sarif(run)["runs"][0]
    unverified = {r.id for r in run.results if not r.status.verified}
    assert unverified == {"SEC-020", "CFG-030", "DEP-012", "DEP-014"}
    assert not unverified & {r["ruleId"] for r in sarif_run["results"]}
    notes = sarif_run["invocations"][0]["toolExecutionNotifications"]
    assert {n["associatedRule"]["id"] for n in notes} == unverified
    rules = sarif_run["tool"]["driver"]["rules"]
    for n in notes:
        assert rules[n["associatedRule"]["index"]]["id"] == n["associatedRule"]["id"]
    dep14 = next(n for n in notes if n["associatedRule"]["id"] == "DEP-014")
    assert dep14["level"] == "error"  # critical, not verified in production: NO-GO
    assert "No image registry reachable" in dep14["message"]["text"]
    assert "scripts/build-base-image.sh" in dep14["message"]["text"]


def test_fingerprints_are_stable_across_runs(run: AuditRun) -> None:
    """The live target's port changes per run; the fingerprint does not."""
    moved = replace(
        run,
        results=tuple(
            replace(
                r,
                findings=tuple(
                    replace(f, location=f.location.replace(":8000", ":49089")) for f in r.findings
                ),
            )
            for r in run.results
        ),
    )

    def fps(doc: dict) -> list[str]:
        return [r["partialFingerprints"]["prodaudit/v2"] for r in doc["runs"][0]["results"]]

    assert fps(_sarif(run)) == fps(_sarif(moved))
    assert len(set(fps(_sarif(run)))) == len(fps(_sarif(run)))


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "src/app.py:7",
            {"artifactLocation": {"uri": "src/app.py", "uriBaseId": "SRCROOT"}, "region": {"startLine": 7}},
        ),
        (
            "Dockerfile:3",
            {"artifactLocation": {"uri": "Dockerfile", "uriBaseId": "SRCROOT"}, "region": {"startLine": 3}},
        ),
        (
            ".env.example",
            {"artifactLocation": {"uri": ".env.example", "uriBaseId": "SRCROOT"}, "region": {"startLine": 1}},
        ),
        (
            "docker-compose.yml: services.api",
            {
                "artifactLocation": {"uri": "docker-compose.yml", "uriBaseId": "SRCROOT"},
                "region": {"startLine": 1},
            },
        ),
        ("/abs/x.py:2", None),
        ("../outside.py:2", None),
        ("GET http://127.0.0.1:8000/health", None),
        ("http://127.0.0.1:8000", None),
        ("redis://127.0.0.1:6379", None),
        ("somewhere", None),
        ("", None),
    ],
)
def test_physical_location(location: str, expected: dict | None) -> None:
    assert physical_location(location) == expected


def test_failure_without_findings_still_reported(
    run: AuditRun, validator: jsonschema.Draft4Validator
) -> None:
    bare = replace(run.results[0], id="FUN-002", status=Status.FAIL, findings=(), reason="")
    warn_only = replace(
        run.results[0],
        id="FUN-003",
        status=Status.WARN,
        findings=(Finding(Status.WARN, "slow", "x.py:0"),),
    )
    doc = _sarif(replace(run, results=(*run.results, bare, warn_only)))
    assert list(validator.iter_errors(doc)) == []
    assert github_problems(doc) == []
    res = [r for r in doc["runs"][0]["results"] if r["ruleId"] in ("FUN-002", "FUN-003")]
    assert [r["ruleId"] for r in res] == ["FUN-002", "FUN-003"]
    assert res[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}  # line 0 is no line


def test_without_a_source_map_a_run_file_is_the_anchor(run: AuditRun) -> None:
    extras = {k: v for k, v in run.extras.items() if k != "source_map"}
    doc = _sarif(replace(run, extras=extras))
    assert github_problems(doc) == []
    live = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "SEC-001")
    # the compose file of the run (under the repository), named relative to it
    assert live["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docker-compose.yml"
