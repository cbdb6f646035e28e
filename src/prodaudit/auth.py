"""Login discovery and the audit account's session (shared by the functional and security
suites)."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from prodaudit.config import AuthConfig
from prodaudit.errors import InputError, ProdauditError
from prodaudit.http import Exchange, Http, join_url
from prodaudit.loaders import load_json
from prodaudit.openapi import OpenAPIDoc, Operation

LOGIN_PATH_RE = (
    r"(^|/)(login|log-in|signin|sign-in|token|access-token|jwt/create|auth/jwt/login)/?$"
)
ME_PATH_RE = r"(^|/)(me|whoami|profile|current[-_]?user|user)/?$"
REFRESH_PATH_RE = r"(^|/)(refresh|token/refresh|refresh[-_]?token)/?$"
LOGOUT_PATH_RE = r"(^|/)(logout|log-out|signout|sign-out|revoke)/?$"
TOKEN_KEYS = ("access_token", "accessToken", "token", "jwt", "id_token", "access")
REFRESH_KEYS = ("refresh_token", "refreshToken", "refresh")
JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")


class AuthError(ProdauditError):
    """The audit account could not log in; the message says why."""


@dataclass
class Credentials:
    username: str
    password: str


@dataclass
class AuthSession:
    """A logged-in audit account."""

    login_url: str
    body_kind: str
    credentials: Credentials
    access_token: str
    scheme: str
    refresh_token: str | None
    login_exchange: Exchange
    token_in_cookie: str | None = None
    expires_in: float | None = None
    obtained_at: float = field(default_factory=time.monotonic)

    def headers(self, token: str | None = None) -> dict[str, str]:
        tok = token if token is not None else self.access_token
        if self.token_in_cookie:
            return {"Cookie": f"{self.token_in_cookie}={tok}"}
        return {"Authorization": f"{self.scheme} {tok}".strip()}

    @property
    def stale(self) -> bool:
        """Close to expiry (short-lived tokens are re-obtained)."""
        if not self.expires_in:
            return False
        return time.monotonic() - self.obtained_at > self.expires_in * 0.8


def credentials_from_env(cfg: AuthConfig, second: bool = False) -> Credentials | None:
    user_env = cfg.second_username_env if second else cfg.username_env
    pass_env = cfg.second_password_env if second else cfg.password_env
    user, pw = os.environ.get(user_env), os.environ.get(pass_env)
    if not user or not pw:
        return None
    return Credentials(user, pw)


def find_operation(
    doc: OpenAPIDoc | None, pattern: str, methods: tuple[str, ...]
) -> Operation | None:
    if doc is None:
        return None
    ops = doc.find(pattern, methods)
    return sorted(ops, key=lambda o: len(o.path))[0] if ops else None


def login_url(doc: OpenAPIDoc | None, cfg: AuthConfig, base_url: str) -> str | None:
    if cfg.login_url:
        return join_url(base_url, cfg.login_url)
    if doc is not None:
        tok = doc.token_url()
        if tok:
            return join_url(base_url, tok)
        op = find_operation(doc, LOGIN_PATH_RE, ("POST",))
        if op:
            return join_url(base_url, op.path)
    return None


def _username_field(doc: OpenAPIDoc | None, url: str, cfg: AuthConfig) -> str:
    if cfg.username_field:
        return cfg.username_field
    if doc is not None:
        for op in doc.operations:
            if op.method == "POST" and url.endswith(op.path) and op.request_body:
                for media in (op.request_body.get("content") or {}).values():
                    props = ((media or {}).get("schema") or {}).get("properties") or {}
                    for name in ("username", "email", "login", "user"):
                        if name in props:
                            return name
    return "username"


def extract_tokens(
    ex: Exchange,
) -> tuple[str | None, str | None, str | None, str | None, float | None]:
    """(access, refresh, scheme, cookie_name, expires_in) from a login response."""
    access = refresh = scheme = cookie = None
    expires: float | None = None
    body: Any = None
    try:
        body = ex.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if isinstance(body, dict):
        holders = [body] + [v for v in body.values() if isinstance(v, dict)]
        for h in holders:
            access = access or next(
                (str(h[k]) for k in TOKEN_KEYS if isinstance(h.get(k), str)), None
            )
            refresh = refresh or next(
                (str(h[k]) for k in REFRESH_KEYS if isinstance(h.get(k), str)), None
            )
            if isinstance(h.get("token_type"), str):
                scheme = h["token_type"]
            if isinstance(h.get("expires_in"), int | float):
                expires = float(h["expires_in"])
    if access is None:
        for raw in ex.header_all("set-cookie"):
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if JWT_RE.match(value) and "refresh" not in name.lower():
                access, cookie = value, name.strip()
                break
    if scheme and scheme.lower() == "bearer":
        scheme = "Bearer"
    if expires is None and access is not None:
        expires = jwt_lifetime(access)
    return access, refresh, scheme, cookie, expires


def jwt_lifetime(token: str) -> float | None:
    """``exp - iat`` of an (unverified) JWT, so short-lived tokens are re-obtained in time."""
    if not JWT_RE.match(token):
        return None
    import base64

    part = token.split(".")[1]
    try:
        claims = load_json(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)), "JWT claims")
    except (ValueError, TypeError, InputError):
        return None
    if not isinstance(claims, dict):
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and isinstance(iat, int | float) and exp > iat:
        return float(exp - iat)
    if isinstance(exp, int | float):
        return max(float(exp) - time.time(), 0.0) or None
    return None


def username_field(doc: OpenAPIDoc | None, url: str, cfg: AuthConfig) -> str:
    """The login body's user-name field (configured, from the request schema, or "username")."""
    return _username_field(doc, url, cfg)


def login_body_kinds(doc: OpenAPIDoc | None, cfg: AuthConfig, url: str) -> list[str]:
    """Body encodings to try, in order: the configured one, else the request schema's media type,
    else form first for an OAuth2 ``tokenUrl`` and JSON first otherwise."""
    if cfg.login_body != "auto":
        return [cfg.login_body]
    if doc is not None:
        for op in doc.operations:
            if op.method == "POST" and url.endswith(op.path) and op.request_body:
                media = " ".join((op.request_body.get("content") or {}).keys()).lower()
                if "form" in media and "json" not in media:
                    return ["form", "json"]
                if "json" in media and "form" not in media:
                    return ["json", "form"]
        tok = doc.token_url()
        if tok and url.endswith(tok):
            return ["form", "json"]
        return ["json", "form"]
    return ["form", "json"]


async def login_attempt(
    http: Http, url: str, kind: str, field_name: str, username: str, password: str
) -> Exchange:
    """One login request (``kind`` "form" or "json"); the exchange, whatever its status. A login
    is the one unsafe request a read-only audit sends (``login=True``)."""
    payload = {field_name: username, "password": password}
    if kind == "form":
        return await http.request("POST", url, data=payload, login=True)
    return await http.request("POST", url, json=payload, login=True)


def find_endpoint(
    doc: OpenAPIDoc | None, configured: str | None, pattern: str, methods: tuple[str, ...],
    base_url: str,
) -> str | None:
    """URL of an auth endpoint: configured, or the shortest OpenAPI path matching ``pattern``."""
    if configured:
        return join_url(base_url, configured)
    op = find_operation(doc, pattern, methods)
    return join_url(base_url, op.path) if op else None


async def login(
    http: Http,
    base_url: str,
    doc: OpenAPIDoc | None,
    cfg: AuthConfig,
    creds: Credentials,
) -> AuthSession:
    url = login_url(doc, cfg, base_url)
    if url is None:
        raise AuthError("no login endpoint: none configured (auth.login_url), no OAuth2 tokenUrl "
                        "and no POST operation named like login/token in the OpenAPI document")
    field_name = _username_field(doc, url, cfg)
    last: Exchange | None = None
    for kind in login_body_kinds(doc, cfg, url):
        ex = await login_attempt(http, url, kind, field_name, creds.username, creds.password)
        last = ex
        if ex.status is None:
            raise AuthError(f"POST {url}: {ex.error}")
        if ex.status in (200, 201):
            access, refresh, scheme, cookie, expires = extract_tokens(ex)
            if not access:
                raise AuthError(f"POST {url} answered {ex.status} but no token in body or cookies")
            return AuthSession(
                login_url=url,
                body_kind=kind,
                credentials=creds,
                access_token=access,
                scheme=cfg.token_scheme or scheme or "Bearer",
                refresh_token=refresh,
                login_exchange=ex,
                token_in_cookie=cookie,
                expires_in=expires,
            )
        if ex.status == 429:
            raise AuthError(f"POST {url}: rate limited (429) before the audit could log in")
    assert last is not None
    raise AuthError(f"POST {url}: login with the audit account failed with HTTP {last.status}")
