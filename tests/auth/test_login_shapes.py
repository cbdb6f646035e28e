"""The login adapter against real applications that log in in different ways (FastAPI with its
OpenAPI document, a Flask HTML form, a Django JSON endpoint without a document): discovery, the
body built from the schema or the form, the credential wherever it is, and what a failed login
says."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from conftest_services import require_service
from servers import login_shapes as apps
from servers.serving import serve_app

from prodaudit.auth import AuthError, Credentials, discover_login
from prodaudit.auth.session import LoginReport, retry_after
from prodaudit.config import AuthConfig
from prodaudit.http import Exchange, Http
from prodaudit.openapi import OpenAPIDoc, OpenAPIError, discover

T = TypeVar("T")


def run(fn: Callable[[Http], Awaitable[T]]) -> T:
    async def main() -> T:
        http = Http(timeout=10, max_body_bytes=2_000_000)
        try:
            return await fn(http)
        finally:
            await http.aclose()

    return asyncio.run(main())


async def document(http: Http, base: str) -> OpenAPIDoc | None:
    try:
        doc, _ = await discover(http, base, None)
    except OpenAPIError:
        return None
    return doc


def login(base: str, user: str, password: str = apps.PASSWORD, cfg: AuthConfig | None = None,
          report: LoginReport | None = None, probe: list[str] | None = None) -> Any:
    async def go(http: Http) -> Any:
        doc = await document(http, base)
        plan, sess = await discover_login(http, base, doc, cfg or AuthConfig(), Credentials(user, password),
                                          report, probe)
        me = None
        for path in probe or []:
            me = await http.get(base + path, headers=sess.headers())
        return plan, sess, me, http.ledger.total

    return run(go)


@contextmanager
def fastapi(variant: str) -> Iterator[str]:
    with serve_app(apps.fastapi_app(variant)) as url:
        yield url


@contextmanager
def wsgi(app: Any) -> Iterator[str]:
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # bound at once: no port race
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_oauth2_token_url_form_and_jwt() -> None:
    with fastapi("oauth2") as base:
        plan, sess, me, _ = login(base, apps.USERNAME, probe=["/users/me"])
    assert plan.url == base + "/auth/token" and plan.source == "OAuth2 password flow tokenUrl"
    assert plan.encoding == "form" and plan.shape.user_field == "username"
    assert sess.credential.kind == "jwt" and sess.credential.where == "body access_token"
    assert sess.headers()["Authorization"].startswith("Bearer ey")
    assert me.status == 200 and me.json() == {"username": apps.USERNAME}


def test_nested_json_body_and_token_scheme_from_security_schemes() -> None:
    with fastapi("nested") as base:
        plan, sess, me, _ = login(base, apps.USER, probe=["/api/user"])
    assert plan.url == base + "/api/users/login" and plan.encoding == "json"
    assert plan.shape.template == {"user": {"email": "{username}", "password": "{password}"}}
    assert sess.credential.where == "body user.token"
    assert sess.headers()["Authorization"].startswith("Token ey")
    assert me.status == 200


def test_multipart_body_and_token_in_a_response_header() -> None:
    with fastapi("multipart") as base:
        plan, sess, me, _ = login(base, apps.USER, probe=["/whoami"])
    assert plan.encoding == "multipart" and plan.shape.user_field == "login"
    assert sess.credential.kind == "opaque token" and sess.credential.where == "header x-auth-token"
    assert set(sess.headers()) == {"x-auth-token"}
    assert me.status == 200 and me.json() == {"login": apps.USER}


def test_a_200_without_a_credential_is_not_a_login() -> None:
    """``{"status": "fail"}`` with 200 to a wrong password: no credential, so not logged in; the
    right password gives a JWT at ``data.jwt``."""
    with fastapi("status") as base:
        report = LoginReport()
        with pytest.raises(AuthError) as err:
            login(base, apps.USER, "wrong-password", report=report)
        _, sess, me, _ = login(base, apps.USER, probe=["/api/profile"])
    message = str(err.value)
    assert "→ 200" in message and "status, message" in message  # the status and the keys seen
    assert "wrong-password" not in message and "password: ***" in message  # what was sent, masked
    assert "Fix:" in message and not report.ok and report.attempts
    assert sess.credential.where == "body data.jwt" and me.status == 200


def test_html_form_with_csrf_and_a_cookie_session_is_verified() -> None:
    """Flask: no OpenAPI, no configuration. The login page is found among the common paths, the
    form's fields (and its CSRF field) are used, and the session cookie counts only because the
    home page then differs from an anonymous one; a wrong password also gets a 302 and a session
    cookie, and is refused."""
    require_service("flask", importlib.util.find_spec("flask") is not None, "not installed")
    with wsgi(apps.flask_form_app()) as base:
        found = LoginReport()
        plan, sess, _, _ = login(base, apps.USER, report=found)
        report = LoginReport()
        with pytest.raises(AuthError) as err:
            login(base, apps.USER, "wrong-password", report=report)
    assert plan.url == base + "/login" and plan.page_url == base + "/login"
    assert plan.shape.source == "HTML login form of GET /login"
    assert plan.shape.fields() == ["csrf_token", "email", "password"]
    assert sess.credential.kind == "session cookie" and "verified" in sess.credential.where
    assert "Cookie" in sess.headers() and found.probed == ["GET /login → 200"]  # the first path
    assert "unverified session" in str(err.value) and "no request differed" in str(err.value)
    assert "auth.me_url" in report.fix or "me_url" in str(err.value)


def test_django_without_openapi_common_path_and_opaque_key() -> None:
    """Django: no document; ``/api/auth/login`` redirects to the slashed path (APPEND_SLASH),
    which refuses GET (405): a POST-only login. A guessed JSON body logs in; the DRF ``key`` is an
    opaque credential."""
    require_service("django", importlib.util.find_spec("django") is not None, "pip install django")
    with wsgi(apps.django_app()) as base:
        report = LoginReport()
        plan, sess, _, _ = login(base, apps.USERNAME, report=report)
    assert plan.url == base + "/api/auth/login/" and plan.guessed
    assert any("GET /api/auth/login/ → 405" in p for p in report.probed)
    assert sess.credential.kind == "opaque token" and sess.credential.where == "body key"


def test_a_configured_template_with_an_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """``[auth] login_body`` overrides discovery; ``{env:NAME}`` is read from the environment."""
    monkeypatch.setenv("LOGIN_EXTRA", "granted")
    cfg = AuthConfig(login_url="/api/signin",
                     login_body={"login": "{username}", "password": "{password}",
                                 "extra": "{env:LOGIN_EXTRA}"})
    with fastapi("status") as base:
        plan, sess, _, _ = login(base, apps.USER, cfg=cfg)
    assert plan.shape.source == "auth.login_body" and plan.encoding == "json"
    assert plan.shape.render("u", "p") == {"login": "u", "password": "p", "extra": "granted"}
    assert sess.credential.where == "body data.jwt"


def test_no_login_anywhere_says_what_was_tried() -> None:
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/items")
    def items() -> list[int]:
        return [1]

    with serve_app(bare) as base:
        async def go(http: Http) -> Any:
            report = LoginReport()
            with pytest.raises(AuthError) as err:
                await discover_login(http, base, None, AuthConfig(), Credentials("u", "p"), report)
            return err.value, report

        err, report = run(go)
    assert "no login operation found" in str(err) and "auth] login_url" in str(err)
    assert "GET /login → 404" in str(err) and len(report.probed) >= 10  # bounded, and listed


def test_a_guessed_body_the_server_refuses_as_malformed_lists_each_attempt() -> None:
    """The multipart login without its document: the guesses (JSON, form) are malformed for it
    (422), each attempt is listed with the keys of the answer, and the fix names login_body."""
    with fastapi("multipart") as base:
        async def go(http: Http) -> Any:
            with pytest.raises(AuthError) as err:
                await discover_login(http, base, None, AuthConfig(login_url="/session"),
                                     Credentials(apps.USER, apps.PASSWORD))
            return err.value

        err = run(go)
    text = str(err)
    assert text.count("→ 422") >= 2 and "json {email: 'alice@example.org', password: ***}" in text
    assert "malformed" in text and "login_body" in text and apps.PASSWORD not in text


def test_a_rate_limited_login_is_sent_again_after_a_short_retry_after() -> None:
    """A per-address login limiter the audit's earlier logins filled: a 429 asking for 1 s is
    waited out and the login sent once more (both requests counted and listed); one asking for
    an hour, or a second 429, stands, and the fix says the target rate-limited the login."""
    throttle = ["1"]
    with serve_app(apps.fastapi_app("oauth2", throttle=throttle)) as base:
        report = LoginReport()
        started = time.monotonic()
        plan, sess, _, sent = login(base, apps.USER, report=report)
        waited = time.monotonic() - started
        assert sess.credential.jwt and plan.verified
        assert [a.status for a in report.attempts] == [429, 200]
        assert "sent again after its Retry-After (1 s)" in report.attempts[0].outcome
        assert sent >= 2 and waited >= 1.0

        for answers in (["3600"], ["1", "1"]):
            throttle[:] = answers
            report = LoginReport()
            with pytest.raises(AuthError) as err:
                login(base, apps.USER, report=report)
            assert [a.status for a in report.attempts] == [429] * len(answers)
            assert "rate-limited the login" in str(err.value)
            assert throttle == []  # no third request


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 2.5 ", 2.5), ("", None), ("soon", None), ("-3", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: no wait
])
def test_retry_after_values(value: str, expected: float | None) -> None:
    ex = Exchange("POST", "http://127.0.0.1/login", {}, b"", 429,
                  {"retry-after": value} if value else {})
    assert retry_after(ex) == expected


def test_the_wait_stays_within_the_senders_probe_budget() -> None:
    """No wait past what is left of the sending check's probe budget (the retry would be
    refused): with 5 s left, a 30 s Retry-After is not waited for and the 429 stands."""
    from prodaudit.auth.session import LOGIN_RETRY_MAX_WAIT, _wait_allowed
    from prodaudit.http import Budget, probe_scope

    assert _wait_allowed() == LOGIN_RETRY_MAX_WAIT  # outside any check
    with probe_scope("SEC-XXX", Budget(10, 5.0)) as scope:
        assert _wait_allowed() == 4.0
        scope.first = time.monotonic() - 4.5
        assert _wait_allowed() < 0
        throttle = ["30"]
        with serve_app(apps.fastapi_app("oauth2", throttle=throttle)) as base:
            scope.first = None
            report = LoginReport()
            with pytest.raises(AuthError):
                login(base, apps.USER, report=report)
        assert [a.status for a in report.attempts] == [429]  # no wait, so no second request
        assert throttle == []
