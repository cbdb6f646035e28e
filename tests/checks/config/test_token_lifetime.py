"""CFG-035: access-token lifetimes in code, judged against ``jwt.max_access_minutes``."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg
from test_settings_shapes import repo_of

from prodaudit.model import Status

TOKENS = '''\
from datetime import datetime, timedelta

import jwt

ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24 * 8
REFRESH_TOKEN_EXPIRE_DAYS = 30
RESET_TOKEN_MINUTES = 600


def create_access_token(sub: str) -> str:
    exp = datetime.utcnow() + timedelta(days=7)
    return jwt.encode({"sub": sub, "exp": exp}, "k")
'''
DJANGO = '''\
from datetime import timedelta
import environ
env = environ.Env()
JWT_EXPIRATION_DELTA_SECONDS = env("JWT_EXPIRATION_DELTA_SECONDS", default=60 * 60 * 24 * 7)
JWT_AUTH = {"JWT_EXPIRATION_DELTA": timedelta(seconds=JWT_EXPIRATION_DELTA_SECONDS)}
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
              "REFRESH_TOKEN_LIFETIME": timedelta(days=1)}
OAUTH2_PROVIDER = {"SCOPES": {"read": "Read"}}
JWT_ACCESS_TOKEN_EXPIRES = False
'''


def test_long_lifetimes_fail_at_their_line(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/security.py": TOKENS, "proj/settings.py": DJANGO})
    r = res(run_cfg(repo, tmp_path, only=["CFG-035"]), "CFG-035")
    assert r.status is Status.FAIL, describe(r)
    msgs = {f.location: f.message for f in fails(r)}
    assert set(msgs) == {"app/security.py:5", "app/security.py:11", "proj/settings.py:4",
                         "proj/settings.py:8", "proj/settings.py:9"}, describe(r)
    assert "8 days" in msgs["app/security.py:5"] and "7 days" in msgs["proj/settings.py:4"]
    assert "10 hours" in msgs["proj/settings.py:8"] and "never" in msgs["proj/settings.py:9"]


def test_deployment_value_replaces_the_default_and_a_higher_maximum_passes(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"settings.py": (
        'import os\nACCESS_TOKEN_EXPIRE_MINUTES = int(os.getenv("ACCESS_TOKEN_EXPIRE_MINUTES", '
        '"11520"))\n')})
    env = tmp_path / "prod.env"
    env.write_text("ACCESS_TOKEN_EXPIRE_MINUTES=30\n", encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-035"]), "CFG-035").status is Status.FAIL
    r = res(run_cfg(repo, tmp_path, only=["CFG-035"], env_file=env), "CFG-035")
    assert r.status is Status.PASS, describe(r)
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-035"], jwt={"max_access_minutes": 20000}),
             "CFG-035")
    assert r2.status is Status.PASS, describe(r2)


def test_no_lifetime_in_code_skips(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app.py": "X = 1\n"})
    assert res(run_cfg(repo, tmp_path, only=["CFG-035"]), "CFG-035").status is Status.SKIP
