"""RDY-060–072 on a copy of the reference target with its documentation removed (the problem)
or completed (no problem); RDY-061 against the hardened target (the flawed case runs in
test_rdy_backend_code on the same started copy as RDY-005)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import describe
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.checks.readiness.documentation import TOPICS
from prodaudit.model import Evidence, Status
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]

README = """# ultra-mvp

## Setup

Install Python 3.11 and run `pip install -e .`.

## Running locally

```
uvicorn app.main:app
```

## Deployment

`docker compose up -d --build --wait`
"""
#: documents that say what to do (commands, steps, contacts)
DOCS = {
    "docs/configuration.md": "# Configuration guide\n\n| variable | meaning |\n|---|---|\n"
    "| DATABASE_URL | database |\n| REDIS_URL | cache |\n| JWT_SECRET_KEY | signing key |\n",
    "docs/troubleshooting.md": "# Troubleshooting\n\n## Login fails\n\n- **401 on every request**: "
    "the clock is skewed.\n- **503 from /health/ready**: the database is down.\n",
    "docs/architecture.md": "# Architecture\n\nThe API, a PostgreSQL database and a Redis cache.\n",
    "CONTRIBUTING.md": "# Contributing\n\nOpen a pull request.\n",
    "docs/runbook.md": "# Runbook\n\n## Restart the API\n\n```\ndocker compose restart api\n```\n",
    "docs/incident-response.md": "# Incident response\n\n## Severity levels\n\n"
    "1. SEV1: page the on-call engineer.\n2. SEV2: open a ticket.\n\nOwner: ops@example.com\n",
    "docs/backup.md": "# Backup and restore\n\n```\npg_dump -Fc app > app.dump\n"
    "pg_restore -d app app.dump\n```\n",
    "docs/deploy.md": "# Deployment procedure\n\n1. Build the image.\n2. Run `alembic upgrade head`.\n"
    "3. Roll out.\n",
    "docs/launch-checklist.md": "# Launch checklist\n\n- [ ] secrets rotated\n- [ ] backups tested\n"
    "- [ ] alerts routed\n",
    "docs/privacy.md": "# Privacy\n\n## Data retention\n\nNotes are kept 2 years.\n",
}
#: the same documents made of headings only (the trivial files of issue 18)
HEADINGS = {
    "README.md": "# ultra-mvp\n\n## Setup\n\n## Running locally\n\n## Deployment\n",
    "OPS.md": "# Operations\n\n## Configuration\n\n## Troubleshooting\n\n## Architecture\n\n"
    "## Contributing\n\n## Runbook\n\n## Incident response\n\n## Backup and restore\n\n"
    "## Deployment\n\n## Deployment checklist\n\n## Privacy\n\nAvailability: 99.9%\n",
}
#: topics a machine cannot judge: found is all it can say (the check's declared level is present)
PRESENT_ONLY = {"RDY-064", "RDY-065", "RDY-071"}
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
        r = results[check_id]
        assert_status(r, Status.PASS)
        assert r.evidence_level is (Evidence.PRESENT if check_id in PRESENT_ONLY else Evidence.PARSED)
    assert "'Running locally'" in messages(results["RDY-060"])
    assert "docs/runbook.md" in messages(results["RDY-066"])
    assert "command(s), e.g. `docker compose restart api`" in messages(results["RDY-066"])
    assert "owner/contact" in messages(results["RDY-067"])


def test_headings_alone_are_placeholders(mvp: Path) -> None:
    """A heading without text under it promises a document that is not there: a WARN naming the
    placeholder, never a PASS (issue 18: trivial files buy nothing)."""
    strip_docs(mvp)
    for rel, text in HEADINGS.items():
        write(mvp / rel, text)
    results = run_rdy(IDS, repo=mvp)
    for check_id in IDS:
        r = results[check_id]
        assert_status(r, Status.WARN)
        assert "placeholder" in messages(r), describe(r)
    assert "OPS.md" in messages(results["RDY-066"])
    assert "README.md" in messages(results["RDY-060"]) and "setup" in messages(results["RDY-060"])


#: "some prose" under every heading: text a person wrote, but nothing to follow
PROSE = "Ask the team about this part of the service before you change anything.\n"


def test_prose_without_actions_is_present_not_verified(mvp: Path) -> None:
    """Text under the headings that gives no commands, steps or contacts passes only on presence:
    the checklist does not tick it."""
    strip_docs(mvp)
    for rel, text in HEADINGS.items():
        write(mvp / rel, re.sub(r"^(##? .+)$", lambda m: m.group(1) + "\n\n" + PROSE, text,
                                flags=re.M))
    results = run_rdy(IDS, repo=mvp)
    for check_id in IDS:
        r = results[check_id]
        assert_status(r, Status.PASS)
        assert r.evidence_level is Evidence.PRESENT and not r.verified_pass, describe(r)
    assert "present, not verified" in messages(results["RDY-066"])
    assert "OPS.md" in messages(results["RDY-066"])


def test_keyword_headings_are_not_documents(mvp: Path) -> None:
    """"CRUD Operations" is not a runbook, "Deployment" of a frontend build a deployment procedure
    only when it says what to do, and a backup section without restore steps is not a recovery
    procedure."""
    strip_docs(mvp)
    write(mvp / "docs" / "crud.md", "# CRUD Operations\n\n```python\ncrud.get(db, id=1)\n```\n")
    write(mvp / "docs" / "production.md", "# Production\n\n### Backup Strategy\n\n```bash\n"
          "pg_dump -h localhost app | gzip > backup.sql.gz\n```\n\n## Troubleshooting\n")
    results = run_rdy(["RDY-066", "RDY-068"], repo=mvp)
    assert_status(results["RDY-066"], Status.FAIL)
    backup = results["RDY-068"]
    assert backup.status is Status.PASS and backup.evidence_level is Evidence.PRESENT
    assert "no restore command or step" in messages(backup) and "Backup Strategy" in messages(backup)
    write(mvp / "docs" / "production.md", "# Production\n\n### Backup Strategy\n\n```bash\n"
          "pg_dump -Fc app > app.dump\n```\n\nRestore:\n\n```\npg_restore -d app app.dump\n```\n")
    backup = run_rdy("RDY-068", repo=mvp)["RDY-068"]
    assert backup.verified_pass, describe(backup)


def test_reference_target_documents_are_actionable() -> None:
    results = run_rdy(IDS)
    for check_id in IDS:
        r = results[check_id]
        assert r.status is Status.PASS, describe(r)
        if check_id not in PRESENT_ONLY:
            assert r.verified_pass, describe(r)


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


def test_architecture_diagram_and_local_development_count(mvp: Path) -> None:
    """An architecture diagram (its alt text) is an architecture document (present), and a
    "local development" section with commands is the README's setup."""
    strip_docs(mvp)
    write(mvp / "README.md", "# app\n\n![Architecture diagram: API, PostgreSQL, Redis](arch.png)\n\n"
          "## Local development\n\n```\ndocker compose up\n```\n\n## Deployment\n\n"
          "1. Build the image.\n2. Push it.\n")
    results = run_rdy(["RDY-060", "RDY-064"], repo=mvp)
    assert results["RDY-060"].verified_pass, describe(results["RDY-060"])
    assert "Local development" in messages(results["RDY-060"])
    arch = results["RDY-064"]
    assert arch.status is Status.PASS and arch.evidence_level is Evidence.PRESENT
    assert "diagram 'Architecture diagram" in messages(arch) and "README.md:3" in messages(arch)
