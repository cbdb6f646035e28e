"""Services and their roles: the API is found by what it runs, builds and publishes — not by its
name — and ``docker.service`` overrides; builds and the ``.dockerignore`` that applies to them."""

from __future__ import annotations

from pathlib import Path

import pytest
from product_helpers import context, project, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.builds import all_builds
from prodaudit.product.services import project_services

STACK = """\
services:
  api:
    image: ghcr.io/acme/jobs:1.0
    command: celery -A jobs worker -l info
    environment:
      CELERY_BROKER_URL: amqp://mq:5672
  server:
    build: ./backend
    ports: ["127.0.0.1:8000:8000"]
    environment:
      DATABASE_URL: postgresql://app@db/app
  ui:
    build:
      context: ./frontend
    ports: ["127.0.0.1:8080:80"]
  proxy:
    image: nginx:1.27
    ports: ["443:443"]
  db:
    image: postgres:16.1
  cache:
    image: valkey/valkey:8
  mq:
    image: rabbitmq:3-management
  pgadmin:
    image: dpage/pgadmin4:8
  metrics:
    image: prom/prometheus:v2.53.0
"""
BACKEND = "FROM python:3.12-slim\nEXPOSE 8000\nCMD [\"gunicorn\", \"app:app\", \"-b\", \"0.0.0.0:8000\"]\n"
FRONTEND = "FROM node:20 AS build\nRUN npm ci && npm run build\nFROM nginx:1.27\n"


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def test_roles_and_the_api_by_what_it_is(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"compose.yaml": STACK, "backend/Dockerfile": BACKEND,
                                  "frontend/Dockerfile": FRONTEND})
    ctx = context(repo, tmp_path)
    roles = {s.name: s.role for s in project_services(ctx, project(ctx))}
    assert roles == {"api": "worker", "server": "api", "ui": "frontend", "proxy": "proxy",
                     "db": "database", "cache": "cache", "mq": "queue", "pgadmin": "admin",
                     "metrics": "monitoring"}
    api = ctx.api_service()
    assert api is not None and api.name == "server"
    # the server's command came from its Dockerfile's CMD (compose sets none)
    assert any("gunicorn" in r for r in api.reasons), api.reasons
    assert api.build is not None and api.build.context == (repo / "backend").resolve()


def test_docker_service_overrides_the_detection(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"compose.yaml": STACK, "backend/Dockerfile": BACKEND})
    ctx = context(repo, tmp_path, docker={"service": "ui"})
    api = ctx.api_service()
    assert api is not None and api.name == "ui"


def test_no_api_when_nothing_serves(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"compose.yaml": "services:\n  db:\n    image: postgres:16\n"
                                                  "  cron:\n    image: alpine\n    command: crond -f\n"})
    assert context(repo, tmp_path).api_service() is None


def test_dockerignore_follows_the_build_context(tmp_path: Path) -> None:
    """The root .dockerignore does not apply to a build whose context is ./backend; a
    Dockerfile-specific ignore file wins over the context's."""
    repo = write(tmp_path / "r", {
        "compose.yaml": ("services:\n  server:\n    build: ./backend\n  ui:\n    build:\n"
                         "      context: .\n      dockerfile: frontend/Dockerfile\n"),
        ".dockerignore": ".env*\n.git\nnode_modules\n",
        "backend/Dockerfile": BACKEND,
        "frontend/Dockerfile": FRONTEND,
        "frontend/Dockerfile.dockerignore": ".env*\n",
        "tools/Dockerfile": "FROM alpine\n",
    })
    builds = {b.dockerfile: b for b in all_builds(context(repo, tmp_path))}
    assert builds["backend/Dockerfile"].context == "backend"
    assert builds["backend/Dockerfile"].dockerignore is None
    assert builds["backend/Dockerfile"].services == ("server",)
    assert builds["frontend/Dockerfile"].dockerignore == "frontend/Dockerfile.dockerignore"
    # built by no service: its own directory, else `docker build -f tools/Dockerfile .`
    assert builds["tools/Dockerfile"].services == ()
    assert builds["tools/Dockerfile"].dockerignore == ".dockerignore"


def test_a_lone_service_on_the_host_network_is_the_api(tmp_path: Path) -> None:
    """No build, no published port: it listens on the host network and is health-checked over
    HTTP, and it is the stack's only application service."""
    repo = write(tmp_path / "r", {"compose.yaml": (
        "services:\n  web:\n    image: busybox:1.36\n    network_mode: host\n"
        "    command: [\"httpd\", \"-f\", \"-p\", \"127.0.0.1:8089\"]\n"
        "    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"http://127.0.0.1:8089/health\"]\n"
        "  db:\n    image: postgres:16\n")})
    api = context(repo, tmp_path).api_service()
    assert api is not None and api.name == "web", api


def test_a_name_alone_does_not_make_an_api(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"compose.yaml": "services:\n  api:\n    image: alpine:3\n"})
    assert context(repo, tmp_path).api_service() is None
