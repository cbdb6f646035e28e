"""Development-only Compose projects, roles from the image a service builds FROM, the environment
a service's container starts with, and what a build copies from its context."""

from __future__ import annotations

from pathlib import Path

import pytest
from product_helpers import context, project, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.build_context import (
    copied,
    copies,
    ignored,
    parse_dockerignore,
    sensitive_items,
)
from prodaudit.product.dockerfiles import parse_dockerfile
from prodaudit.product.service_env import service_environment
from prodaudit.product.services import project_services

STACK = "services:\n  app:\n    build: ./src\n    volumes:\n      - ./src:/code\n"


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def test_documentation_that_names_the_file_makes_it_development_only(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "docker-compose.yaml": STACK,
        "README.md": "# App\n\n## Local development with Docker\n\nIn addition to the `Dockerfile` "
                     "used in production, this repo includes a `docker-compose.yaml` for\nlocal "
                     "development which mounts the code.\n",
    })
    p = project(context(repo, tmp_path))
    assert p.dev_only is not None and p.dev_only.startswith("README.md:5")
    assert "development-only compose file" in p.dev_label


def test_a_sentence_about_the_workflow_is_not_enough(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "docker-compose.yml": STACK,
        "README.md": "- It's dockerized for local development with `docker compose`.\n",
    })
    assert project(context(repo, tmp_path)).dev_only is None


def test_dev_container_and_explicit_files(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {".devcontainer/docker-compose.yml": STACK, "src/x.py": ""})
    ctx = context(repo, tmp_path)
    assert project(ctx, ".devcontainer").dev_only == ".devcontainer/ is a development container " \
                                                     "definition"
    explicit = context(repo, tmp_path, compose_files=[str(repo / ".devcontainer/docker-compose.yml")])
    assert explicit.compose().projects[0].dev_only is None  # what the user asked to audit


def test_roles_come_from_the_image_a_service_builds_from(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "docker-compose.yml": "services:\n  store:\n    build:\n      context: .\n"
                              "      dockerfile: Dockerfile.db\n  kv:\n    image: redis:7.4\n",
        "Dockerfile.db": "FROM postgres:16.4-alpine\nENV POSTGRES_DB app\n",
    })
    ctx = context(repo, tmp_path)
    svcs = {s.name: s for s in project_services(ctx, project(ctx))}
    assert svcs["store"].role == "database" and svcs["store"].base_image == "postgres:16.4-alpine"
    assert svcs["kv"].role == "cache"


def test_service_environment_by_compose_precedence(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "docker-compose.yml": "services:\n  db:\n    build: ./db\n    env_file: [db.env, "
                              "missing.env]\n    environment:\n      POSTGRES_USER: app\n",
        "db.env": "POSTGRES_USER=ignored\nPOSTGRES_PASSWORD=\n",
        "db/Dockerfile": "FROM postgres:16\nENV POSTGRES_DB=shop POSTGRES_USER=base\n",
    })
    ctx = context(repo, tmp_path)
    svc = next(s for s in project_services(ctx, project(ctx)) if s.name == "db")
    env = service_environment(ctx, svc)
    assert env.get("POSTGRES_USER").location == "docker-compose.yml:6"  # type: ignore[union-attr]
    assert env.get("POSTGRES_PASSWORD").value == ""  # type: ignore[union-attr]
    assert env.get("POSTGRES_DB").location == "db/Dockerfile:2"  # type: ignore[union-attr]
    assert env.missing_env_files == ["missing.env"] and env.env_files == ["db.env"]


def test_dockerignore_patterns_as_docker_reads_them() -> None:
    rules = parse_dockerignore("# comment\n.env*\n!.env.example\n**/node_modules\n/build\n")
    assert ignored(rules, ".env") and ignored(rules, ".env.local")
    assert not ignored(rules, ".env.example")
    assert not ignored(rules, "api/.env")  # anchored at the context root, like Docker
    assert ignored(rules, "web/node_modules") and ignored(rules, "node_modules/x/y.js")
    assert ignored(rules, "build/app.js") and not ignored(rules, "src/build.py")


def test_what_a_build_copies(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "api/.env.example": "X=\n", "api/app/main.py": "", "web/package.json": "{}",
        "compose.yaml": "services:\n  api:\n    build: ./api\n    env_file: api/prod.env\n",
    })
    ctx = context(repo, tmp_path)
    items = {(i.what, i.path) for i in sensitive_items(ctx, "api")}
    assert items == {(".env", ".env"), (".env", "prod.env")}  # no .git: not the repository root
    root = {(i.what, i.path) for i in sensitive_items(ctx, "")}
    assert {(".git", ".git"), ("node_modules", "web/node_modules"), (".env", "api/.env")} <= root
    df = parse_dockerfile("Dockerfile", "FROM python:3.12-slim\nCOPY requirements.txt /tmp/\n"
                                        "COPY [\"app\", \"/srv/app\"]\nCOPY --from=b /x /y\n"
                                        "ADD . /srv\n")
    cps = copies(df)
    assert [c.sources for c in cps] == [("requirements.txt",), ("app",), (".",)]
    env = next(i for i in sensitive_items(ctx, "api") if i.path == ".env")
    assert not copied(env, cps[1]) and copied(env, cps[2])
