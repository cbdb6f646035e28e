"""RDY-081–084 and RDY-090–094: static checks on a mutated copy of the reference target, and the
PostgreSQL checks against the test database (``PRODAUDIT_TEST_DATABASE_URL``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest_services import database_url, require_service
from helpers import describe
from rdy_helpers import assert_status, edit, messages, mvp, run_rdy, write

from prodaudit.checks.readiness.continuity import judge_pitr
from prodaudit.model import Status

__all__ = ["mvp"]

APP = Path("backend/app")


def test_rdy081_cache_layer(mvp: Path) -> None:
    r = run_rdy("RDY-081", repo=mvp)["RDY-081"]
    assert_status(r, Status.PASS)
    for p in (mvp / "backend").rglob("*.py"):
        text = p.read_text()
        p.write_text(re.sub(r"(?i)cache[-_]?control|lru_cache|functools\.cache|setex", "x_header",
                            text))
    r = run_rdy("RDY-081", repo=mvp)["RDY-081"]
    assert_status(r, Status.WARN)
    assert "no caching in the backend" in messages(r)


def test_rdy082_pool_settings(mvp: Path) -> None:
    r = run_rdy("RDY-082", repo=mvp)["RDY-082"]
    assert_status(r, Status.PASS)
    assert "pool_pre_ping" in messages(r)
    db = mvp / APP / "db.py"
    text = db.read_text()
    start = text.index("    return create_engine(\n        url,\n        pool_pre_ping=True")
    end = text.index("\n    )\n", start) + len("\n    )\n")
    db.write_text(text[:start] + "    return create_engine(url)\n" + text[end:])
    r = run_rdy("RDY-082", repo=mvp)["RDY-082"]
    assert_status(r, Status.FAIL)
    assert "default pool settings" in messages(r) and "backend/app/db.py:" in messages(r)


ENGINE_HEAD = "import os\nfrom os import path\nfrom sqlalchemy import create_engine\n\n"


def test_rdy082_postgres_engine_without_pool_fails(tmp_path: Path) -> None:
    write(tmp_path / "models" / "__init__.py", ENGINE_HEAD
          + "engine = create_engine(\n    'postgresql://app@db/' + os.environ['DB_NAME'],\n)\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.FAIL)
    assert "default pool settings" in messages(r) and "models/__init__.py:5" in messages(r)


@pytest.mark.parametrize("engine", [
    "create_engine(\n    'sqlite:///' + path.join(path.dirname(__file__), 'database.db'),\n"
    "    echo=True,\n)",
    "create_engine(f'sqlite:///{path.dirname(__file__)}/app.db')",
    "create_engine(os.getenv('DATABASE_URL', 'sqlite:///app.db'))",
])
def test_rdy082_sqlite_engine_skips(tmp_path: Path, engine: str) -> None:
    write(tmp_path / "models" / "__init__.py", ENGINE_HEAD + f"engine = {engine}\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.SKIP)
    assert "models/__init__.py:5" in r.reason
    assert "pooling settings are for a server database" in r.reason


def test_rdy082_aiopg_minsize_maxsize(tmp_path: Path) -> None:
    app = write(tmp_path / "app" / "db.py", "import aiopg\n\n\nasync def init(dsn):\n"
                "    return await aiopg.create_pool(dsn)\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.WARN)
    assert "app/db.py:5" in messages(r)
    app.write_text(app.read_text().replace("create_pool(dsn)", "create_pool(dsn, minsize=1, maxsize=10)"))
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.PASS)
    assert "maxsize" in messages(r)


def test_rdy084_load_tests(mvp: Path) -> None:
    for p in list(mvp.rglob("*")):
        if p.is_file() and re.search(r"locust|k6|load[_-]?test|\.jmx$", p.name, re.I):
            p.unlink()
    r = run_rdy("RDY-084", repo=mvp)["RDY-084"]
    assert_status(r, Status.FAIL)
    write(mvp / "loadtest" / "locustfile.py",
          "from locust import HttpUser, task\n\n\nclass U(HttpUser):\n"
          "    @task\n    def health(self):\n        self.client.get('/health')\n")
    r = run_rdy("RDY-084", repo=mvp)["RDY-084"]
    assert_status(r, Status.PASS)
    assert "loadtest/locustfile.py" in messages(r)


# ---- PostgreSQL ----------------------------------------------------------------------------------


def db_env(tmp_path: Path) -> Path:
    url = database_url()
    require_service("postgres", url is not None, "PRODAUDIT_TEST_DATABASE_URL is not set")
    return write(tmp_path / "db.env", f"DATABASE_URL={url}\n")


def show(name: str) -> str:
    import psycopg

    with psycopg.connect(database_url() or "", autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()  # noqa: S608 - fixed names
    return str(row[0]) if row else ""


def test_rdy090_pitr_judgement() -> None:
    good = judge_pitr({"wal_level": "replica", "archive_mode": "on",
                       "archive_command": "pgbackrest --stanza=main archive-push %p"})
    assert [f.status for f in good] == [Status.PASS]
    for bad, needle in (
        ({"wal_level": "replica", "archive_mode": "off", "archive_command": "(disabled)"},
         "archive_mode=off"),
        ({"wal_level": "minimal", "archive_mode": "off"}, "wal_level=minimal"),
        ({"wal_level": "replica", "archive_mode": "on", "archive_command": "(disabled)",
          "archive_library": ""}, "not archived anywhere"),
    ):
        findings = judge_pitr(bad)
        assert [f.status for f in findings] == [Status.FAIL] and needle in findings[0].message


def test_rdy090_pitr_live(tmp_path: Path) -> None:
    env = db_env(tmp_path)
    r = run_rdy("RDY-090", env_file=str(env))["RDY-090"]
    mode, command = show("archive_mode"), show("archive_command")
    if mode in ("on", "always") and command not in ("", "(disabled)"):
        assert_status(r, Status.PASS)
    else:
        assert_status(r, Status.FAIL)
        assert f"archive_mode={mode!r}" in r.findings[0].evidence


def test_database_checks_skip_without_postgres(tmp_path: Path) -> None:
    env = write(tmp_path / "sqlite.env", "DATABASE_URL=sqlite:///./app.db\n")
    for check_id in ("RDY-083", "RDY-090"):
        r = run_rdy(check_id, env_file=str(env))[check_id]
        assert r.status is Status.SKIP and "not a PostgreSQL URL" in r.reason
    r = run_rdy("RDY-083")["RDY-083"]
    assert r.status is Status.SKIP and "DATABASE_URL not set" in r.reason


def test_rdy083_slow_queries_live(tmp_path: Path) -> None:
    env = db_env(tmp_path)
    import psycopg

    with psycopg.connect(database_url() or "", autocommit=True, connect_timeout=5) as conn:
        enabled = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
    r = run_rdy("RDY-083", env_file=str(env))["RDY-083"]
    if enabled is None:
        assert r.status is Status.SKIP
        assert "pg_stat_statements is not enabled" in r.reason
    else:
        assert r.status in (Status.PASS, Status.WARN, Status.SKIP), r.reason
    assert (database_url() or "").split("@")[0] not in r.reason  # no credentials in output


# ---- continuity -------------------------------------------------------------------------------


def test_rdy091_backup_jobs(mvp: Path) -> None:
    for p in list(mvp.rglob("*")):  # whatever backup tooling the reference target may have grown
        if p.is_file() and p.suffix not in (".md", ".rst", ".txt") and re.search(
                r"pg_dump|pg_basebackup|pgbackrest|wal-g|barman|restic|borg", p.read_text(
                    errors="replace")):
            p.unlink()
    r = run_rdy("RDY-091", repo=mvp)["RDY-091"]
    assert_status(r, Status.FAIL)
    assert "no backup script" in messages(r)
    write(mvp / "scripts" / "backup.sh",
          "#!/bin/sh\npg_dump -Fc \"$DATABASE_URL\" > /backups/ultra-$(date +%F).dump\n")
    r = run_rdy("RDY-091", repo=mvp)["RDY-091"]
    assert_status(r, Status.WARN)
    assert "not scheduled" in messages(r) and "no restore script" in messages(r)
    write(mvp / "scripts" / "crontab", "15 2 * * * /app/scripts/backup.sh\n")
    write(mvp / "scripts" / "restore.sh",
          "#!/bin/sh\npg_restore --clean -d \"$DATABASE_URL\" \"$1\"\n")
    r = run_rdy("RDY-091", repo=mvp)["RDY-091"]
    assert_status(r, Status.PASS)
    assert "scripts/backup.sh" in messages(r)


def test_rdy092_single_points_of_failure(mvp: Path) -> None:
    compose = mvp / "docker-compose.yml"
    for other in mvp.glob("docker-compose.*.yml"):
        other.unlink()
    r = run_rdy("RDY-092", repo=mvp)["RDY-092"]
    assert_status(r, Status.WARN)
    assert "service api runs a single replica" in messages(r)
    for cpus, memory in (("1.0", "512M"), ("0.5", "256M")):
        limits = f"      resources:\n        limits:\n          cpus: \"{cpus}\"\n"
        edit(compose, limits + f"          memory: {memory}",
             "      replicas: 2\n" + limits + f"          memory: {memory}")
    r = run_rdy("RDY-092", repo=mvp)["RDY-092"]
    assert_status(r, Status.PASS)
    assert "single-instance services: postgres, redis" in messages(r)
    text = compose.read_text()
    pg = "  postgres:\n    image: postgres:16.6-alpine\n"
    assert pg + "    restart: unless-stopped\n" in text
    compose.write_text(text.replace(pg + "    restart: unless-stopped\n", pg))
    r = run_rdy("RDY-092", repo=mvp)["RDY-092"]
    assert_status(r, Status.FAIL)
    assert "service postgres has no restart policy" in messages(r)


@pytest.mark.parametrize(("check_id", "doc"), [
    ("RDY-093", "# Disaster recovery\n\nRTO 4 h, RPO 15 min.\n"),
    ("RDY-094", "# Failover\n\nPromote the replica.\n"),
])
def test_dr_and_failover_docs(mvp: Path, check_id: str, doc: str) -> None:
    for p in list(mvp.rglob("*.md")):
        p.unlink()
    r = run_rdy(check_id, repo=mvp)[check_id]
    assert_status(r, Status.FAIL)
    write(mvp / "docs" / "continuity.md", doc)
    r = run_rdy(check_id, repo=mvp)[check_id]
    assert_status(r, Status.PASS)
    assert "docs/continuity.md" in messages(r)


def test_rdy091_a_stateless_product_has_nothing_to_back_up(tmp_path: Path) -> None:
    """A service that keeps no data (an LLM chat proxy: FastAPI and an HTTP client, no database,
    cache or storage anywhere) has nothing to back up; once a database appears, the check asks."""
    write(tmp_path / "src" / "app.py", "from fastapi import FastAPI\nimport httpx\napp = FastAPI()\n")
    write(tmp_path / "src" / "requirements.txt", "fastapi==0.115.0\nhttpx==0.27.0\n")
    write(tmp_path / "docker-compose.yaml",
          "services:\n  app:\n    build: ./src\n    volumes:\n      - ./src:/code\n")
    write(tmp_path / "README.md", "# Chat\n\nKeeps everything in PostgreSQL? No: stateless.\n")
    r = run_rdy("RDY-091", repo=tmp_path)["RDY-091"]
    assert r.status is Status.SKIP and "keeps no data" in r.reason, describe(r)
    write(tmp_path / "src" / "requirements.txt", "fastapi==0.115.0\nasyncpg==0.30.0\n")
    r = run_rdy("RDY-091", repo=tmp_path)["RDY-091"]
    assert_status(r, Status.FAIL)
    assert "no backup script" in messages(r)


TEST_ONLY_NULLPOOL = (
    "from sqlalchemy.pool import NullPool, QueuePool\n"
    "engine = create_engine(\n    'postgresql://app@db/app',\n"
    "    poolclass=NullPool if settings.MODE == 'testing' else QueuePool,\n{extra})\n")


def test_rdy082_nullpool_chosen_only_for_tests_judges_the_production_pool(tmp_path: Path) -> None:
    """``NullPool if MODE == "testing" else QueuePool``: production runs QueuePool, so its
    settings are judged (defaults FAIL, a sized pool PASSes); NullPool on the production
    branch still WARNs."""
    db = write(tmp_path / "models" / "__init__.py", ENGINE_HEAD + TEST_ONLY_NULLPOOL.format(extra=""))
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.FAIL)
    assert "default pool settings" in messages(r) and "uses NullPool" not in messages(r)
    db.write_text(ENGINE_HEAD + TEST_ONLY_NULLPOOL.format(
        extra="    pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800,\n"))
    assert_status(run_rdy("RDY-082", repo=tmp_path)["RDY-082"], Status.PASS)
    db.write_text(ENGINE_HEAD + TEST_ONLY_NULLPOOL.format(extra="").replace(
        "== 'testing'", "!= 'testing'"))
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.WARN)
    assert "uses NullPool" in messages(r)


def test_rdy082_databases_package_pool(tmp_path: Path) -> None:
    """``databases.Database(url)`` holds the application's connection pool: without
    min_size/max_size it warns at the call; sized, it passes."""
    src = ("import os\n\nfrom databases import Database\n\n"
           "database = Database(os.environ['DATABASE_URL'])\n")
    write(tmp_path / "app" / "db.py", src)
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.WARN)
    assert {f.location for f in r.findings} == {"app/db.py:5"}
    write(tmp_path / "app" / "db.py", src.replace("['DATABASE_URL'])",
                                                  "['DATABASE_URL'], min_size=2, max_size=10)"))
    assert_status(run_rdy("RDY-082", repo=tmp_path)["RDY-082"], Status.PASS)


DJANGO_BASE = '''\
import os

INSTALLED_APPS = ["django.contrib.sessions"]
ROOT_URLCONF = "config.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("POSTGRES_DB", "app"),
    }
}
'''


@pytest.mark.parametrize(("extra", "where", "said"), [
    ('DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0}}\n',
     "config/settings/production.py:4", "CONN_MAX_AGE=0"),
    ("", "config/settings/base.py:5", "no CONN_MAX_AGE"),
])
def test_rdy082_django_without_persistent_connections_warns(tmp_path: Path, extra: str,
                                                            where: str, said: str) -> None:
    write(tmp_path / "config" / "settings" / "base.py", DJANGO_BASE)
    write(tmp_path / "config" / "settings" / "production.py",
          "from .base import *\n\nDEBUG = False\n" + extra)
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.WARN)
    assert where in messages(r) and said in messages(r)
    assert "CONN_HEALTH_CHECKS=True" in messages(r) and "pgbouncer" in messages(r)


@pytest.mark.parametrize(("entry", "said"), [
    ('"CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", 60)),', "CONN_MAX_AGE=60"),
    ('"CONN_MAX_AGE": None,', "CONN_MAX_AGE=None (persistent"),
    ('"OPTIONS": {"pool": True},', "OPTIONS pool"),
])
def test_rdy082_django_persistent_connections_pass(tmp_path: Path, entry: str, said: str) -> None:
    write(tmp_path / "config" / "settings" / "base.py", DJANGO_BASE)
    write(tmp_path / "config" / "settings" / "production.py",
          "from .base import *\n\nDATABASES = {\n    \"default\": {\n"
          "        \"ENGINE\": \"django.db.backends.postgresql\",\n        " + entry + "\n    }\n}\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.PASS)
    assert said in messages(r) and "config/settings/production.py:" in messages(r)


def test_rdy082_django_sqlite_and_dynamic_databases_skip(tmp_path: Path) -> None:
    base = write(tmp_path / "config" / "settings.py", DJANGO_BASE.replace(
        "postgresql", "sqlite3"))
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.SKIP)
    base.write_text(DJANGO_BASE.split("DATABASES")[0]
                    + "DATABASES = {\"default\": load_databases()}\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.SKIP)
    assert "config/settings.py:5" in r.reason and "not static" in r.reason


@pytest.mark.parametrize(("call", "status", "said"), [
    ("dj_database_url.config()", Status.WARN, "dj_database_url.config() without conn_max_age"),
    ("dj_database_url.config(conn_max_age=600, conn_health_checks=True)", Status.PASS,
     "CONN_MAX_AGE=600"),
])
def test_rdy082_django_database_url(tmp_path: Path, call: str, status: Status, said: str) -> None:
    write(tmp_path / "config" / "settings.py", DJANGO_BASE.split("DATABASES")[0]
          + "import dj_database_url\n\nDATABASES = {\"default\": " + call + "}\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, status)
    assert said in messages(r) and "config/settings.py:7" in messages(r)


@pytest.mark.parametrize(("update", "status", "said"), [
    ('DATABASES["default"]["CONN_MAX_AGE"] = 60\n', Status.PASS, "CONN_MAX_AGE=60"),
    ('DATABASES["default"].update(CONN_MAX_AGE=None)\n', Status.PASS, "CONN_MAX_AGE=None"),
    ('DATABASES["default"]["OPTIONS"] = {"pool": True}\n', Status.PASS, "OPTIONS pool"),
    ('DATABASES["default"]["CONN_MAX_AGE"] = 0\n', Status.WARN, "CONN_MAX_AGE=0"),
])
def test_rdy082_django_nested_updates_after_the_dictionary(tmp_path: Path, update: str,
                                                           status: Status, said: str) -> None:
    """``DATABASES["default"]["CONN_MAX_AGE"] = 60`` in the production settings after the base's
    dictionary is what runs (it was a false WARN); the finding is at the update's line."""
    write(tmp_path / "config" / "settings" / "base.py", DJANGO_BASE)
    write(tmp_path / "config" / "settings" / "production.py",
          "from .base import *\n\nDEBUG = False\n" + update)
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, status)
    assert said in messages(r) and "config/settings/production.py:4" in messages(r)


def test_rdy082_a_later_assignment_drops_earlier_nested_updates(tmp_path: Path) -> None:
    write(tmp_path / "config" / "settings" / "base.py",
          DJANGO_BASE + 'DATABASES["default"]["CONN_MAX_AGE"] = 60\n')
    write(tmp_path / "config" / "settings" / "production.py",
          "from .base import *\n\nDATABASES = {\"default\": {\"ENGINE\": "
          "\"django.db.backends.postgresql\"}}\n")
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.WARN)
    assert "no CONN_MAX_AGE" in messages(r) and "config/settings/production.py:3" in messages(r)


def test_rdy082_database_url_with_a_nested_update(tmp_path: Path) -> None:
    write(tmp_path / "config" / "settings.py", DJANGO_BASE.split("DATABASES")[0]
          + "import dj_database_url\n\nDATABASES = {\"default\": dj_database_url.config()}\n"
          + 'DATABASES["default"]["CONN_MAX_AGE"] = 600\n')
    r = run_rdy("RDY-082", repo=tmp_path)["RDY-082"]
    assert_status(r, Status.PASS)
    assert "CONN_MAX_AGE=600" in messages(r) and "config/settings.py:8" in messages(r)
