"""SEC-089 against a real Flask site whose account update copies every posted field (FAIL: the
audit account became an admin, then reverted) and one that takes only the e-mail (PASS: the
admin checkbox it shows stays unchecked); the password is never changed; read-only runs skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from probe_util import of
from servers.account_app import PASSWORD, USER, account_app
from servers.probe_apps import serve_wsgi

from prodaudit.checks.security.mass_assignment import privileged_state
from prodaudit.model import Severity, Status


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


def test_copying_update_fails_and_is_reverted(tmp_path: Path, account: None) -> None:
    app, user = account_app(True)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-089"], base_url=url,
                           auth={"login_url": "/login"}, allow_mutations=True)
    r = result(run, "SEC-089")
    assert r.status is Status.FAIL, describe(r)
    hit = of(r, Status.FAIL)[0]
    assert hit.location == f"POST {url}/account" and hit.severity is Severity.HIGH
    assert "set is_admin" in hit.message and "is_admin checked" in hit.message
    assert "reverted: the field reads back as before" in hit.message
    assert user == {"email": USER, "password": PASSWORD, "is_admin": False}


def test_allow_listed_update_passes(tmp_path: Path, account: None) -> None:
    app, user = account_app(False)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-089"], base_url=url,
                           auth={"login_url": "/login"}, allow_mutations=True)
    r = result(run, "SEC-089")
    assert r.status is Status.PASS, describe(r)
    assert "is_admin unchanged" in describe(r)
    assert user == {"email": USER, "password": PASSWORD, "is_admin": False}


def test_read_only_run_skips(tmp_path: Path, account: None) -> None:
    app, user = account_app(True)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-089"], base_url=url,
                           auth={"login_url": "/login"})
    r = result(run, "SEC-089")
    assert r.status is Status.SKIP and "--allow-mutations" in r.reason
    assert user["is_admin"] is False


def test_privileged_state_reads_checkboxes_and_values() -> None:
    page = ('<input type="checkbox" name="is_admin" checked="True"><select name="role" '
            'value="User"></select><input name="other" value="x">'
            "<input type='checkbox' name='is_staff'>")
    assert privileged_state(page) == {"is_admin": "checked", "role": "user",
                                      "is_staff": "unchecked"}
