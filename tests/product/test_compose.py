"""The Compose model: Compose's own file rules, include/extends, interpolation, profiles, and the
`docker compose config` path against prodaudit's own merge (the same project either way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest_services import require_service
from product_helpers import context, project, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.compose import CLI_SOURCE, ComposeProject
from prodaudit.product.compose_cli import compose_cli_reason


@pytest.fixture
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "the docker CLI is not installed")


@pytest.fixture
def cli() -> None:
    reason = compose_cli_reason()
    require_service("docker compose", reason is None, reason or "")


def test_file_rules_are_composes(tmp_path: Path, no_cli: None) -> None:
    """compose.yaml wins over docker-compose.yml; the first override file of any name is merged;
    every directory is a project of its own; unmerged variants are kept apart."""
    repo = write(tmp_path / "r", {
        "compose.yaml": "services:\n  a:\n    image: a:1\n",
        "docker-compose.yml": "services:\n  ignored:\n    image: x:1\n",
        "docker-compose.override.yml": "services:\n  a:\n    image: a:2\n",
        "deploy/docker-compose.yml": "services:\n  b:\n    image: b:1\n",
        "deploy/docker-compose.prod.yml": "services:\n  b:\n    image: b:${TAG}\n",
    })
    ctx = context(repo, tmp_path)
    model = ctx.compose()
    assert [p.name for p in model.projects] == ["compose.yaml + docker-compose.override.yml",
                                                "deploy/docker-compose.yml"]
    root = project(ctx)
    assert root.services["a"]["image"] == "a:2" and "ignored" not in root.services
    assert model.primary is root
    assert [f.path for f in model.variants] == ["deploy/docker-compose.prod.yml"]


def test_compose_file_variable_in_the_env(tmp_path: Path, no_cli: None) -> None:
    repo = write(tmp_path / "r", {
        ".env": "COMPOSE_FILE=stack/base.yml:stack/prod.yml\n",
        "stack/base.yml": "services:\n  a:\n    image: a:1\n",
        "stack/prod.yml": "services:\n  a:\n    restart: always\n",
        "compose.yaml": "services:\n  other:\n    image: o:1\n",
    })
    p = project(context(repo, tmp_path))
    assert [f.path for f in p.files] == ["stack/base.yml", "stack/prod.yml"]
    assert p.services["a"] == {"image": "a:1", "restart": "always"}


def test_include_and_extends_with_lines(tmp_path: Path, no_cli: None) -> None:
    repo = write(tmp_path / "r", {
        "compose.yaml": ("include:\n  - infra/db.yaml\nservices:\n  api:\n    extends:\n"
                         "      file: common.yaml\n      service: python\n    image: api:1\n"
                         "  worker:\n    extends: api\n    command: celery worker\n"),
        "common.yaml": "services:\n  python:\n    build: ./app\n    environment:\n      TZ: UTC\n",
        "infra/db.yaml": "services:\n  db:\n    image: postgres:16\n    env_file: db.env\n",
    })
    p = project(context(repo, tmp_path))
    assert set(p.services) == {"api", "worker", "db"}
    assert p.services["api"]["build"] == "./app" and p.services["api"]["environment"] == {"TZ": "UTC"}
    assert p.services["worker"]["image"] == "api:1" and p.services["worker"]["build"] == "./app"
    # relative paths of an included file are relative to its directory
    assert p.services["db"]["env_file"] == "./infra/db.env"
    # path:line of an inherited key is where the base service writes it
    assert p.loc("services", "api", "environment", "TZ") == "common.yaml:5"
    assert p.loc("services", "db", "image") == "infra/db.yaml:3"
    assert not p.problems


def test_references_outside_the_repository_are_not_read(tmp_path: Path, no_cli: None) -> None:
    outside = write(tmp_path / "outside", {"secret.yaml": "services:\n  leak:\n    image: x\n"})
    repo = write(tmp_path / "r", {
        "compose.yaml": f"include:\n  - ../outside/secret.yaml\n  - {outside}/secret.yaml\n"
                        "services:\n  a:\n    image: a:1\n"})
    p = project(context(repo, tmp_path))
    assert set(p.services) == {"a"}
    assert len(p.problems) == 2 and all("inside the repository" in m for _, _, m in p.problems)


def test_interpolation_profiles_and_required_variables(tmp_path: Path, no_cli: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    repo = write(tmp_path / "r", {
        ".env": "TAG=1.2\nPORT=9000\nCOMPOSE_PROFILES=tools\n",
        "compose.yaml": ("services:\n  api:\n    image: api:${TAG}\n    build: ./app\n"
                         "    ports: [\"127.0.0.1:${PORT}:8000\"]\n"
                         "    environment:\n      SECRET: ${SECRET:?must be set}\n"
                         "      PRICE: $$5\n"
                         "  admin:\n    image: adminer:4\n    profiles: [tools]\n"
                         "  debug:\n    image: busybox\n    profiles: [debug]\n"),
    })
    monkeypatch.setenv("PORT", "9100")  # the shell wins over .env, as in Compose
    p = project(context(repo, tmp_path))
    assert p.source == "merged by prodaudit: docker compose unavailable: the docker CLI is not installed"
    cfg = p.config["services"]
    assert set(cfg) == {"api", "admin"}  # debug's profile is not active
    assert p.active_services == ["api", "admin"]
    assert cfg["api"]["image"] == "api:1.2"
    assert cfg["api"]["ports"] == [{"mode": "ingress", "target": 8000, "protocol": "tcp",
                                    "published": "9100", "host_ip": "127.0.0.1"}]
    assert cfg["api"]["environment"]["PRICE"] == "$5"
    assert cfg["api"]["build"]["context"] == str((repo / "app").resolve())
    assert any("SECRET" in m and loc == "compose.yaml" and line == 7 for loc, line, m in p.problems)


def test_cli_and_own_merge_agree(tmp_path: Path, cli: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same repository through `docker compose config` and through the fallback: the same
    active services, build contexts and published ports; only ``source`` differs."""
    files = {
        ".env": "TAG=7\n",
        "compose.yaml": ("include:\n  - infra/cache.yaml\nservices:\n  api:\n    build:\n"
                         "      context: ./backend\n      target: api\n    image: api:${TAG}\n"
                         "    ports: [\"127.0.0.1:8000:8000\"]\n  tools:\n    image: busybox\n"
                         "    profiles: [tools]\n"),
        "compose.override.yaml": "services:\n  api:\n    environment:\n      A: \"1\"\n",
        "infra/cache.yaml": "services:\n  cache:\n    image: redis:7\n    build: ./redis\n",
        "backend/Dockerfile": "FROM scratch\n",
        "infra/redis/Dockerfile": "FROM scratch\n",
    }
    by_cli = project(context(write(tmp_path / "a", files), tmp_path))
    assert by_cli.source == CLI_SOURCE and by_cli.by_compose, by_cli.source
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "the docker CLI is not installed")
    own = project(context(write(tmp_path / "b", files), tmp_path))
    assert own.source.startswith("merged by prodaudit: docker compose unavailable")

    def view(p: ComposeProject, root: Path) -> dict[str, Any]:
        out = {}
        for name, svc in p.config["services"].items():
            build = svc.get("build") or {}
            out[name] = (svc.get("image"),
                         str(Path(build["context"]).relative_to(root.resolve())) if build else None,
                         build.get("target"),
                         [(x.get("host_ip"), str(x.get("published")), x["target"])
                          for x in svc.get("ports") or []],
                         {k: str(v) for k, v in (svc.get("environment") or {}).items()})
        return out

    assert view(by_cli, tmp_path / "a") == view(own, tmp_path / "b")
    assert set(by_cli.config["services"]) == {"api", "cache"}


def test_cli_failure_keeps_composes_message(tmp_path: Path, cli: None) -> None:
    repo = write(tmp_path / "r", {
        "compose.yaml": "services:\n  api:\n    image: a\n    environment:\n      S: ${S:?set S}\n"})
    p = project(context(repo, tmp_path))
    assert p.cli_error is not None and "S" in p.cli_error
    assert p.source.startswith("merged by prodaudit: docker compose config failed:")
    assert set(p.config["services"]) == {"api"}  # the fallback still describes the project


def test_alias_bomb_is_refused_and_not_given_to_compose(tmp_path: Path) -> None:
    bomb = "x: &a [" + ", ".join(["lol"] * 10) + "]\n" + "".join(
        f"{b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]\n" for a, b in zip("abcdefg", "bcdefgh",
                                                                            strict=True))
    repo = write(tmp_path / "r", {"compose.yaml": bomb.replace("x: &a", "a: &a")})
    p = project(context(repo, tmp_path))
    assert p.files[0].error is not None and p.files[0].error[1].startswith("refused")
    # never handed to `docker compose` either
    assert p.cli_error is None and ("was refused" in p.source or "unavailable" in p.source)


def test_a_standalone_production_file_replaces_the_default_file(tmp_path: Path,
                                                                  no_cli: None) -> None:
    """A documented production command ``docker-compose -f docker-compose.prod.yml up`` (fenced
    under a list item of a "Production" section) makes that file the project; the development
    ``docker-compose.yml`` it replaces stays a variant (its variables still count)."""
    repo = write(tmp_path / "r", {
        "docker-compose.yml": "services:\n  web:\n    build: .\n    environment:\n"
                              "      - POSTGRES_USER=dev\n",
        "docker-compose.prod.yml": "services:\n  web:\n    build: .\n",
        "README.md": "# App\n\n## Production\n\n1. Run:\n\n    ```sh\n"
                     "    $ docker-compose -f docker-compose.prod.yml up -d --build\n    ```\n",
    })
    model = context(repo, tmp_path).compose()
    assert [p.name for p in model.projects] == ["docker-compose.prod.yml"]
    assert model.projects[0].deployed_by == "README.md:8"
    assert [f.path for f in model.variants] == ["docker-compose.yml"]


def test_a_healthcheck_command_reads_as_one_text() -> None:
    from prodaudit.product.compose_yaml import healthcheck_test

    assert healthcheck_test({"test": ["CMD", "curl", "-f", "http://localhost:8000/up"]}) == \
        "CMD curl -f http://localhost:8000/up"
    assert healthcheck_test({"test": "curl -f http://localhost/health"}) == \
        "curl -f http://localhost/health"  # the string form, not its characters
    assert healthcheck_test({"interval": "5s"}) == "" and healthcheck_test(None) == ""
