"""CFG-036: Django production settings (split settings, star imports, env-read values)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

BASE = '''\
import environ
env = environ.Env()
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.auth"]
ROOT_URLCONF = "config.urls"
from config.settings.sessions import *  # noqa
'''
PROD = '''\
from config.env import env
from .base import *  # noqa
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
'''


def test_split_settings_lacking_hsts_and_allowing_any_host(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "config/env.py": "import environ\nenv = environ.Env()\n",
        "config/django/base.py": BASE, "config/django/production.py": PROD,
        "config/django/local.py": "from .base import *\nDEBUG = True\n",
        "config/settings/sessions.py": "CSRF_USE_SESSIONS = True\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    found = problems(r)
    assert set(found) == {"config/django/base.py:4", "config/django/production.py:1"}, describe(r)
    missing = found["config/django/production.py:1"]
    assert "not set in config/django/production.py" in missing and "SECURE_HSTS_SECONDS" in missing
    assert "HSTS" in missing and "redirect" not in missing and "CSRF" not in missing
    assert "session" not in missing.lower()


def test_settings_turned_off_are_reported_where_they_are_set(tmp_path: Path) -> None:
    """A setting that is present but off is reported at its own line (in code), or where the
    deployment sets the variable it reads; absent ones together at the module's first line."""
    repo = repo_of(tmp_path, {
        "proj/settings.py": ('import os\nINSTALLED_APPS = []\nALLOWED_HOSTS = ["api.example.com"]\n'
                             'SECURE_SSL_REDIRECT = os.environ.get("SSL_REDIRECT", "1") == "1"\n'
                             'SESSION_COOKIE_SECURE = False\nSECURE_HSTS_SECONDS = 0\n'),
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    found = problems(r)
    assert set(found) == {"proj/settings.py:5", "proj/settings.py:6", "proj/settings.py:1"}, \
        describe(r)
    assert "SESSION_COOKIE_SECURE = False" in found["proj/settings.py:5"]
    assert "SECURE_HSTS_SECONDS = 0" in found["proj/settings.py:6"]
    assert found["proj/settings.py:1"].startswith("not set in proj/settings.py")
    assert "CSRF_COOKIE_SECURE" in found["proj/settings.py:1"]
    assert "SESSION_COOKIE_SECURE" not in found["proj/settings.py:1"]


def test_hardened_settings_and_proxy_hsts_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "proj/settings.py": ('INSTALLED_APPS = []\nALLOWED_HOSTS = ["api.example.com"]\n'
                             'SECURE_SSL_REDIRECT = True\nSESSION_COOKIE_SECURE = True\n'
                             'CSRF_COOKIE_SECURE = True\n'),
        "nginx/site.conf": 'add_header Strict-Transport-Security "max-age=31536000" always;\n',
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036")
    assert r.status is Status.PASS, describe(r)
    assert "nginx/site.conf" in r.findings[0].message


def test_no_django_skips(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app.py": "DEBUG = False\n"})
    assert res(run_cfg(repo, tmp_path, only=["CFG-036"]), "CFG-036").status is Status.SKIP
