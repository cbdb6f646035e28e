"""Settings wherever they live (issue 16): pydantic chains, starlette/decouple ``config()``,
django-environ, Flask config, Django split settings — CFG-023 (secrets in code), CFG-024 (seeded
passwords), CFG-030 (debug, inverted switches, settings-module fallbacks)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, run_text

from prodaudit.model import Status


def repo_of(tmp_path: Path, files: dict[str, str], name: str = "repo") -> Path:
    root = tmp_path / name
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def problems(run_result: object) -> dict[str, str]:
    return {f.location: f.message for f in run_result.findings  # type: ignore[attr-defined]
            if f.status in (Status.FAIL, Status.WARN)}


STARLETTE = '''\
from pydantic_settings import BaseSettings
from starlette.config import Config

config = Config(".env")


class DatabaseSettings(BaseSettings):
    POSTGRES_PASSWORD: str = config("POSTGRES_PASSWORD", default="postgres")
    POSTGRES_PORT: int = config("POSTGRES_PORT", default=5432)
'''
CHAIN = '''\
from app.base import DatabaseSettings
from starlette.config import Config

config = Config(".env")


class Settings(DatabaseSettings):
    SECRET_KEY: str = config("SECRET_KEY")
    ADMIN_PASSWORD: str = config("ADMIN_PASSWORD", default="!Ch4ng3Th1sP4ssW0rd!")
    ACCESS_TOKEN_EXPIRE_MINUTES: int = config("ACCESS_TOKEN_EXPIRE_MINUTES", default=30)
    TOKEN_TIME_TO_LIVE: int = 3600
    REFRESH_TOKEN_IN_COOKIE: str = "yes"
'''


def test_secret_defaults_in_a_settings_chain_across_modules(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/__init__.py": "", "app/base.py": STARLETTE,
                              "app/settings.py": CHAIN})
    run = run_cfg(repo, tmp_path, only=["CFG-023"])
    r = res(run, "CFG-023")
    assert r.status is Status.FAIL, describe(r)
    found = problems(r)
    assert set(found) == {"app/base.py:8", "app/settings.py:9"}, describe(r)
    assert "POSTGRES_PASSWORD" in found["app/base.py:8"]
    # no value is printed, numbers/durations/booleans are never secrets, no default = no finding
    assert "Ch4ng3" not in run_text(run)


def test_literal_secrets_of_any_length_in_flask_and_django(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app.py": ('from flask import Flask\napp = Flask(__name__)\n'
                   'app.secret_key = "x"\napp.config["JWT_SECRET_KEY"] = "short"\n'
                   'app.config.update(SESSION_COOKIE_SECURE=True, MAIL_PASSWORD="mailpw")\n'),
        "proj/settings.py": ('SECRET_KEY = "django-insecure-abc"\nDEBUG = False\n'
                             'SESSION_COOKIE_AGE = 1209600\nJWT_AUTH_COOKIE = "jwt"\n'
                             'JWT_AUTH = {"JWT_GET_USER_SECRET_KEY": "app.auth.get_secret"}\n'
                             'CELERY_BROKER_URL = "amqp://guest:guest@localhost//"\n'
                             'DATABASES = {"default": {"ENGINE": "x", "PASSWORD": ""}}\n'),
        "proj/settings_dev.py": 'SECRET_KEY = "dev-only-key"\n',
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    found = problems(r)
    assert set(found) == {"app.py:3", "app.py:4", "app.py:5", "proj/settings.py:1",
                          "proj/settings.py:6"}, describe(r)
    assert "URL with a password" in found["proj/settings.py:6"]


def test_field_header_and_claim_names_are_not_secrets(tmp_path: Path) -> None:
    # settings naming a payload key, claim or header hold an identifier, not a credential
    repo = repo_of(tmp_path, {
        "conduit/settings.py": (
            "import os\n\n\nclass Config:\n"
            "    SECRET_KEY = os.environ.get('CONDUIT_SECRET', 'secret-key')\n"
            "    JWT_AUTH_USERNAME_KEY = 'email'\n    JWT_AUTH_HEADER_PREFIX = 'Token'\n"
            "    TOKEN_TYPE_CLAIM = 'token_type'\n    JWT_USER_ID_KEY = 'user_id'\n"
            "    AUTH_TOKEN_HEADER_KEY = 'X-Auth-Token'\n"),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    found = problems(r)
    assert set(found) == {"conduit/settings.py:5"}, describe(r)  # the real one stays
    assert "SECRET_KEY is the default of CONDUIT_SECRET" in found["conduit/settings.py:5"]
    # real secret literals still fail, also under a field-like name with a key-like value
    bad = repo_of(tmp_path, {
        "app/settings.py": ("SECRET_KEY = 'dev-secret-123'\nAPI_KEY = \"sk-live-abc\"\n"
                            "JWT_AUTH_USERNAME_KEY = 'q8Zr2LmX9vTb4KwPn7Yd'\n"
                            "PUSHOVER_USER_KEY = 'alice'\nLOOKUP_KEY = 'key123456'\n"),
    }, "bad")
    r = res(run_cfg(bad, tmp_path, only=["CFG-023"]), "CFG-023")
    assert set(problems(r)) == {f"app/settings.py:{n}" for n in range(1, 6)}, describe(r)


def test_no_secret_in_code_passes(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "settings.py": ('import os\nSECRET_KEY = os.environ["SECRET_KEY"]\n'
                        'ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24\nAPI_KEY_HEADER = "X-API-Key"\n'
                        'GOOGLE_CLIENT_SECRET = os.getenv("GOOGLE_CLIENT_SECRET", "")\n'
                        'if os.environ.get("GITHUB_WORKFLOW"):\n'
                        '    DATABASES = {"default": {"PASSWORD": "postgres"}}\n'),
        "tests/test_app.py": 'SECRET_KEY = "test-secret"\n',
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    assert r.status is Status.PASS, describe(r)


def test_generated_token_nested_in_a_secret_named_assignment(tmp_path: Path) -> None:
    token = "mWM7pgvjtUSAtfaK8RXLjzOaLmurBxIWxMdQIQ0t1fSv9orq"
    repo = repo_of(tmp_path, {"forms.py": (
        "from django import forms\nclass LoginForm(forms.Form):\n"
        "    client_secret = forms.CharField(widget=forms.HiddenInput(attrs={\n"
        f"        'value': '{token}'}}))\n"
        "    password = forms.CharField(label='Your password please')\n")})
    run = run_cfg(repo, tmp_path, only=["CFG-023"])
    r = res(run, "CFG-023")
    assert [f.location for f in fails(r)] == ["forms.py:4"], describe(r)
    assert token not in run_text(run)


SEED = '''\
from app.db import SessionLocal
from app.schemas import UserCreate


def init() -> None:
    create_user(SessionLocal(), UserCreate(
        email="admin@example.com",
        password="password",
        is_superuser=True,
    ))


def setup_db(session):
    session.add(User("user@example.com", hashpw(b"user", gensalt()).decode()))
'''


def test_seeded_accounts_with_literal_passwords(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/initial_data.py": SEED, "app/views.py": (
        "def get(request):\n    user_create(email='x@example.com', password='user')\n"
        "DUMMY_HASH = pwd_context.hash('timing-equaliser')\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-024"]), "CFG-024")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f for f in r.findings}
    assert by_loc["app/initial_data.py:8"].status is Status.FAIL
    assert "privileged" in by_loc["app/initial_data.py:8"].message
    assert by_loc["app/initial_data.py:14"].status is Status.WARN  # an ordinary seeded account
    assert not any(loc.startswith("app/views.py") for loc in by_loc), describe(r)
    ok = repo_of(tmp_path, {"app/initial_data.py": (
        "import os\ndef init():\n    UserCreate(email='a@b.c', password=os.environ['ADMIN_PW'],"
        " is_superuser=True)\n")}, "ok")
    assert res(run_cfg(ok, tmp_path, only=["CFG-024"]), "CFG-024").status is Status.PASS


DJANGO_BASE = '''\
import environ
env = environ.Env()
SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
INSTALLED_APPS = []
'''
DJANGO_PROD = '''\
from config.env import env
from .base import *
DEBUG = env.bool("DJANGO_DEBUG", default=False)
'''


def test_django_split_settings_debug_default_and_entry_point_fallback(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "config/env.py": "import environ\nenv = environ.Env()\n",
        "config/django/base.py": DJANGO_BASE,
        "config/django/production.py": DJANGO_PROD,
        "config/django/test.py": "from .base import *\nDEBUG = True\n",
        "config/wsgi.py": ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
                           '"config.django.base")\n'),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    found = problems(r)
    assert set(found) == {"config/django/base.py:4", "config/wsgi.py:2"}, describe(r)
    assert "config.django.base" in found["config/wsgi.py:2"]
    # the deployment sets the variable to a production value: no finding at the default
    env = tmp_path / "prod.env"
    env.write_text("DJANGO_DEBUG=false\nSECRET_KEY=" + "k" * 50 + "\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-030"], env_file=env), "CFG-030")
    assert "config/django/base.py:4" not in problems(r2), describe(r2)


SPLIT_BASE = """\
SITE_ID = 1
DEBUG = True
INSTALLED_APPS = ["django.contrib.admin"]
ROOT_URLCONF = "proj.urls"
"""


def test_django_base_debug_replaced_by_the_production_module(tmp_path: Path) -> None:
    files = {
        "proj/settings/base.py": SPLIT_BASE,
        "proj/settings/production.py": "from decouple import config\nfrom .base import *\n\n"
                                       "DEBUG = False\nSECRET_KEY = config('SECRET_KEY')\n",
        "proj/settings/local.py": "from .base import *\nDEBUG = True\n",
        "proj/wsgi.py": ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
                         '"proj.settings.production")\n'),
    }
    # production replaces base's DEBUG: what runs is production's False
    repo = repo_of(tmp_path, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.PASS, describe(r)
    assert "proj/settings/base.py:2, replaced at proj/settings/production.py:4" in \
        r.findings[0].message, describe(r)
    # the production module keeps base's value: base's DEBUG = True runs in production
    keeps = repo_of(tmp_path, {**files, "proj/settings/production.py":
                               "from .base import *\nALLOWED_HOSTS = ['example.com']\n"}, "keeps")
    r = res(run_cfg(keeps, tmp_path, only=["CFG-030"]), "CFG-030")
    assert set(problems(r)) == {"proj/settings/base.py:2"}, describe(r)
    assert "DEBUG = True in code" in problems(r)["proj/settings/base.py:2"]
    # a replacement under an `if` may not run: base's value stays judged
    guarded = repo_of(tmp_path, {**files, "proj/settings/production.py":
                                 "import os\nfrom .base import *\nif os.getenv('PROD'):\n"
                                 "    DEBUG = False\n"}, "guarded")
    r = res(run_cfg(guarded, tmp_path, only=["CFG-030"]), "CFG-030")
    assert "proj/settings/base.py:2" in problems(r), describe(r)
    # no production module at all: base is what runs
    only_base = {k: v for k, v in files.items() if k != "proj/settings/production.py"}
    only_base["proj/wsgi.py"] = ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
                                 '"proj.settings.base")\n')
    r = res(run_cfg(repo_of(tmp_path, only_base, "base"), tmp_path, only=["CFG-030"]), "CFG-030")
    assert "proj/settings/base.py:2" in problems(r), describe(r)
    # the deployment runs the base module itself although a production module exists
    env = tmp_path / "prod.env"
    env.write_text("DJANGO_SETTINGS_MODULE=proj.settings.base\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"], env_file=env), "CFG-030")
    assert "proj/settings/base.py:2" in problems(r), describe(r)


INVERTED = '''\
import logging
import os


def create_app():
    if not os.getenv("RUNNING_IN_PRODUCTION"):
        logging.basicConfig(level=logging.DEBUG)
    return object()
'''
GUNICORN = '''\
import os
bind = "0.0.0.0:8000"
if not os.getenv("RUNNING_IN_PRODUCTION"):
    reload = True
'''


def test_inverted_production_switch(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"src/app.py": INVERTED, "src/gunicorn.conf.py": GUNICORN,
                              "src/main.py": "from aiohttp import web\n"
                                             "app = web.Application(debug=True)\n"})
    r30 = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    # gunicorn's reload is an entry-point matter (CFG-031), not a debug setting
    assert problems(r30).keys() == {"src/app.py:6", "src/main.py:2"}, describe(r30)
    assert "RUNNING_IN_PRODUCTION" in problems(r30)["src/app.py:6"]
    # infrastructure sets the variable: a warning (development stays the default) ...
    (repo / "infra").mkdir()
    (repo / "infra/app.bicep").write_text(
        "env: [\n  {\n    name: 'RUNNING_IN_PRODUCTION'\n    value: 'true'\n  }\n]\n",
        encoding="utf-8")
    r30b = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert next(f for f in r30b.findings if f.location == "src/app.py:6").status is Status.WARN
    # ... and the image sets it: the switch is off in production
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nENV RUNNING_IN_PRODUCTION=1\n",
                                     encoding="utf-8")
    r30c = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert "src/app.py:6" not in problems(r30c)


def test_production_defaults_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"settings.py": (
        'import os\nDEBUG = os.getenv("DEBUG", "false").lower() == "true"\n'
        'ENVIRONMENT = os.getenv("ENVIRONMENT", "production")\n'
        'if os.getenv("ENVIRONMENT") == "development":\n    DEBUG = True\n')})
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.PASS, describe(r)


def test_secret_in_the_configuration_file_the_code_loads(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app/main.py": ("from argparse import ArgumentParser\nap = ArgumentParser()\n"
                        "ap.add_argument('--config', default='./config/app.yaml')\n"),
        "config/app.yaml": ("db:\n  user: postgres\n  password: postgres\n  host: db\n"
                            "auth:\n  username_key: email\n"),  # a field's name, no secret
        "config/unused.yaml": "password: hunter22\n",
        "alembic.ini": "sqlalchemy.url = driver://user:pass@localhost/dbname\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    found = problems(r)
    assert set(found) == {"config/app.yaml:3"}, describe(r)
    assert "app/main.py:3" in found["config/app.yaml:3"]


def test_sql_fixture_seeding_accounts(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"migrations/001-fixtures.sql": (
        "INSERT INTO users (username, pwd_hash, is_admin)\nVALUES\n"
        "  ('john', md5('password'), FALSE),\n  ('root', md5('superadmin'), TRUE);\n"
        "INSERT INTO courses (title) VALUES ('Math, (advanced)');\n"),
        "db/hashed.sql": "INSERT INTO users (name, password) VALUES ('a', '$2b$12$abcdefghij');\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-024"]), "CFG-024")
    assert [(f.location, f.status) for f in r.findings] == [
        ("migrations/001-fixtures.sql:4", Status.FAIL)], describe(r)
    assert "2 account(s)" in r.findings[0].message


def test_compose_wiring_follows_the_django_settings_module(tmp_path: Path) -> None:
    files = {
        "config/env.py": "import environ\nenv = environ.Env()\n",
        "config/django/base.py": ('from config.env import env\nINSTALLED_APPS = []\n'
                                  'DATABASES = {"default": env.db("DATABASE_URL")}\n'),
        "config/django/production.py": ('from config.env import env\nfrom .base import *\n'
                                        'SECRET_KEY = env("SECRET_KEY")\n'),
        "config/wsgi.py": ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
                           '"config.django.base")\n'),
        "docker-compose.yml": ("services:\n  web:\n    build: .\n    environment:\n"
                               "      - DATABASE_URL=postgres://db/app\n"),
    }
    repo = repo_of(tmp_path, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    assert r.status is Status.PASS, describe(r)  # production.py is not what the service runs
    files["docker-compose.yml"] += "      - DJANGO_SETTINGS_MODULE=config.django.production\n"
    prod = repo_of(tmp_path, files, "prod")
    r2 = res(run_cfg(prod, tmp_path, only=["CFG-004"]), "CFG-004")
    assert [f.location for f in fails(r2)] == ["config/django/production.py:3"], describe(r2)


def test_sqlalchemy_engine_echo_logs_statements(tmp_path: Path) -> None:
    """``create_engine(..., echo=True)`` logs every statement with its parameters: a debug
    switch in production code; ``echo`` bound to a setting is not judged here."""
    engine = ("from sqlalchemy import create_engine\n"
              "from sqlalchemy.ext.asyncio import create_async_engine\n"
              "engine = create_engine(\n    'sqlite:///app.db',\n    echo=True,\n)\n")
    repo = repo_of(tmp_path, {"models/__init__.py": engine})
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.FAIL, describe(r)
    assert "echo=True" in problems(r)["models/__init__.py:5"], describe(r)
    (repo / "models/__init__.py").write_text(
        engine.replace("echo=True", "echo=settings.DEBUG") + "DEBUG = False\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r2.status is Status.PASS, describe(r2)



def test_engine_echo_in_an_alembic_migration_environment_is_not_a_debug_switch(
        tmp_path: Path) -> None:
    """The engine of Alembic's ``env.py`` runs the migrations, not requests: its ``echo=True``
    logs the migration once per deployment; the same engine in application code FAILs."""
    env = ("from alembic import context\n"
           "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
           "DEBUG = False\n\n\n"
           "async def run_migrations_online():\n"
           "    connectable = create_async_engine(URL, echo=True, future=True)\n")
    repo = repo_of(tmp_path, {"alembic/env.py": env, "app/db.py": "DEBUG = False\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.PASS, describe(r)
    (repo / "app/db.py").write_text(env.replace("from alembic import context\n", ""),
                                    encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r2.status is Status.FAIL, describe(r2)
    assert "echo=True" in problems(r2)["app/db.py:7"], describe(r2)


SEED_CODES = '''\
from uuid import uuid4


def setup_db(session):
    static_code = "a36e990b-0024-4d55-b74a-f8d7528e1764"
    session.add(RegistrationCode(static_code))
    session.add(InviteCode(code="WELCOME-2024-TEAM"))
    for _ in range(10):
        session.add(RegistrationCode(str(uuid4())))
    session.add(ApiKey(name="default", key=secrets.token_urlsafe(32)))
'''


def test_seeded_access_codes_with_literal_values(tmp_path: Path) -> None:
    """A registration or invitation code seeded with a literal (directly or through a local name)
    fails at the literal; generated codes, and the same call in a request handler, do not."""
    repo = repo_of(tmp_path, {"db_seed.py": SEED_CODES, "app/views.py": (
        "def redeem(request):\n    return InviteCode(code='WELCOME-2024-TEAM')\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-024"]), "CFG-024")
    assert [(f.location, f.status) for f in r.findings] == [
        ("db_seed.py:5", Status.FAIL), ("db_seed.py:7", Status.FAIL)], describe(r)
    assert "RegistrationCode(...) seeds an access code" in r.findings[0].message
    assert "a36e990b" not in r.findings[0].message + (r.findings[0].evidence or "")
    ok = repo_of(tmp_path, {"db_seed.py": SEED_CODES.replace(
        '"a36e990b-0024-4d55-b74a-f8d7528e1764"', "os.environ['FIRST_CODE']").replace(
        'code="WELCOME-2024-TEAM"', "code=secrets.token_urlsafe(16)")}, "ok")
    r2 = res(run_cfg(ok, tmp_path, only=["CFG-024"]), "CFG-024")
    assert r2.status is Status.PASS, describe(r2)
    assert "access code" in r2.findings[0].message
