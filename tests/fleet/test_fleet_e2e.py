"""A fleet of two services end to end, the way CI runs it: the reference target started twice on
different ports, one hardened and one with ``jwt-alg-none``; ``prodaudit plan``; every job of the
plan as its own process, all in parallel; ``prodaudit merge``. Then the same jobs with one missing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fleet_helpers import latest, prodaudit, read_json, run_jobs_in_parallel, write
from github_sarif import github_problems
from junitparser import JUnitXml

from prodaudit.config import REFERENCE_TARGET

if TYPE_CHECKING:  # only the annotation: a run that loads another conftest first still collects this
    from conftest import StartTarget

pytestmark = pytest.mark.slow

FLEET = """
only = ["FUN-001", "SEC-001", "SEC-002"]

[[services]]
name = "hardened"
repo = "{repo}"
base_url = "{hardened}"
suites = ["functional", "security"]
[services.auth]
username_env = "HARDENED_USER"
password_env = "HARDENED_PASSWORD"
second_username_env = "HARDENED_USER2"
second_password_env = "HARDENED_PASSWORD2"

[[services]]
name = "flawed"
repo = "{repo}"
base_url = "{flawed}"
suites = ["functional", "security"]
[services.auth]
username_env = "FLAWED_USER"
password_env = "FLAWED_PASSWORD"
second_username_env = "FLAWED_USER2"
second_password_env = "FLAWED_PASSWORD2"
"""


def _accounts(prefix: str, audit_env: dict[str, str]) -> dict[str, str]:
    return {
        f"{prefix}_USER": audit_env["PRODAUDIT_AUDIT_USERNAME"],
        f"{prefix}_PASSWORD": audit_env["PRODAUDIT_AUDIT_PASSWORD"],
        f"{prefix}_USER2": audit_env["PRODAUDIT_AUDIT2_USERNAME"],
        f"{prefix}_PASSWORD2": audit_env["PRODAUDIT_AUDIT2_PASSWORD"],
    }


def test_two_services_planned_run_in_parallel_and_merged(tmp_path: Path, start_target: StartTarget) -> None:
    hardened = start_target("", frontend=False)
    flawed = start_target("jwt-alg-none", frontend=False)
    assert hardened.base_url != flawed.base_url
    fleet = tmp_path / "fleet"
    write(
        fleet / "prodaudit.toml",
        FLEET.format(repo=REFERENCE_TARGET, hardened=hardened.base_url, flawed=flawed.base_url),
    )
    env = {**_accounts("HARDENED", hardened.audit_env), **_accounts("FLAWED", flawed.audit_env)}

    planned = prodaudit("plan", "--config", "prodaudit.toml", "--format", "json", cwd=fleet)
    assert planned.returncode == 0, planned.stderr
    write(fleet / "plan.json", planned.stdout)
    plan = read_json(fleet / "plan.json")
    assert [j["id"] for j in plan["jobs"]] == [
        "hardened.functional",
        "hardened.security",
        "flawed.functional",
        "flawed.security",
    ]
    assert all(
        j["command"].startswith("prodaudit run --config prodaudit.toml --service ") for j in plan["jobs"]
    )
    assert plan["jobs"][3]["env"][:2] == ["FLAWED_USER", "FLAWED_PASSWORD"]

    codes = run_jobs_in_parallel(plan, fleet, env)
    assert codes["flawed.security"] == 1  # SEC-001 fails: NO-GO for that job

    merged = prodaudit(
        "merge", "prodaudit-reports", "--plan", "plan.json", "--output", "fleet-reports", cwd=fleet
    )
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "NO-GO" in merged.stdout and "flawed" in merged.stdout
    out = latest(fleet / "fleet-reports")
    doc = read_json(out / "audit.json")
    assert doc["schema"] == "prodaudit/fleet/1" and doc["decision"] == "NO-GO" and doc["exit_code"] == 1
    services = {s["name"]: s for s in doc["services"]}
    assert set(services) == {"hardened", "flawed"}
    results = {name: {r["id"]: r for r in s["run"]["results"]} for name, s in services.items()}
    assert results["flawed"]["SEC-001"]["status"] == "fail"
    assert results["hardened"]["SEC-001"]["status"] == "pass"
    assert (
        results["hardened"]["FUN-001"]["status"] == "pass"
        and results["flawed"]["FUN-001"]["status"] == "pass"
    )
    assert services["flawed"]["decision"] == "NO-GO" and services["hardened"]["decision"] != "NO-GO"
    assert any(r.startswith("flawed: SEC-001 not met (critical)") for r in doc["decision_reasons"])
    assert all(len(s["jobs"]) == 2 and s["missing"] == [] for s in services.values())
    assert {r["suite"] for r in services["hardened"]["run"]["results"]} == {"functional", "security"}

    # SARIF: one run per service, each its own code-scanning category, acceptable to GitHub
    sarif = read_json(out / "audit.sarif")
    assert github_problems(sarif) == []
    runs = {r["properties"]["service"]: r for r in sarif["runs"]}
    assert set(runs) == {"hardened", "flawed"}
    categories = {r["automationDetails"]["id"].rsplit("/", 1)[0] for r in sarif["runs"]}
    assert categories == {"prodaudit/hardened", "prodaudit/flawed"}
    assert any(res["ruleId"] == "SEC-001" for res in runs["flawed"]["results"])
    assert not any(res["ruleId"] == "SEC-001" for res in runs["hardened"]["results"])

    # JUnit: one testsuite per service and suite
    junit = JUnitXml.fromfile(str(out / "junit.xml"))
    names = {s.name for s in junit}
    assert names == {
        "prodaudit.hardened.functional",
        "prodaudit.hardened.security",
        "prodaudit.flawed.functional",
        "prodaudit.flawed.security",
    }

    # the fleet overview first, then each service; every service's own reports
    md = (out / "production-readiness.md").read_text(encoding="utf-8")
    assert md.index("| Service | Decision |") < md.index("## flawed") < md.index("## hardened")
    assert "| [flawed](#flawed) | **NO-GO** |" in md
    assert "SEC-001" in (out / "services" / "flawed" / "security-audit.md").read_text(encoding="utf-8")
    assert read_json(out / "services" / "hardened" / "audit.json")["schema"] == "prodaudit/audit/1"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="svc-flawed"' in html and "services/flawed/index.html" in html

    # the same jobs with the hardened service's security job missing: not verified, never GO
    partial = tmp_path / "partial"
    shutil.copytree(fleet / "prodaudit-reports", partial)
    shutil.rmtree(partial / "hardened.security")
    again = prodaudit("merge", str(partial), "--plan", "plan.json", "--output", "partial-reports", cwd=fleet)
    assert again.returncode in (1, 2), again.stderr
    doc = read_json(latest(fleet / "partial-reports") / "audit.json")
    hardened_doc = next(s for s in doc["services"] if s["name"] == "hardened")
    assert hardened_doc["missing"][0]["suite"] == "security"
    assert hardened_doc["missing"][0]["job"] == "hardened.security"
    assert hardened_doc["decision"] != "GO"
    missing = {r["id"]: r for r in hardened_doc["run"]["results"] if r["suite"] == "security"}
    assert set(missing) == {"SEC-001", "SEC-002"}
    assert all(r["status"] == "error" and "wrote no audit.json" in r["reason"] for r in missing.values())
    assert any("hardened: the security suite was not audited" in r for r in doc["decision_reasons"])
