"""CFG-032 on connection URLs written in code: composed or hard-coded Redis URLs without a
password, SQLite engines, Django sqlite3 — and a code default the deployment overrides."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

SETTINGS = '''\
from pydantic_settings import BaseSettings
from starlette.config import Config

config = Config(".env")


class RedisSettings(BaseSettings):
    REDIS_HOST: str = config("REDIS_HOST", default="localhost")
    REDIS_PORT: int = config("REDIS_PORT", default=6379)
    REDIS_CACHE_URL: str = f"redis://{REDIS_HOST}:{REDIS_PORT}"
    REDIS_QUEUE_URL: str = f"redis://{REDIS_HOST}:{REDIS_PORT}/1"


class UnusedSettings(BaseSettings):
    SQLITE_PREFIX: str = config("SQLITE_PREFIX", default="sqlite:///")


settings = RedisSettings()
'''


def test_composed_and_hard_coded_redis_urls_and_sqlite(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app/config.py": SETTINGS,
        "app/worker.py": 'from celery import Celery\ncelery = Celery("w", broker="redis://redis:6379/0")\n',
        "app/db.py": 'from sqlalchemy import create_engine\nengine = create_engine(\n'
                     '    "sqlite:///" + "app.db")\n',
        "proj/settings.py": 'DATABASES = {"default": {\n    "ENGINE": "django.db.backends.sqlite3",\n'
                            '    "NAME": "db.sqlite3"}}\n',
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f for f in r.findings}
    assert set(problems(r)) == {"app/config.py:10", "app/worker.py:2", "app/db.py:3",
                                "proj/settings.py:2"}, describe(r)
    assert "no place for a password" in by_loc["app/config.py:10"].message
    assert "app/config.py:11" in by_loc["app/config.py:10"].evidence  # one finding per file
    assert by_loc["app/db.py:3"].status is Status.WARN


def test_urls_with_credentials_or_overridden_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app/config.py": ('import os\nREDIS_URL = f"redis://:{os.environ[\'REDIS_PASSWORD\']}'
                          '@redis:6379/0"\n'
                          'BROKER_URL = os.getenv("BROKER_URL", "redis://localhost:6379/0")\n'),
        "Dockerfile": "FROM python:3.12-slim\nENV BROKER_URL=redis://:pw@redis:6379/0\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.PASS, describe(r)


DJANGO_ENGINE_FROM_ENV = ('import os\nDATABASES = {"default": {\n'
                          '    "ENGINE": os.environ.get("SQL_ENGINE", "django.db.backends.sqlite3"),\n'
                          '    "NAME": os.environ.get("SQL_DATABASE", "db.sqlite3")}}\n')
COMPOSE_ENV_FILE = "services:\n  web:\n    build: .\n    env_file:\n      - ./.env.prod\n"


def test_a_sqlite_engine_default_the_deployment_replaces_is_not_judged(tmp_path: Path) -> None:
    files = {"proj/settings.py": DJANGO_ENGINE_FROM_ENV, "docker-compose.yml": COMPOSE_ENV_FILE,
             ".env.prod.example": "SQL_ENGINE=django.db.backends.postgresql\n"}
    r = res(run_cfg(repo_of(tmp_path, files), tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.PASS, describe(r)
    assert "SQL_ENGINE (example .env.prod.example" in r.findings[0].message, describe(r)
    # the deployment itself selects sqlite3: WARN at its line
    sqlite = repo_of(tmp_path, {**files, ".env.prod.example":
                                "SQL_ENGINE=django.db.backends.sqlite3\n"}, "sqlite")
    r = res(run_cfg(sqlite, tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.WARN and set(problems(r)) == {".env.prod.example:1"}, describe(r)
    # nothing sets SQL_ENGINE: the code default is what runs
    bare = repo_of(tmp_path, {"proj/settings.py": DJANGO_ENGINE_FROM_ENV}, "bare")
    r = res(run_cfg(bare, tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.WARN and set(problems(r)) == {"proj/settings.py:3"}, describe(r)


def test_a_setting_that_names_another_is_judged_once(tmp_path: Path) -> None:
    """``LOCATION = REDIS_URL`` is the value of the REDIS_URL setting: its finding is at the
    line that writes the URL, not repeated at every setting that names it."""
    settings = ('REDIS_URL = "redis://redis:6379/0"\n\nCACHES = {"default": {\n'
                '    "BACKEND": "django.core.cache.backends.redis.RedisCache",\n'
                '    "LOCATION": REDIS_URL}}\nCELERY_BROKER_URL = REDIS_URL\n')
    repo = repo_of(tmp_path, {"proj/settings.py": settings})
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"]), "CFG-032")
    assert r.status is Status.FAIL, describe(r)
    assert set(problems(r)) == {"proj/settings.py:1"}, describe(r)
    assert "LOCATION" not in " ".join(f.evidence or "" for f in r.findings), describe(r)
    safe = settings.replace("redis://redis", "redis://:secret-from-vault@redis")
    r = res(run_cfg(repo_of(tmp_path / "s", {"proj/settings.py": safe}), tmp_path,
                    only=["CFG-032"]), "CFG-032")
    assert r.status is Status.PASS, describe(r)
