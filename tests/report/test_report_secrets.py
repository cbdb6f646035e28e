"""No secret value from a seeded run appears in any output file: the value is registered with the
Redactor, routed through the real pipeline (audit.build_run -> write_reports -> rerender ->
build_docs) and every file written is scanned."""

from __future__ import annotations

from pathlib import Path

from prodaudit.audit import build_run
from prodaudit.config import load_config
from prodaudit.docs_build import build_docs
from prodaudit.model import CheckResult, Finding, Severity, Status
from prodaudit.redact import MASK, Redactor
from prodaudit.report import rerender, write_reports

SECRET = "Zq8vTn3LwX5pRk7Yh2Mf"


def _results() -> list[CheckResult]:
    return [
        CheckResult(
            id="CFG-900",
            suite="config",
            title="Seeded secret",
            severity=Severity.HIGH,
            status=Status.FAIL,
            findings=(
                Finding(
                    Status.FAIL,
                    f"JWT_SECRET={SECRET} committed",
                    f"app/{SECRET}.py:3",
                    evidence=f"3 | JWT_SECRET = '{SECRET}'\ncurl -H 'X-Key: {SECRET}' x",
                    remediation=f"rotate {SECRET}",
                ),
            ),
            checklist=("2.1.2",),
            doc="Seeded.\n\nRemediation: rotate.",
        ),
        CheckResult(
            id="SEC-900",
            suite="security",
            title="Seeded skip",
            severity=Severity.CRITICAL,
            status=Status.SKIP,
            reason=f"could not log in with {SECRET}",
            checklist=("8.1.1",),
            doc="Seeded skip.",
        ),
        CheckResult(
            id="DEP-900",
            suite="deployment",
            title="Seeded pass",
            severity=Severity.LOW,
            status=Status.PASS,
            findings=(Finding(Status.PASS, f"redis://:{SECRET}@127.0.0.1 ok"),),
            doc="Seeded pass.",
        ),
    ]


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prodaudit-waivers.toml").write_text(
        f'[[waiver]]\ncheck = "CFG-900"\nreason = "accepted until rotation of {SECRET}"\n'
        'owner = "sec-team"\nexpires = 2999-01-01\n',
        encoding="utf-8",
    )
    (repo / "prodaudit-attestations.toml").write_text(
        f'[[attestation]]\nitem = "3.2.4"\nname = "Ops"\nrole = "Operations lead"\n'
        f'date = 2026-11-20\nnote = "backup key {SECRET}"\n',
        encoding="utf-8",
    )
    reports = tmp_path / "reports"
    cfg = load_config({"repo": repo, "output": reports, "start_target": False})
    redactor = Redactor()
    redactor.register(SECRET)
    facts = {
        "env_graph": {
            "variables": [
                {
                    "name": "JWT_SECRET",
                    "required": True,
                    "secret": True,
                    "default": SECRET,
                    "read_at": ["app/x.py:1"],
                    "set_in": [".env"],
                    "description": f"value {SECRET}",
                }
            ]
        },
        "seen": [SECRET, {"nested": f"pre {SECRET} post"}],
    }
    run = build_run(
        cfg,
        _results(),
        facts,
        redactor,
        "2026-11-20T10:00:00+00:00",
        ["config", "security", "deployment"],
    )
    assert run.results[0].waived  # the waiver applied, its reason redacted
    out_dir = write_reports(run, reports)
    rerender(out_dir / "audit.json")
    docs = tmp_path / "docs"
    build_docs(reports, docs)

    files = [p for p in (*reports.rglob("*"), *docs.rglob("*")) if p.is_file()]
    names = {p.name for p in files}
    assert {
        "audit.json",
        "production-readiness.md",
        "security-audit.md",
        "configuration-validation.md",
        "test-results-summary.md",
        "index.html",
        "audit.sarif",
        "junit.xml",
        "deployment-checklist.md",
        "configuration-guide.md",
        "troubleshooting-guide.md",
        "post-launch-monitoring-plan.md",
    } <= names
    leaks = [str(p) for p in files if SECRET in p.read_text(encoding="utf-8")]
    assert leaks == []
    audit_json = (out_dir / "audit.json").read_text(encoding="utf-8")
    # the value was there and was masked, in results, facts and extras alike
    assert audit_json.count(MASK) >= 8
    assert "accepted until rotation of [REDACTED]" in audit_json
