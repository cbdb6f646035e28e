"""The probes that find what real APIs leak (SEC-073–076, SEC-083–084), against real servers with
and without each problem: a FastAPI app (OpenAPI), Flask with the Werkzeug debugger, aiohttp in
debug mode and a Django project (no OpenAPI document: routes from links and the DEBUG 404
page)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from helpers import audit_target, describe, result
from probe_util import django_server, everything, of
from servers.probe_apps import (
    PASSWORD,
    SMTP_PASSWORD,
    USER,
    aiohttp_pages,
    flask_pages,
    flask_session_app,
    leaky_api,
    serve_wsgi,
)
from servers.serving import serve_app
from servers.signup_app import signup_app

from prodaudit.model import Severity, Status

PROBES = ["SEC-073", "SEC-074", "SEC-075", "SEC-076", "SEC-083", "SEC-084"]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


def test_leaky_fastapi_app_fails_every_probe(tmp_path: Path, account: None) -> None:
    secret = secrets.token_hex(24)
    with serve_app(leaky_api(True, secret)) as url:
        run = audit_target(None, tmp_path, only=PROBES, base_url=url)
    sql = result(run, "SEC-074")
    assert sql.status is Status.FAIL, describe(sql)
    assert "SQL error" in describe(sql), describe(sql)
    hit = next(f for f in of(sql, Status.FAIL) if "SQL error" in f.message)
    assert hit.location.startswith(f"GET {url}/items?q=") and hit.severity is Severity.HIGH
    assert "matched SQLite error" in hit.evidence and "$ curl" in hit.evidence
    assert "baseline: GET /items answered 200" in hit.evidence
    trace = next(f for f in of(sql, Status.FAIL) if "stack trace" in f.message)
    assert trace.location.startswith(f"GET {url}/items/")
    exposure = result(run, "SEC-075")
    assert exposure.status is Status.FAIL, describe(exposure)
    msgs = [f.message for f in of(exposure, Status.FAIL)]
    assert any("password hash" in m and "[].password_hash" in m for m in msgs), msgs
    assert any("2 account e-mail address(es)" in m for m in msgs), msgs
    debug = result(run, "SEC-076")
    dump = next(f for f in of(debug, Status.FAIL) if "/debug/config" in f.location)
    assert dump.severity is Severity.CRITICAL and "dumps credentials" in dump.message
    assert "SMTP_PASSWORD" in dump.message  # a prefixed secret name is a secret field too
    admin = next(f for f in of(debug, Status.FAIL) if "/admin/stats" in f.location)
    assert "admin endpoint and answers 200 without credentials" in admin.message
    host = result(run, "SEC-073")
    assert host.status is Status.WARN and "serves any Host" in host.findings[0].message
    writes = result(run, "SEC-083")
    warn = next(f for f in of(writes, Status.WARN) if "/update" in f.location)
    assert warn.location == f"POST {url}/users/{{user_id}}/update"
    assert warn.severity is Severity.HIGH and "needs --allow-mutations" in describe(writes)
    llm = result(run, "SEC-084")
    assert llm.status is Status.FAIL and of(llm, Status.FAIL)[0].location == f"POST {url}/chat"
    assert run.requests["llm_calls"] == 0  # read-only: the LLM endpoint is never called
    for r in run.results:  # the dumped signing secret and passwords never reach a finding
        assert secret not in everything(r) and SMTP_PASSWORD not in everything(r), r.id


def test_hardened_fastapi_app_passes_every_probe(tmp_path: Path, account: None) -> None:
    with serve_app(leaky_api(False, secrets.token_hex(24))) as url:
        run = audit_target(None, tmp_path, only=PROBES, base_url=url, allow_mutations=True)
    for cid in ("SEC-073", "SEC-074", "SEC-075", "SEC-076", "SEC-083", "SEC-084"):
        r = result(run, cid)
        assert r.status is Status.PASS, describe(r)
    assert "refused with HTTP 400" in result(run, "SEC-073").findings[0].message
    assert "refuses an anonymous prompt (401)" in describe(result(run, "SEC-084"))


def test_open_writes_and_llm_are_confirmed_live_with_mutations(tmp_path: Path,
                                                                account: None) -> None:
    with serve_app(leaky_api(True, secrets.token_hex(24))) as url:
        run = audit_target(None, tmp_path, only=["SEC-083", "SEC-084"], base_url=url,
                           allow_mutations=True)
    writes = result(run, "SEC-083")
    confirmed = of(writes, Status.FAIL)[0]
    # an empty body and a made-up id: the handler looked the user up without any credential
    assert confirmed.location == f"POST {url}/users/999999937/update"
    assert "answered 404" in confirmed.message and confirmed.severity is Severity.HIGH
    # an anonymous creation that reaches validation may be a designed sign-up: a warning
    create = [f for f in writes.findings if f.location == f"POST {url}/users"]
    assert len(create) == 2 and all(f.status is Status.WARN for f in create), describe(writes)
    assert any("answered 422" in f.message and "sign-up" in f.message for f in create)
    llm = result(run, "SEC-084")
    fails, warns = of(llm, Status.FAIL), of(llm, Status.WARN)
    assert len(fails) == 1 and "answered 200 to an anonymous prompt" in fails[0].message
    assert warns and "no 429 and no rate-limit header" in warns[0].message
    assert run.requests["llm_calls"] == 10  # the prompt and the bounded burst, counted


def test_django_debug_without_openapi_is_found_from_its_own_pages(tmp_path: Path) -> None:
    with django_server(debug=True) as url:
        run = audit_target(None, tmp_path, only=["SEC-073", "SEC-074", "SEC-075"], base_url=url)
    inj = result(run, "SEC-074")
    assert inj.status is Status.FAIL, describe(inj)
    sql = next(f for f in of(inj, Status.FAIL) if "SQL error" in f.message)
    assert sql.location.startswith(f"GET {url}/books/1%27%22/")
    assert "Django database error" in sql.message or "SQLite error" in sql.message
    assert any("Django technical 500 page" in f.message for f in of(inj, Status.FAIL))
    assert "links and forms" in describe(inj) or "Django DEBUG" in describe(inj)
    users = result(run, "SEC-075")
    leak = next(f for f in of(users, Status.FAIL) if "e-mail" in f.message)
    assert leak.location == f"GET {url}/api/users/" and "anonymous" in leak.message
    assert result(run, "SEC-073").status is Status.WARN  # ALLOWED_HOSTS = ['*']


def test_django_with_allowed_hosts_and_no_debug(tmp_path: Path) -> None:
    with django_server(debug=False, hosts="127.0.0.1") as url:
        run = audit_target(None, tmp_path, only=["SEC-072", "SEC-073", "SEC-074"], base_url=url)
    host = result(run, "SEC-073")
    assert host.status is Status.PASS and "refused with HTTP 400" in host.findings[0].message
    assert result(run, "SEC-072").status is not Status.FAIL
    inj = result(run, "SEC-074")  # the quote still breaks the SQL: a bare 500, no debug page
    assert inj.status is Status.WARN, describe(inj)
    assert "turns HTTP 200 into 500" in of(inj, Status.WARN)[0].message


def test_werkzeug_debugger_and_logout_links(tmp_path: Path) -> None:
    hits: list[str] = []
    with serve_wsgi(flask_pages(debugger=True, health="real", hits=hits)) as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url)
    r = result(run, "SEC-074")
    assert r.status is Status.FAIL, describe(r)
    assert any("Werkzeug debugger" in f.message for f in of(r, Status.FAIL))
    assert hits == []  # the crawler never follows a logout link
    with serve_wsgi(flask_pages(debugger=False, health="real")) as url:
        run = audit_target(None, tmp_path / "ok", only=["SEC-074"], base_url=url)
    assert result(run, "SEC-074").status is Status.PASS, describe(result(run, "SEC-074"))


def test_aiohttp_debug_traceback_through_a_search_form(tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    with aiohttp_pages() as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url)
    r = result(run, "SEC-074")
    fail = next(f for f in of(r, Status.FAIL) if "stack trace" in f.message)
    assert fail.location.startswith(f"GET {url}/search?q=")
    assert "sqlite3.OperationalError" in fail.evidence


def test_weak_signing_secret_from_the_repository_is_cracked_and_confirmed(
        tmp_path: Path, account: None) -> None:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    weak = "granite-peak-weak"
    (repo / "app" / "config.py").write_text(
        f'import os\n\nclass Config:\n    SECRET_KEY = os.environ.get("SECRET_KEY", "{weak}")\n',
        encoding="utf-8")
    with serve_app(leaky_api(False, weak)) as url:
        run = audit_target(None, tmp_path, only=["SEC-005"], base_url=url, repo=repo)
    r = result(run, "SEC-005")
    assert r.status is Status.FAIL and r.findings[0].severity is Severity.CRITICAL, describe(r)
    msg = r.findings[0].message
    assert f"{len(weak)} characters, from a default in app/config.py:4" in msg
    assert "accepted live" in msg
    assert weak not in everything(r) and weak not in json.dumps(run.to_dict())
    with serve_app(leaky_api(False, secrets.token_urlsafe(32))) as url:
        run = audit_target(None, tmp_path / "strong", only=["SEC-005"], base_url=url, repo=repo)
    ok = result(run, "SEC-005")
    assert ok.status is Status.PASS and "repository defaults" in ok.findings[0].message


def test_malformed_login_bodies_reveal_a_traceback(tmp_path: Path) -> None:
    """No JSON operation to send bad bodies to: the configured login endpoint gets them, as two
    failed logins (read-only)."""
    pytest.importorskip("aiohttp")
    with aiohttp_pages() as url:
        run = audit_target(None, tmp_path, only=["SEC-070"], base_url=url,
                           auth={"login_url": "/"})
    r = result(run, "SEC-070")
    fails = of(r, Status.FAIL)
    assert {f.location for f in fails} == {f"POST {url}/"}, describe(r)
    assert any("malformed JSON to the login endpoint" in f.message
               and "Python traceback" in f.message for f in fails)
    assert run.requests["by_method"].get("POST") == 2


def test_post_forms_are_probed_only_with_mutations(tmp_path: Path) -> None:
    with serve_wsgi(flask_pages(debugger=False, health="real")) as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url)
        r = result(run, "SEC-074")
        assert r.status is Status.PASS and "POST /signup" in describe(r), describe(r)
        assert run.requests["by_method"].get("POST", 0) == 0
        run = audit_target(None, tmp_path / "m", only=["SEC-074"], base_url=url,
                           allow_mutations=True)
    r = result(run, "SEC-074")  # the quote breaks the SQL the code is built into: 302 -> 500
    warn = next(f for f in of(r, Status.WARN) if "POST /signup" in f.message)
    assert "a quote pair in 'code' turns HTTP 302 into 500" in warn.message
    assert warn.location == f"POST {url}/signup"


def test_every_post_of_a_form_gets_fresh_made_up_values(tmp_path: Path) -> None:
    """The sign-up registers its user name before the SQL: a probe that reused the baseline's
    made-up user name got 400 and never reached the quote in the code (found in some runs only)."""
    with serve_wsgi(signup_app()) as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url, allow_mutations=True)
    r = result(run, "SEC-074")
    fail = next(f for f in of(r, Status.FAIL) if "POST /signup" in f.message)
    assert "a quote pair in 'code' gets HTTP 500 with an SQL error" in fail.message, fail.message
    assert fail.location == f"POST {url}/signup"


@pytest.mark.parametrize("checks_session", [False, True])
def test_forms_of_logged_in_pages_are_replayed_anonymously(
        tmp_path: Path, account: None, checks_session: bool) -> None:
    """No OpenAPI document: SEC-083 posts the forms only the audit account's pages show without
    the session (with --allow-mutations)."""
    app = flask_session_app(checks_session=checks_session, secret=secrets.token_hex(16))
    auth = {"login_url": "/login", "login_body": "form"}
    with serve_wsgi(app) as url:
        ro = audit_target(None, tmp_path, only=["SEC-083"], base_url=url, auth=auth)
        run = audit_target(None, tmp_path / "m", only=["SEC-083"], base_url=url, auth=auth,
                           allow_mutations=True)
    assert result(ro, "SEC-083").status is Status.SKIP
    assert "POST /notes" in describe(result(ro, "SEC-083"))
    r = result(run, "SEC-083")
    if checks_session:
        assert r.status is Status.PASS and "refuses an anonymous post (302)" in describe(r)
    else:
        assert r.status is Status.FAIL, describe(r)
        assert r.findings[0].location == f"POST {url}/notes"
        assert "accepts an anonymous post" in r.findings[0].message


def test_probes_keep_to_the_ledger_the_exclusions_and_read_only(tmp_path: Path,
                                                                 account: None) -> None:
    """Read-only, with ``[probes] exclude`` and a small budget: every probe request is counted
    under its check and within its budget, none uses an unsafe method, none reaches an excluded
    path (the server's own record), and what was left out is in the ledger's refusals."""
    app = leaky_api(True, secrets.token_hex(24))
    received: list[tuple[str, str]] = []

    @app.middleware("http")
    async def record(request: Any, call_next: Any) -> Any:
        received.append((request.method, request.url.path))
        return await call_next(request)

    budget = 12
    with serve_app(app) as url:
        run = audit_target(None, tmp_path, only=PROBES, base_url=url,
                           probes={"exclude": ["/debug/*", "/items*"], "max_requests": budget})
    assert not [p for _, p in received if p.startswith(("/debug/", "/items"))], received
    by_check = run.requests["by_check"]
    for cid in PROBES:
        methods = by_check.get(cid, {})
        assert set(methods) <= {"GET", "HEAD", "OPTIONS"}, (cid, methods)
        assert sum(methods.values()) <= budget, (cid, methods)
    unsafe = [(m, p) for m, p in received if m not in ("GET", "HEAD", "OPTIONS")]
    assert unsafe == [("POST", "/token")] * len(unsafe) and unsafe, unsafe  # logins only
    assert sum(sum(m.values()) for m in by_check.values()) == len(received)
    assert run.requests["refused"]["by_kind"].get("excluded", 0) > 0
    for r in (result(run, cid) for cid in PROBES):
        assert not any("/debug/" in f.location or "/items" in f.location
                       for f in r.findings if f.status is Status.FAIL), describe(r)
    assert result(run, "SEC-084").status is not Status.PASS  # the LLM was never called
    assert run.requests["llm_calls"] == 0
