"""DEP-050–053 against real PostgreSQL: connection, pool settings in the engine setup (AST),
foreign keys without an index (catalog query), sslmode for remote hosts."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

from pathlib import Path

import psycopg
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
    ultra_copy,
)

from prodaudit.model import Status

pytestmark = pytest.mark.postgres


def test_connects(tmp_path: Path, pg_url: str) -> None:
    run = run_deployment(tmp_path, ["DEP-050"], {"DATABASE_URL": pg_url})
    r = result(run, "DEP-050")
    assert r.status is Status.PASS, describe(r)
    assert "PostgreSQL" in r.findings[0].message


def test_wrong_password_fails_and_is_redacted(tmp_path: Path, pg_url: str) -> None:
    user, rest = pg_url.split("://", 1)[1].split(":", 1)
    host = rest.split("@", 1)[1]
    bad = f"postgresql://{user}:wrong-password-4711@{host}"
    run = run_deployment(tmp_path, ["DEP-050"], {"DATABASE_URL": bad})
    r = result(run, "DEP-050")
    assert r.status is Status.FAIL, describe(r)
    assert "password" in r.findings[0].message.lower()
    assert "wrong-password-4711" not in all_text(run)


def test_pool_settings_reference_passes(tmp_path: Path) -> None:
    run = run_deployment(tmp_path, ["DEP-051"])
    r = result(run, "DEP-051")
    assert r.status is Status.PASS, describe(r)
    assert r.findings[0].location.startswith("backend/app/db.py:")


def test_pool_settings_missing_fails(tmp_path: Path, ultra_copy: Path) -> None:
    db = ultra_copy / "backend" / "app" / "db.py"
    text = db.read_text(encoding="utf-8")
    for kw in ("        pool_size=pool_size,\n", "        max_overflow=max_overflow,\n"):
        assert kw in text
        text = text.replace(kw, "")
    db.write_text(text, encoding="utf-8")
    run = run_deployment(tmp_path, ["DEP-051"], repo=ultra_copy)
    r = result(run, "DEP-051")
    assert r.status is Status.FAIL, describe(r)
    assert "pool_size" in r.findings[0].message and "max_overflow" in r.findings[0].message
    assert r.findings[0].location.startswith("backend/app/db.py:")


def test_foreign_keys_indexed_on_reference_schema(tmp_path: Path, fresh_db: str) -> None:
    alembic_upgrade(BACKEND, fresh_db)
    run = run_deployment(tmp_path, ["DEP-052"], {"DATABASE_URL": fresh_db})
    r = result(run, "DEP-052")
    assert r.status is Status.PASS, describe(r)
    assert "all 1 foreign keys" in r.findings[0].message


def test_foreign_key_without_index_fails(tmp_path: Path, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE owners (id serial PRIMARY KEY)")
        conn.execute("CREATE TABLE pets (id serial PRIMARY KEY, "
                     "owner_id int NOT NULL REFERENCES owners(id), name text)")
        conn.execute("CREATE TABLE toys (id serial PRIMARY KEY, "
                     "owner_id int REFERENCES owners(id))")
        conn.execute("CREATE INDEX ix_toys_owner ON toys (owner_id, id)")
    run = run_deployment(tmp_path, ["DEP-052"], {"DATABASE_URL": fresh_db})
    r = result(run, "DEP-052")
    assert r.status is Status.FAIL, describe(r)
    failing = [f for f in r.findings if f.status is Status.FAIL]
    assert len(failing) == 1
    assert "pets(owner_id)" in failing[0].message
    assert "CREATE INDEX" in failing[0].evidence


@pytest.mark.parametrize(("url", "status"), [
    ("postgresql://app:pw-secret-1@db.prod.example.com:5432/app", Status.FAIL),
    ("postgresql://app:pw-secret-1@db.prod.example.com:5432/app?sslmode=require", Status.WARN),
    ("postgresql://app:pw-secret-1@db.prod.example.com/app?sslmode=verify-full", Status.PASS),
    ("postgresql+psycopg://app:pw-secret-1@127.0.0.1:5432/app", Status.PASS),
    ("postgresql://app:pw-secret-1@postgres:5432/app", Status.PASS),
])
def test_sslmode(tmp_path: Path, url: str, status: Status) -> None:
    run = run_deployment(tmp_path, ["DEP-053"], {"DATABASE_URL": url})
    r = result(run, "DEP-053")
    assert r.status is status, describe(r)
    assert "pw-secret-1" not in all_text(run)
