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


def _engine_repo(root: Path, engine_py: str, compose: str = "") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "__init__.py").write_text(
        "import os\nfrom os import path\nfrom sqlalchemy import create_engine\n\n"
        "basedir = path.abspath(path.dirname(__file__))\n\n" + engine_py, encoding="utf-8")
    if compose:
        (root / "compose.yaml").write_text(compose, encoding="utf-8")
    return root


def test_pool_settings_postgres_url_without_pool_fails(tmp_path: Path) -> None:
    repo = _engine_repo(tmp_path / "repo", "engine = create_engine(\n"
                        "    f'postgresql+psycopg://app:{os.environ[\"PW\"]}@db/app',\n"
                        "    echo=True,\n)\n")
    run = run_deployment(tmp_path, ["DEP-051"], repo=repo)
    r = result(run, "DEP-051")
    assert r.status is Status.FAIL, describe(r)
    assert r.findings[0].location == "models/__init__.py:7"
    assert "pool_pre_ping" in r.findings[0].message


@pytest.mark.parametrize(("engine_py", "line"), [
    ("engine = create_engine(\n    'sqlite:///' + path.join(basedir, '..', 'database.db'),\n"
     "    echo=True,\n)\n", 7),
    ("DB = f'sqlite:///{basedir}/app.db'\nengine = create_engine(DB)\n", 8),
    ("engine = create_engine(os.getenv('DATABASE_URL', 'sqlite:///' + basedir + '/app.db'))\n", 7),
])
def test_pool_settings_sqlite_engine_skips(tmp_path: Path, engine_py: str, line: int) -> None:
    repo = _engine_repo(tmp_path / "repo", engine_py)
    run = run_deployment(tmp_path, ["DEP-051"], repo=repo)
    r = result(run, "DEP-051")
    assert r.status is Status.SKIP, describe(r)
    assert f"models/__init__.py:{line}" in r.reason
    assert "pooling settings are for a server database" in r.reason


def test_pool_settings_sqlite_default_overridden_by_deployment_fails(tmp_path: Path) -> None:
    """The code's SQLite default does not decide when Compose sets the variable."""
    repo = _engine_repo(tmp_path / "repo",
                        "engine = create_engine(os.getenv('DATABASE_URL', 'sqlite:///app.db'))\n",
                        compose="services:\n  web:\n    build: .\n    environment:\n"
                        "      DATABASE_URL: postgresql://app@db/app\n")
    run = run_deployment(tmp_path, ["DEP-051"], repo=repo)
    r = result(run, "DEP-051")
    assert r.status is Status.FAIL, describe(r)
    assert r.findings[0].location == "models/__init__.py:7"


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


MIDDLEWARE_ENGINE = '''from fastapi import FastAPI
from fastapi_async_sqlalchemy import SQLAlchemyMiddleware

app = FastAPI()
app.add_middleware(
    SQLAlchemyMiddleware,
    db_url=settings.DATABASE_URI,
    engine_args={{"echo": False, {pool}}},
)
'''


def test_pool_settings_passed_to_an_engine_creating_wrapper_count(tmp_path: Path) -> None:
    """``engine_args=`` of a middleware that creates the engine is the engine's setup: all three
    settings PASS there; missing ones FAIL at the call."""
    full = '"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20'
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    main = repo / "app" / "main.py"
    main.write_text(MIDDLEWARE_ENGINE.format(pool=full), encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-051"], repo=repo), "DEP-051")
    assert r.status is Status.PASS, describe(r)
    assert r.findings[0].location == "app/main.py:5"
    assert "SQLAlchemyMiddleware() sets" in r.findings[0].message
    main.write_text(MIDDLEWARE_ENGINE.format(pool='"pool_size": 10'), encoding="utf-8")
    (tmp_path / "b").mkdir()
    r = result(run_deployment(tmp_path / "b", ["DEP-051"], repo=repo), "DEP-051")
    assert r.status is Status.FAIL, describe(r)
    assert r.findings[0].location == "app/main.py:5"
    assert "max_overflow, pool_pre_ping" in r.findings[0].message
