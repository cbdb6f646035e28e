"""Finding the credential a login answer carries, wherever it is.

- a JWT-shaped string anywhere in the JSON body (any key, any depth: ``access_token``,
  ``auth_token``, ``data.jwt`` …), refresh tokens told apart by their key;
- an opaque token under a token-named key (an OAuth2 ``access_token`` that is not a JWT, a DRF
  ``key``, a ``session_token``);
- a response header: ``Authorization: Bearer …``, a token-named header (``X-Auth-Token``), or any
  header whose value is a JWT;
- ``Set-Cookie``: a JWT cookie, else the session cookies the login set (a cookie session is a
  credential too; whether it really is a login is verified by the caller, since many
  applications set a session cookie on a failed login as well).

The scheme comes from the OpenAPI ``securitySchemes`` (bearer, an apiKey header), the answer's
``token_type``, else ``Bearer``.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.errors import InputError
from prodaudit.http import Exchange
from prodaudit.loaders import load_json

JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
JWT_SEARCH = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
TOKEN_KEY = re.compile(r"^(access_?token|accesstoken|auth_?token|token|jwt|id_?token|key|api_?key|"
                       r"session_?token|session_?id|bearer|access|authorization|auth)$", re.I)
REFRESH_KEY = re.compile(r"refresh", re.I)
NOT_A_CREDENTIAL_KEY = re.compile(r"csrf|xsrf|nonce|state|reset|verif|confirm|invite|captcha", re.I)
TOKEN_HEADERS = ("x-auth-token", "x-access-token", "access-token", "x-token", "token", "x-session-token",
                 "x-api-key", "x-jwt", "auth-token")
SESSION_COOKIE = re.compile(r"sess|sid$|^sid|auth|token|jwt|remember|login|user|connect", re.I)
NOT_SESSION_COOKIE = re.compile(r"csrf|xsrf|lang|locale|theme|consent|pref|tz|_ga|analytics", re.I)
OPAQUE_RE = re.compile(r"^[A-Za-z0-9._~+/=:-]{16,4096}$")


def is_jwt(token: str) -> bool:
    """A compact JWS: three base64url parts, the first two JSON objects, a header with ``alg``
    (a Flask/itsdangerous session cookie is not one: its second part is a timestamp)."""
    if not JWT_RE.match(token):
        return False
    header, payload = _b64json(token.split(".")[0]), _b64json(token.split(".")[1])
    return isinstance(header, dict) and isinstance(header.get("alg"), str) and isinstance(payload, dict)


def _b64json(part: str) -> Any:
    try:
        return load_json(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)), "JWT part")
    except (ValueError, TypeError, InputError):
        return None


def jwt_claims(token: str) -> dict[str, Any] | None:
    if not is_jwt(token):
        return None
    claims = _b64json(token.split(".")[1])
    return claims if isinstance(claims, dict) else None


def jwt_lifetime(token: str) -> float | None:
    """``exp - iat`` of an (unverified) JWT, so short-lived tokens are re-obtained in time."""
    claims = jwt_claims(token)
    if claims is None:
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and isinstance(iat, int | float) and exp > iat:
        return float(exp - iat)
    if isinstance(exp, int | float):
        return max(float(exp) - time.time(), 0.0) or None
    return None


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    attributes: str  # everything after the value, for flags (Secure, HttpOnly ...)

    @property
    def deleted(self) -> bool:
        low = self.attributes.lower()
        return self.value in ("", '""') or "max-age=0" in low or "expires=thu, 01 jan 1970" in low


def set_cookies(ex: Exchange) -> list[Cookie]:
    out = []
    for raw in ex.header_all("set-cookie"):
        name, _, rest = raw.partition("=")
        value, _, attrs = rest.partition(";")
        if name.strip():
            out.append(Cookie(name.strip(), value.strip(), attrs.strip()))
    return out


@dataclass
class Credential:
    """What a login obtained and how to send it: ``Authorization: <scheme> <token>``, a custom
    header, or cookies."""

    token: str  # the token, or the session cookie's value
    where: str  # "body access_token", "body data.jwt", "header X-Auth-Token", "cookie sessionid"
    header: str = "Authorization"  # "Authorization", a custom header name, or "Cookie"
    scheme: str = "Bearer"
    refresh: str | None = None
    expires_in: float | None = None
    cookies: dict[str, str] = field(default_factory=dict)  # cookies to send (cookie sessions)
    cookie_name: str | None = None  # the cookie that carries the token (JWT or session)

    @property
    def jwt(self) -> bool:
        return is_jwt(self.token)

    @property
    def kind(self) -> str:
        if self.header == "Cookie":
            return "jwt cookie" if self.jwt else "session cookie"
        return "jwt" if self.jwt else "opaque token"

    def headers(self, token: str | None = None) -> dict[str, str]:
        tok = self.token if token is None else token
        if self.header == "Cookie":
            jar = dict(self.cookies)
            if self.cookie_name:
                jar[self.cookie_name] = tok
            return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        if self.header.lower() == "authorization":
            return {"Authorization": f"{self.scheme} {tok}".strip()}
        return {self.header: tok}


def walk(node: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Every (dotted key path, leaf value) of a JSON document, bounded in depth and count."""
    if depth > 8:
        return
    if isinstance(node, dict):
        for k, v in list(node.items())[:200]:
            yield from walk(v, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node[:50]):
            yield from walk(v, f"{path}[{i}]", depth + 1)
    else:
        yield path, node


def _last_key(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def _body_tokens(body: Any) -> tuple[tuple[str, str] | None, str | None, str | None, float | None]:
    """(access (path, token), refresh, token_type, expires_in) from a JSON body."""
    jwts: list[tuple[str, str]] = []
    opaque: list[tuple[str, str]] = []
    refresh = token_type = None
    expires: float | None = None
    for path, value in walk(body):
        key = _last_key(path)
        if key.lower() == "token_type" and isinstance(value, str):
            token_type = value
        elif key.lower() in ("expires_in", "expiresin") and isinstance(value, int | float):
            expires = float(value)
        if not isinstance(value, str) or NOT_A_CREDENTIAL_KEY.search(key):
            continue
        if REFRESH_KEY.search(path):
            refresh = refresh or (value if (is_jwt(value) or OPAQUE_RE.match(value)) else None)
            continue
        if is_jwt(value):
            jwts.append((path, value))
        elif TOKEN_KEY.match(key) and OPAQUE_RE.match(value) and not value.isdigit():
            opaque.append((path, value))
    # id_token only when nothing else; access-named keys first
    jwts.sort(key=lambda pv: ("id_token" in pv[0].lower(), not re.search("access", pv[0], re.I)))
    opaque.sort(key=lambda pv: ("id" in _last_key(pv[0]).lower(), not re.search("access", pv[0], re.I)))
    access = jwts[0] if jwts else (opaque[0] if opaque else None)
    return access, refresh, token_type, expires


def _header_token(ex: Exchange) -> tuple[str, str, str] | None:
    """(header name, scheme, token) from the login answer's headers."""
    auth = ex.header("authorization")
    if auth:
        scheme, _, tok = auth.strip().partition(" ")
        return ("Authorization", scheme, tok.strip()) if tok else ("Authorization", "", scheme)
    for name in TOKEN_HEADERS:
        val = ex.header(name)
        if val and OPAQUE_RE.match(val.strip()):
            return (name, "", val.strip())
    for name, val in ex.headers.items():
        if name.lower() != "set-cookie" and JWT_SEARCH.fullmatch(val.strip()) and is_jwt(val.strip()):
            return (name, "", val.strip())
    return None


def find_credential(ex: Exchange, prior_cookies: Mapping[str, str] | None = None) -> Credential | None:
    """The credential in a login answer (module docstring), or None. ``prior_cookies`` are the
    cookies the client already holds (from the login page), sent along with a cookie session."""
    body: Any = None
    ctype = (ex.header("content-type") or "").lower()
    if "json" in ctype or ex.body[:1] in (b"{", b"["):
        try:
            body = load_json(ex.body, f"{ex.method} {ex.url}")
        except InputError:
            body = None
    access, refresh, token_type, expires = (
        _body_tokens(body) if body is not None else (None, None, None, None))
    cookies = set_cookies(ex)
    jar = dict(prior_cookies or {})
    jar.update({c.name: c.value for c in cookies if not c.deleted})
    for c in cookies:
        if c.deleted:
            jar.pop(c.name, None)
    if refresh is None:
        refresh = next((c.value for c in cookies if REFRESH_KEY.search(c.name) and not c.deleted), None)
    scheme = "Bearer" if (token_type or "").lower() == "bearer" else (token_type or "Bearer")
    if access is not None:
        path, tok = access
        return Credential(tok, f"body {path}", scheme=scheme, refresh=refresh,
                          expires_in=expires if expires is not None else jwt_lifetime(tok))
    header = _header_token(ex)
    if header is not None:
        name, hscheme, tok = header
        return Credential(tok, f"header {name}", header=name if name != "Authorization" else "Authorization",
                          scheme=hscheme or scheme, refresh=refresh, expires_in=jwt_lifetime(tok))
    live = [c for c in cookies if not c.deleted and not REFRESH_KEY.search(c.name)]
    jwt_cookie = next((c for c in live if is_jwt(c.value)), None)
    if jwt_cookie is not None:
        return Credential(jwt_cookie.value, f"cookie {jwt_cookie.name}", header="Cookie", scheme="",
                          refresh=refresh, expires_in=jwt_lifetime(jwt_cookie.value), cookies=jar,
                          cookie_name=jwt_cookie.name)
    session = [c for c in live if SESSION_COOKIE.search(c.name) and not NOT_SESSION_COOKIE.search(c.name)]
    session = session or [c for c in live if not NOT_SESSION_COOKIE.search(c.name)]
    if session:
        c = session[0]
        return Credential(c.value, f"cookie {c.name}", header="Cookie", scheme="", refresh=refresh,
                          cookies=jar, cookie_name=c.name)
    prior = {k: v for k, v in (prior_cookies or {}).items() if SESSION_COOKIE.search(k)
             and not NOT_SESSION_COOKIE.search(k)}
    if prior and ex.status is not None and ex.status < 400:
        # a session cookie set before the login and kept (aiohttp-session, fixation): whether the
        # login took is for the caller to verify
        name = next(iter(prior))
        return Credential(prior[name], f"cookie {name} (set before the login, unchanged)",
                          header="Cookie", scheme="", cookies=jar, cookie_name=name)
    return None


def response_keys(ex: Exchange) -> list[str]:
    """The keys of a JSON answer (dotted, first 20) for failure messages; the cookies and
    notable headers otherwise."""
    try:
        body = json.loads(ex.body)
    except ValueError:
        body = None
    keys = [p for p, _ in walk(body)][:20] if isinstance(body, dict | list) else []
    if not keys and ex.body:
        keys = [f"({(ex.header('content-type') or 'unknown type').split(';')[0]} body, "
                f"{len(ex.body)} bytes)"]
    cookies = [c.name for c in set_cookies(ex)]
    if cookies:
        keys.append("Set-Cookie: " + ", ".join(cookies))
    if ex.header("location"):
        keys.append(f"Location: {ex.header('location')}")
    return keys


def scheme_from_security(schemes: Mapping[str, Any]) -> tuple[str, str] | None:
    """(header, scheme) the OpenAPI security schemes say a token is sent with: an HTTP bearer
    scheme → ("Authorization", "Bearer"); an apiKey in a header → (its name, "") or, for an
    ``Authorization`` apiKey described with a prefix (DRF ``Token``), that prefix."""
    for scheme in schemes.values():
        if not isinstance(scheme, dict):
            continue
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            return "Authorization", "Bearer"
        if scheme.get("type") == "oauth2" or scheme.get("type") == "openIdConnect":
            return "Authorization", "Bearer"
    for scheme in schemes.values():
        if isinstance(scheme, dict) and scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            name = str(scheme.get("name") or "")
            if name.lower() == "authorization":
                m = re.search(r"\b(Token|Bearer|JWT)\b", str(scheme.get("description", "")))
                return "Authorization", m.group(1) if m else "Bearer"
            if name:
                return name, ""
    return None
