"""DEP-040–045 against real PostgreSQL: the reference target's alembic chain passes; two heads,
a migration that fails on a fresh database, a destructive migration without downgrade, a
database behind head and a model without migration fail with evidence."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dep_helpers import (  # noqa: F401 - fixtures
    BACKEND,
    alembic_upgrade,
    all_text,
    describe,
    fresh_db,
    pg_url,
    result,
    run_deployment,
    scratch_databases,
    ultra_copy,
)
from helpers import check_ids

from prodaudit.config import PROJECT_ROOT
from prodaudit.model import Status

pytestmark = pytest.mark.postgres

VERSIONS = Path("backend/alembic/versions")
REVISION = '''"""{doc}"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{up}


def downgrade() -> None:
{down_body}
'''


def add_revision(repo: Path, rev: str, down: str, up: str, down_body: str = "    pass") -> Path:
    path = repo / VERSIONS / f"{rev}_test.py"
    path.write_text(REVISION.format(doc=f"test revision {rev}", rev=rev, down=down, up=up,
                                    down_body=down_body), encoding="utf-8")
    return path


def test_reference_migrations_pass(tmp_path: Path, pg_url: str, fresh_db: str) -> None:
    alembic_upgrade(BACKEND, fresh_db)
    before = set(scratch_databases(pg_url))
    run = run_deployment(tmp_path, ["DEP-04"], {"DATABASE_URL": fresh_db})
    for cid in check_ids(module="deployment.migrations"):
        r = result(run, cid)
        assert r.status is Status.PASS, describe(r)
    up = result(run, "DEP-041")
    assert any("round trip" in f.message for f in up.findings)
    assert "head 0002" in result(run, "DEP-042").findings[0].message
    assert set(scratch_databases(pg_url)) <= before  # the scratch database was dropped
    password = fresh_db.split(":")[2].split("@")[0]
    assert password not in all_text(run)


def test_two_heads(tmp_path: Path, ultra_copy: Path, pg_url: str) -> None:
    for rev, col in (("0003a", "a"), ("0003b", "b")):
        add_revision(ultra_copy, rev, "0002",
                     f"    op.add_column('users', sa.Column('{col}', sa.Integer()))",
                     f"    op.drop_column('users', '{col}')")
    run = run_deployment(tmp_path, ["DEP-040", "DEP-041"], {"DATABASE_URL": pg_url},
                         repo=ultra_copy)
    heads = result(run, "DEP-040")
    assert heads.status is Status.FAIL, describe(heads)
    f = next(f for f in heads.findings if f.status is Status.FAIL)
    assert "2 heads" in f.message and "0003a" in f.evidence and "0003b" in f.evidence
    assert "0003" in f.location
    upgrade = result(run, "DEP-041")
    assert upgrade.status is Status.FAIL, describe(upgrade)
    assert "head" in upgrade.findings[0].evidence.lower()


def test_migration_failing_on_fresh_database(tmp_path: Path, ultra_copy: Path, pg_url: str) -> None:
    add_revision(ultra_copy, "0003", "0002",
                 "    op.execute('ALTER TABLE legacy_accounts ADD COLUMN note text')",
                 "    op.execute('ALTER TABLE legacy_accounts DROP COLUMN note')")
    before = set(scratch_databases(pg_url))
    run = run_deployment(tmp_path, ["DEP-041", "DEP-045"], {"DATABASE_URL": pg_url},
                         repo=ultra_copy)
    r = result(run, "DEP-041")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert "upgrade head failed" in f.message
    assert "legacy_accounts" in f.evidence and "prodaudit_scratch_" in f.evidence
    assert result(run, "DEP-045").status is Status.SKIP
    assert set(scratch_databases(pg_url)) <= before  # dropped even after the failure


def test_destructive_migration_without_downgrade(tmp_path: Path, ultra_copy: Path) -> None:
    path = add_revision(ultra_copy, "0003", "0002",
                        "    op.drop_column('users', 'last_login_at')\n"
                        "    op.alter_column('notes', 'title', type_=sa.String(50))")
    run = run_deployment(tmp_path, ["DEP-043", "DEP-044"], repo=ultra_copy)
    destructive = result(run, "DEP-044")
    assert destructive.status is Status.WARN, describe(destructive)
    msgs = [f.message for f in destructive.findings]
    assert any("0003" in m and "drop_column" in m for m in msgs)
    assert any("type" in m for m in msgs)
    assert all(f.location.startswith(f"{VERSIONS}/{path.name}:") for f in destructive.findings)
    down = result(run, "DEP-043")
    assert down.status is Status.FAIL, describe(down)
    assert "0003" in down.findings[0].message and "empty" in down.findings[0].message


def test_database_behind_head(tmp_path: Path, fresh_db: str) -> None:
    alembic_upgrade(BACKEND, fresh_db, "0001")
    run = run_deployment(tmp_path, ["DEP-042"], {"DATABASE_URL": fresh_db})
    r = result(run, "DEP-042")
    assert r.status is Status.FAIL, describe(r)
    assert "behind head" in r.findings[0].message and "0001" in r.findings[0].evidence


def test_never_migrated_database(tmp_path: Path, fresh_db: str) -> None:
    run = run_deployment(tmp_path, ["DEP-042"], {"DATABASE_URL": fresh_db})
    r = result(run, "DEP-042")
    assert r.status is Status.FAIL, describe(r)
    assert "never migrated" in r.findings[0].message


def test_model_without_migration(tmp_path: Path, ultra_copy: Path, pg_url: str) -> None:
    models = ultra_copy / "backend" / "app" / "models.py"
    text = models.read_text(encoding="utf-8")
    marker = "class Note("
    assert marker in text
    models.write_text(text.replace(marker, (
        "class AuditTrail(Base):\n"
        "    __tablename__ = 'audit_trail'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n\n\n" + marker), 1),
        encoding="utf-8")
    run = run_deployment(tmp_path, ["DEP-045"], {"DATABASE_URL": pg_url}, repo=ultra_copy)
    r = result(run, "DEP-045")
    assert r.status is Status.FAIL, describe(r)
    assert "audit_trail" in r.findings[0].message + r.findings[0].evidence


def test_sqlite_deployment_needs_a_scratch_server(tmp_path: Path) -> None:
    run = run_deployment(tmp_path, ["DEP-041"], {"DATABASE_URL": "sqlite:///./x.db"})
    r = result(run, "DEP-041")
    assert r.status is Status.SKIP
    assert "PRODAUDIT_SCRATCH_DATABASE_URL" in r.reason


def test_scratch_database_on_the_target_server_needs_allow_mutations(tmp_path: Path, pg_url: str) -> None:
    run = run_deployment(tmp_path, ["DEP-041"], {"DATABASE_URL": pg_url}, allow_mutations=False)
    r = result(run, "DEP-041")
    assert r.status is Status.SKIP, describe(r)
    assert "--allow-mutations" in r.reason


def test_ctrl_c_reaching_alembic_ends_the_run(tmp_path: Path, ultra_copy: Path,
                                              pg_url: str) -> None:
    """A terminal's Ctrl-C reaches the alembic runner (same process group): the audit ends with
    exit 130 and no report, never a DEP-041 failure, and the scratch database is dropped."""
    add_revision(ultra_copy, "0003", "0002",
                 "    import os, signal\n    os.kill(os.getpid(), signal.SIGINT)")
    env_file = tmp_path / "audit.env"
    env_file.write_text(f"DATABASE_URL={pg_url}\n", encoding="utf-8")
    before = set(scratch_databases(pg_url))
    out_dir = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "prodaudit.cli", "run", "--suite", "deployment",
                           "--only", "DEP-041", "--no-start", "--allow-mutations", "--repo",
                           str(ultra_copy), "--env-file", str(env_file), "--output", str(out_dir),
                           "-q"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")})
    assert proc.returncode == 130, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not list(out_dir.glob("*/audit.json"))
    assert set(scratch_databases(pg_url)) <= before
