"""SEC-082 without an OpenAPI document: a real Flask app with an HTML login form whose
``/accounts/<id>/notes`` page shows any user's private notes to any logged-in user (FAIL, with
the leaked text and the URL) or answers 404 to other users (PASS); a profile page both accounts
link alike is shared, not tested; without a second account: SKIP with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers.notes_app import PUBLIC, USERS, notes_app
from servers.probe_apps import serve_wsgi

from prodaudit.model import Status

ANN, BOB = "ann@example.org", "bob@example.org"


@pytest.fixture
def two_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", ANN)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", USERS[ANN][0])
    monkeypatch.setenv("PRODAUDIT_AUDIT2_USERNAME", BOB)
    monkeypatch.setenv("PRODAUDIT_AUDIT2_PASSWORD", USERS[BOB][0])


def _run(tmp_path: Path, checks_owner: bool, **cfg: object) -> object:
    with serve_wsgi(notes_app(checks_owner=checks_owner)) as url:
        run = audit_target(None, tmp_path, only=["SEC-082"], base_url=url, repo=tmp_path,
                           auth={"login_url": "/login"}, **cfg)
    return result(run, "SEC-082")


def test_other_users_notes_page_fails(tmp_path: Path, two_accounts: None) -> None:
    r = _run(tmp_path, checks_owner=False)
    assert r.status is Status.FAIL, describe(r)
    fails = [f for f in r.findings if f.status is Status.FAIL]
    assert len(fails) == 2, describe(r)  # both ways: B reads A's notes, A reads B's
    f = fails[0]
    assert f.location.startswith("GET ") and f.location.endswith("/accounts/1/notes")
    assert "Ann's bank PIN reminder" in f.message and "account B read account A's page" in f.message
    assert "account B's own link /accounts/2/notes" in f.evidence and "< HTTP 200" in f.evidence
    assert "Bob's dentist appointment" in fails[1].message
    assert PUBLIC not in describe(r)  # on B's home page too: shared, not A's
    assert "/people/{people_id}: both accounts' pages link the same" in describe(r)


def test_owner_checked_notes_page_passes(tmp_path: Path, two_accounts: None) -> None:
    r = _run(tmp_path, checks_owner=True)
    assert r.status is Status.PASS, describe(r)
    assert any("account B got 404 for account A's /accounts/1/notes" in f.message
               for f in r.findings), describe(r)


def test_without_a_second_account_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", ANN)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", USERS[ANN][0])
    monkeypatch.delenv("PRODAUDIT_AUDIT2_USERNAME", raising=False)
    monkeypatch.delenv("PRODAUDIT_AUDIT2_PASSWORD", raising=False)
    r = _run(tmp_path, checks_owner=False)
    assert r.status is Status.SKIP
    assert "no second audit account" in r.reason, describe(r)


def test_other_account_deletes_my_item_with_mutations(tmp_path: Path, two_accounts: None) -> None:
    """Ann creates an item through her home page's form; Bob's POST /notes/<id>/delete removes
    it (FAIL at that operation); read-only, no item is created (no such finding)."""
    r = _run(tmp_path, checks_owner=False, allow_mutations=True)
    delete = [f for f in r.findings if f.location.startswith("POST ")]
    assert len(delete) == 1 and delete[0].status is Status.FAIL, describe(r)
    assert delete[0].location.endswith("/notes/1/delete")
    assert "account B deleted account A's item" in delete[0].message
    ro = _run(tmp_path, checks_owner=False)
    assert not any(f.location.startswith("POST ") for f in ro.findings), describe(ro)


def test_owner_checked_delete_passes_and_cleans_up(tmp_path: Path, two_accounts: None) -> None:
    r = _run(tmp_path, checks_owner=True, allow_mutations=True)
    assert r.status is Status.PASS, describe(r)
    delete = next(f for f in r.findings if f.location.startswith("POST "))
    assert delete.status is Status.PASS and "the item stayed" in delete.message
    assert "account A deleted it afterwards" in delete.message
