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


SETTINGS = ('import environ\nenv = environ.Env()\nINSTALLED_APPS = []\n'
            'ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")\n'
            'SECURE_SSL_REDIRECT = True\nSECURE_HSTS_SECONDS = 31536000\n'
            'SESSION_COOKIE_SECURE = True\nCSRF_COOKIE_SECURE = True\n')


def _render_env(entries: str) -> str:
    return ("services:\n  - type: web\n    name: web\n    runtime: python\n"
            "    startCommand: gunicorn proj.wsgi\n    envVars:\n" + entries)


def test_allowed_hosts_any_host_set_by_a_platform_manifest(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "proj/settings.py": SETTINGS,
        "render.yaml": _render_env("      - key: SECRET_KEY\n        generateValue: true\n"
                                   "      - key: ALLOWED_HOSTS\n        value: '*'\n"),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == "render.yaml:10" and "proj/settings.py:4" in f.message, describe(r)
    # the service's own entry (entered in the dashboard) wins over an environment group's '*'
    repo = write(tmp_path / "ok", {
        "proj/settings.py": SETTINGS,
        "render.yaml": _render_env("      - key: ALLOWED_HOSTS\n        sync: false\n"
                                   "      - fromGroup: shared\n")
        + "envVarGroups:\n  - name: shared\n    envVars:\n      - key: ALLOWED_HOSTS\n"
          "        value: '*'\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    assert r.status is Status.PASS, describe(r)


def test_literal_secret_in_a_platform_manifest_fails(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "fly.toml": "app = 'x'\n\n[env]\n  JWT_SECRET = 'Zq8v2LmT0pXr4kWs9bNc'\n"
                    "  DATABASE_URL = 'postgres://app:changeme@db.internal/app'\n  PORT = '8080'\n",
        "app.py": 'import os\nJWT = os.environ["JWT_SECRET"]\n',
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f for f in fails(r)}
    assert set(by_loc) == {"fly.toml:4", "fly.toml:5"}, describe(r)
    assert "literal value committed" in by_loc["fly.toml:4"].message
    assert "URL password" in by_loc["fly.toml:5"].message
    text = describe(r) + "".join(f.evidence for f in r.findings)
    assert "Zq8v2LmT0pXr4kWs9bNc" not in text and "changeme" not in by_loc["fly.toml:5"].evidence


def test_platform_provided_secrets_pass_and_count_as_documented(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "render.yaml": _render_env("      - key: SECRET_KEY\n        generateValue: true\n"
                                   "      - key: STRIPE_API_KEY\n        sync: false\n"
                                   "      - key: DATABASE_URL\n        fromDatabase:\n"
                                   "          name: db\n          property: connectionString\n"),
        "app.py": 'import os\nKEY = os.environ["SECRET_KEY"]\nS = os.environ["STRIPE_API_KEY"]\n'
                  'DB = os.environ["DATABASE_URL"]\nX = os.environ["UNDOCUMENTED_TOKEN_URL"]\n',
    })
    run = run_cfg(repo, tmp_path, only=["CFG-020", "CFG-002"])
    r = res(run, "CFG-020")  # no --env-file: the overall status says not verified
    (ok,) = [f for f in r.findings if f.status is Status.PASS]
    assert not fails(r) and "SECRET_KEY (generated, render.yaml:7)" in ok.message, describe(r)
    docs = res(run, "CFG-002")
    assert docs.status is Status.FAIL, describe(docs)
    assert [f.message.split()[0] for f in fails(docs)] == ["UNDOCUMENTED_TOKEN_URL"], describe(docs)


def test_development_images_are_not_judged_as_production_images(tmp_path: Path) -> None:
    files = {
        "render.yaml": RENDER.format(start="gunicorn app.wsgi --log-file -"),
        "docker-compose.yml": DEV_COMPOSE,
        "backend/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"
                              "CMD python manage.py runserver 0.0.0.0:8000\n",
        "app/main.py": "app = None\n",
    }
    r = res(run_cfg(write(tmp_path / "r", files), tmp_path, only=["CFG-102"]), "CFG-102")
    assert r.status is Status.SKIP, describe(r)
    assert r.reason.startswith("only development images: backend/Dockerfile built only by the "
                               "development stack docker-compose.yml"), describe(r)
    # a platform that builds the image (Render runtime: docker) runs that Dockerfile
    files["render.yaml"] = files["render.yaml"].replace("runtime: python", "runtime: docker")
    r = res(run_cfg(write(tmp_path / "d", files), tmp_path, only=["CFG-102"]), "CFG-102")
    assert r.status is Status.FAIL and fails(r)[0].location.startswith("backend/Dockerfile")


def test_platform_release_commands_are_deployment_hooks(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "fly.toml": "app = 'x'\n\n[deploy]\n  release_command = 'flask fake users 10'\n",
        "render.yaml": "services:\n  - type: web\n    name: web\n"
                       "    preDeployCommand: python manage.py migrate\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.FAIL and [f.location for f in fails(r)] == ["fly.toml:4"], describe(r)
    repo = write(tmp_path / "ok", {"render.yaml": "services:\n  - type: web\n    name: web\n"
                                                  "    preDeployCommand: python manage.py migrate\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.PASS and "render.yaml release command" in r.findings[0].message


def test_https_setting_turned_off_by_a_platform_manifest(tmp_path: Path) -> None:
    """CFG-036: a setting read from a variable the deployment sets off is reported where the
    deployment sets it, naming the line that reads it."""
    settings = SETTINGS.replace("SESSION_COOKIE_SECURE = True",
                                'SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE")')
    repo = write(tmp_path / "r", {
        "proj/settings.py": settings,
        "render.yaml": _render_env("      - key: ALLOWED_HOSTS\n        value: api.example.com\n"
                                   "      - key: SESSION_COOKIE_SECURE\n        value: 'false'\n"),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    (f,) = fails(r)
    assert f.location == "render.yaml:10" and "proj/settings.py:7" in f.message, describe(r)
    assert "SESSION_COOKIE_SECURE is off" in f.message
    repo = write(tmp_path / "ok", {
        "proj/settings.py": settings,
        "render.yaml": _render_env("      - key: SESSION_COOKIE_SECURE\n        value: 'true'\n"),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    assert r.status is Status.PASS, describe(r)
