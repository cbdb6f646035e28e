"""Parsing units of the login adapter (no server): credentials in answers, bodies from schemas
and HTML forms, the configured template."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from prodaudit.auth.discovery import login_operations, register_operation
from prodaudit.auth.shapes import (
    BodyShape,
    credentials_template,
    login_forms,
    secret_literals,
    shape_from_form,
    shapes_from_request_body,
)
from prodaudit.auth.tokens import find_credential, is_jwt, response_keys, scheme_from_security
from prodaudit.config import AuthConfig
from prodaudit.errors import ConfigError
from prodaudit.http import Exchange
from prodaudit.openapi import parse

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc"


def answer(body: Any = None, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Exchange:
    import httpx

    raw = json.dumps(body).encode() if body is not None else b""
    hdrs = httpx.Headers([("content-type", "application/json")] + (headers or []))
    return Exchange("POST", "http://t/login", {}, b"", status, hdrs, raw)


def flask_session() -> str:
    payload = base64.urlsafe_b64encode(b'{"_user_id":"1"}').rstrip(b"=").decode()
    return f"{payload}.ZXhhbQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(("body", "where"), [
    ({"access_token": JWT, "token_type": "bearer"}, "body access_token"),
    ({"auth_token": JWT}, "body auth_token"),
    ({"data": {"jwt": JWT}, "status": "ok"}, "body data.jwt"),
    ({"result": [{"session": {"value": JWT}}]}, "body result[0].session.value"),
    ({"refresh": JWT.replace("alice", "bob"), "access": JWT}, "body access"),
    ({"user": {"email": "a@b", "token": JWT}}, "body user.token"),
])
def test_a_jwt_anywhere_in_the_body(body: dict[str, Any], where: str) -> None:
    cred = find_credential(answer(body))
    assert cred is not None and cred.token == JWT and cred.where == where and cred.jwt


def test_refresh_tokens_and_csrf_fields_are_not_the_credential() -> None:
    assert find_credential(answer({"refresh_token": JWT, "csrf_token": "x" * 40})) is None
    cred = find_credential(answer({"access_token": "opaque-" + "a" * 30, "refresh_token": JWT,
                                   "expires_in": 36000, "token_type": "Bearer"}))
    assert cred is not None and cred.kind == "opaque token" and cred.refresh == JWT
    assert cred.expires_in == 36000 and cred.scheme == "Bearer"


def test_opaque_tokens_by_key_and_not_every_string() -> None:
    cred = find_credential(answer({"key": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}))
    assert cred is not None and cred.where == "body key" and not cred.jwt
    assert find_credential(answer({"status": "fail", "message": "wrong login or password"})) is None
    assert find_credential(answer({"token": "short"})) is None
    assert find_credential(answer({"token": None, "error": "invalid"})) is None


def test_tokens_in_headers() -> None:
    cred = find_credential(answer({}, headers=[("Authorization", f"Bearer {JWT}")]))
    assert cred is not None and cred.where == "header Authorization" and cred.scheme == "Bearer"
    cred = find_credential(answer({}, headers=[("X-Auth-Token", "t" * 32)]))
    assert cred is not None and cred.headers() == {"x-auth-token": "t" * 32}
    cred = find_credential(answer({}, headers=[("X-Custom", JWT)]))
    assert cred is not None and cred.where == "header x-custom"


def test_cookies_jwt_and_session() -> None:
    cred = find_credential(answer({}, headers=[("set-cookie", f"access_token={JWT}; HttpOnly; Path=/"),
                                               ("set-cookie", f"refresh_token={JWT}x; HttpOnly")]))
    assert cred is not None and cred.kind == "jwt cookie" and cred.cookie_name == "access_token"
    assert cred.headers() == {"Cookie": f"access_token={JWT}; refresh_token={JWT}x"}
    session = find_credential(answer(None, 302, [("set-cookie", "sessionid=abc123; HttpOnly"),
                                                 ("set-cookie", "csrftoken=zzz; Path=/")]), {"lang": "en"})
    assert session is not None and session.kind == "session cookie" and session.cookie_name == "sessionid"
    assert session.headers()["Cookie"] == "lang=en; sessionid=abc123; csrftoken=zzz"


def test_a_flask_session_cookie_is_not_a_jwt() -> None:
    cookie = flask_session()
    assert cookie.startswith("eyJ") and not is_jwt(cookie) and is_jwt(JWT)
    cred = find_credential(answer(None, 302, [("set-cookie", f"session={cookie}; HttpOnly")]))
    assert cred is not None and cred.kind == "session cookie"


def test_a_session_set_before_the_login_and_kept() -> None:
    cred = find_credential(answer(None, 200), {"AIOHTTP_SESSION": "f00"})
    assert cred is not None and cred.cookie_name == "AIOHTTP_SESSION" and "unchanged" in cred.where
    assert find_credential(answer(None, 401), {"AIOHTTP_SESSION": "f00"}) is None


def test_response_keys_for_messages() -> None:
    keys = response_keys(answer({"detail": [{"loc": ["body", "username"], "msg": "field required"}]}, 422))
    assert keys[:2] == ["detail[0].loc[0]", "detail[0].loc[1]"]
    assert response_keys(answer(None, 302, [("set-cookie", "s=1"), ("location", "/")])) == [
        "Set-Cookie: s", "Location: /"]


@pytest.mark.parametrize(("schemes", "expected"), [
    ({"b": {"type": "http", "scheme": "bearer"}}, ("Authorization", "Bearer")),
    ({"o": {"type": "oauth2", "flows": {}}}, ("Authorization", "Bearer")),
    ({"t": {"type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Token-based: `Token <key>`"}}, ("Authorization", "Token")),
    ({"k": {"type": "apiKey", "in": "header", "name": "X-API-Token"}}, ("X-API-Token", "")),
    ({"c": {"type": "apiKey", "in": "cookie", "name": "sid"}}, None),
])
def test_scheme_from_security_schemes(schemes: dict[str, Any], expected: Any) -> None:
    assert scheme_from_security(schemes) == expected


# ---------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(("schema", "template"), [
    ({"properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
     {"username": "{username}", "password": "{password}"}),
    ({"properties": {"email": {"type": "string", "format": "email"}, "password": {"type": "string"},
                     "remember": {"type": "boolean"}}},
     {"email": "{username}", "password": "{password}"}),
    ({"properties": {"user": {"type": "object", "properties": {
        "email": {"type": "string"}, "password": {"type": "string"}}}}},
     {"user": {"email": "{username}", "password": "{password}"}}),
    ({"allOf": [{"properties": {"login": {"type": "string"}}},
                {"properties": {"pwd": {"type": "string"}}}]},
     {"login": "{username}", "pwd": "{password}"}),
    ({"properties": {"grant_type": {"type": "string", "pattern": "password"}, "username": {},
                     "password": {}, "scope": {"type": "string", "default": ""},
                     "client_id": {"type": "string"}}, "required": ["username", "password"]},
     {"username": "{username}", "password": "{password}", "grant_type": "password"}),
    ({"properties": {"user_email": {"type": "string"}, "password": {}, "tenant": {"enum": ["a", "b"]}},
      "required": ["tenant"]},
     {"user_email": "{username}", "password": "{password}", "tenant": "a"}),
    ({"properties": {"name": {"type": "string"}, "title": {"type": "string"}}}, None),
])
def test_credentials_template_from_schema(schema: dict[str, Any], template: Any) -> None:
    assert credentials_template(schema) == template


def test_shapes_per_media_type_and_rendering() -> None:
    body = {"content": {
        "application/x-www-form-urlencoded": {"schema": {"properties": {"username": {}, "password": {}}}},
        "multipart/form-data": {"schema": {"properties": {"username": {}, "password": {}}}},
        "application/xml": {"schema": {}},
    }}
    shapes = shapes_from_request_body(body, None, "S")
    assert [s.encoding for s in shapes] == ["form", "multipart"]
    assert shapes[0].request("u", "p") == {"data": {"username": "u", "password": "p"}}
    assert shapes[1].request("u", "p") == {"files": {"username": (None, "u"), "password": (None, "p")}}
    nested = BodyShape("form", {"user": {"email": "{username}", "password": "{password}"}})
    assert nested.request("u", "p") == {"data": {"user[email]": "u", "user[password]": "p"}}
    basic = BodyShape("basic").request("u", "p")
    assert basic == {"headers": {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}}
    assert nested.describe("u") == "form {user: {email: 'u', password: ***}}"


def test_html_login_forms() -> None:
    html = """<form action="/search"><input name="q"></form>
    <form method="POST" action="/session" enctype="multipart/form-data">
      <input type="hidden" name="authenticity_token" value="tok123">
      <input name="user[login]" type="text"><input name="user[password]" type="password">
      <input type="submit" name="commit" value="Sign in"></form>
    <form method="post"><input type="password" name="new"><input type="password" name="confirm"></form>"""
    forms = login_forms(html)
    assert len(forms) == 1 and forms[0].action == "/session"
    shape = shape_from_form(forms[0], "F")
    assert shape.encoding == "multipart"
    assert shape.render("u", "p") == {"authenticity_token": "tok123", "user[login]": "u",
                                      "user[password]": "p"}


def test_configured_template_validation() -> None:
    ok = AuthConfig(login_body={"username": "{username}", "password": "{password}",
                                "client_id": "public-id", "client_secret": "{env:CLIENT_SECRET}"})
    assert isinstance(ok.login_body, dict)
    template = {"client_secret": "s3cr3t", "nested": {"api_key": "k"}, "password": "{password}"}
    assert secret_literals(template) == ["client_secret", "nested.api_key"]
    from prodaudit.config import load_config

    with pytest.raises(ValueError, match="secret never lives in the file"):
        AuthConfig(login_body={"username": "{username}", "password": "{password}", "client_secret": "s3cr3t"})
    with pytest.raises(ValueError, match="password"):
        AuthConfig(login_body={"username": "{username}"})
    with pytest.raises(ConfigError, match="auth.login_body"):
        load_config({"auth": {"login_body": {"password": "{password}", "client_secret": "x"}}})


# ---------------------------------------------------------------------------------- discovery


def _doc(paths: dict[str, Any], schemes: dict[str, Any] | None = None) -> Any:
    return parse({"openapi": "3.0.3", "paths": paths,
                  "components": {"securitySchemes": schemes or {}}}, "t")


def _post(op_id: str = "", summary: str = "", props: tuple[str, ...] = ("username", "password")) -> Any:
    return {"post": {"operationId": op_id, "summary": summary, "requestBody": {"content": {
        "application/json": {"schema": {"properties": {p: {"type": "string"} for p in props}}}}}}}


def test_login_operations_by_path_operation_id_and_summary() -> None:
    doc = _doc({
        "/api/auth/register": _post("register"),
        "/api/auth/logout": {"post": {}},
        "/api/auth/refresh": _post("refresh"),
        "/api/v2/authenticate": _post(),
        "/api/sessions": _post(summary="Create a session"),
        "/api/v2/x": _post(op_id="signInUser"),
        "/api/password/reset": _post(summary="reset your password"),
    })
    assert [op.path for op in login_operations(doc)] == [
        "/api/sessions", "/api/v2/authenticate", "/api/v2/x"]


def test_registration_operation() -> None:
    doc = _doc({"/api/users": _post(props=("email", "password")),
                "/api/signup": _post(props=("email", "password", "password2"))})
    op = register_operation(doc, AuthConfig())
    assert op is not None and op.path == "/api/signup"
    doc2 = _doc({"/api/users": _post(props=("email", "password")), "/api/items": _post(props=("name",))})
    op2 = register_operation(doc2, AuthConfig())
    assert op2 is not None and op2.path == "/api/users"
