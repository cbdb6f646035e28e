"""audit.sarif validated against the vendored OASIS SARIF 2.1.0 schema (tests/data)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

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


def test_valid_against_schema(run: AuditRun, validator: jsonschema.Draft4Validator) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(_sarif(run))]
    assert errors == []


def test_schema_catches_a_broken_document(
    run: AuditRun, validator: jsonschema.Draft4Validator
) -> None:
    doc = _sarif(run)
    doc["runs"][0]["results"][0]["level"] = "fatal"
    del doc["version"]
    assert len(list(validator.iter_errors(doc))) >= 2


def test_one_rule_per_check_with_docstring_help(run: AuditRun) -> None:
    drv = _sarif(run)["runs"][0]["tool"]["driver"]
    ids = [r["id"] for r in drv["rules"]]
    assert ids == sorted(r.id for r in run.results)
    sec = next(r for r in drv["rules"] if r["id"] == "SEC-001")
    assert "alg: none" in sec["help"]["text"] and "Remediation:" in sec["help"]["text"]
    assert sec["shortDescription"]["text"] == "JWT alg none rejected"
    assert "CWE-347" in sec["properties"]["tags"]


def test_results_locations_and_states(run: AuditRun) -> None:
    sarif_run = _sarif(run)["runs"][0]
    results = sarif_run["results"]
    rules = sarif_run["tool"]["driver"]["rules"]
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    cfg = [r for r in results if r["ruleId"] == "CFG-010"]
    assert len(cfg) == 2  # the PASS finding is not a result
    loc = cfg[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "app/settings.py", "uriBaseId": "SRCROOT"}
    assert loc["region"] == {"startLine": 12}
    assert cfg[1]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 30,
        "startColumn": 7,
    }
    assert cfg[0]["level"] == "error"
    assert sarif_run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///srv/ultra-mvp/"
    live = next(r for r in results if r["ruleId"] == "SEC-001")
    assert "physicalLocation" not in live["locations"][0]
    assert live["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("GET http")
    skipped = next(r for r in results if r["ruleId"] == "SEC-020")
    assert skipped["kind"] == "open" and skipped["level"] == "none"
    waived = next(r for r in results if r["ruleId"] == "SEC-030")
    assert waived["suppressions"][0]["status"] == "accepted"
    assert not any(r["ruleId"] in ("FUN-001", "CFG-020") for r in results)  # passes
    assert sarif_run["invocations"][0]["exitCode"] == 1


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "src/app.py:7",
            {
                "artifactLocation": {"uri": "src/app.py", "uriBaseId": "SRCROOT"},
                "region": {"startLine": 7},
            },
        ),
        (
            "Dockerfile:3",
            {
                "artifactLocation": {"uri": "Dockerfile", "uriBaseId": "SRCROOT"},
                "region": {"startLine": 3},
            },
        ),
        (".env.example", {"artifactLocation": {"uri": ".env.example", "uriBaseId": "SRCROOT"}}),
        (
            "/abs/x.py:2",
            {"artifactLocation": {"uri": "file:///abs/x.py"}, "region": {"startLine": 2}},
        ),
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
    res = [r for r in doc["runs"][0]["results"] if r["ruleId"] in ("FUN-002", "FUN-003")]
    assert [r["ruleId"] for r in res] == ["FUN-002", "FUN-003"]
    assert "region" not in res[1]["locations"][0]["physicalLocation"]  # line 0 is not a line
