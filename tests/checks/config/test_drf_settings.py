"""CFG-038: Django REST framework's default permissions and throttling in production settings."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

OPEN = '''\
INSTALLED_APPS = ["django.contrib.auth", "rest_framework", "oauth2_provider"]
ROOT_URLCONF = "api.urls"
REST_FRAMEWORK = {
    'DEFAULT_AUTHENTICATION_CLASSES': (
        'oauth2_provider.contrib.rest_framework.OAuth2Authentication',
    ),
    'DEFAULT_PERMISSION_CLASSES': (
        'rest_framework.permissions.AllowAny',
    ),
    'DEFAULT_THROTTLE_RATES': {
        'anon': '10/day',
        'user': '20/hour',
    }
}
'''


def test_allow_any_and_rates_without_classes(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"api/settings.py": OPEN})
    r = res(run_cfg(repo, tmp_path, only=["CFG-038"]), "CFG-038")
    assert r.status is Status.FAIL, describe(r)
    found = problems(r)
    assert set(found) == {"api/settings.py:7", "api/settings.py:10"}, describe(r)
    assert "AllowAny" in found["api/settings.py:7"]
    assert "DEFAULT_THROTTLE_CLASSES" in found["api/settings.py:10"]


def test_split_settings_without_defaults_warn_at_the_dict(tmp_path: Path) -> None:
    base = ('INSTALLED_APPS = ["rest_framework"]\nROOT_URLCONF = "c.urls"\n\n'
            'REST_FRAMEWORK = {\n    "DEFAULT_AUTHENTICATION_CLASSES": [],\n}\n')
    repo = repo_of(tmp_path, {"config/django/base.py": base,
                              "config/django/production.py": "from .base import *  # noqa\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-038"]), "CFG-038")
    assert r.status is Status.WARN, describe(r)
    msgs = [f.message for f in r.findings if f.location == "config/django/base.py:4"]
    assert len(msgs) == 2 and any("AllowAny" in m for m in msgs), describe(r)


def test_deny_by_default_and_throttled_passes(tmp_path: Path) -> None:
    hardened = OPEN.replace("AllowAny", "IsAuthenticated").replace(
        "    'DEFAULT_THROTTLE_RATES'",
        "    'DEFAULT_THROTTLE_CLASSES': ['rest_framework.throttling.AnonRateThrottle'],\n"
        "    'DEFAULT_THROTTLE_RATES'")
    repo = repo_of(tmp_path, {"api/settings.py": hardened,
                              "api/settings_local.py": OPEN.replace("ROOT_URLCONF", "X")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-038"]), "CFG-038")
    assert r.status is Status.PASS, describe(r)


def test_without_drf_skips(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"proj/settings.py": 'INSTALLED_APPS = ["django.contrib.auth"]\n'})
    r = res(run_cfg(repo, tmp_path, only=["CFG-038"]), "CFG-038")
    assert r.status is Status.SKIP, describe(r)


def test_drf_installed_without_settings_warns(tmp_path: Path) -> None:
    apps = "".join(f'    "django.contrib.app{i}",\n' for i in range(12))
    repo = repo_of(tmp_path, {"proj/settings.py": f'INSTALLED_APPS = [\n{apps}    "rest_framework",\n]\n'})
    r = res(run_cfg(repo, tmp_path, only=["CFG-038"]), "CFG-038")
    assert r.status is Status.WARN, describe(r)
    assert list(problems(r)) == ["proj/settings.py:1"], describe(r)
