"""RDY-100–102: staging vs production env files, the rollback path of a mutated copy of the
reference target, and the age of the last security audit.json."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rdy_helpers import assert_status, edit, messages, mvp, run_rdy, write

from prodaudit.model import CheckResult, Evidence, Status

__all__ = ["mvp"]

PROD = ("ENVIRONMENT=production\nIMAGE_TAG=1.4.2\nJWT_SECRET=prod-7f3a9c1e5b2d8f4a6c0e\n"
        "DATABASE_URL=postgresql://u:prod-db-pass-81@db/app\nLOG_LEVEL=INFO\n")
STAGING = ("ENVIRONMENT=staging\nIMAGE_TAG=1.4.2\nJWT_SECRET=stag-0d9e8f7a6b5c4d3e2f1a\n"
           "DATABASE_URL=postgresql://u:stag-db-pass-42@db/app\nLOG_LEVEL=INFO\n")


def test_rdy100_staging_matches(tmp_path: Path) -> None:
    prod = write(tmp_path / "prod.env", PROD)
    stag = write(tmp_path / "staging.env", STAGING)
    r = run_rdy("RDY-100", env_file=str(prod), readiness={"staging_env_file": str(stag)})
    assert_status(r["RDY-100"], Status.PASS)
    assert "IMAGE_TAG" in messages(r["RDY-100"])


def test_rdy100_staging_drifts(tmp_path: Path) -> None:
    prod = write(tmp_path / "prod.env", PROD + "SENTRY_DSN=https://k@sentry.example/1\n")
    shared = STAGING.replace("stag-0d9e8f7a6b5c4d3e2f1a", "prod-7f3a9c1e5b2d8f4a6c0e")
    stag = write(tmp_path / "staging.env", shared.replace("IMAGE_TAG=1.4.2", "IMAGE_TAG=1.5.0-rc1"))
    r = run_rdy("RDY-100", env_file=str(prod), readiness={"staging_env_file": str(stag)})["RDY-100"]
    assert_status(r, Status.FAIL)
    text = messages(r)
    assert "secrets identical in staging and production: JWT_SECRET" in text
    assert "only in production: SENTRY_DSN" in text
    assert "IMAGE_TAG differs" in text
    dumped = json.dumps(r.to_dict())
    assert "prod-7f3a9c1e5b2d8f4a6c0e" not in dumped and "1.5.0-rc1" not in dumped


def test_rdy100_skips_without_staging(tmp_path: Path) -> None:
    r = run_rdy("RDY-100", env_file=str(write(tmp_path / "p.env", PROD)))["RDY-100"]
    assert r.status is Status.SKIP and "staging_env_file" in r.reason


def test_rdy101_rollback(mvp: Path) -> None:
    for p in list(mvp.rglob("*.md")):
        p.unlink()
    write(mvp / "docs" / "deploy.md", "# Deploy\n\n## Rollback\n\nRedeploy the previous tag.\n")
    r = run_rdy("RDY-101", repo=mvp)["RDY-101"]
    assert_status(r, Status.PASS)
    assert "migration(s) have a downgrade()" in messages(r)
    # "Redeploy the previous tag." names no command and no steps: the plan is only present
    assert r.evidence_level is Evidence.PRESENT and "present, not verified" in messages(r)
    write(mvp / "docs" / "deploy.md", "# Deploy\n\n## Rollback\n\n1. `docker compose pull api`\n"
          "2. `IMAGE_TAG=v1.4.2 docker compose up -d api`\n3. `alembic downgrade -1`\n")
    assert run_rdy("RDY-101", repo=mvp)["RDY-101"].verified_pass
    versions = mvp / "backend" / "alembic" / "versions" / "0002_user_last_login.py"
    edit(versions, '    with op.batch_alter_table("users") as batch:\n'
         '        batch.drop_column("last_login_at")', "    pass")
    (mvp / "docs" / "deploy.md").unlink()
    r = run_rdy("RDY-101", repo=mvp)["RDY-101"]
    assert_status(r, Status.FAIL)
    text = messages(r)
    assert "cannot be downgraded" in text and "0002_user_last_login.py" in text
    assert "no rollback procedure" in text


def audit_json(out: Path, run: str, finished: dt.datetime, decision: str = "GO") -> None:
    write(out / run / "audit.json", json.dumps({
        "run_id": run, "decision": decision, "finished_at": finished.isoformat(),
        "results": [{"id": "SEC-001", "suite": "security", "status": "pass"},
                    {"id": "SEC-030", "suite": "security",
                     "status": "fail" if decision == "NO-GO" else "pass"}],
    }))


def test_rdy102_security_scan_age(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    r = run_rdy("RDY-102", output=str(out))["RDY-102"]
    assert_status(r, Status.FAIL)
    assert "no previous security audit" in messages(r)
    now = dt.datetime.now(dt.UTC)
    audit_json(out, "20260101T000000Z-old", now - dt.timedelta(days=30))
    r = run_rdy("RDY-102", output=str(out))["RDY-102"]
    assert_status(r, Status.FAIL)
    assert "older than 7 days" in messages(r)
    audit_json(out, "20260102T000000Z-new", now - dt.timedelta(hours=5))
    r = run_rdy("RDY-102", output=str(out))["RDY-102"]
    assert_status(r, Status.PASS)
    assert "20260102T000000Z-new" in messages(r)
    audit_json(out, "latest", now - dt.timedelta(hours=1), decision="NO-GO")
    r = run_rdy("RDY-102", output=str(out))["RDY-102"]
    assert_status(r, Status.FAIL)
    assert "NO-GO" in messages(r) and "SEC-030" in messages(r)


def test_rdy102_does_not_pass_because_this_audit_runs_the_security_suite(tmp_path: Path) -> None:
    """Running the security suite in the same audit is not a finished, reviewed scan: without a
    previous security audit the check is SKIP (it cannot see this run's results), and a stale or
    NO-GO previous one still fails."""
    import asyncio

    from prodaudit.config import load_config
    from prodaudit.context import Context
    from prodaudit.registry import REGISTRY
    from prodaudit.runner import run_checks

    out = tmp_path / "reports"

    def run() -> CheckResult:
        cfg = load_config({"start_target": False, "output": out})
        ctx = Context(cfg, suites=("security", "readiness"))
        return asyncio.run(run_checks([REGISTRY.get("RDY-102")], ctx))[0]

    r = run()
    assert r.status is Status.SKIP and "no previous security audit" in r.reason
    audit_json(out, "20260101T000000Z-old", dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    r = run()
    assert_status(r, Status.FAIL)
    assert "older than 7 days" in messages(r)
