"""Fleet reports (pure renderers of a FleetRun): the document and its schema, the overview first,
SARIF one run per service (in files of 20 for GitHub), JUnit one suite per service and suite,
the console screen, the page, and the files table in docs/fleet.md."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from github_sarif import github_problems
from junitparser import JUnitXml

from prodaudit.fleet.gate import decide_fleet
from prodaudit.fleet.model import FleetRun, JobAudit, Missing, ServiceAudit
from prodaudit.gate import decide
from prodaudit.model import AuditRun, CheckResult, Severity, Status
from prodaudit.report.fleet import fleet_files_table, write_fleet_reports
from prodaudit.report.fleet.console import fleet_text
from prodaudit.report.fleet.html import FleetHtmlRenderer
from prodaudit.report.fleet.json_report import FleetJsonRenderer
from prodaudit.report.fleet.junit import FleetJunitRenderer
from prodaudit.report.fleet.markdown import FleetMarkdownRenderer, fleet_step_summary
from prodaudit.report.fleet.sarif import RUNS_PER_FILE, FleetSarifRenderer, parts
from prodaudit.report.fleet.schema import FleetDocument, ServiceDocument
from prodaudit.report.schemas import fleet_schema

ROOT = Path(__file__).parents[2]
SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"


def _passing(run: AuditRun) -> AuditRun:
    results = tuple(replace(r, status=Status.PASS, findings=()) for r in run.results)
    return replace(run, results=results, decision=decide(results, run.profile))


def _service(name: str, run: AuditRun, repo: str = "", missing: tuple[Missing, ...] = ()) -> ServiceAudit:
    run = replace(run, run_id=f"fleet1.{name}", target={**run.target, "repo": f"/srv/fleet/{repo or name}"})
    job = JobAudit(
        name,
        ("config", "security"),
        f"job-{name}",
        f"jobs/{name}/audit.json",
        run.decision.verdict,
        run.finished_at,
    )
    return ServiceAudit(name, ("config", "functional", "security", "deployment"), run, (job,), missing, repo)


def fleet_of(services: list[ServiceAudit]) -> FleetRun:
    return FleetRun(
        run_id="20261201T000000Z-fleet1",
        tool_version="0.1.0",
        fleet_digest="0123456789abcdef",
        config_file="prodaudit.toml",
        started_at="2026-12-01T00:00:00+00:00",
        finished_at="2026-12-01T00:05:00+00:00",
        decision=decide_fleet(services),
        services=tuple(services),
    )


@pytest.fixture
def fleet(run: AuditRun) -> FleetRun:
    missing = Missing(
        "worker",
        "deployment",
        "worker.deployment",
        "the fleet job for worker/deployment (worker.deployment) wrote no audit.json: it failed to run",
    )
    error = CheckResult(
        "DEP-030",
        "deployment",
        "The stack starts",
        Severity.CRITICAL,
        Status.ERROR,
        reason=f"not verified: {missing.reason}",
    )
    good = _passing(run)
    worker_results = (*good.results, error)
    worker = replace(good, results=worker_results, decision=decide(worker_results, "production"))
    return fleet_of(
        [
            _service("api", run, "services/api"),
            _service("web", good, "services/web"),
            _service("worker", worker, "services/worker", (missing,)),
        ]
    )


def test_the_fleet_decision_follows_its_services(run: AuditRun) -> None:
    good = _passing(run)
    assert decide_fleet([_service("a", good), _service("b", good)]).verdict == "GO"
    assert decide_fleet([_service("a", good), _service("b", run)]).verdict == "NO-GO"
    gone = Missing("b", "config", "", "no audit.json")
    # a missing audit: never GO, even when every check the service has left passed
    d = decide_fleet([_service("a", good), _service("b", good, missing=(gone,))])
    assert d.verdict == "CONDITIONAL GO" and d.exit_code == 2
    assert d.reasons == ("b: the config suite was not audited (no audit.json)",)
    assert decide_fleet([_service("a", good, missing=(gone,))], fail_on="no-go").exit_code == 0


def test_document_round_trip_and_schema(fleet: FleetRun) -> None:
    text = FleetJsonRenderer().format(fleet)
    doc = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(fleet_schema())
    v = jsonschema.Draft202012Validator(fleet_schema())
    assert [e.message for e in v.iter_errors(doc)] == []
    FleetDocument.model_validate(doc)
    assert {f.alias or k for k, f in FleetDocument.model_fields.items()} == set(doc)
    assert set(ServiceDocument.model_fields) == set(doc["services"][0])
    # check docs are stored once; reading the document back restores them
    assert all(r["doc"] == "" for s in doc["services"] for r in s["run"]["results"])
    assert doc["check_docs"]["SEC-001"]
    back = FleetRun.from_dict(doc)
    assert FleetJsonRenderer().format(back) == text
    assert back.services[0].run.results[0].doc == fleet.services[0].run.results[0].doc
    bad = dict(doc, decision="PERHAPS")
    assert len(list(v.iter_errors(bad))) == 1


def test_markdown_opens_with_the_overview_then_each_service(fleet: FleetRun) -> None:
    md = FleetMarkdownRenderer().format(fleet)
    overview = md.index("| Service | Decision |")
    assert (
        overview < md.index("## api") and overview < md.index("## worker") and overview < md.index("## web")
    )
    assert md.index("## api") < md.index("## worker") < md.index("## web")  # worst first
    assert "| [api](#api) | **NO-GO** |" in md and "| deployment |" in md
    assert "## Planned audits no job delivered (not verified)" in md
    assert "[services/api/](services/api/production-readiness.md)" in md
    summary = fleet_step_summary(fleet)
    assert summary.startswith("## prodaudit fleet: NO-GO") and "## api" not in summary


def test_sarif_one_run_per_service_with_its_own_category(fleet: FleetRun) -> None:
    doc = json.loads(FleetSarifRenderer().format(fleet))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(doc)] == []
    assert github_problems(doc) == []
    assert [r["properties"]["service"] for r in doc["runs"]] == ["api", "web", "worker"]
    ids = [r["automationDetails"]["id"] for r in doc["runs"]]
    assert ids == [f"prodaudit/{n}/{fleet.run_id}" for n in ("api", "web", "worker")]
    api = doc["runs"][0]
    # locations relative to the fleet's repository: the service's directory in front
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for res in api["results"]
        for loc in res["locations"]
    }
    assert uris and all(u.startswith("services/api/") for u in uris)
    assert api["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///srv/fleet/"
    assert doc["runs"][2]["properties"]["missingSuites"] == ["deployment"]


def test_sarif_parts_of_twenty_runs_for_large_fleets(run: AuditRun) -> None:
    big = fleet_of([_service(f"svc{i:02d}", run) for i in range(45)])
    files = [json.loads(p) for p in parts(big)]
    assert [len(f["runs"]) for f in files] == [RUNS_PER_FILE, RUNS_PER_FILE, 5]
    assert all(github_problems(f) == [] for f in files)
    categories = [r["automationDetails"]["id"].rsplit("/", 1)[0] for f in files for r in f["runs"]]
    assert len(set(categories)) == 45
    assert github_problems(json.loads(FleetSarifRenderer().format(big))) == ["45 runs (1..20)"]


def test_junit_one_suite_per_service_and_suite(fleet: FleetRun, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(FleetJunitRenderer().format(fleet), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    names = [s.name for s in xml]
    assert "prodaudit.api.security" in names and "prodaudit.worker.deployment" in names
    assert len(names) == len(set(names))
    worker_dep = next(s for s in xml if s.name == "prodaudit.worker.deployment")
    assert worker_dep.errors == 1
    total = sum(len(s.run.results) for s in fleet.services)
    assert xml.tests == total


def test_console_and_page(fleet: FleetRun) -> None:
    text = fleet_text(fleet)
    lines = text.splitlines()
    assert lines[0].strip().startswith("NO-GO") and "fleet of 3 service(s)" in lines[0]
    rows = [ln.split()[0] for ln in lines if ln.split() and ln.split()[0] in ("api", "web", "worker")]
    assert rows == ["api", "worker", "web"]
    assert "Fleet decision:  NO-GO  (exit 1)" in text
    html = FleetHtmlRenderer().format(fleet)
    assert "<script" not in html and "default-src 'none'" in html
    assert html.index('id="svc-api"') < html.index('id="svc-web"')
    assert "services/worker/index.html" in html


def test_written_directory_and_docs_table(fleet: FleetRun, tmp_path: Path) -> None:
    out = write_fleet_reports(fleet, tmp_path / "reports")
    assert (tmp_path / "reports" / "latest").resolve() == out.resolve()
    assert {p.name for p in out.iterdir()} == {
        "audit.json",
        "production-readiness.md",
        "index.html",
        "audit.sarif",
        "junit.xml",
        "services",
    }
    assert {p.name for p in (out / "services").iterdir()} == {"api", "web", "worker"}
    assert (out / "services" / "api" / "security-audit.md").is_file()
    only_md = write_fleet_reports(replace(fleet, run_id="other"), tmp_path / "r2", ["markdown"])
    assert {p.name for p in only_md.iterdir()} == {"audit.json", "production-readiness.md", "services"}
    docs = (ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    assert fleet_files_table() in docs, "docs/fleet.md: paste prodaudit.report.fleet.fleet_files_table()"
