"""CFG-037: CORS configured in code — Starlette middleware, flask-cors, django-cors-headers."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

STARLETTE = '''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
)
api = FastAPI()
api.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])
'''
FLASK = '''\
from flask_cors import CORS
cors = CORS()


def create_app(app):
    cors.init_app(app)
'''


def test_credentialed_cors_for_every_origin(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "api/main.py": STARLETTE, "flaskapp/app.py": FLASK,
        "flaskapp/config.py": "class Config:\n    CORS_SUPPORTS_CREDENTIALS = True\n",
        "proj/settings/cors.py": "CORS_ALLOW_CREDENTIALS = True\nCORS_ALLOW_ALL_ORIGINS = True\n",
        "proj/settings/production.py": "CORS_ALLOW_ALL_ORIGINS = False\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"]), "CFG-037")
    by_loc = {f.location: f for f in r.findings}
    assert set(problems(r)) == {"api/main.py:8", "api/main.py:12", "flaskapp/config.py:2",
                                "proj/settings/cors.py:2"}, describe(r)
    assert by_loc["api/main.py:8"].status is Status.FAIL
    assert by_loc["api/main.py:12"].status is Status.WARN


def test_explicit_origins_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"api/main.py": (
        "from fastapi.middleware.cors import CORSMiddleware\n"
        "app.add_middleware(CORSMiddleware, allow_origins=settings.origins,\n"
        "                   allow_credentials=True, allow_methods=['GET', 'POST'])\n"),
        "flaskapp/app.py": "from flask_cors import CORS\nCORS(app, origins=['https://a.example'],"
                           " supports_credentials=True)\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"]), "CFG-037")
    assert r.status is Status.PASS, describe(r)


SETTINGS_ORIGINS = '''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    BACKEND_CORS_ORIGINS: list[str]


settings = Settings()
app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=[str(o) for o in settings.BACKEND_CORS_ORIGINS],
    allow_credentials=True,
)
'''
COMPOSE_ENV_FILE = "services:\n  api:\n    build: .\n    env_file: .env\n"


def test_origins_from_a_setting_the_deployment_sets_to_every_origin(tmp_path: Path) -> None:
    """``allow_origins`` from a setting: ``["*"]`` in the example the deployer copies to the
    Compose service's ``.env`` warns there; in the profile's env file it fails; named origins
    pass."""
    repo = repo_of(tmp_path, {"app/main.py": SETTINGS_ORIGINS, "compose.yaml": COMPOSE_ENV_FILE,
                              ".env.example": 'SECRET=x\nBACKEND_CORS_ORIGINS=["*"]\n'})
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"]), "CFG-037")
    assert r.status is Status.WARN, describe(r)
    (f,) = r.findings
    assert f.location == ".env.example:2" and "which the deployer copies to .env" in f.message
    assert "app/main.py:15" in f.evidence
    prod = tmp_path / "prod.env"
    prod.write_text("BACKEND_CORS_ORIGINS=https://a.example,*\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"], env_file=prod), "CFG-037")
    assert r.status is Status.FAIL, describe(r)
    assert r.findings[0].location == f"{prod}:1", describe(r)
    prod.write_text('BACKEND_CORS_ORIGINS=["https://a.example"]\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"], env_file=prod), "CFG-037")


CORS_SETTINGS = '''\
from typing import List

from pydantic import BaseSettings


class AppSettings(BaseSettings):
    allowed_hosts: List[str] = {origins!r}
'''
CORS_MAIN = '''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.settings import AppSettings

settings = AppSettings()
app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.allowed_hosts,
    allow_credentials=True,
)
'''


def test_origins_from_a_settings_field_default(tmp_path: Path) -> None:
    """``allow_origins=settings.allowed_hosts`` whose default is ``["*"]``: every origin with
    credentials, unless the deployment sets the variable to explicit origins."""
    repo = repo_of(tmp_path, {"app/settings.py": CORS_SETTINGS.format(origins=["*"]),
                              "app/main.py": CORS_MAIN})
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"]), "CFG-037")
    assert r.status is Status.FAIL, describe(r)
    (msg,) = problems(r).values()
    assert set(problems(r)) == {"app/main.py:11"}, describe(r)
    assert "settings.allowed_hosts defaults to ['*'] (app/settings.py:7) and no deployment " \
        "sets ALLOWED_HOSTS" in msg, msg
    env = tmp_path / "prod.env"
    env.write_text('ALLOWED_HOSTS=["https://app.example.com"]\n', encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-037"], env_file=env), "CFG-037")
    assert r2.status is Status.PASS, describe(r2)
    env.write_text('ALLOWED_HOSTS=["*"]\n', encoding="utf-8")
    r3 = res(run_cfg(repo, tmp_path, only=["CFG-037"], env_file=env), "CFG-037")
    assert r3.status is Status.FAIL and "is set to" in r3.findings[0].message, describe(r3)


def test_origins_from_a_settings_field_with_explicit_default_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app/settings.py": CORS_SETTINGS.format(origins=["https://app.example.com"]),
        "app/main.py": CORS_MAIN})
    r = res(run_cfg(repo, tmp_path, only=["CFG-037"]), "CFG-037")
    assert r.status is Status.PASS, describe(r)
