"""Issue 18, "Done when": trivial files added to a real repository do not buy verified ticks, and the
repository cannot configure its own auditor. Placeholder documents (headings without text) stay
WARN, and the decision does not improve.

The repository is a copy of a field-corpus project (extremely-vulnerable-flask-app, which has no
operational documents, tests, dashboards or backups). The trivial files are the issue's: an OPS.md
of headings and "99.9%", an empty locustfile.py, a Playwright config that is one comment naming
browsers, a hand-written coverage.xml, a dashboard without panels, one cron line with pg_dump; then
a prodaudit.toml that lowers thresholds and points ``log_files`` at a hand-made log."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest_services import require_service
from rdy_helpers import write

from prodaudit.audit import run_audit
from prodaudit.config import load_config
from prodaudit.model import AuditRun, CheckResult, Evidence, Status
from prodaudit.report.checklist_view import build_checklist

PROJECT = Path(__file__).resolve().parents[4] / "shared" / "field" / \
    "manuelz120__extremely-vulnerable-flask-app"

TRIVIAL = {
    "OPS.md": "# Operations\n\n## Runbook\n\n## Incident response\n\n## On-call\n\n## Backup and restore\n\n"
              "## Disaster recovery\n\n## Failover\n\n## Deployment\n\n## Rollback\n\n"
              "## Deployment checklist\n\n## Troubleshooting\n\n## Architecture\n\n## Configuration\n\n"
              "## Monitoring\n\n## Alerts\n\n## SLO\n\n99.9%\n",
    "locustfile.py": "",
    "playwright.config.ts": "// projects: chromium, firefox, webkit\n",
    "coverage.xml": '<coverage line-rate="0.99"/>\n',
    "monitoring/dashboards/app.json": '{"panels": []}\n',
    "ops/crontab": "0 3 * * * pg_dump app > /backups/app.sql\n",
}
POLICY_TOML = """
[readiness]
min_docstring_percent = 0
max_file_lines = 100000
min_coverage_percent = 0
log_files = ["logs/app.log"]
"""
HAND_MADE_LOG = '{"level": "info", "message": "started", "logger": "app"}\n' * 3


def audit(repo: Path, out: Path) -> AuditRun:
    cfg = load_config({"repo": repo, "start_target": False, "output": out})
    return run_audit(cfg, ["readiness"], quiet=True, write=False).run


def by_id(run: AuditRun) -> dict[str, CheckResult]:
    return {r.id: r for r in run.results}


def describe_flip(r: CheckResult) -> str:
    level = r.evidence_level.value if r.evidence_level else "-"
    return f"{r.id} {r.status.value}/{level}: " + "; ".join(f.message[:100] for f in r.findings)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_service("field corpus", PROJECT.is_dir(), f"{PROJECT} is absent")
    root = tmp_path_factory.mktemp("trivial")
    repo = shutil.copytree(PROJECT, root / "repo")
    before = audit(repo, root / "r1")
    for rel, text in TRIVIAL.items():
        write(repo / rel, text)
    trivial = audit(repo, root / "r2")
    write(repo / "prodaudit.toml", POLICY_TOML)
    write(repo / "logs" / "app.log", HAND_MADE_LOG)
    configured = audit(repo, root / "r3")
    return {"before": before, "trivial": trivial, "configured": configured}


def test_trivial_files_buy_at_most_two_verified_passes(runs: dict[str, Any]) -> None:
    before, after = by_id(runs["before"]), by_id(runs["trivial"])
    flipped = [after[i] for i in after if after[i].status is Status.PASS
               and before[i].status is not Status.PASS]
    # the bar: at most two readiness checks turn into PASS, at any evidence level
    assert len(flipped) <= 2, "\n".join(describe_flip(r) for r in flipped)
    verified = [r for r in flipped if r.verified_pass]
    assert len(verified) <= 2, "\n".join(describe_flip(r) for r in verified)
    # every other check the files turned into PASS says it only found something present
    for r in flipped:
        assert r.verified_pass or r.evidence_level is Evidence.PRESENT, describe_flip(r)
    print("\nturned into PASS:", *(describe_flip(r) for r in flipped), sep="\n  ")
    # the checklist's verified count moves by as little
    ticked_before = build_checklist(runs["before"]).counts["pass"]
    ticked_after = build_checklist(runs["trivial"]).counts["pass"]
    assert ticked_after - ticked_before <= 2, (ticked_before, ticked_after)


#: the checks that judge a document's content (prodaudit/checks/readiness/_docs.py)
DOCUMENT_CHECKS = ("RDY-060", "RDY-062", "RDY-063", "RDY-064", "RDY-065", "RDY-066", "RDY-067",
                   "RDY-068", "RDY-069", "RDY-070", "RDY-071", "RDY-093", "RDY-094", "RDY-101")
VERDICT_RANK = {"NO-GO": 0, "CONDITIONAL GO": 1, "GO": 2}


def test_placeholder_documents_stay_warnings(runs: dict[str, Any]) -> None:
    """Headings without text promise documents that are not there: no document check turns into
    PASS (not even at level present); the ones the placeholder OPS.md matches are WARN and name it."""
    before, after = by_id(runs["before"]), by_id(runs["trivial"])
    flipped = [after[i] for i in DOCUMENT_CHECKS if i in after
               and after[i].status is Status.PASS and before[i].status is not Status.PASS]
    assert flipped == [], "\n".join(describe_flip(r) for r in flipped)
    placeholders = [after[i] for i in DOCUMENT_CHECKS if i in after
                    and any("placeholder" in f.message and "OPS.md" in (f.location or "")
                            for f in after[i].findings)]
    assert {r.status for r in placeholders} == {Status.WARN}
    assert len(placeholders) >= 8, [describe_flip(after[i]) for i in DOCUMENT_CHECKS if i in after]


def test_trivial_files_do_not_improve_the_decision(runs: dict[str, Any]) -> None:
    before, after = runs["before"].decision, runs["trivial"].decision
    assert VERDICT_RANK[after.verdict] <= VERDICT_RANK[before.verdict], (before, after)
    assert VERDICT_RANK[runs["configured"].decision.verdict] <= VERDICT_RANK[before.verdict]


def test_repository_side_prodaudit_toml_changes_nothing_and_is_listed(runs: dict[str, Any]) -> None:
    trivial, configured = by_id(runs["trivial"]), by_id(runs["configured"])
    changed = {i: (trivial[i].status.value, configured[i].status.value)
               for i in trivial if trivial[i].status is not configured[i].status}
    assert changed == {}
    ignored = {i["key"] for i in runs["configured"].extras["repository_config"]["ignored"]}
    assert ignored == {"readiness.min_docstring_percent", "readiness.max_file_lines",
                       "readiness.min_coverage_percent", "readiness.log_files"}
    assert runs["trivial"].extras["repository_config"]["ignored"] == []
