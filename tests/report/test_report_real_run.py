"""Reports of a real audit: the reference target started with two flaws (alg none accepted, any
origin trusted), a handful of checks, every format written and checked the way its consumer reads
it (JSON Schema, SARIF schema and GitHub's constraints, the decision screen, re-rendering)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from github_sarif import github_problems

from prodaudit.audit import run_audit
from prodaudit.config import load_config
from prodaudit.report import rerender
from prodaudit.report.console import to_text
from prodaudit.report.schemas import audit_schema

SARIF_SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    mp = pytest.MonkeyPatch()
    mp.setenv("ULTRA_FLAWS", "jwt-alg-none,cors-reflect-origin")
    try:
        cfg = load_config({"output": out, "only": ["SEC-001", "SEC-030", "CFG-032", "FUN-001", "DEP-050"]})
        outcome = run_audit(cfg, quiet=True)
    finally:
        mp.undo()
    assert outcome.report_dir is not None
    return outcome.report_dir


def _read(d: Path, name: str) -> str:
    return (d / name).read_text(encoding="utf-8")


def test_audit_json_of_a_real_run_validates(audited: Path) -> None:
    doc = json.loads(_read(audited, "audit.json"))
    v = jsonschema.Draft202012Validator(audit_schema())
    assert [e.message for e in v.iter_errors(doc)] == []
    sec = next(r for r in doc["results"] if r["id"] == "SEC-001")
    assert sec["status"] == "fail" and sec["severity"] == "high" and sec["effective_severity"] == "critical"
    assert doc["extras"]["source_map"]["locations"]


def test_sarif_of_a_real_run(audited: Path) -> None:
    doc = json.loads(_read(audited, "audit.sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert list(jsonschema.Draft4Validator(schema).iter_errors(doc)) == []
    assert github_problems(doc) == []
    results = doc["runs"][0]["results"]
    (alg,) = [r for r in results if r["ruleId"] == "SEC-001"]  # five variants, one result
    assert len(alg["properties"]["variants"]) == 5
    phys = alg["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "backend/app/routers/users.py"  # the /users/me handler
    assert phys["region"]["startLine"] >= 1
    assert not any("/tmp/" in json.dumps(r["locations"]) for r in results)
    assert all(
        not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/") for r in results
    )


def test_decision_screen_of_a_real_run(audited: Path) -> None:
    md = _read(audited, "production-readiness.md")
    head = md.split("## Suites")[0]
    assert head.index("SEC-001") < head.index("SEC-030")  # critical before high
    assert "JWT with alg none is rejected | **NOT MET**" in head and "(5 variants)" in head
    assert "``" not in md
    html = _read(audited, "index.html")
    sec = html[html.index('<details class="check fail" id="SEC-001"') :]
    sec = sec[: sec.index("</details>")]
    assert sec.count("<pre>") == 1 and sec.count("<tr>") == 6  # header + five variants, one exchange
    from prodaudit.model import AuditRun

    text = to_text(AuditRun.from_dict(json.loads(_read(audited, "audit.json"))))
    assert re.search(r"✗ SEC-001 +critical +JWT with alg none is rejected — NOT MET → NO-GO", text)


def test_rerender_gives_identical_bytes(audited: Path) -> None:
    before = {p.name: p.read_bytes() for p in audited.iterdir() if p.is_file()}
    rerender(audited / "audit.json")
    after = {p.name: p.read_bytes() for p in audited.iterdir() if p.is_file()}
    assert after == before
