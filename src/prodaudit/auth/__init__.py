"""Logging in to any product, and the audit accounts (shared by the functional and security
suites).

- :mod:`~prodaudit.auth.discovery`: where the login (and registration) is: configuration, the
  OpenAPI document (OAuth2 ``tokenUrl``, operations that say login/token/signin/session), or
  common paths probed within a small budget;
- :mod:`~prodaudit.auth.shapes`: the body to send, from a request schema, an HTML form, the
  ``[auth] login_body`` template, or common guesses (JSON, form, multipart, HTTP Basic);
- :mod:`~prodaudit.auth.tokens`: the credential in the answer, wherever it is (JWT anywhere in
  the body, opaque tokens, headers, cookies, cookie sessions);
- :mod:`~prodaudit.auth.session`: the login adapter (:class:`LoginPlan`) every probe that logs
  in uses, the session, and what was tried when login fails;
- :mod:`~prodaudit.auth.accounts`: accounts the audit registers and deletes itself.
"""

from __future__ import annotations

import os

from prodaudit.auth.discovery import (
    LOGIN_PATH_RE,
    LOGOUT_PATH_RE,
    ME_PATH_RE,
    REFRESH_PATH_RE,
    REGISTER_PATH_RE,
    find_endpoint,
    login_targets,
)
from prodaudit.auth.session import (
    AuthError,
    AuthSession,
    Credentials,
    LoginPlan,
    LoginReport,
    discover_login,
    judge_login,
    login_with,
)
from prodaudit.auth.shapes import BodyShape
from prodaudit.auth.tokens import Credential, find_credential, is_jwt, jwt_claims, jwt_lifetime
from prodaudit.config import AuthConfig
from prodaudit.http import Exchange, Http
from prodaudit.openapi import OpenAPIDoc

__all__ = [
    "LOGIN_PATH_RE", "LOGOUT_PATH_RE", "ME_PATH_RE", "REFRESH_PATH_RE", "REGISTER_PATH_RE",
    "AuthError", "AuthSession", "BodyShape", "Credential", "Credentials", "LoginPlan",
    "LoginReport", "credentials_from_env", "discover_login", "extract_tokens", "find_credential",
    "find_endpoint", "is_jwt", "judge_login", "jwt_claims", "jwt_lifetime", "login",
    "login_targets", "login_with",
]


def credentials_from_env(cfg: AuthConfig, second: bool = False) -> Credentials | None:
    user_env = cfg.second_username_env if second else cfg.username_env
    pass_env = cfg.second_password_env if second else cfg.password_env
    user, pw = os.environ.get(user_env), os.environ.get(pass_env)
    if not user or not pw:
        return None
    return Credentials(user, pw)


def extract_tokens(ex: Exchange) -> tuple[str | None, str | None, str | None, str | None,
                                          float | None]:
    """(access, refresh, scheme, cookie name, expires_in) of an answer (a refresh answer)."""
    cred = find_credential(ex)
    if cred is None:
        return None, None, None, None, None
    cookie = cred.cookie_name if cred.header == "Cookie" else None
    return cred.token, cred.refresh, cred.scheme or None, cookie, cred.expires_in


async def login(http: Http, base_url: str, doc: OpenAPIDoc | None, cfg: AuthConfig,
                creds: Credentials, plan: LoginPlan | None = None) -> AuthSession:
    """Log ``creds`` in: with ``plan`` when known (one request), else by discovery."""
    if plan is not None:
        return await login_with(http, base_url, plan, cfg, creds)
    _, sess = await discover_login(http, base_url, doc, cfg, creds)
    return sess
