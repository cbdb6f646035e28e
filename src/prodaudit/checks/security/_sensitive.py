"""What a response must not carry: password, hash, secret and key fields, tokens outside the
authentication endpoints, e-mail addresses of accounts. Shared by SEC-075 and SEC-076; values are
never quoted, only described. Not a check module."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from prodaudit.checks.api import Exchange
from prodaudit.llmdetect import words_of

MAX_NODES = 5000
PASSWORD_KEYS = frozenset({"password", "passwd", "pwd", "pass", "userpassword", "plainpassword",
                           "rawpassword"})
HASH_KEYS = frozenset({"passwordhash", "hashedpassword", "pwdhash", "passhash", "passwordhashed",
                       "hash", "passwordsalt", "salt", "passworddigest"})
SECRET_KEYS = frozenset({"secret", "secretkey", "clientsecret", "apisecret", "apikey",
                         "privatekey", "otpsecret", "totpsecret", "mfasecret", "signingkey",
                         "jwtsecret", "encryptionkey", "awssecretaccesskey", "secretaccesskey"})
TOKEN_KEYS = frozenset({"token", "accesstoken", "refreshtoken", "authtoken", "apitoken", "jwt",
                        "resettoken", "passwordresettoken", "verificationtoken", "sessionid",
                        "sessiontoken", "jwtkey"})
EMAIL_KEYS = frozenset({"email", "emailaddress", "mail", "useremail", "contactemail"})
AUTH_PATH_WORDS = frozenset({"login", "token", "tokens", "refresh", "register", "signup",
                             "signin", "auth", "oauth", "session", "sessions", "jwt"})
MASKED_RE = re.compile(r"^[*•x.\-]*$|^\*+.*|^redacted$|^hidden$|^none$|^null$", re.I)
HASH_RE = re.compile(
    r"^\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|pbkdf2[-\w]*|[156])\$|^pbkdf2[_:]sha\d+[$:]|"
    r"^(?:bcrypt|argon2|scrypt|sha\d+)\$|^[0-9a-f]{32,128}$", re.I)
EMAIL_RE = re.compile(r"^[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+$")


@dataclass(frozen=True)
class Exposure:
    """One sensitive value in a response: where (a JSON path), what kind, never the value."""

    kind: str  # "password" | "hash" | "secret" | "token" | "email"
    where: str  # JSON path, e.g. items[0].password_hash
    described: str  # "a bcrypt hash", "a 12-character value"
    value: str = field(default="", repr=False, compare=False)  # never shown: compared only


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _walk(node: Any, path: str, budget: list[int]) -> Iterator[tuple[str, str, Any]]:
    """(json path, key, value) of every scalar under a key, bounded."""
    budget[0] -= 1
    if budget[0] < 0:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            if isinstance(v, dict | list):
                yield from _walk(v, sub, budget)
            else:
                yield sub, str(k), v
    elif isinstance(node, list):
        for i, v in enumerate(node[:200]):
            yield from _walk(v, f"{path}[{i}]", budget)


def describe_value(value: str) -> str:
    if HASH_RE.match(value):
        algo = value.split("$")[1] if value.startswith("$") else value.split("$")[0].split(":")[0]
        return f"a {algo or 'hex'} hash" if not re.fullmatch(r"[0-9a-f]+", value, re.I) else \
            f"a {len(value)}-digit hex digest"
    return f"a {len(value)}-character value"


# a prefixed name ends like one of these: ``db_password``, ``smtp_passwd``, ``stripe_secret_key``,
# ``openai_api_key``, ``oauth_client_secret``
PASSWORD_SUFFIXES = ("password", "passwd")
SECRET_SUFFIXES = ("secret", "secretkey", "apikey", "privatekey", "signingkey", "secretaccesskey")
# ... unless its first word makes it a flag or an action (``has_password``, ``resetPassword``)
FLAG_WORDS = frozenset({"has", "is", "needs", "requires", "must", "reset", "forgot", "change",
                        "show", "use", "uses", "with", "no", "can", "allow"})
_KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _named(key: str, exact: frozenset[str], suffixes: tuple[str, ...]) -> bool:
    k = _norm(key)
    if k in exact:
        return True
    first = _KEY_WORD.search(key)
    return k.endswith(suffixes) and (first is None or first.group(0).lower() not in FLAG_WORDS)


def _kind(key: str, value: str) -> str | None:
    k = _norm(key)
    if _named(key, PASSWORD_KEYS, PASSWORD_SUFFIXES):
        return "hash" if HASH_RE.match(value) else "password"
    if k in HASH_KEYS or (k.endswith("hash") and "password" in k):
        return "hash"
    if _named(key, SECRET_KEYS, SECRET_SUFFIXES):
        return "secret"
    if k in TOKEN_KEYS:
        return "token"
    if k in EMAIL_KEYS and EMAIL_RE.match(value):
        return "email"
    return None


def json_exposures(body: Any) -> list[Exposure]:
    """The sensitive fields of a JSON document (non-empty, unmasked string values)."""
    out = []
    for where, key, value in _walk(body, "", [MAX_NODES]):
        if not isinstance(value, str) or not value.strip() or MASKED_RE.match(value.strip()):
            continue
        kind = _kind(key, value.strip())
        if kind is not None:
            out.append(Exposure(kind, where, describe_value(value.strip()), value.strip()))
    return out


def json_body(ex: Exchange) -> Any:
    if "json" not in (ex.header("content-type") or "").lower() or ex.truncated:
        return None
    try:
        return json.loads(ex.body)
    except ValueError:
        return None


def anonymous(ex: Exchange) -> bool:
    """The request carried no credential (no Authorization, Cookie or API-key header)."""
    return not any(k.lower() in ("authorization", "cookie") or "api-key" in k.lower()
                   or "apikey" in k.lower() or k.lower() == "x-api-key"
                   for k in ex.request_headers)


def auth_endpoint(ex: Exchange) -> bool:
    """An answer of a login, token, refresh or registration endpoint (tokens belong there)."""
    return bool(words_of(urlsplit(ex.url).path) & AUTH_PATH_WORDS)


def shape(url: str) -> str:
    """The path with numeric and UUID-like segments as ``{id}``: one finding per route."""
    path = urlsplit(url).path
    return re.sub(r"/(?:\d+|[0-9a-f-]{32,36})(?=/|$)", "/{id}", path)
