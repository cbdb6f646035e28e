"""Platform deployment manifests (render.yaml, app.json, heroku.yml, fly.toml, railway, DigitalOcean,
App Engine) and the development Compose stack of a product that deploys with one."""

from __future__ import annotations

from pathlib import Path

import pytest
from product_helpers import context, project, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.platforms import (
    ENCRYPTED,
    FROM_SERVICE,
    GENERATED,
    LITERAL,
    PROMPTED,
    platform_deployment,
    platform_manifests,
    platform_variables,
)

RENDER = """\
databases:
  - name: app-db
services:
  - type: web
    name: web
    runtime: python
    rootDir: backend
    buildCommand: ./build.sh
    startCommand: gunicorn app.wsgi --log-file -
    envVars:
      - key: SECRET_KEY
        generateValue: true
      - key: DATABASE_URL
        fromDatabase:
          name: app-db
          property: connectionString
      - key: SENTRY_DSN
        sync: false
      - fromGroup: shared
  - type: worker
    name: worker
    startCommand: celery -A app worker --loglevel=info
envVarGroups:
  - name: shared
    envVars:
      - key: ALLOWED_HOSTS
        value: '*'
"""

DEV_STACK = """\
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: postgres
  backend:
    build:
      context: .
      dockerfile: backend/Dockerfile
    volumes:
      - ./:/home/user/app/
"""


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def test_render_blueprint_commands_and_variables(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "r", {"render.yaml": RENDER}), tmp_path)
    (m,) = platform_manifests(ctx)
    assert m.platform == "Render" and m.problem is None and not m.builds_image
    cmds = {(c.role, c.service, c.location, c.base) for c in m.commands}
    assert cmds == {("build", "web", "render.yaml:8", "backend"),
                    ("start", "web", "render.yaml:9", "backend"),
                    ("start", "worker", "render.yaml:22", "")}
    hows = {v.name: (v.how, v.location, v.value) for v in m.variables}
    assert hows == {"SECRET_KEY": (GENERATED, "render.yaml:11", None),
                    "DATABASE_URL": (FROM_SERVICE, "render.yaml:13", None),
                    "SENTRY_DSN": (PROMPTED, "render.yaml:17", None),
                    "ALLOWED_HOSTS": (LITERAL, "render.yaml:27", "*")}
    assert platform_deployment(ctx) is m


def test_heroku_fly_railway_digitalocean_app_engine(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "app.json": '{\n  "name": "x",\n  "env": {\n    "SECRET_KEY": {\n      "generator": '
                    '"secret"\n    },\n    "DEBUG": {\n      "value": "False"\n    },\n'
                    '    "MAIL_PASSWORD": {\n      "description": "the mail password"\n    }\n'
                    '  },\n  "scripts": {\n    "postdeploy": "flask db upgrade"\n  }\n}\n',
        "heroku.yml": "build:\n  docker:\n    web: Dockerfile\nrun:\n  web: gunicorn app:app\n"
                      "release:\n  command:\n    - ./release.sh\n",
        "fly.toml": "app = 'x'\n\n[env]\n  PORT = '8080'\n\n[processes]\n  app = 'uvicorn "
                    "main:app --reload'\n\n[deploy]\n  release_command = 'alembic upgrade head'\n",
        "railway.toml": "[build]\nbuilder = 'NIXPACKS'\n\n[deploy]\nstartCommand = 'flask run'\n",
        ".do/app.yaml": "name: x\nservices:\n  - name: api\n    run_command: gunicorn app:app\n"
                        "    envs:\n      - key: JWT_SECRET\n        type: SECRET\n"
                        "        value: EV[1:abc]\n      - key: API_KEY\n"
                        "        value: sk-live-abcdef\n",
        "gae/app.yaml": "runtime: python312\nentrypoint: gunicorn -b :$PORT main:app\n"
                        "env_variables:\n  DEBUG: 'true'\n",
        "mobile/app.json": '{"expo": {"name": "mobile"}}\n',  # Expo's app.json is not Heroku's
        "tests/fixtures/render.yaml": "services: [",  # test data, not the product's manifest
    })
    ms = {m.path: m for m in platform_manifests(context(repo, tmp_path))}
    assert set(ms) == {"app.json", "heroku.yml", "fly.toml", "railway.toml", ".do/app.yaml",
                       "gae/app.yaml"}
    heroku = {v.name: (v.how, v.location) for v in ms["app.json"].variables}
    assert heroku == {"SECRET_KEY": (GENERATED, "app.json:4"), "DEBUG": (LITERAL, "app.json:8"),
                      "MAIL_PASSWORD": (PROMPTED, "app.json:10")}
    assert [(c.role, c.location) for c in ms["app.json"].commands] == [("release", "app.json:15")]
    assert [(c.role, c.command, c.location) for c in ms["heroku.yml"].commands] == [
        ("start", "gunicorn app:app", "heroku.yml:5"), ("release", "./release.sh", "heroku.yml:7")]
    assert ms["heroku.yml"].builds_image
    assert [(c.role, c.location) for c in ms["fly.toml"].commands] == [
        ("start", "fly.toml:7"), ("release", "fly.toml:10")]
    assert [(v.name, v.location) for v in ms["fly.toml"].variables] == [("PORT", "fly.toml:4")]
    assert [(c.command, c.location) for c in ms["railway.toml"].commands] == [
        ("flask run", "railway.toml:5")]
    assert not ms["railway.toml"].builds_image
    do = {v.name: (v.how, v.location, v.value) for v in ms[".do/app.yaml"].variables}
    assert do == {"JWT_SECRET": (ENCRYPTED, ".do/app.yaml:6", None),
                  "API_KEY": (LITERAL, ".do/app.yaml:10", "sk-live-abcdef")}
    assert ms["gae/app.yaml"].platform == "App Engine"
    assert ms["gae/app.yaml"].commands[0].base == "gae"


def test_malformed_manifest_is_a_problem_and_the_others_are_read(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "fly.toml": "app = 'x\n",
        "render.yaml": "services:\n  - type: web\n    startCommand: [unclosed\n",
        "railway.json": '{"deploy": {"startCommand": "gunicorn app:app"}}\n',
    })
    ctx = context(repo, tmp_path)
    ms = {m.path: m for m in platform_manifests(ctx)}
    assert ms["fly.toml"].problem is not None and ms["fly.toml"].problem.startswith("fly.toml:1:")
    assert ms["render.yaml"].problem is not None and "invalid YAML" in ms["render.yaml"].problem
    assert platform_deployment(ctx) is ms["railway.json"]


def test_unrendered_template_placeholders_are_read_as_names(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": "services:\n  - type: web\n    name: {{project_name}}\n"
                       "    startCommand: gunicorn {{project_name}}.wsgi\n",
    })
    (m,) = platform_manifests(context(repo, tmp_path))
    assert m.problem is None and "unrendered template" in m.note
    assert m.commands[0].command == "gunicorn project_name.wsgi"


def test_compose_stack_of_a_platform_deployed_product_is_development(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER,
        "docker-compose.yml": DEV_STACK,
        "backend/Dockerfile": "FROM python:3.12-slim\nCMD python manage.py runserver 0.0.0.0:8000\n",
        "backend/app/wsgi.py": "application = None\n",
    })
    p = project(context(repo, tmp_path))
    assert p.dev_only is not None, p.dev_only
    assert p.dev_only.startswith("docker-compose.yml is a development stack (service backend "
                                 "runs manage.py runserver (backend/Dockerfile:2))")
    assert p.dev_only.endswith("the product deploys with render.yaml:1")


def test_bind_mounted_source_is_a_development_trait(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "fly.toml": "app = 'x'\n[processes]\n  app = 'gunicorn app:app'\n",
        "docker-compose.yml": DEV_STACK,
        "backend/Dockerfile": "FROM python:3.12-slim\nCMD gunicorn app:app\n",
    })
    p = project(context(repo, tmp_path))
    assert p.dev_only is not None and "bind-mounts its source (./)" in p.dev_only


def test_compose_stack_stays_production_when_deployed_or_without_dev_traits(
        tmp_path: Path) -> None:
    files = {"render.yaml": RENDER,
             "docker-compose.yml": DEV_STACK.replace("    volumes:\n      - ./:/home/user/app/\n",
                                                     "    restart: always\n"),
             "backend/Dockerfile": "FROM python:3.12-slim\nCMD gunicorn app:app\n"}
    # a production-shaped stack next to the manifest: a self-hosted way to run the product
    assert project(context(write(tmp_path / "a", files), tmp_path)).dev_only is None
    # a development trait, but the repository deploys the stack with Compose
    files["docker-compose.yml"] = DEV_STACK
    files["scripts/deploy.sh"] = "#!/bin/sh\ndocker compose up -d\n"
    assert project(context(write(tmp_path / "b", files), tmp_path)).dev_only is None
    # no platform manifest at all: the stack is all there is
    del files["render.yaml"], files["scripts/deploy.sh"]
    assert project(context(write(tmp_path / "c", files), tmp_path)).dev_only is None


def test_platform_variables_by_name(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "r", {"render.yaml": RENDER}), tmp_path)
    assert [v.location for v in platform_variables(ctx)["ALLOWED_HOSTS"]] == ["render.yaml:27"]


def test_an_app_json_of_another_tool_is_not_a_heroku_manifest(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "app.json": '{"name": "x", "env": {"API_KEY": {"type": "string", "default": "abc"}},'
                    ' "scripts": {"build": "tsc"}}\n',
        "web/app.json": '{"addons": ["heroku-postgresql"]}\n',
    })
    assert [m.path for m in platform_manifests(context(repo, tmp_path))] == ["web/app.json"]


def test_a_target_stage_is_not_judged_by_the_dockerfile_last_command(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER,
        "docker-compose.yml": "services:\n  api:\n    build:\n      context: .\n"
                              "      target: prod\n",
        "Dockerfile": "FROM python:3.12-slim AS prod\nCMD gunicorn app:app\n"
                      "FROM prod AS dev\nCMD flask run --debug\n",
    })
    assert project(context(repo, tmp_path)).dev_only is None
