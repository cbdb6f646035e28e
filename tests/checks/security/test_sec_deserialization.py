"""SEC-087 against a real Flask site whose cookie is a base64 pickle (FAIL naming the cookie and
the format, never the value) and one whose cookie is base64 JSON (PASS); the decoder on values."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import audit_target, describe, result
from probe_util import everything, of
from servers.cookie_apps import PASSWORD, USER, prefs_app
from servers.probe_apps import serve_wsgi

from prodaudit.checks.security.deserialization import cookie_format
from prodaudit.model import Severity, Status


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


def test_pickled_cookie_fails_without_showing_the_value(tmp_path: Path, account: None) -> None:
    with serve_wsgi(prefs_app(True)) as url:
        run = audit_target(None, tmp_path, only=["SEC-087"], base_url=url,
                           auth={"login_url": "/login"})
    r = result(run, "SEC-087")
    assert r.status is Status.FAIL, describe(r)
    hit = of(r, Status.FAIL)[0]
    assert hit.severity is Severity.HIGH
    assert "cookie prefs" in hit.message and "Python pickle (protocol" in hit.message
    assert hit.location == f"GET {url}/login", hit.location  # the login page first
    value = base64.b64encode(pickle.dumps({"mode": "light"})).decode()
    assert value not in everything(r)
    assert run.requests["total"] > 0


def test_json_cookie_passes(tmp_path: Path, account: None) -> None:
    with serve_wsgi(prefs_app(False)) as url:
        run = audit_target(None, tmp_path, only=["SEC-087"], base_url=url,
                           auth={"login_url": "/login"})
    r = result(run, "SEC-087")
    assert r.status is Status.PASS, describe(r)
    assert "prefs" in describe(r)


@pytest.mark.parametrize(("value", "fmt"), [
    (base64.b64encode(pickle.dumps({"a": 1}, protocol=2)).decode(), "pickle (protocol 2)"),
    (quote(base64.b64encode(pickle.dumps({"a": 1}, protocol=0)).decode()), "pickle (protocol 0"),
    (pickle.dumps([1], protocol=5).hex(), "pickle (protocol 5)"),
    (base64.urlsafe_b64encode(b"\xac\xed\x00\x05sr\x00\x04Test\xff\xfe").decode(), "Java"),
    (quote('a:1:{s:4:"mode";s:5:"light";}'), "PHP"),
    (quote('O:4:"User":1:{s:5:"admin";b:0;}'), "PHP"),
    (base64.b64encode(b"!!python/object/apply:os.system ['id']").decode(), "YAML"),
])
def test_serialised_values_are_recognised(value: str, fmt: str) -> None:
    found = cookie_format(value)
    assert found is not None and fmt in found[0], (value, found)


@pytest.mark.parametrize("value", [
    base64.b64encode(json.dumps({"mode": "light"}).encode()).decode(),
    "eyJ1c2VyIjoiYSJ9.ZmFrZQ.c2lnbmF0dXJl",  # a Flask/itsdangerous session
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",  # a JWT
    "8f14e45fceea167a5a36dedd4bea2543", "s%3Aabc.def", "light", "1", "",
])
def test_other_values_are_not(value: str) -> None:
    assert cookie_format(value) is None
