"""CFG-020/021 and start-up guards on secret settings (``prodaudit.product.secretguards``): a
placeholder the application refuses to start with outside local development is a WARN citing
the guard; a guard that only warns, or one not applied to the setting, keeps the FAIL (small
FastAPI/Flask/Django repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import repo_of

from prodaudit.model import Status

#: the full-stack FastAPI template's settings validator, shortened
TEMPLATE = '''\
import secrets
import warnings
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings
from typing_extensions import Self


class Settings(BaseSettings):
    ENVIRONMENT: Literal["local", "staging", "production"] = "local"
    SECRET_KEY: str = secrets.token_urlsafe(32)
    POSTGRES_PASSWORD: str = ""
    FIRST_SUPERUSER_PASSWORD: str
    SMTP_PASSWORD: str | None = None

    def _check_default_secret(self, var_name: str, value: str | None) -> None:
        if value == "changethis":
            message = f"The value of {var_name} is 'changethis', change it."
            if self.ENVIRONMENT == "local":
                warnings.warn(message, stacklevel=1)
            else:
                raise ValueError(message)

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Self:
        self._check_default_secret("SECRET_KEY", self.SECRET_KEY)
        self._check_default_secret("POSTGRES_PASSWORD", self.POSTGRES_PASSWORD)
        return self


settings = Settings()
'''
ENV = ("ENVIRONMENT=local\nSECRET_KEY=changethis\nPOSTGRES_PASSWORD=changethis\n"
       "FIRST_SUPERUSER_PASSWORD=changethis\n")


def _flagged(r: object) -> dict[str, tuple[Status, str]]:
    return {f.message.split()[0]: (f.status, f.message) for f in r.findings  # type: ignore
            if f.status in (Status.FAIL, Status.WARN)}


def test_placeholder_refused_outside_local_is_a_warn_citing_the_guard(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"backend/app/core/config.py": TEMPLATE, ".env": ENV})
    run = run_cfg(repo, tmp_path, only=["CFG-020"])
    found = _flagged(res(run, "CFG-020"))
    guard = ln(TEMPLATE, 'if value == "changethis"', "backend/app/core/config.py")
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        status, message = found[name]
        assert status is Status.WARN, describe(res(run, "CFG-020"))
        assert f"refuses it at start-up unless `self.ENVIRONMENT == 'local'` ({guard}) (this " \
               "file sets ENVIRONMENT=local, under which it is accepted)" in message
    # the validator is not applied to FIRST_SUPERUSER_PASSWORD: its placeholder stays a FAIL
    assert found["FIRST_SUPERUSER_PASSWORD"][0] is Status.FAIL
    # deployed with ENVIRONMENT=production: refused, and no note
    repo = repo_of(tmp_path, {"backend/app/core/config.py": TEMPLATE,
                              ".env": ENV.replace("=local", "=production")}, "prod")
    status, message = _flagged(res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020"))[
        "SECRET_KEY"]
    assert status is Status.WARN and "this file sets" not in message
    shown = " ".join(f"{f.message} {f.evidence}" for f in res(run, "CFG-020").findings)
    assert "changethis" not in shown


def test_guard_that_only_warns_keeps_the_fail(tmp_path: Path) -> None:
    warns = TEMPLATE.replace("            else:\n                raise ValueError(message)\n",
                             "            else:\n                warnings.warn(message)\n")
    repo = repo_of(tmp_path, {"backend/app/core/config.py": warns, ".env": ENV})
    found = _flagged(res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020"))
    status, message = found["SECRET_KEY"]
    assert status is Status.FAIL
    assert "only warns about it at start-up (backend/app/core/config.py:" in message


def test_raise_only_in_local_development_is_no_guard(tmp_path: Path) -> None:
    local = TEMPLATE.replace('if self.ENVIRONMENT == "local":', 'if self.ENVIRONMENT != "local":')
    repo = repo_of(tmp_path, {"backend/app/core/config.py": local, ".env": ENV})
    found = _flagged(res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020"))
    assert found["SECRET_KEY"][0] is Status.FAIL  # production only gets the warning


FLASK_CONFIG = '''\
import os

SECRET_KEY = os.environ.get("SECRET_KEY", "")
WEAK = {"secret", "changeme", "dev"}

if SECRET_KEY in WEAK or len(SECRET_KEY) < 32:
    raise RuntimeError("SECRET_KEY must be set to 32+ random characters")
'''
FLASK_VALIDATOR = '''\
from pydantic import field_validator
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    JWT_SECRET: str

    @field_validator("JWT_SECRET")
    @classmethod
    def strong(cls, v: str) -> str:
        if len(v) < 32:
            raise ValueError("JWT_SECRET too short")
        return v
'''


def test_length_and_field_validator_guards_cfg021(tmp_path: Path) -> None:
    env = tmp_path / "prod.env"
    env.write_text("JWT_SECRET=short-secret-1\nSECRET_KEY=abc123def\n", encoding="utf-8")
    files = {"web/config.py": FLASK_CONFIG, "web/settings.py": FLASK_VALIDATOR}
    repo = repo_of(tmp_path, files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-021"], env_file=env), "CFG-021")
    found = _flagged(r)
    assert found["JWT_SECRET"][0] is Status.WARN, describe(r)
    assert f"({ln(FLASK_VALIDATOR, 'if len(v)', 'web/settings.py')})" in found["JWT_SECRET"][1]
    assert found["SECRET_KEY"][0] is Status.WARN, describe(r)
    # without the guards both weak secrets fail
    bare = repo_of(tmp_path, {"web/settings.py": FLASK_VALIDATOR.replace(
        "        if len(v) < 32:\n            raise ValueError(\"JWT_SECRET too short\")\n", "")},
        "bare")
    r = res(run_cfg(bare, tmp_path, only=["CFG-021"], env_file=env), "CFG-021")
    assert {n: s for n, (s, _) in _flagged(r).items()} == {
        "JWT_SECRET": Status.FAIL, "SECRET_KEY": Status.FAIL}, describe(r)


DJANGO_SETTINGS = '''\
import os

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]

if not DEBUG and SECRET_KEY in ("changeme", "django-insecure-change-me"):
    from django.core.exceptions import ImproperlyConfigured
    raise ImproperlyConfigured("set DJANGO_SECRET_KEY")
'''


def test_django_module_level_guard_cfg020(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"site/settings.py": DJANGO_SETTINGS,
                              ".env.production": "DJANGO_SECRET_KEY=changeme\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    status, message = _flagged(r)["DJANGO_SECRET_KEY"]
    assert status is Status.WARN, describe(r)
    assert "(site/settings.py:6)" in message
    other = DJANGO_SETTINGS.replace('"changeme", ', "")  # the guard does not reject this value
    repo = repo_of(tmp_path, {"site/settings.py": other,
                              ".env.production": "DJANGO_SECRET_KEY=changeme\n"}, "other")
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    assert _flagged(r)["DJANGO_SECRET_KEY"][0] is Status.FAIL, describe(r)
