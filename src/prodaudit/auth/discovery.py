"""Where and how to log in (and register): from the configuration, the OpenAPI document, or —
without one — a small bounded set of common paths and shapes.

Login operations in an OpenAPI document, best first: the OAuth2 password flow's ``tokenUrl``;
then POST operations whose path, operationId or summary say login / token / signin / session
(registration, logout, refresh, reset and verification operations excluded). The body comes
from the operation's request schema (:mod:`prodaudit.auth.shapes`); an operation without a body
whose security requirement is HTTP Basic takes Basic credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from prodaudit.auth.shapes import (
    BodyShape,
    credentials_template,
    guessed_shapes,
    media_encoding,
    shapes_from_request_body,
    swagger2_shapes,
)
from prodaudit.config import AuthConfig
from prodaudit.http import join_url
from prodaudit.openapi import OpenAPIDoc, Operation

LOGIN_WORDS = re.compile(r"(^|[^a-z])(log[-_ ]?in|sign[-_ ]?in|signon|authenticate|token|tokens|"
                         r"session|sessions|jwt)([^a-z]|$)", re.I)
LOGIN_PATH_RE = (
    r"(^|/)(login|log-in|signin|sign-in|token|tokens|access-token|jwt/create|auth/jwt/login|"
    r"sessions?|authenticate)/?$"
)
NOT_LOGIN = re.compile(r"regist|sign[-_ ]?up|logout|log[-_ ]?out|sign[-_ ]?out|refresh|reset|"
                       r"verif|revoke|forgot|confirm|password[-_/]?change|change[-_]?password|"
                       r"activate|invite|otp|2fa|mfa|social|google|github|facebook|apple|callback|"
                       r"magic|blacklist|introspect|api[-_]?key", re.I)
ME_PATH_RE = r"(^|/)(me|whoami|profile|current[-_]?user|user|account)/?$"
REFRESH_PATH_RE = r"(^|/)(refresh|token/refresh|tokens/refresh|refresh[-_]?token)/?$"
LOGOUT_PATH_RE = r"(^|/)(logout|log-out|signout|sign-out|revoke)/?$"
REGISTER_PATH_RE = r"(^|/)(register|registration|signup|sign-up|sign_up|users/create|join)/?$"
REGISTER_WORDS = re.compile(r"regist|sign[-_ ]?up|create[-_ ]?(user|account)|(user|account)[-_ ]?create",
                            re.I)
# without an OpenAPI document: where logins usually are (probed with a safe GET first)
COMMON_LOGIN_PATHS = (
    "/login", "/api/login", "/auth/login", "/api/auth/login", "/api/v1/auth/login", "/api/v1/login",
    "/token", "/api/token", "/auth/token", "/api/auth/token", "/api/token/", "/api-token-auth/",
    "/auth/jwt/create/", "/signin", "/api/signin", "/users/login", "/api/users/login",
    "/accounts/login/", "/session", "/api/sessions", "/oauth/token",
)
MAX_COMMON_PROBES = len(COMMON_LOGIN_PATHS)
MAX_LOGIN_ATTEMPTS = 6  # POSTs spent discovering a shape (the real account, or a made-up one)


@dataclass(frozen=True)
class LoginTarget:
    """A login operation and the body shapes to try there, best first."""

    url: str
    shapes: tuple[BodyShape, ...]
    source: str  # why this is the login ("auth.login_url", "OAuth2 tokenUrl", ...)
    method: str = "POST"
    guessed: bool = False  # no schema, form or configuration says how: shapes are guesses

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def _path_match(op: Operation, path: str) -> bool:
    p = urlsplit(path).path.rstrip("/") or "/"
    return op.path.rstrip("/") == p or (p.endswith(op.path.rstrip("/")) and op.path != "/")


def operation_at(doc: OpenAPIDoc | None, path: str, method: str = "POST") -> Operation | None:
    if doc is None:
        return None
    ops = [o for o in doc.operations if o.method == method and _path_match(o, path)]
    return min(ops, key=lambda o: -len(o.path)) if ops else None


def _basic_scheme(doc: OpenAPIDoc, op: Operation) -> bool:
    names = {name for req in (op.security or ()) for name in req}
    schemes = doc.security_schemes
    return any(isinstance(schemes.get(n), dict) and schemes[n].get("type") == "http"
               and str(schemes[n].get("scheme", "")).lower() == "basic" for n in names) or any(
        isinstance(schemes.get(n), dict) and schemes[n].get("type") == "basic" for n in names)


def operation_shapes(doc: OpenAPIDoc, op: Operation) -> list[BodyShape]:
    """The body shapes an operation's schema gives: its request body (OpenAPI 3), its formData
    or body parameters (Swagger 2), HTTP Basic for a body-less operation secured by Basic."""
    source = f"OpenAPI schema of {op.method} {op.path}"
    shapes = shapes_from_request_body(op.request_body, doc.resolve, source)
    if not shapes and op.parameters:
        raw = (doc.spec.get("paths") or {}).get(op.path, {}).get(op.method.lower(), {})
        consumes = list(raw.get("consumes") or doc.spec.get("consumes") or [])
        shapes = swagger2_shapes(op.parameters, consumes, source)
    if not shapes and _basic_scheme(doc, op):
        shapes = [BodyShape("basic", {}, f"{source} (HTTP Basic security)")]
    return shapes


def _login_rank(op: Operation) -> tuple[int, int] | None:
    """How strongly an operation says login (lower is better), None when it does not."""
    op_id = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", op.operation_id)  # signInUser → sign In User
    text = " ".join((op.path, op_id, op.summary))
    if NOT_LOGIN.search(op.path) or NOT_LOGIN.search(op_id):
        return None
    if re.search(LOGIN_PATH_RE, op.path, re.I):
        return 0, len(op.path)
    if LOGIN_WORDS.search(op_id) or LOGIN_WORDS.search(op.summary):
        return (1 if not NOT_LOGIN.search(text) else 3), len(op.path)
    if LOGIN_WORDS.search(op.path):
        return 2, len(op.path)
    return None


def login_operations(doc: OpenAPIDoc) -> list[Operation]:
    """POST operations that are logins, best first (module docstring)."""
    ranked = [(r, op) for op in doc.operations if op.method == "POST" and (r := _login_rank(op))]
    return [op for _, op in sorted(ranked, key=lambda ro: ro[0])]


def configured_shapes(cfg: AuthConfig) -> list[BodyShape]:
    """``[auth] login_body`` as a template (with ``login_encoding``), or an encoding that only
    restricts the discovered shapes (empty list)."""
    body = cfg.login_body
    if isinstance(body, dict):
        enc = cfg.login_encoding if cfg.login_encoding != "auto" else (
            "form" if any(k.lower() == "grant_type" for k in body) else "json")
        return [BodyShape(enc, body, "auth.login_body")]
    return []


def _restrict(shapes: list[BodyShape], cfg: AuthConfig) -> list[BodyShape]:
    """Apply ``auth.login_body = "form"|"json"|…`` and ``auth.username_field``."""
    out = shapes
    if isinstance(cfg.login_body, str) and cfg.login_body != "auto":
        same = [s for s in shapes if s.encoding == cfg.login_body]
        out = same or [replace(s, encoding=cfg.login_body) for s in shapes if s.encoding != "basic"]
    if cfg.username_field:
        fixed = []
        for s in out:
            t = {k: v for k, v in s.template.items() if v != "{username}"}
            if s.encoding != "basic":
                t = {cfg.username_field: "{username}", **t}
            fixed.append(replace(s, template=t))
        out = list(dict.fromkeys(fixed))
    return out


def login_targets(doc: OpenAPIDoc | None, cfg: AuthConfig, base_url: str) -> list[LoginTarget]:
    """Every login target to try, best first, with the shapes to try at each (without a document
    and a configured path, empty: the caller probes :data:`COMMON_LOGIN_PATHS`)."""
    targets: list[LoginTarget] = []
    configured = configured_shapes(cfg)
    if cfg.login_url:
        op = operation_at(doc, cfg.login_url)
        shapes = configured or (operation_shapes(doc, op) if doc and op else [])
        guessed = not shapes
        targets.append(LoginTarget(join_url(base_url, cfg.login_url),
                                   tuple(_restrict(shapes or guessed_shapes("guess"), cfg)),
                                   "auth.login_url", guessed=guessed))
        return targets
    if doc is None:
        return targets
    token_url = doc.token_url()
    seen: set[str] = set()
    if token_url:
        op = operation_at(doc, token_url)
        shapes = configured or (operation_shapes(doc, op) if op else []) or [
            BodyShape("form", {"grant_type": "password", "username": "{username}",
                               "password": "{password}"}, "OAuth2 password flow (RFC 6749 4.3)")]
        targets.append(LoginTarget(join_url(base_url, token_url), tuple(_restrict(shapes, cfg)),
                                   "OAuth2 password flow tokenUrl"))
        seen.add(urlsplit(join_url(base_url, token_url)).path.rstrip("/"))
    for op in login_operations(doc):
        url = join_url(base_url, op.path)
        if urlsplit(url).path.rstrip("/") in seen:
            continue
        seen.add(urlsplit(url).path.rstrip("/"))
        shapes = configured or operation_shapes(doc, op)
        if not shapes and op.request_body:
            continue  # a body without a password field: not a login (e.g. POST /tokens/reset)
        guessed = not shapes
        targets.append(LoginTarget(url, tuple(_restrict(shapes or guessed_shapes("guess"), cfg)),
                                   f"OpenAPI operation {op.method} {op.path}", guessed=guessed))
    return targets[:4]


def register_operation(doc: OpenAPIDoc | None, cfg: AuthConfig) -> Operation | None:
    """The registration operation: ``auth.register_url``, else a POST whose path, operationId or
    summary says register/sign-up/create user and whose body has a password field, else an
    unprotected POST on a users collection with a password field."""
    if doc is None:
        return None
    if cfg.register_url:
        return operation_at(doc, cfg.register_url)

    def has_password(op: Operation) -> bool:
        content = (op.request_body or {}).get("content") or {}
        return any(media_encoding(str(mt)) and credentials_template(
            (m or {}).get("schema") or {}, doc.resolve) for mt, m in content.items())

    posts = [op for op in doc.operations if op.method == "POST" and has_password(op)]
    named = [op for op in posts if re.search(REGISTER_PATH_RE, op.path, re.I)
             or REGISTER_WORDS.search(op.operation_id) or REGISTER_WORDS.search(op.summary)]
    if named:
        return min(named, key=lambda o: len(o.path))
    users = [op for op in posts if re.search(r"(^|/)(users?|accounts?)/?$", op.path, re.I)
             and not doc.is_protected(op)]
    return min(users, key=lambda o: len(o.path)) if users else None


def find_endpoint(doc: OpenAPIDoc | None, configured: str | None, pattern: str,
                  methods: tuple[str, ...], base_url: str) -> str | None:
    """URL of an auth endpoint: configured, or the shortest OpenAPI path matching ``pattern``."""
    if configured:
        return join_url(base_url, configured)
    if doc is None:
        return None
    ops = [op for op in doc.find(pattern, methods) if not op.path_params]
    return join_url(base_url, min(ops, key=lambda o: len(o.path)).path) if ops else None
