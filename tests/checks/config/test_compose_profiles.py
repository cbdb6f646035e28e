"""Stacks whose every service has ``profiles:`` (nothing starts without ``COMPOSE_PROFILES``):
the compose rules judge the services the deployment's profiles start — taken from the example
env file the deployer copies to ``.env``, else every profile — instead of PASSing on zero
services; and restart policies and limits are read after interpolation."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, line_of, res, run_cfg, warns, write

from prodaudit.model import Status

STACK = """\
x-app: &app
  build: .
  restart: "${RESTART_POLICY:-unless-stopped}"
  deploy:
    resources:
      limits:
        cpus: "${WEB_CPUS:-0}"
        memory: "${WEB_MEMORY:-0}"

services:
  db:
    image: postgres:16.4
    profiles: ["db"]
    restart: "${RESTART_POLICY:-unless-stopped}"
    environment:
      POSTGRES_PASSWORD: "${POSTGRES_PASSWORD:?set it}"
    volumes: ["db:/var/lib/postgresql/data"]
  web:
    <<: *app
    profiles: ["web"]
    healthcheck:
      test: "curl -f localhost:8000/health"
    ports: ["127.0.0.1:8000:8000"]

volumes:
  db: {}
"""


def _repo(tmp_path: Path, compose: str = STACK, **extra: str) -> Path:
    return write(tmp_path / "r", {
        "compose.yaml": compose,
        "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nUSER app\n"
                      "CMD [\"gunicorn\", \"app:app\"]\n",
        "app.py": "app = None\n",
        **extra,
    })


def test_profiles_from_the_example_env_file_are_judged(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{".env.example": "COMPOSE_PROFILES=db,web\n"})
    run = run_cfg(repo, tmp_path, only=["CFG-150", "CFG-152", "CFG-158"])
    hc = res(run, "CFG-150")  # was a PASS on "0 service(s)"
    assert hc.status is Status.WARN, describe(hc)
    assert {f.location for f in warns(hc)} == {f"compose.yaml:{line_of(repo / 'compose.yaml', '  db:')}"}
    assert "COMPOSE_PROFILES=db,web from .env.example:1, which the deployer copies to .env" \
        in warns(hc)[0].message
    assert res(run, "CFG-152").status is Status.PASS  # ${RESTART_POLICY:-unless-stopped}
    limits = res(run, "CFG-158")
    assert limits.status is Status.WARN, describe(limits)
    web = next(f for f in warns(limits) if "service web" in f.message)
    assert "${WEB_MEMORY:-0} is 0, which Compose reads as no limit" in web.message
    assert web.location == f"compose.yaml:{line_of(repo / 'compose.yaml', 'memory:')}"


def test_without_any_profile_setting_every_profile_is_judged(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-150"]), "CFG-150")
    assert r.status is Status.WARN, describe(r)
    assert "every profile" in warns(r)[0].message


def test_profiles_set_by_the_env_file_decide_and_fail(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{".env": "COMPOSE_PROFILES=web\nRESTART_POLICY=no\n"
                                      "WEB_MEMORY=512M\nWEB_CPUS=1\n"})
    run = run_cfg(repo, tmp_path, only=["CFG-150", "CFG-152", "CFG-158"])
    assert res(run, "CFG-150").status is Status.PASS, describe(res(run, "CFG-150"))  # db inactive
    restart = res(run, "CFG-152")
    assert restart.status is Status.FAIL, describe(restart)
    assert [f.message.split(":")[0] for f in fails(restart)] == ["service web"]
    assert res(run, "CFG-158").status is Status.PASS, describe(res(run, "CFG-158"))


def test_a_stack_without_profiles_is_unchanged(tmp_path: Path) -> None:
    compose = STACK.replace('    profiles: ["db"]\n', "").replace('    profiles: ["web"]\n', "")
    repo = _repo(tmp_path, compose)
    r = res(run_cfg(repo, tmp_path, only=["CFG-150"]), "CFG-150")
    assert r.status is Status.FAIL, describe(r)
    assert "assumed profiles" not in fails(r)[0].message
