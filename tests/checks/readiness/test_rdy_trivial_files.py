"""Issue 18's trivial files — an OPS.md of headings and "99.9%", an empty locustfile.py, a
Playwright config that is one comment naming browsers, a hand-written coverage.xml, a
``{"panels": []}`` dashboard and one cron line with pg_dump — added to a copy of a field-corpus
project turn none of the observed/validated readiness checks (tests, coverage, end-to-end, load,
backup, monitoring as code) into PASS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest_services import require_service
from helpers import describe
from rdy_helpers import IGNORE, run_rdy, write

from prodaudit.config import PROJECT_ROOT
from prodaudit.model import Status

CORPUS = PROJECT_ROOT.parent / "shared" / "field"
#: a Flask API, and a FastAPI + React template whose Jest unit tests (``*.test.tsx``) match
#: Playwright's default testMatch
PROJECTS = ["miguelgrinberg__microblog-api", "Buuntu__fastapi-react"]
#: the checks this issue made observe or validate (RDY-032/085 need a live product: SKIP here)
IDS = ["RDY-040", "RDY-041", "RDY-044", "RDY-045", "RDY-053", "RDY-055", "RDY-056", "RDY-057",
       "RDY-059", "RDY-084", "RDY-091", "RDY-095", "RDY-032", "RDY-085"]

TRIVIAL = {
    "OPS.md": "# Operations\n\n## SLO\n\n99.9%\n\n## Runbook\n\n## Incident response\n\n## Backups\n",
    "locustfile.py": "",
    "playwright.config.ts": "// browsers: chromium, firefox, webkit\n",
    "coverage.xml": '<?xml version="1.0" ?>\n<coverage line-rate="0.99" branch-rate="0.99"></coverage>\n',
    "grafana/dashboard.json": '{"panels": []}\n',
    "crontab": "0 3 * * * pg_dump app > /backups/app.sql\n",
}


@pytest.mark.parametrize("project", PROJECTS)
def test_trivial_files_turn_no_check_into_pass(tmp_path: Path, project: str) -> None:
    source = CORPUS / project
    require_service("field corpus", source.is_dir(), f"{source} is absent (../shared/field in CI)")
    repo = tmp_path / project
    shutil.copytree(source, repo, ignore=IGNORE)
    cfg = {"readiness": {"run_tests": False}}  # the suite run is tested elsewhere; SKIP both times
    before = run_rdy(IDS, repo=repo, **cfg)
    for rel, text in TRIVIAL.items():
        write(repo / rel, text)
    after = run_rdy(IDS, repo=repo, **cfg)
    flipped = [i for i in IDS if after[i].status is Status.PASS and before[i].status is not Status.PASS]
    assert not flipped, {i: (before[i].status.value, after[i].status.value,
                             [f.message for f in after[i].findings]) for i in flipped}
    newly_verified = [i for i in IDS if after[i].verified_pass and not before[i].verified_pass]
    assert not newly_verified
    # and the trivial files are named where a check judges them
    assert after["RDY-084"].status is Status.FAIL, describe(after["RDY-084"])  # empty locustfile
    assert after["RDY-044"].status is Status.FAIL, describe(after["RDY-044"])  # a comment config
    assert after["RDY-055"].status is Status.FAIL, describe(after["RDY-055"])  # {"panels": []}
    assert "coverage.xml not used as evidence" in after["RDY-041"].reason
