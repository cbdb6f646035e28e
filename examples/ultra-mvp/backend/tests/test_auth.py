"""Accounts and tokens: /auth/register, /auth/token, /auth/refresh, /auth/logout, /users/me,
/admin/users — the happy paths and the ways they must refuse."""

from __future__ import annotations

import secrets

import jwt
from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    MakeClient,
    bearer,
    login,
    new_email,
    new_password,
    register,
)
from fastapi.testclient import TestClient


def test_register_login_me_flow(client: TestClient) -> None:
    email, password = new_email(), new_password()
    created = register(client, email.upper(), password)
    assert created["email"] == email  # normalised to lower case
    assert created["role"] == "user"
    assert created["links"] == {"self": "/users/me"}

    tokens = login(client, email, password)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert {"iss", "aud", "sub", "role", "type", "jti", "iat", "nbf", "exp"} <= claims.keys()
    assert claims["type"] == "access"

    me = client.get("/users/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json() == {"id": created["id"], "email": email, "role": "user"}


def test_login_sets_a_hardened_refresh_cookie(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    response = client.post("/auth/token", data={"username": email, "password": password})
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("refresh_token=", "httponly", "secure", "samesite=strict", "path=/auth"):
        assert attribute in cookie


def test_register_rejects_duplicates_and_short_passwords(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    again = client.post("/auth/register", json={"email": email, "password": password})
    assert again.status_code == 409
    assert again.json() == {"detail": "Email already registered"}

    short = client.post("/auth/register", json={"email": new_email(), "password": "Zq9-tiny"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "password"]
    assert "Zq9-tiny" not in short.text  # validation errors never echo the input


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    wrong = client.post("/auth/token", data={"username": email, "password": new_password()})
    unknown = client.post(
        "/auth/token", data={"username": new_email(), "password": new_password()}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Incorrect email or password"}
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_account_locks_after_repeated_failures(make_client: MakeClient) -> None:
    client = make_client(login_max_failures=3)
    email, password = new_email(), new_password()
    register(client, email, password)
    for _ in range(3):
        bad = client.post("/auth/token", data={"username": email, "password": new_password()})
        assert bad.status_code == 401
    locked = client.post("/auth/token", data={"username": email, "password": password})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


def test_login_is_rate_limited_per_client(make_client: MakeClient) -> None:
    client = make_client(rate_limit_login="2/60")
    for _ in range(2):
        response = client.post(
            "/auth/token", data={"username": new_email(), "password": new_password()}
        )
        assert response.status_code == 401
        assert response.headers["ratelimit-limit"] == "2"
    throttled = client.post(
        "/auth/token", data={"username": new_email(), "password": new_password()}
    )
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers


def test_protected_routes_need_a_valid_token(client: TestClient) -> None:
    assert client.get("/users/me").status_code == 401
    garbage = client.get("/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.status_code == 401
    assert garbage.json() == {"detail": "Could not validate credentials"}


def test_unsigned_and_foreign_tokens_are_rejected(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    claims = jwt.decode(
        login(client, email, password)["access_token"], options={"verify_signature": False}
    )
    unsigned = jwt.encode(claims, key="", algorithm="none")
    forged = jwt.encode(claims, key=secrets.token_urlsafe(48), algorithm="HS256")
    for token in (unsigned, forged):
        response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    tokens = login(client, email, password)
    response = client.get(
        "/users/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert response.status_code == 401


def test_refresh_rotates_the_refresh_token(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    first = login(client, email, password)
    rotated = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    assert rotated.json()["access_token"] != first["access_token"]
    assert client.get("/users/me", headers=bearer(rotated.json())).status_code == 200
    replay = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Refresh token has been revoked"}


def test_refresh_without_a_token(client: TestClient) -> None:
    response = client.post("/auth/refresh")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing refresh token"}


def test_logout_revokes_the_access_token(client: TestClient) -> None:
    email, password = new_email(), new_password()
    register(client, email, password)
    headers = bearer(login(client, email, password))
    assert client.post("/auth/logout", headers=headers).status_code == 204
    after = client.get("/users/me", headers=headers)
    assert after.status_code == 401
    assert after.json() == {"detail": "Token has been revoked"}


def test_admin_users_needs_the_admin_role(make_client: MakeClient) -> None:
    client = make_client(bootstrap_users=f"{ADMIN_EMAIL}:{ADMIN_PASSWORD}:admin")
    assert client.get("/admin/users").status_code == 401

    email, password = new_email(), new_password()
    register(client, email, password)
    forbidden = client.get("/admin/users", headers=bearer(login(client, email, password)))
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "Admin role required"}

    admin = bearer(login(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    listing = client.get("/admin/users", params={"limit": 10}, headers=admin)
    assert listing.status_code == 200
    assert {user["email"] for user in listing.json()} == {ADMIN_EMAIL, email}
    assert client.get("/admin/users", params={"limit": 0}, headers=admin).status_code == 422
