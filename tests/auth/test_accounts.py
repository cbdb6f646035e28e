"""Accounts the audit registers and deletes itself, what a failed login reports, and whether the
run left the target as it found it — real audits (the runner, the checks) against small real
applications (tests/servers/login_shapes.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import audit_target, describe, result
from servers import login_shapes as apps
from servers.serving import serve_app

from prodaudit.model import Status

ACCOUNT_ENV = ("PRODAUDIT_AUDIT_USERNAME", "PRODAUDIT_AUDIT_PASSWORD",
               "PRODAUDIT_AUDIT2_USERNAME", "PRODAUDIT_AUDIT2_PASSWORD")


@pytest.fixture(autouse=True)
def no_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ACCOUNT_ENV:
        monkeypatch.delenv(name, raising=False)


def test_mutations_register_accounts_and_delete_them(tmp_path: Path) -> None:
    """No account given, --allow-mutations: the audit registers one (the body from the schema,
    with the confirmation and the required terms flag), logs in with it, registers FUN-024's,
    and FUN-025 deletes both with their own sessions (DELETE /users/me)."""
    with serve_app(apps.fastapi_app("oauth2")) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "FUN-024", "FUN-025"], base_url=url,
                           allow_mutations=True)
    for cid in ("FUN-020", "FUN-024", "FUN-025"):
        assert result(run, cid).status is Status.PASS, describe(result(run, cid))
    accounts = run.facts["accounts"]
    assert len(accounts["created"]) == 2 and len(accounts["deleted"]) == 2 and not accounts["left"]
    assert all("DELETE /users/me → 204" in d for d in accounts["deleted"])
    assert "2 account(s) the audit created deleted" in result(run, "FUN-025").findings[-1].message
    assert run.facts["login"]["ok"] and run.facts["login"]["plan"]["encoding"] == "form"


def test_accounts_that_cannot_be_deleted_are_listed(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", deletable=False)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "FUN-025"], base_url=url,
                           allow_mutations=True)
    r = result(run, "FUN-025")
    assert r.status is Status.WARN, describe(r)
    left = [f.message for f in r.findings if f.status is Status.WARN]
    assert len(left) == 1 and "the API has no DELETE operation for a user" in left[0]
    assert run.facts["accounts"]["left"] and not run.facts["accounts"]["deleted"]


def test_read_only_without_an_account_says_how_to_get_one(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2")) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "FUN-024"], base_url=url)
    r = result(run, "FUN-020")
    assert r.status is Status.SKIP and "PRODAUDIT_AUDIT_USERNAME" in r.reason
    assert "--allow-mutations to let the audit register one" in r.reason
    assert "accounts" not in run.facts or not run.facts["accounts"]["created"]


def test_a_failed_login_reports_what_was_sent_and_the_fix(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", apps.USERNAME)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", "not-the-password-9")
    with serve_app(apps.fastapi_app("oauth2")) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-040"], base_url=url)
    r = result(run, "FUN-020")
    assert r.status is Status.FAIL, describe(r)
    message = r.findings[0].message
    assert message.startswith("audit account login failed: no credential obtained: ")
    assert (f"POST {url}/auth/token with form {{grant_type: 'password', username: 'alice', "
            "password: ***}") in message
    assert "→ 401 (response: detail): refused" in message
    assert "Fix: check the account (PRODAUDIT_AUDIT_USERNAME / PRODAUDIT_AUDIT_PASSWORD)" in message
    assert "not-the-password-9" not in message
    assert run.facts["login"]["ok"] is False and run.facts["login"]["attempts"]
    # the bursts still use the discovered login (its schema's shape), unverified
    burst = result(run, "SEC-040")
    assert "no login endpoint" not in burst.reason, describe(burst)


def test_a_target_the_run_left_broken_fails(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("degrading")) as url:
        run = audit_target(None, tmp_path, only=["FUN-001", "FUN-025"], base_url=url)
    r = result(run, "FUN-025")
    assert r.status is Status.FAIL, describe(r)
    assert any("GET /health answered 200 when the run began and 503 after it" in f.message
               for f in r.findings)
    assert run.facts["target_state"]["worse"]


def test_values_the_login_body_takes_from_the_environment_are_masked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OAuth2 client secret in ``[auth] login_body`` (``{env:NAME}``) is sent with every login
    of the bursts, whose evidence shows the request: it is masked everywhere in the run."""
    secret = "client-" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0" * 2
    monkeypatch.setenv("FIELD_TEST_CLIENT_SECRET", secret)
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", apps.USERNAME)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", apps.PASSWORD)
    body = {"grant_type": "password", "username": "{username}", "password": "{password}",
            "client_secret": "{env:FIELD_TEST_CLIENT_SECRET}"}
    with serve_app(apps.fastapi_app("oauth2")) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-040"], base_url=url,
                           auth={"login_body": body, "login_encoding": "form"},
                           rate_limit={"max_requests": 21})
    assert result(run, "FUN-020").status is Status.PASS, describe(result(run, "FUN-020"))
    burst = result(run, "SEC-040")
    assert burst.status is Status.WARN and burst.findings[0].evidence, describe(burst)
    assert "client_secret=" in burst.findings[0].evidence  # the request is shown, its value not
    dump = json.dumps(run.to_dict())
    assert secret not in dump


def test_the_host_header_probes_throw_away_account_is_the_audits_too(
    tmp_path: Path, start_target: Any
) -> None:
    """SEC-072 registers an account with a spoofed Host (with --allow-mutations): the account
    manager knows it, so FUN-025 deletes it or lists it as left behind — never silently left."""
    target = start_target("host-header-injection", frontend=False)  # the spoofed Host is served
    run = audit_target(target, tmp_path, only=["SEC-072", "FUN-025"], allow_mutations=True)
    assert "POST auth/register" in describe(result(run, "SEC-072")), describe(result(run, "SEC-072"))
    accounts = run.facts["accounts"]
    assert len(accounts["created"]) == 1, accounts
    assert len(accounts["deleted"]) + len(accounts["left"]) == 1, accounts
