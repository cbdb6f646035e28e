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
