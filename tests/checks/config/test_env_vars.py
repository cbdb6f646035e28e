"""CFG-001..005 and the variable model (prodaudit.product.envgraph)."""

from __future__ import annotations

import os
from pathlib import Path

from cfg_helpers import (
    append,
    describe,
    fails,
    line_of,
    ref_copy,
    replace,
    res,
    run_cfg,
    strong_env,
    write,
)

from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.model import Status
from prodaudit.product.envfiles import parse_env_text
from prodaudit.product.envgraph import build_graph

SETTINGS = "backend/app/settings.py"


def test_required_variable_missing_fails_with_location(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    main = repo / "backend/app/main.py"
    append(main, '\nimport os\nWEBHOOK_SECRET = os.environ["PAYMENT_WEBHOOK_SECRET"]\n')
    line = line_of(main, "PAYMENT_WEBHOOK_SECRET")
    run = run_cfg(repo, tmp_path, only=["CFG-001"], env_file=strong_env(tmp_path))
    r = res(run, "CFG-001")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == f"backend/app/main.py:{line}" and "PAYMENT_WEBHOOK_SECRET" in f.message
    assert r.effective_severity.label == "high"
    # set in the profile's env: passes
    env = strong_env(tmp_path, "ok.env", PAYMENT_WEBHOOK_SECRET="x" * 40)
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert r2.status is Status.PASS, describe(r2)


def test_required_severity_follows_profile(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    append(repo / "backend/app/main.py", '\nimport os\nX = os.environ["NEEDED_THING"]\n')
    run = run_cfg(repo, tmp_path, only=["CFG-001"], env_file=strong_env(tmp_path),
                  profile="development")
    assert res(run, "CFG-001").effective_severity.label == "low"


def test_compose_required_checked_only_for_compose_deployments(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert r.status is Status.PASS and "POSTGRES_PASSWORD" in r.findings[0].message  # not checked
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env,
                     compose_files=[repo / "docker-compose.yml"]), "CFG-001")
    assert r2.status is Status.FAIL, describe(r2)
    names = {f.message.split()[0] for f in fails(r2)}
    assert names == {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    assert all(f.location.startswith("docker-compose.yml:") for f in fails(r2))


def test_no_env_file_is_skip_not_pass(tmp_path: Path) -> None:
    r = res(run_cfg(ref_copy(tmp_path), tmp_path, only=["CFG-001"]), "CFG-001")
    assert r.status is Status.SKIP and "--env-file" in r.reason


def test_undocumented_variable_fails(tmp_path: Path) -> None:
    """Variables a deployment must decide fail; optional ones with defaults are listed."""
    repo = ref_copy(tmp_path)
    (repo / "backend/app/extra.py").write_text(
        'import os\n\nURL = os.getenv("WEBHOOK_URL", "http://127.0.0.1")\n'
        'SIGNING = os.environ["WEBHOOK_SIGNING_SECRET"]\n'
        'CACHE = os.getenv("REDIS_SESSION_URL", "redis://localhost:6379/1")\n'
        'if URL:\n    TOKEN = os.environ["WEBHOOK_TOKEN"]\n', encoding="utf-8")
    (repo / "frontend/src/flag.js").write_text(
        "export const f = import.meta.env.VITE_FEATURE_FLAG;\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r.status is Status.FAIL, describe(r)
    locs = {f.message.split()[0]: f.location for f in fails(r)}
    assert locs == {"WEBHOOK_SIGNING_SECRET": "backend/app/extra.py:4",
                    "REDIS_SESSION_URL": "backend/app/extra.py:5"}
    # documented in a README env block and a table: passes, the optional ones are named
    (repo / "README.md").write_text(
        "## Configuration\n\n```\nWEBHOOK_SIGNING_SECRET=<random>\n```\n\n"
        "| variable | meaning |\n|---|---|\n| `REDIS_SESSION_URL` | the cache |\n",
        encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r2.status is Status.PASS, describe(r2)
    assert "VITE_FEATURE_FLAG" in r2.findings[0].message
    assert "WEBHOOK_URL" in r2.findings[0].message


def test_a_request_environ_is_not_an_environment_variable(tmp_path: Path) -> None:
    """``request.headers.environ["HTTP_AUTHORIZATION"]`` reads the request, not the process
    environment: no variable to document; ``os.environ[...]`` next to it still is one."""
    repo = ref_copy(tmp_path)
    (repo / "backend/app/extra.py").write_text(
        "import os\nfrom flask import request\n\n\ndef token():\n"
        "    header = request.headers.environ['HTTP_AUTHORIZATION']\n"
        "    return header, os.environ['WEBHOOK_SIGNING_SECRET']\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert {f.location: f.message.split()[0] for f in fails(r)} == {
        "backend/app/extra.py:7": "WEBHOOK_SIGNING_SECRET"}, describe(r)
    (repo / "README.md").write_text("## Configuration\n\n```\nWEBHOOK_SIGNING_SECRET=<random>\n"
                                    "```\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r2.status is Status.PASS, describe(r2)
    assert "HTTP_AUTHORIZATION" not in r2.findings[0].message


def test_a_commented_out_default_in_the_example_documents_a_read_variable(
        tmp_path: Path) -> None:
    """``#export CACHE_URL=redis://cache:6379/0`` in the example env file documents the variable
    the code reads with that default (it FAILed as undocumented); a prose comment naming the
    variable does not, and an unread commented-out variable is not "documented but unused"."""
    repo = ref_copy(tmp_path)
    (repo / "backend/app/extra.py").write_text(
        "import os\n\nCACHE_URL = os.getenv('CACHE_URL', 'redis://cache:6379/0')\n"
        "BROKER_URL = os.getenv('BROKER_URL', 'redis://queue:6379/0')\n", encoding="utf-8")
    append(repo / ".env.example", "# Where the cache lives.\n#export CACHE_URL=redis://cache:6379/0\n"
                                  "# Set BROKER_URL= to your queue\n#OLD_FLAG=1\n")
    run = run_cfg(repo, tmp_path, only=["CFG-002", "CFG-003"])
    r = res(run, "CFG-002")
    assert {f.location: f.message.split()[0] for f in fails(r)} == {
        "backend/app/extra.py:4": "BROKER_URL"}, describe(r)
    assert res(run, "CFG-003").status is Status.PASS, describe(res(run, "CFG-003"))


def test_a_database_url_override_of_documented_server_variables(tmp_path: Path) -> None:
    """``DATABASE_URL`` read with a default the code composes from ``POSTGRES_USER`` … (all
    documented) is an optional override (it FAILed as an undocumented data-store URL); read
    without a default it is what the deployment must set, and FAILs."""
    settings = ("import os\n\nuser = os.getenv('POSTGRES_USER', 'app')\n"
                "host = os.getenv('POSTGRES_HOST', 'db')\n"
                "DB = os.getenv('DATABASE_URL', f'postgresql://{user}@{host}/app')\n")
    repo = write(tmp_path / "r", {"settings.py": settings,
                                  ".env.example": "POSTGRES_USER=app\n#POSTGRES_HOST=db\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r.status is Status.PASS, describe(r)
    (repo / "settings.py").write_text(settings.replace(", f'postgresql://{user}@{host}/app')", ")")
                                      .replace("os.getenv('DATABASE_URL')",
                                               "os.environ['DATABASE_URL']"), encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        ("settings.py:5", "DATABASE_URL")], describe(r)


def test_a_variable_the_official_base_image_sets_is_not_undocumented(tmp_path: Path) -> None:
    """``os.environ["PYTHON_VERSION"]`` in code built on ``python:3.12-slim``: the image sets it
    (it FAILed as undocumented); on another base image nothing does."""
    repo = write(tmp_path / "r", {
        "app.py": "import os\n\nVERSION = os.environ['PYTHON_VERSION']\n",
        ".env.example": "OTHER=1\n",
        "Dockerfile": "FROM python:3.12.4-slim AS app\nCOPY . /app\nCMD [\"python\", \"app.py\"]\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r.status is Status.PASS, describe(r)
    (repo / "Dockerfile").write_text("FROM ubuntu:24.04\nCOPY . /app\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        ("app.py:3", "PYTHON_VERSION")], describe(r)


def test_no_example_file_fails(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / ".env.example").unlink()
    r = res(run_cfg(repo, tmp_path, only=["CFG-002", "CFG-003"]), "CFG-002")
    assert r.status is Status.FAIL, describe(r)
    assert all("not documented in an example env file" in f.message for f in fails(r))
    assert all(f.location for f in fails(r))
    assert res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003").status is Status.SKIP


def test_documented_but_unused_fails(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    append(repo / ".env.example", "# A setting nobody reads.\nLEGACY_CACHE_TTL=60\n")
    line = line_of(repo / ".env.example", "LEGACY_CACHE_TTL")
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == f".env.example:{line}" and "LEGACY_CACHE_TTL" in f.message


def test_variables_docker_compose_reads_are_used(tmp_path: Path) -> None:
    """``COMPOSE_PROJECT_NAME``, ``COMPOSE_PROFILES`` and ``DOCKER_BUILDKIT`` in the example env
    are read by Compose and the Docker CLI (they FAILed as "nothing reads it"); without a
    Compose project they are stale."""
    repo = ref_copy(tmp_path)
    append(repo / ".env.example", "COMPOSE_PROJECT_NAME=shop\nCOMPOSE_PROFILES=web\n"
                                  "DOCKER_BUILDKIT=1\nLEGACY_CACHE_TTL=60\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert [f.message.split()[0] for f in fails(r)] == ["LEGACY_CACHE_TTL"], describe(r)
    bare = write(tmp_path / "bare", {"app.py": "import os\nX = os.environ['X']\n",
                                     ".env.example": "X=1\nCOMPOSE_PROFILES=web\n"})
    r = res(run_cfg(bare, tmp_path, only=["CFG-003"]), "CFG-003")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        (".env.example:2", "COMPOSE_PROFILES")], describe(r)


def test_read_in_a_development_settings_module_through_a_star_import_is_used(
        tmp_path: Path) -> None:
    """Django settings: ``local.py`` reads the variable with the ``config`` that ``base.py``
    imports from decouple and ``from .base import *`` brings along."""
    repo = tmp_path / "r"
    settings = repo / "backend" / "proj" / "settings"
    settings.mkdir(parents=True)
    (settings / "__init__.py").write_text("", encoding="utf-8")
    (settings / "base.py").write_text('from decouple import config\n\n'
                                      'SECRET_KEY = config("SECRET_KEY")\n', encoding="utf-8")
    (settings / "local_base.py").write_text('from .base import *\n\nDEBUG = True\n'
                                            'CELERY_BROKER_URL = config("CELERY_BROKER_URL", '
                                            'default="")\n', encoding="utf-8")
    (repo / "backend" / ".env.example").write_text("SECRET_KEY=\nCELERY_BROKER_URL=\n",
                                                   encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert r.status is Status.PASS, describe(r)
    # without the read, the documented variable is unused
    (settings / "local_base.py").write_text('from .base import *\n\nDEBUG = True\n',
                                            encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        ("backend/.env.example:2", "CELERY_BROKER_URL")], describe(r)


def test_entrypoint_script_and_image_env_file_consume_documented_variables(
        tmp_path: Path) -> None:
    """``entrypoint.sh`` tests ``$DATABASE``; the ``postgres`` image reads the variables of its
    ``env_file:`` (created from the committed ``.env.prod.db-sample``); ``STALE_FLAG`` is read by
    nothing and ``WORKDIR_LOCAL`` only by the script that sets it itself."""
    repo = tmp_path / "r"
    files = {
        "app/settings.py": 'import os\nSECRET_KEY = os.environ.get("SECRET_KEY")\n',
        "app/entrypoint.sh": '#!/bin/sh\nWORKDIR_LOCAL=/app\nif [ "$DATABASE" = "postgres" ]\n'
                             'then\n  echo "$WORKDIR_LOCAL"\nfi\nexec "$@"\n',
        "docker-compose.yml": "services:\n  web:\n    build: ./app\n    env_file:\n"
                              "      - ./.env.prod\n  db:\n    image: postgres:16\n"
                              "    env_file:\n      - ./.env.prod.db\n",
        ".env.prod-sample": "SECRET_KEY=change_me\nDATABASE=postgres\nSTALE_FLAG=1\n"
                            "WORKDIR_LOCAL=/srv\n",
        ".env.prod.db-sample": "POSTGRES_USER=app\nPOSTGRES_PASSWORD=change_me\n",
    }
    write(repo, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert r.status is Status.FAIL, describe(r)
    assert sorted((f.location, f.message.split()[0]) for f in fails(r)) == [
        (".env.prod-sample:3", "STALE_FLAG"), (".env.prod-sample:4", "WORKDIR_LOCAL")], describe(r)
    (repo / ".env.prod-sample").write_text("SECRET_KEY=change_me\nDATABASE=postgres\n",
                                           encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert r.status is Status.PASS, describe(r)


def test_variables_an_official_image_of_the_stack_reads_are_consumed(tmp_path: Path) -> None:
    """``.env.db.example`` documents ``POSTGRES_*`` for the ``postgres`` service (whatever file
    the deployer creates from it); ``MYSQL_ROOT_PASSWORD`` has no MySQL service to read it."""
    repo = tmp_path / "r"
    files = {
        "app/settings.py": 'import os\nSECRET_KEY = os.environ.get("SECRET_KEY")\n',
        "docker-compose.yml": "services:\n  web:\n    build: ./app\n  db:\n"
                              "    image: postgres:16\n",
        ".env.db.example": "POSTGRES_USER=app\nPOSTGRES_PASSWORD=change_me\n"
                           "MYSQL_ROOT_PASSWORD=change_me\n",
    }
    write(repo, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-003"]), "CFG-003")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        (".env.db.example:3", "MYSQL_ROOT_PASSWORD")], describe(r)


def test_compose_wiring_reads_the_env_file_or_its_example(tmp_path: Path) -> None:
    """The web service gets its variables from the git-ignored ``.env.prod``: its committed
    example ``.env.prod-sample`` tells which; a proxy built from its own folder is no app."""
    repo = tmp_path / "r"
    files = {
        "app/settings.py": 'import os\nSECRET_KEY = os.environ["SECRET_KEY"]\n'
                           'ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split()\n',
        "nginx/Dockerfile": "FROM nginx:1.27\n",
        "docker-compose.yml": "services:\n  web:\n    build: ./app\n    env_file:\n"
                              "      - ./.env.prod\n  nginx:\n    build: ./nginx\n",
        ".env.prod-sample": "SECRET_KEY=change_me\n",
    }
    write(repo, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    assert [(f.location, f.message.split()[0]) for f in fails(r)] == [
        ("app/settings.py:3", "DJANGO_ALLOWED_HOSTS")], describe(r)
    (repo / ".env.prod-sample").write_text("SECRET_KEY=change_me\nDJANGO_ALLOWED_HOSTS=a.b\n",
                                           encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    assert r.status is Status.PASS, describe(r)
    assert ".env.prod from its example .env.prod-sample" in r.findings[0].message, describe(r)
    assert "service nginx is built from nginx/" in r.findings[0].message, describe(r)


def test_compose_wiring_misspelt_and_not_passed(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    compose = repo / "docker-compose.yml"
    replace(compose, "      LOG_LEVEL: ${LOG_LEVEL:-INFO}\n",
            "      LOG_LEVEL: ${LOG_LEVEL:-INFO}\n      JWT_SECRETT: ${JWT_SECRET}\n")
    line = line_of(compose, "JWT_SECRETT")
    r = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    assert r.status is Status.FAIL, describe(r)
    assert any(f.location == f"docker-compose.yml:{line}" and "JWT_SECRETT" in f.message
               for f in fails(r))
    # a variable the code requires, with no env_file: to carry it
    replace(compose, "    env_file:\n      - path: .env\n        required: false\n", "")
    append(repo / "backend/app/main.py", '\nimport os\nX = os.environ["ONLY_IN_CODE"]\n')
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    assert any("ONLY_IN_CODE" in f.message and f.location.startswith("backend/app/main.py:")
               for f in fails(r2)), describe(r2)


def _ctx(repo: Path) -> Context:
    return Context(load_config({"repo": repo, "start_target": False}))


def test_settings_model_prefix_alias_secret_and_required(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "app").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "app/config.py").write_text('''
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
import os
from os import getenv


class Base(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")
    name: str = "demo"
    secret_key: SecretStr
    db_url: str = Field(..., alias="DATABASE_URL")
    redis: str = Field(default="redis://r", validation_alias=AliasChoices("REDIS_URL", "CACHE_URL"))
    items: list[str] = Field(default_factory=list)


class Child(Base):
    extra: int = 3


class Legacy(BaseSettings):
    token: str

    class Config:
        env_prefix = "OLD_"


settings, legacy = Child(), Legacy()  # a settings class nothing uses is never read
A = os.environ["PLAIN_REQUIRED"]
B = os.environ.get("PLAIN_OPTIONAL", "x")
C = getenv("GETENV_VAR")
D = "FLAG" in os.environ
''', encoding="utf-8")
    (repo / "tests/test_x.py").write_text('import os\nos.environ["TEST_ONLY"]\n', encoding="utf-8")
    (repo / "web.ts").write_text('const a = process.env.REACT_APP_API;\n'
                                 'const b = import.meta.env["VITE_KEY"];\n'
                                 "const m = import.meta.env.MODE;\n", encoding="utf-8")
    g = build_graph(_ctx(repo))
    v = g.vars
    assert v["APP_SECRET_KEY"].required and v["APP_SECRET_KEY"].secret
    assert v["APP_NAME"].default == "demo" and not v["APP_NAME"].required
    assert v["DATABASE_URL"].required and "APP_DB_URL" not in v
    assert not v["REDIS_URL"].required and not v["CACHE_URL"].required
    assert not v["APP_ITEMS"].required
    assert "APP_EXTRA" in v  # subclass of a settings class
    assert v["OLD_TOKEN"].required and v["OLD_TOKEN"].secret
    assert v["PLAIN_REQUIRED"].required and not v["PLAIN_OPTIONAL"].required
    assert v["PLAIN_OPTIONAL"].default == "x"
    assert "GETENV_VAR" in v and "FLAG" in v
    assert "TEST_ONLY" not in v  # tests are not the product
    assert v["REACT_APP_API"].reads[0].kind == "frontend" and "VITE_KEY" in v and "MODE" not in v


def test_env_parser_reports_bad_lines() -> None:
    ef = parse_env_text(".env.production", '# ok\nA=1\nexport B="two words"\nnot a line\n'
                        '9BAD=1\nC="unterminated\nD=x # comment\nE=\'q\'\n')
    assert ef.values == {"A": "1", "B": "two words", "C": "unterminated\nD=x # comment\nE='q'"}
    assert (4, "not KEY=VALUE: 'not a line'") in ef.problems
    assert any(ln == 5 and "invalid variable name" in m for ln, m in ef.problems)
    assert any(ln == 6 and "unterminated" in m for ln, m in ef.problems)
    ok = parse_env_text("x.env", "# Signing key.\nJWT=abc # trailing\nQ='a b'\n")
    assert ok.values == {"JWT": "abc", "Q": "a b"} and ok.entries[0].comment == "Signing key."


def test_bad_input_gives_errors_and_the_suite_still_runs(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / "deploy").mkdir()
    (repo / "deploy/.env.production").write_text("GOOD=1\nthis is not env\n", encoding="utf-8")
    (repo / "deploy/docker-compose.yml").write_text("services:\n  api: [unclosed\n",
                                                     encoding="utf-8")
    (repo / "deploy/Dockerfile").write_text("RUN echo before from\n", encoding="utf-8")
    (repo / "backend/app/broken.py").write_text("def f(:\n", encoding="utf-8")
    (repo / "backend/app/latin1.py").write_bytes(b'X = "caf\xe9"\n')
    (repo / "loop").mkdir()
    os.symlink("..", repo / "loop/up")  # a directory symlink loop
    os.symlink("missing-target", repo / "dangling")
    (repo / "worker").mkdir()
    (repo / "worker/pyproject.toml").write_text("[project\nname = 'w'\n", encoding="utf-8")
    (repo / "frontend/package.json").write_text('{"dependencies": {', encoding="utf-8")
    run = run_cfg(repo, tmp_path, env_file=strong_env(tmp_path), skip=["CFG-063"])
    r = res(run, "CFG-005")
    assert r.status is Status.ERROR, describe(r)
    locs = {f.location for f in r.findings if f.status is Status.ERROR}
    # an invalid env-file line is a WARN with path:line (the rest of the file is read)
    assert any(f.status is Status.WARN and f.location == "deploy/.env.production:2"
               for f in r.findings), describe(r)
    assert "deploy/docker-compose.yml:2" in locs or "deploy/docker-compose.yml:3" in locs
    assert "deploy/Dockerfile:1" in locs
    # a statement no grammar reads is skipped, the rest of the file is still judged
    assert any(f.status is Status.WARN and f.location == "backend/app/broken.py:1"
               and "skipped" in f.message for f in r.findings), describe(r)
    assert "dangling" in locs
    assert len([f for f in r.findings if "not UTF-8" in f.message]) == 1  # reported once
    # the other checks still ran and judged what they could parse
    assert res(run, "CFG-102").status is Status.ERROR  # the broken Dockerfile is reported there
    assert any(f.status is Status.PASS for f in res(run, "CFG-102").findings)
    assert res(run, "CFG-040").status is Status.PASS
    assert any(f.status is Status.ERROR and f.location == "worker/pyproject.toml"
               for f in res(run, "CFG-060").findings), describe(res(run, "CFG-060"))
    assert res(run, "CFG-062").status is Status.ERROR
    assert res(run, "CFG-150").status in (Status.ERROR, Status.FAIL)
    assert len(run.results) >= 40


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    secret = repo / "backend/app/private.py"
    secret.write_text('import os\nX = os.getenv("PRIVATE_SETTING")\n', encoding="utf-8")
    secret.chmod(0)
    try:
        run = run_cfg(repo, tmp_path, only=["CFG-005", "CFG-040"])
    finally:
        secret.chmod(0o644)
    r = res(run, "CFG-005")
    if os.geteuid() == 0:
        # root reads mode-000 files: nothing is unreadable, and the file was parsed
        assert r.status is Status.PASS, describe(r)
    else:
        assert any("unreadable" in f.message and "private.py" in f.location for f in r.findings)
        assert res(run, "CFG-040").status is Status.ERROR


def test_compose_environment_documents_only_the_compose_deployment(tmp_path: Path) -> None:
    """A variable set in the Compose file's environment needs no documentation when Compose is
    how production runs; with a Procfile next to it, production never sees that value."""
    repo = tmp_path / "r"
    (repo / "app").mkdir(parents=True)
    (repo / "app/settings.py").write_text('import os\nDB = os.environ["DATABASE_URL"]\n',
                                          encoding="utf-8")
    (repo / "docker-compose.yml").write_text(
        "services:\n  api:\n    build: .\n    environment:\n"
        "      DATABASE_URL: postgres://app@db/app\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r.status is Status.PASS, describe(r)
    (repo / "Procfile").write_text("web: gunicorn app:app\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert [f.location for f in fails(r2)] == ["app/settings.py:2"], describe(r2)


def test_compose_wiring_names_the_frontend_build_variables_it_leaves_out(tmp_path: Path) -> None:
    """A frontend service reads only build-time variables: its SKIP says so (it said no code
    reads the environment); the backend service is judged."""
    repo = tmp_path / "r"
    files = {
        "docker-compose.yml": "services:\n  api:\n    build: ./api\n    environment:\n"
                              "      - DATABASE_URL=${DATABASE_URL:?}\n  web:\n"
                              "    build: ./web\n    environment:\n"
                              "      - VITE_API_URL=https://api.example.com\n",
        "api/main.py": "import os\n\nDB = os.environ['DATABASE_URL']\n",
        "web/src/api.ts": "export const API = import.meta.env.VITE_API_URL ?? '/api';\n",
    }
    write(repo, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-004"]), "CFG-004")
    skips = [f.message for f in r.findings if f.status is Status.SKIP]
    assert len(skips) == 1 and "reads only frontend build-time variables (VITE_API_URL)" \
        in skips[0], describe(r)
    assert any(f.status is Status.PASS for f in r.findings), describe(r)


def test_readme_env_block_without_fence_documents_variables(tmp_path: Path) -> None:
    """A README whose env template lost its fence (consecutive bare ``NAME=value`` lines)
    documents those variables; a lone ``NAME=value`` line in prose does not."""
    repo = tmp_path / "r"
    (repo / "app").mkdir(parents=True)
    (repo / "app/settings.py").write_text(
        'import os\nDB = os.environ["DATABASE_URL"]\nKEY = os.environ["JWT_SECRET_KEY"]\n',
        encoding="utf-8")
    (repo / "README.md").write_text(
        "# App\n\n#### Environment Variables (.env)\n\nCreate a `.env` file with:\n\n\n"
        "DATABASE_URL=postgresql+asyncpg://app:app@db:5432/app\nJWT_SECRET_KEY=your-secret-key\n"
        "\n\nRun it.\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-002"]), "CFG-002")
    assert r.status is Status.PASS, describe(r)
    (repo / "README.md").write_text(
        "# App\n\nSet JWT_SECRET_KEY before starting; for example\n"
        "DATABASE_URL=postgresql://app@db/app\n\nis read too.\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path / "b", only=["CFG-002"]), "CFG-002")
    assert sorted(f.location for f in fails(r2)) == ["app/settings.py:2", "app/settings.py:3"], \
        describe(r2)
