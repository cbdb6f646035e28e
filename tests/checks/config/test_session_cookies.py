"""CFG-043: session cookies configured in code keep HttpOnly and Secure."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

AIOHTTP = '''\
from aiohttp_session import session_middleware as session_middleware_
from aiohttp_session.redis_storage import RedisStorage


async def session_middleware(request, handler):
    storage = RedisStorage(request.app['redis'], httponly=False)
    return await session_middleware_(storage)(request, handler)
'''
STARLETTE = '''\
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key=KEY)
'''
FLASK = '''\
import os
class ProductionConfig:
    SESSION_COOKIE_HTTPONLY = os.getenv("SESSION_COOKIE_HTTPONLY", "false") == "true"
    REMEMBER_COOKIE_HTTPONLY = False
'''


def test_httponly_off_and_no_secure_flag(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"sqli/middlewares.py": AIOHTTP, "api/main.py": STARLETTE,
                              "web/config.py": FLASK,
                              "web/config_dev.py": "SESSION_COOKIE_HTTPONLY = False\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.FAIL, describe(r)
    found = problems(r)
    assert set(found) == {"sqli/middlewares.py:6", "api/main.py:5", "web/config.py:3",
                          "web/config.py:4"}, describe(r)
    assert "SESSION_COOKIE_HTTPONLY" in found["web/config.py:3"]  # the env read's default
    assert "httponly=False" in found["sqli/middlewares.py:6"]
    assert "no Secure flag" in found["sqli/middlewares.py:6"]
    assert "https_only" in found["api/main.py:5"]


def test_default_and_hardened_cookies_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "sqli/middlewares.py": AIOHTTP.replace("httponly=False", "httponly=True, secure=True"),
        "api/main.py": STARLETTE.replace("secret_key=KEY", "secret_key=KEY, https_only=True"),
        "web/config.py": FLASK.replace('"false"', '"true"').replace("= False", "= True"),
        "web/storage.py": "from django.core.files.storage import FileSystemStorage\n"
                          "fs = FileSystemStorage(location='/tmp', secure=False)\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.PASS, describe(r)


def test_without_session_configuration_skips(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.SKIP, describe(r)


DJANGO_BASE = '''\
import os

INSTALLED_APPS = ["django.contrib.sessions"]
ROOT_URLCONF = "config.urls"
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
'''


def test_django_session_cookie_without_secure_fails(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"config/settings/base.py": DJANGO_BASE,
                              "config/settings/production.py": "from .base import *\n"
                                                               "DEBUG = False\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.FAIL, describe(r)
    found = problems(r)
    assert set(found) == {"config/settings/base.py:5"}, describe(r)
    assert "SESSION_COOKIE_SECURE unset" in found["config/settings/base.py:5"]
    assert "readable by the client" in found["config/settings/base.py:5"]
    (repo / "config/settings/production.py").write_text(
        "import os\nfrom .base import *\nSESSION_COOKIE_SECURE = "
        "os.environ.get('SESSION_COOKIE_SECURE', 'false') == 'true'\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.FAIL, describe(r)
    assert "config/settings/production.py:3" in problems(r), describe(r)


def test_django_secure_session_cookie_passes(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "config/settings/base.py": DJANGO_BASE + "SESSION_COOKIE_SECURE = False\n",
        "config/settings/production.py": "import os\nfrom .base import *\n"
        "SESSION_COOKIE_SECURE = os.environ.get('SESSION_COOKIE_SECURE', 'true') == 'true'\n",
        "config/settings/dev.py": "from .base import *\nSESSION_COOKIE_HTTPONLY = False\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-043"]), "CFG-043")
    assert r.status is Status.PASS, describe(r)
    message = r.findings[0].message
    assert "SESSION_COOKIE_SECURE on (config/settings/production.py:3)" in message
    assert "readable by the client" in message
