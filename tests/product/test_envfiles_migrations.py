"""Env files and who reads them (invalid lines are WARN with path:line in CFG-005), the migration
system, and the one PostgreSQL helper (bounded connect, password never in an error)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest_services import require_service
from helpers import audit_target, describe, result
from product_helpers import context, write

import prodaudit.product.compose as compose_mod
from prodaudit.model import Status
from prodaudit.product.database import connect, error_line
from prodaudit.product.envfiles import env_file_uses


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def git_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_readers_of_env_files(tmp_path: Path) -> None:
    repo = git_repo(write(tmp_path / "r", {
        ".gitignore": ".env\n",
        ".env": "A=1\n",
        "compose.yaml": "services:\n  api:\n    image: a\n    env_file:\n      - conf/api.env\n",
        "conf/api.env": "B=2\n",
        "app/settings.py": ("from pydantic_settings import BaseSettings, SettingsConfigDict\n"
                            "class Settings(BaseSettings):\n"
                            "    model_config = SettingsConfigDict(env_file=\".env.app\")\n"),
        "app/main.py": "from dotenv import load_dotenv\nload_dotenv()\n",
    }))
    uses = {(u.path, u.reader.split(" in ")[0]): u for u in env_file_uses(context(repo, tmp_path))}
    assert uses[(".env", "docker compose compose.yaml (interpolation)")].exists
    assert uses[(".env", "docker compose compose.yaml (interpolation)")].compose
    assert uses[("conf/api.env", "compose service api (env_file)")].location == "compose.yaml:5"
    settings = uses[(".env.app", "settings class (env_file)")]
    assert settings.location == "app/settings.py:3" and not settings.exists
    assert uses[(".env", "load_dotenv()")].location == "app/main.py:2"


def test_invalid_env_lines_are_warnings_with_their_readers(tmp_path: Path) -> None:
    """Also in a git-ignored .env that Compose reads, and in the --env-file outside the repo."""
    repo = git_repo(write(tmp_path / "r", {
        ".gitignore": ".env\n",
        ".env": "GOOD=1\nthis is not an assignment\n",
        "compose.yaml": "services:\n  api:\n    image: a:${GOOD}\n",
    }))
    run = audit_target(None, tmp_path, suites=["config"], repo=repo, only=["CFG-005"])
    r = result(run, "CFG-005")
    assert r.status is Status.WARN, describe(r)
    (f,) = r.findings
    assert f.location == ".env:2" and "docker compose refuses the whole file" in f.message
    profile = write(tmp_path / "profile", {"prod.env": "X=1\nexport\n"}) / "prod.env"
    run = audit_target(None, tmp_path, suites=["config"], repo=repo, only=["CFG-005"],
                       env_file=profile)
    r = result(run, "CFG-005")
    assert [(f.status, f.location) for f in r.findings] == [(Status.WARN, f"{profile}:2")], \
        describe(r)
    assert "--env-file" in r.findings[0].message


@pytest.mark.parametrize(("files", "kind"), [
    ({"alembic.ini": "[alembic]\nscript_location = migrations\n",
      "migrations/env.py": "from alembic import context\n",
      "migrations/versions/001_init.py": "revision = '001'\ndown_revision = None\n"}, "alembic"),
    ({"app/__init__.py": "from flask_migrate import Migrate\n",
      "migrations/env.py": "from alembic import context\n",
      "migrations/versions/a1.py": "revision = 'a1'\ndown_revision = None\n"}, "flask-migrate"),
    ({"shop/migrations/0001_initial.py":
      "from django.db import migrations\nclass Migration(migrations.Migration):\n    pass\n"},
     "django"),
    ({"pyproject.toml": "[tool.aerich]\ntortoise_orm = 'app.TORTOISE'\n",
      "migrations/models/0_20240101_init.py": "async def upgrade(db): ...\n"}, "aerich"),
    ({"db/migrations/V1__init.sql": "CREATE TABLE t (id int);\n",
      "db/migrations/V2__more.sql": "ALTER TABLE t ADD c int;\n"}, "sql"),
    ({"app.py": "print('no database')\n"}, "none"),
])
def test_migration_system_detection(tmp_path: Path, files: dict[str, str], kind: str) -> None:
    found = context(write(tmp_path / "r", files), tmp_path).migrations()
    assert found.kind == kind, found.describe()


def test_error_line_masks_the_password() -> None:
    url = "postgresql://app:S3cr3t-Pw@db.example:5432/app"
    exc = RuntimeError('connection failed: password=S3cr3t-Pw for "app"\nDETAIL: more')
    line = error_line(exc, url)
    assert "S3cr3t-Pw" not in line and line.startswith("connection failed")


def test_connect_is_bounded_and_redacted_against_postgres() -> None:
    url = os.environ.get("PRODAUDIT_TEST_DATABASE_URL", "")
    require_service("PostgreSQL", bool(url), "PRODAUDIT_TEST_DATABASE_URL is not set")
    with connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    import psycopg

    bad = url.replace("://", "://nobody-here:Wr0ng-Pass-42@", 1) if "@" not in url else \
        url.split("://", 1)[0] + "://nobody-here:Wr0ng-Pass-42@" + url.split("@", 1)[1]
    with pytest.raises(psycopg.Error) as info:
        connect(bad, timeout=3)
    assert "Wr0ng-Pass-42" not in error_line(info.value, bad)
