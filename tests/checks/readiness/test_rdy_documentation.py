"""RDY-060–072 on a copy of the reference target with its documentation removed (the problem)
or completed (no problem); RDY-061 against the hardened target (the flawed case runs in
test_rdy_backend_code on the same started copy as RDY-005)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.checks.readiness.documentation import TOPICS
from prodaudit.model import Status
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]

README = """# ultra-mvp

## Setup

Install Python 3.11 and run `pip install -e .`.

## Running locally

`uvicorn app.main:app`

## Deployment

`docker compose up -d --build --wait`
"""
DOCS = {
    "docs/configuration.md": "# Configuration guide\n\nEvery variable.\n",
    "docs/troubleshooting.md": "# Troubleshooting\n\n## Login fails\n",
    "docs/architecture.md": "# Architecture\n\nComponents.\n",
    "CONTRIBUTING.md": "# Contributing\n\nOpen a pull request.\n",
    "docs/runbook.md": "# Runbook\n\n## Restart the API\n",
    "docs/incident-response.md": "# Incident response\n\n## Severity levels\n",
    "docs/backup.md": "# Backup and restore\n\n## Restore a dump\n",
    "docs/deploy.md": "# Deployment procedure\n\n## Rollout\n",
    "docs/launch-checklist.md": "# Launch checklist\n\n- [ ] secrets rotated\n",
    "docs/privacy.md": "# Privacy\n\n## Data retention\n\nNotes are kept 2 years.\n",
}
IDS = ["RDY-060"] + [t.id for t in TOPICS]


def strip_docs(root: Path) -> Path:
    for p in list(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in (".md", ".rst", ".adoc", ".markdown"):
            p.unlink()
    write(root / "README.md", "# ultra-mvp\n\nA product.\n\n## API\n\nJSON.\n")
    return root


def full_docs(root: Path) -> Path:
    strip_docs(root)
    write(root / "README.md", README)
    for rel, text in DOCS.items():
        write(root / rel, text)
    return root


def test_complete_docs_pass(mvp: Path) -> None:
    results = run_rdy(IDS, repo=full_docs(mvp))
    for check_id in IDS:
        assert_status(results[check_id], Status.PASS)
    assert "'Running locally'" in messages(results["RDY-060"])
    assert "docs/runbook.md" in messages(results["RDY-066"])


@pytest.mark.parametrize("check_id", IDS)
def test_missing_docs_fail(mvp: Path, check_id: str) -> None:
    r = run_rdy(check_id, repo=strip_docs(mvp))[check_id]
    assert_status(r, Status.FAIL)
    if check_id == "RDY-060":
        assert "no setup, run, deploy section" in messages(r)


def test_no_readme_fails(mvp: Path) -> None:
    strip_docs(mvp)
    (mvp / "README.md").unlink()
    r = run_rdy("RDY-060", repo=mvp)["RDY-060"]
    assert_status(r, Status.FAIL)
    assert "no README" in messages(r)


def test_docstring_coverage(mvp: Path) -> None:
    r = run_rdy("RDY-072", repo=mvp, readiness={"min_docstring_percent": 10})["RDY-072"]
    assert_status(r, Status.PASS)
    undocumented = "".join(f"def helper_{i}(x):\n    return x\n\n\n" for i in range(1500))
    write(mvp / "backend" / "app" / "helpers.py", undocumented)
    r = run_rdy("RDY-072", repo=mvp, readiness={"min_docstring_percent": 10})["RDY-072"]
    assert_status(r, Status.WARN)
    assert "backend/app/helpers.py 0/" in messages(r)


def test_api_docs_hardened(hardened_target: ReferenceTarget) -> None:
    r = run_rdy("RDY-061", target=hardened_target)["RDY-061"]
    assert_status(r, Status.PASS)
    assert "operations, each with a summary" in messages(r)
