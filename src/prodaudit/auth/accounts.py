"""Audit accounts the audit creates itself (``--allow-mutations`` without configured accounts):
registered through the discovered registration operation with a body built from its schema,
and deleted afterwards where the API lets an account delete itself; what cannot be deleted is
listed (``facts.accounts``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from prodaudit.auth.discovery import operation_at, register_operation
from prodaudit.auth.shapes import credentials_template, media_encoding
from prodaudit.auth.shapes import norm_field as norm_name
from prodaudit.auth.tokens import walk
from prodaudit.config import AuthConfig
from prodaudit.http import Exchange, Http, join_url
from prodaudit.openapi import OpenAPIDoc, Operation

# a user resource: a users collection item (/users/{id}, /api/v1/user/{username}), or the caller
USER_ITEM = re.compile(r"(^|/)(users?|accounts?|members?|profiles?|db_user)/\{[^}/]+\}/?$", re.I)
OWN_ACCOUNT = re.compile(r"(^|/)(me|users?/me|accounts?/me|account|profile|users?/self)/?$", re.I)
MAX_DELETE_TRIES = 3


@dataclass
class NewAccount:
    """An account the audit registered, and how to remove it."""

    username: str
    email: str
    password: str
    registered_at: str  # "POST /api/signup"
    answer: Exchange
    ids: dict[str, str] = field(default_factory=dict)  # id, username, email … from the answers

    def login_names(self, user_field: str | None) -> list[str]:
        """The names to log in with, the login field's first (e-mail or user name)."""
        first = self.email if user_field and "mail" in user_field.lower() else self.username
        return list(dict.fromkeys([first, self.email, self.username]))


def new_identity() -> tuple[str, str, str]:
    tag = secrets.token_hex(4)
    return f"prodaudit{tag}", f"prodaudit-{tag}@example.com", "Pa-" + secrets.token_urlsafe(18) + "9!"


def _fill_value(name: str, prop: Any, username: str, email: str, password: str) -> Any:
    n = norm_name(name)
    p = prop if isinstance(prop, dict) else {}
    kind = p.get("type")
    if "password" in n or n in ("passwd", "pwd", "pass", "password2", "repassword") or "confirm" in n:
        return password
    if "mail" in n or p.get("format") == "email":
        return email
    if n in ("username", "login", "user", "handle", "nickname", "userid", "account"):
        return username
    for key in ("const", "default"):
        if p.get(key) is not None:
            return p[key]
    if isinstance(p.get("enum"), list) and p["enum"]:
        return p["enum"][0]
    if kind == "boolean":
        return bool(re.search(r"terms|accept|agree|consent", n))
    if kind in ("integer", "number"):
        return max(1, int(p.get("minimum") or 1))
    if "name" in n:
        return "Prodaudit Audit"
    if "phone" in n:
        return "+15555550100"
    if kind in (None, "string"):
        return p.get("example") if isinstance(p.get("example"), str) else "prodaudit"
    return None


def registration_body(doc: OpenAPIDoc, op: Operation, username: str, email: str,
                      password: str) -> tuple[str, dict[str, Any]] | None:
    """(encoding, body) for a registration operation: every field its schema declares that names
    an identity (user name, e-mail, password, confirmation, name) and every required field, with
    values from the schema (default, enum, example) or plausible ones."""
    content = (op.request_body or {}).get("content") or {}
    for media_type, media in content.items():
        enc = media_encoding(str(media_type))
        schema = doc.resolve((media or {}).get("schema") or {}) if isinstance(media, dict) else {}
        if enc is None or credentials_template(schema, doc.resolve) is None:
            continue
        return enc, _object_body(doc, schema, username, email, password, 0)
    return None


def _object_body(doc: OpenAPIDoc, schema: Any, username: str, email: str, password: str,
                 depth: int) -> dict[str, Any]:
    schema = doc.resolve(schema)
    props: dict[str, Any] = {}
    required: list[str] = []
    for part in [schema, *(schema.get("allOf") or [])] if isinstance(schema, dict) else []:
        part = doc.resolve(part)
        props.update(part.get("properties") or {})
        required += list(part.get("required") or [])
    body: dict[str, Any] = {}
    identity = re.compile(r"pass|mail|user|login|name|confirm", re.I)
    for name, prop in props.items():
        prop = doc.resolve(prop)
        if name not in required and not identity.search(name):
            continue
        if isinstance(prop, dict) and prop.get("readOnly"):
            continue
        if isinstance(prop, dict) and (prop.get("type") == "object" or prop.get("properties")) and depth < 3:
            body[name] = _object_body(doc, prop, username, email, password, depth + 1)
            continue
        value = _fill_value(name, prop, username, email, password)
        if value is not None:
            body[name] = value
    return body


def collect_ids(account: NewAccount, ex: Exchange) -> None:
    """Identifiers of the account seen in an answer (registration, current user)."""
    try:
        body = ex.json()
    except ValueError:
        return
    for path, value in walk(body):
        key = path.rsplit(".", 1)[-1].lower()
        if key in ("id", "uuid", "pk", "user_id", "userid", "username", "email", "name", "slug") \
                and isinstance(value, str | int) and not isinstance(value, bool):
            account.ids.setdefault(key, str(value))


async def register(http: Http, base_url: str, doc: OpenAPIDoc, cfg: AuthConfig) -> NewAccount:
    """Register a fresh account; ValueError (the reason) when the API offers no way to."""
    op = register_operation(doc, cfg)
    if op is None:
        raise ValueError("no registration operation (auth.register_url, or a POST like /register, "
                         "/signup or an unprotected POST /users with a password field)")
    username, email, password = new_identity()
    built = registration_body(doc, op, username, email, password)
    if built is None:
        raise ValueError(f"{op.method} {op.path}: its request schema has no password field")
    enc, body = built
    url = join_url(base_url, op.path)
    kwargs: dict[str, Any] = {"json": body} if enc == "json" else (
        {"files": {k: (None, str(v)) for k, v in body.items()}} if enc == "multipart"
        else {"data": {k: str(v) for k, v in body.items()}})
    ex = await http.request("POST", url, **kwargs)
    if ex.status is None or not 200 <= ex.status < 300:
        raise ValueError(f"POST {op.path} ({enc} {sorted(body)}) answered {ex.status or ex.error}: "
                         f"{ex.text[:300]}")
    account = NewAccount(username, email, password, f"POST {op.path}", ex)
    collect_ids(account, ex)
    return account


def delete_operations(doc: OpenAPIDoc | None) -> list[Operation]:
    """DELETE operations that remove a user: the caller's own account (``/users/me``,
    ``/account``) first, then an item of a users collection addressed by its one path parameter
    (``/users/{id}``) — never another resource below it (``/me/following/{id}``)."""
    if doc is None:
        return []
    own = [op for op in doc.operations if op.method == "DELETE" and not op.path_params
           and OWN_ACCOUNT.search(op.path)]
    by_id = [op for op in doc.operations if op.method == "DELETE" and len(op.path_params) == 1
             and USER_ITEM.search(op.path)]
    return own + sorted(by_id, key=lambda o: len(o.path))


def _param_value(op: Operation, account: NewAccount) -> str | None:
    name = norm_name(str(op.path_params[0].get("name", "")))
    for key in (name, "username" if "name" in name else "id", "id", "username", "email"):
        if key in account.ids:
            return account.ids[key]
    if "name" in name:
        return account.username
    return None


async def delete(http: Http, base_url: str, doc: OpenAPIDoc | None, account: NewAccount,
                 headers: dict[str, str]) -> tuple[bool, str]:
    """Delete ``account`` with its own credentials; (deleted, what happened)."""
    tried = []
    for op in delete_operations(doc)[:MAX_DELETE_TRIES]:
        path = op.path
        if op.path_params:
            value = _param_value(op, account)
            if value is None:
                tried.append(f"{op.method} {op.path}: no value for {op.path_params[0].get('name')}")
                continue
            path = re.sub(r"\{[^}]+\}", quote(value, safe=""), path)
        ex = await http.request("DELETE", join_url(base_url, path), headers=headers)
        tried.append(f"DELETE {path} → {ex.status or ex.error}")
        if ex.status is not None and 200 <= ex.status < 300:
            return True, tried[-1]
    if not tried:
        return False, "the API has no DELETE operation for a user"
    return False, "; ".join(tried)


async def register_with(base_url: str, register_path: str, username: str, password: str,
                        *, login_path: str | None = None, timeout: float = 15.0) -> str:
    """Register a given account (used by the field harness to provision the account a new user
    would already have): discovery of the OpenAPI document, then the operation at
    ``register_path`` with its schema's body. The outcome, one line."""
    from prodaudit.openapi import OpenAPIError, discover

    http = Http(timeout=timeout, max_body_bytes=2_000_000)
    try:
        try:
            doc, _ = await discover(http, base_url, None)
        except OpenAPIError as exc:
            return f"not registered: no OpenAPI document ({exc})"
        op = operation_at(doc, register_path)
        if op is None:
            return f"not registered: no POST {register_path} in the OpenAPI document"
        email = username if "@" in username else f"{username}@example.com"
        name = username.split("@", 1)[0] if "@" in username else username
        built = registration_body(doc, op, name, email, password)
        if built is None:
            return f"not registered: POST {op.path} has no password field in its schema"
        enc, body = built
        if "@" in username:  # the account logs in with its e-mail: every identity field gets it
            body = {k: (username if v == name else v) for k, v in body.items()}
        kwargs: dict[str, Any] = {"json": body} if enc == "json" else {
            "data": {k: str(v) for k, v in body.items()}}
        ex = await http.request("POST", join_url(base_url, op.path), **kwargs)
        return f"{enc} {sorted(body)} → {ex.status or ex.error}"
    finally:
        await http.aclose()
