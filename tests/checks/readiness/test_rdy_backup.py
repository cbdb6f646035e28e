"""RDY-095: the backup rehearsal on two scratch PostgreSQL databases. The reference target's
``scripts/backup.sh`` dumps a database migrated by its alembic chain and the dump restores with
identical tables and row counts; a copy whose backup leaves a table out fails; a cron line with
``pg_dump`` proves nothing (RDY-091 stays "present"); without a scratch server the check SKIPs.
Every scratch database is dropped afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest_services import database_url, require_service
from rdy_helpers import assert_status, edit, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status

__all__ = ["mvp"]


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> str:
    url = database_url()
    require_service("postgres", url is not None, "PRODAUDIT_TEST_DATABASE_URL is not set")
    assert url is not None
    monkeypatch.setenv("PRODAUDIT_SCRATCH_DATABASE_URL", url)
    return url


def test_reference_backup_restores_identically(scratch: str) -> None:
    r = run_rdy("RDY-095")["RDY-095"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.OBSERVED
    text = messages(r)
    assert "backup and restore tested: bash <workspace>/ultra-mvp/scripts/backup.sh" in text
    assert "alembic upgrade head (backend/alembic.ini) succeeded" in text
    assert "public.users: 0 -> 0" in text and "public.prodaudit_backup_probe: 3 -> 3" in text
    assert "dropped afterwards: True" in text
    assert scratch.split("@")[0] not in text  # no credentials in the evidence


def test_backup_missing_a_table_fails(scratch: str, mvp: Path) -> None:
    edit(mvp / "scripts" / "backup.sh", "pg pg_dump --format=custom",
         "pg pg_dump --exclude-table=prodaudit_backup_probe --format=custom")
    r = run_rdy("RDY-095", repo=mvp)["RDY-095"]
    assert_status(r, Status.FAIL)
    assert "1 table(s) missing" in messages(r) and "prodaudit_backup_probe" in messages(r)
    assert "public.prodaudit_backup_probe: 3 -> missing" in messages(r)
    assert "dropped afterwards: True" in messages(r)


def test_failing_backup_command_fails(scratch: str, mvp: Path) -> None:
    write(mvp / "scripts" / "backup.sh", "#!/bin/sh\n# pg_dump to the backup volume\n"
          "echo 'no space left' >&2\nexit 3\n")
    r = run_rdy("RDY-095", repo=mvp)["RDY-095"]
    assert_status(r, Status.FAIL)
    assert "the backup command failed (exit code 3)" in messages(r)


def test_cron_line_alone_is_not_a_tested_backup(mvp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for p in (mvp / "scripts").iterdir():
        p.unlink()
    write(mvp / "scripts" / "crontab", "0 3 * * * pg_dump app > /backups/app.sql\n")
    monkeypatch.delenv("PRODAUDIT_SCRATCH_DATABASE_URL", raising=False)
    results = run_rdy(["RDY-091", "RDY-095"], repo=mvp)
    assert results["RDY-091"].status is not Status.PASS  # no restore: WARN at best
    assert not results["RDY-091"].verified_pass
    r95 = results["RDY-095"]
    assert_status(r95, Status.SKIP)
    assert "PRODAUDIT_SCRATCH_DATABASE_URL" in r95.reason
