"""The Compose files the repository's own deployment runs (compose_deploy.py) and how they
choose the production project's files (compose.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from product_helpers import context, project, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.compose_deploy import deploy_commands

BASE = "services:\n  api:\n    image: example/api:1\n"
OVER = "services:\n  api:\n    ports: [\"8000:8000\"]\n"
PROD = "services:\n  api:\n    restart: always\n"
FILES = {"docker-compose.yml": BASE, "docker-compose.override.yml": OVER,
         "docker-compose.prod.yml": PROD}


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def _files(tmp_path: Path, extra: dict[str, str]) -> tuple[list[str], str]:
    p = project(context(write(tmp_path / "r", {**FILES, **extra}), tmp_path))
    return [f.path for f in p.main_files], p.deployed_by


def test_deploy_script_with_a_production_overlay(tmp_path: Path) -> None:
    script = ("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")/..\"\ndocker-compose \\\n"
              "  -f docker-compose.yml -f docker-compose.prod.yml up -d --build\n")
    assert _files(tmp_path, {"scripts/deploy.sh": script}) == (
        ["docker-compose.yml", "docker-compose.prod.yml"], "scripts/deploy.sh:4")


def test_makefile_target_and_compose_file_variable(tmp_path: Path) -> None:
    mk = ("test:\n\tdocker compose up -d\n\tpytest\n\n"
          "deploy-prod:\n\tCOMPOSE_FILE=docker-compose.yml:docker-compose.prod.yml docker compose"
          " up -d\n")
    files, by = _files(tmp_path, {"Makefile": mk})
    # the test target's plain `docker compose up` is not a deployment
    assert (files, by) == (["docker-compose.yml", "docker-compose.prod.yml"], "Makefile:6")


def test_readme_deployment_section_but_not_other_sections(tmp_path: Path) -> None:
    readme = ("# App\n\n## Development\n\n```bash\ndocker compose -f docker-compose.yml "
              "-f docker-compose.override.yml up\n```\n\n## Deployment\n\n```sh\n"
              "$ docker compose -f docker-compose.yml up -d\ndocker compose logs -f api\n```\n")
    assert _files(tmp_path, {"README.md": readme}) == (["docker-compose.yml"], "README.md:12")


def test_gitlab_deploy_job_with_working_directory_and_step_env(tmp_path: Path) -> None:
    gl = ("stages: [test, deploy]\nunit:\n  stage: test\n  script:\n"
          "    - docker compose -f docker-compose.yml run api pytest\n"
          "deploy_production:\n  stage: deploy\n  environment: production\n  script:\n"
          "    - docker stack deploy -c docker-compose.yml -c docker-compose.prod.yml app\n")
    assert _files(tmp_path, {".gitlab-ci.yml": gl}) == (
        ["docker-compose.yml", "docker-compose.prod.yml"], ".gitlab-ci.yml:10")
    wf = ("name: ci\non: push\njobs:\n  release:\n    runs-on: x\n    env:\n"
          "      COMPOSE_FILE: docker-compose.yml\n    defaults:\n      run:\n"
          "        working-directory: stack\n    steps:\n      - run: |\n          echo hi\n"
          "          docker compose up -d\n")
    repo = write(tmp_path / "s", {"stack/docker-compose.yml": BASE,
                                  "stack/docker-compose.override.yml": OVER,
                                  ".github/workflows/ci.yml": wf})
    p = project(context(repo, tmp_path), "stack")
    assert [f.path for f in p.main_files] == ["stack/docker-compose.yml"]
    assert p.deployed_by == ".github/workflows/ci.yml:14"


@pytest.mark.parametrize("extra", [
    {},  # no deployment command: Compose's default rules
    {"scripts/deploy.sh": "docker compose pull\ndocker compose up -d\n"},  # default files
    {"deploy.md": "```\ndocker compose -f docker-compose.yml up -d\n```\n"
                  "```\ndocker compose up -d\n```\n"},  # one of them uses the default files
    {"scripts/deploy.sh": "docker compose -f \"$STACK_FILE\" up -d\n"},  # files unknown
    {".github/workflows/test.yml": "on: push\njobs:\n  test:\n    steps:\n"
                                   "      - run: docker compose -f docker-compose.yml up -d\n"},
    {".github/workflows/deploy.yml": "on: push\njobs:\n  tests:\n    steps:\n      - run: "
                                     "docker compose -f docker-compose.yml up -d\n"},  # test job
    {"deploy.sh": "docker compose -f docker-compose.yml -f docker-compose.ci.yml up -d\n"},
    {"docs/deploy.md": "```\ndocker compose -f docker-compose.yml -f "
                       "docker-compose.override.yml up -d\n```\n"},  # the override deployed
])
def test_default_rules_stand(tmp_path: Path, extra: dict[str, str]) -> None:
    assert _files(tmp_path, extra) == (["docker-compose.yml", "docker-compose.override.yml"], "")


def test_explicit_compose_files_win_and_development_profile_keeps_defaults(
        tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {**FILES, "deploy.sh": "docker compose -f docker-compose.yml "
                                  "up -d\n"})
    explicit = context(repo, tmp_path, compose_files=[str(repo / "docker-compose.yml"),
                                                      str(repo / "docker-compose.override.yml")])
    p = explicit.compose().projects[0]
    assert len(p.main_files) == 2 and p.deployed_by == ""
    dev = project(context(repo, tmp_path, profile="development"))
    assert len(dev.main_files) == 2 and dev.deployed_by == ""
    cmds = deploy_commands(context(repo, tmp_path))
    assert [(c.location, c.files) for c in cmds] == [("deploy.sh:1", ("docker-compose.yml",))]


DEV_BASE = ("services:\n  api:\n    build: ./api\n    command: uvicorn main:app --reload\n"
            "    volumes:\n      - ./api:/app\n")
PROD_WHOLE = ("services:\n  api:\n    build:\n      context: ./api\n      dockerfile: Dockerfile.prod\n"
              "    restart: unless-stopped\n  db:\n    image: postgres:16\n")
API = {"api/main.py": "app = None\n", "api/Dockerfile": "FROM python:3.12\nCMD [\"uvicorn\"]\n"}


def test_production_variant_replaces_a_development_default_stack(tmp_path: Path) -> None:
    files = {**API, "docker-compose.yml": DEV_BASE, "docker-compose.prod.yml": PROD_WHOLE}
    p = project(context(write(tmp_path / "r", files), tmp_path))
    assert [f.path for f in p.main_files] == ["docker-compose.prod.yml"]
    assert "production variant of docker-compose.yml" in p.deployed_by
    assert "service api runs --reload" in p.deployed_by
    # an override-style variant goes on top of the base file
    over = {**files, "docker-compose.prod.yml": PROD}
    p = project(context(write(tmp_path / "o", over), tmp_path))
    assert [f.path for f in p.main_files] == ["docker-compose.yml", "docker-compose.prod.yml"]


@pytest.mark.parametrize("extra", [
    {"docker-compose.yml": BASE},  # the default stack shows no development trait
    {"scripts/deploy.sh": "docker compose pull\ndocker compose up -d\n"},  # deployed as is
])
def test_default_stack_stays_without_development_traits_or_with_a_deploy_command(
        tmp_path: Path, extra: dict[str, str]) -> None:
    files = {**API, "docker-compose.yml": DEV_BASE, "docker-compose.prod.yml": PROD_WHOLE, **extra}
    p = project(context(write(tmp_path / "r", files), tmp_path))
    assert [f.path for f in p.main_files] == ["docker-compose.yml"]
    assert "production variant" not in p.deployed_by


def test_development_profile_keeps_the_default_stack(tmp_path: Path) -> None:
    files = {**API, "docker-compose.yml": DEV_BASE, "docker-compose.prod.yml": PROD_WHOLE}
    p = project(context(write(tmp_path / "r", files), tmp_path, profile="development"))
    assert [f.path for f in p.main_files] == ["docker-compose.yml"]
