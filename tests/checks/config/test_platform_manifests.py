"""Platform deployment manifests in the config checks: start commands are entry points (CFG-031),
and the Compose stack of a product that deploys with a manifest is its development stack."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, write

from prodaudit.model import Status

RENDER = """\
services:
  - type: web
    name: web
    runtime: python
    buildCommand: ./build.sh
    startCommand: {start}
    envVars:
      - key: SECRET_KEY
        generateValue: true
"""

DEV_COMPOSE = """\
services:
  backend:
    build:
      context: .
      dockerfile: backend/Dockerfile
    volumes:
      - ./:/home/user/app/
    ports:
      - "8000:8000"
"""


def test_platform_start_commands_are_judged_entry_points(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER.format(start="python manage.py runserver 0.0.0.0:$PORT"),
        "fly.toml": "app = 'x'\n\n[processes]\n  worker = 'celery -A app worker -l debug'\n"
                    "  web = 'gunicorn app:app'\n",
        "heroku.yml": "build:\n  docker:\n    web: Dockerfile\nrun:\n  web: flask run\n",
        "manage.py": "import django\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f.message for f in fails(r)}
    assert set(by_loc) == {"render.yaml:6", "fly.toml:4", "heroku.yml:5"}, describe(r)
    assert "render.yaml start command of web" in by_loc["render.yaml:6"]
    assert "manage.py runserver" in by_loc["render.yaml:6"]
    assert "debug logging" in by_loc["fly.toml:4"]
    assert "flask run" in by_loc["heroku.yml:5"]


def test_clean_platform_start_command_passes_and_is_named(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER.format(start="gunicorn app.wsgi --log-file -"),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)
    assert "render.yaml start command of web (render.yaml:6)" in r.findings[0].message


def test_unreadable_platform_manifest_is_an_error_not_a_pass(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "fly.toml": "app = 'x\n[processes]\n",
        "Procfile": "web: gunicorn app:app\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    errors = [f for f in r.findings if f.status is Status.ERROR]
    assert len(errors) == 1 and errors[0].location == "fly.toml:1", describe(r)
    assert "platform manifest not read" in errors[0].message
    assert any(f.status is Status.PASS and "Procfile" in f.message for f in r.findings)


def test_development_compose_stack_of_a_platform_deployed_product(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER.format(start="gunicorn app.wsgi --log-file -"),
        "docker-compose.yml": DEV_COMPOSE,
        "backend/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"
                              "CMD python manage.py runserver 0.0.0.0:8000\n",
        "manage.py": "import django\n",
        "app/main.py": "app = None\n",
    })
    run = run_cfg(repo, tmp_path, only=["CFG-031", "CFG-162"])
    r = res(run, "CFG-031")
    assert r.status is Status.PASS, describe(r)  # the dev image's runserver is not production's
    source = res(run, "CFG-162")
    assert source.status is Status.SKIP, describe(source)
    assert ("docker-compose.yml is a development stack (service backend runs manage.py runserver "
            "(backend/Dockerfile:3)) that no deployment command runs: the product deploys with "
            "render.yaml:1") in source.reason, describe(source)


def test_compose_stack_deployed_by_the_repository_is_still_judged(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": RENDER.format(start="gunicorn app.wsgi --log-file -"),
        "docker-compose.yml": DEV_COMPOSE,
        "backend/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"
                              "CMD python manage.py runserver 0.0.0.0:8000\n",
        "Makefile": "deploy:\n\tdocker compose up -d --build\n",
        "app/main.py": "app = None\n",
    })
    run = run_cfg(repo, tmp_path, only=["CFG-031", "CFG-162"])
    r = res(run, "CFG-031")
    assert r.status is Status.FAIL and "backend/Dockerfile:3" in {f.location for f in fails(r)}
    assert res(run, "CFG-162").status is Status.FAIL, describe(res(run, "CFG-162"))
