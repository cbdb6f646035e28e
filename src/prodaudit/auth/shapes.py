"""Login and registration bodies: built from a request schema, an HTML form, a configured
template (``[auth] login_body``) or, without any of these, a small list of common guesses.

A :class:`BodyShape` is a template (nested mappings whose leaves are literals or the placeholders
``{username}``, ``{password}``, ``{env:NAME}``) plus its encoding: ``json``, ``form``
(``application/x-www-form-urlencoded``), ``multipart`` or ``basic`` (HTTP Basic credentials, no
body). :meth:`BodyShape.request` renders it into keyword arguments of ``Http.request``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

Encoding = str  # "json" | "form" | "multipart" | "basic"
ENCODINGS = ("json", "form", "multipart", "basic")
USERNAME = "{username}"
PASSWORD = "{password}"
_ENV = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
# user-name fields in order of preference, by exact (case-insensitive, separators ignored) name
USER_FIELDS = ("username", "email", "login", "user", "emailaddress", "identifier", "account",
               "userid", "name", "phone", "mail")
PASSWORD_FIELDS = ("password", "passwd", "pass", "pwd", "password1", "secret")
MAX_DEPTH = 3


def norm_field(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class ShapeError(ValueError):
    """A template that cannot be rendered (an environment variable it names is not set)."""


@dataclass(frozen=True)
class BodyShape:
    """How to send a user name and a password to an operation."""

    encoding: Encoding
    template: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # where the shape comes from, for messages ("OpenAPI schema of POST /x")

    def fields(self) -> list[str]:
        """The template's field paths (``user.email``), for messages."""
        return list(_paths(self.template))

    def render(self, username: str, password: str) -> Any:
        return _fill(self.template, username, password)

    def request(self, username: str, password: str) -> dict[str, Any]:
        """Keyword arguments of ``Http.request`` that send these credentials."""
        if self.encoding == "basic":
            raw = base64.b64encode(f"{username}:{password}".encode()).decode()
            return {"headers": {"Authorization": f"Basic {raw}"}}
        body = self.render(username, password)
        if self.encoding == "json":
            return {"json": body}
        flat = {k: v if isinstance(v, str) else str(v) for k, v in _flatten(body).items()}
        if self.encoding == "multipart":
            return {"files": {k: (None, v) for k, v in flat.items()}}
        return {"data": flat}

    def describe(self, username: str = "") -> str:
        """The body as sent, the password masked (``form {username: 'j.doe', password: ***}``)."""
        if self.encoding == "basic":
            who = f" for {username!r}" if username else ""
            return f"HTTP Basic credentials{who} (no body)"
        shown = _fill(self.template, username or "<user>", "***", reveal_env=False)
        return f"{self.encoding} {_short(shown)}"

    @property
    def user_field(self) -> str | None:
        return next((p for p, v in _paths(self.template).items() if v == USERNAME), None)


def _paths(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in node.items():
        if isinstance(v, Mapping):
            out.update(_paths(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _flatten(body: Any) -> dict[str, Any]:
    """A form body is flat: nested keys become ``user[email]`` (the Rails/PHP convention)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{prefix}[{k}]" if prefix else str(k))
        else:
            out[prefix] = node

    walk(body, "")
    return out


def _fill(node: Any, username: str, password: str, *, reveal_env: bool = True) -> Any:
    if isinstance(node, Mapping):
        return {k: _fill(v, username, password, reveal_env=reveal_env) for k, v in node.items()}
    if not isinstance(node, str):
        return node

    def env(m: re.Match[str]) -> str:
        if not reveal_env:
            return f"${m.group(1)}"
        value = os.environ.get(m.group(1))
        if value is None:
            raise ShapeError(f"environment variable {m.group(1)} (named in auth.login_body) is not set")
        return value

    return _ENV.sub(env, node.replace(USERNAME, username).replace(PASSWORD, password))


def _short(body: Any) -> str:
    if isinstance(body, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in body.items()) + "}"
    return repr(body) if body != "***" else "***"


def env_values(template: Any) -> list[str]:
    """The values of the environment variables a configured template names (``{env:NAME}``):
    secrets by construction, registered with the redactor before anything is sent."""
    if not isinstance(template, Mapping):
        return []
    names = {m.group(1) for v in _paths(template).values() if isinstance(v, str)
             for m in _ENV.finditer(v)}
    return [v for n in sorted(names) if (v := os.environ.get(n))]


def secret_literals(template: Mapping[str, Any]) -> list[str]:
    """Fields of a configured template whose name says secret and whose value is a literal (a
    secret must come from an environment variable: ``{env:NAME}``)."""
    bad = []
    for path, value in _paths(template).items():
        name = path.rsplit(".", 1)[-1]
        if not re.search(r"secret|password|passwd|token|api[_-]?key", name, re.I):
            continue
        if not isinstance(value, str) or not re.fullmatch(r"(\{[A-Za-z_:0-9]+\})+", value):
            bad.append(path)
    return bad


# ---------------------------------------------------------------------------------- schemas


def _merged(schema: Any, resolve: Any, depth: int = 0) -> dict[str, Any]:
    """An object schema with ``allOf`` merged and the first ``oneOf``/``anyOf`` branch taken."""
    schema = resolve(schema) if resolve else schema
    if not isinstance(schema, dict) or depth > 6:
        return {}
    out: dict[str, Any] = {"properties": dict(schema.get("properties") or {}),
                           "required": list(schema.get("required") or [])}
    for part in schema.get("allOf") or []:
        sub = _merged(part, resolve, depth + 1)
        out["properties"].update(sub.get("properties", {}))
        out["required"] += sub.get("required", [])
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key) or []
        objects = [b for b in (_merged(x, resolve, depth + 1) for x in branches) if b.get("properties")]
        if objects and not out["properties"]:
            out["properties"].update(objects[0]["properties"])
            out["required"] += objects[0].get("required", [])
    return out


def _pick(names: list[str], wanted: tuple[str, ...], props: Mapping[str, Any]) -> str | None:
    by_norm = {norm_field(n): n for n in names}
    for w in wanted:
        if w in by_norm:
            return by_norm[w]
    for n in names:  # format: email, or a name that contains a wanted word (user_email)
        p = props.get(n) or {}
        if isinstance(p, dict) and p.get("format") == "email":
            return n
    for w in wanted[:3]:
        hit = next((n for n in names if w in norm_field(n)), None)
        if hit:
            return hit
    return None


def _literal(prop: Any) -> Any:
    """A value the schema itself offers for a field: const, default, first enum value, example."""
    if not isinstance(prop, dict):
        return None
    for key in ("const", "default"):
        if prop.get(key) is not None:
            return prop[key]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][0]
    return prop.get("example")


def credentials_template(schema: Any, resolve: Any = None, depth: int = 0) -> dict[str, Any] | None:
    """The template for an object schema that holds a password field: the user-name field by its
    name, the password, nested objects followed (``{"user": {"email": …}}``), ``grant_type`` set
    to ``password`` (OAuth2), other required fields filled from the schema's own values. None
    when the schema has no password field."""
    obj = _merged(schema, resolve)
    props: dict[str, Any] = {k: (resolve(v) if resolve else v) for k, v in obj.get("properties", {}).items()}
    if not props or depth > MAX_DEPTH:
        return None
    strings = [n for n, p in props.items() if not isinstance(p, dict) or p.get("type") in (None, "string")]
    pw = _pick(strings, PASSWORD_FIELDS, props)
    if pw is None or "confirm" in pw.lower():
        for name, prop in props.items():  # nested: {"user": {"email": ..., "password": ...}}
            if isinstance(prop, dict) and (prop.get("type") == "object" or prop.get("properties")
                                           or prop.get("allOf")):
                inner = credentials_template(prop, resolve, depth + 1)
                if inner is not None:
                    return {name: inner}
        return None
    template: dict[str, Any] = {}
    user = _pick([n for n in strings if n != pw], USER_FIELDS, props)
    if user is not None:
        template[user] = USERNAME
    template[pw] = PASSWORD
    for name, prop in props.items():
        if name in template:
            continue
        if norm_field(name) == "granttype":
            template[name] = "password"
        elif name in obj.get("required", []) and _literal(prop) is not None:
            template[name] = _literal(prop)
    return template


def media_encoding(media_type: str) -> Encoding | None:
    mt = media_type.lower()
    if "json" in mt:
        return "json"
    if "x-www-form-urlencoded" in mt:
        return "form"
    if "multipart" in mt:
        return "multipart"
    return None


def shapes_from_request_body(request_body: Mapping[str, Any] | None, resolve: Any,
                             source: str) -> list[BodyShape]:
    """One shape per media type of an operation's request body that holds a password field."""
    out: list[BodyShape] = []
    content = (request_body or {}).get("content") or {}
    for media_type, media in content.items():
        enc = media_encoding(str(media_type))
        if enc is None or not isinstance(media, dict):
            continue
        template = credentials_template(media.get("schema") or {}, resolve)
        if template is not None and not any(s.encoding == enc for s in out):
            out.append(BodyShape(enc, template, f"{source} ({media_type})"))
    return out


def swagger2_shapes(parameters: Any, consumes: list[str], source: str) -> list[BodyShape]:
    """Swagger 2: ``in: formData`` parameters or one ``in: body`` parameter."""
    params = [p for p in parameters or [] if isinstance(p, dict)]
    form = {p["name"]: p for p in params if p.get("in") == "formData" and p.get("name")}
    if form:
        template = credentials_template({"properties": form, "required": [
            n for n, p in form.items() if p.get("required")]})
        enc = "multipart" if any("multipart" in c for c in consumes) else "form"
        return [BodyShape(enc, template, source)] if template else []
    body = next((p for p in params if p.get("in") == "body"), None)
    if body is not None:
        template = credentials_template(body.get("schema") or {})
        return [BodyShape("json", template, source)] if template else []
    return []


def guessed_shapes(source: str) -> list[BodyShape]:
    """Without a schema or a form: the common JSON and form shapes, most common first."""
    return [
        BodyShape("json", {"username": USERNAME, "password": PASSWORD}, source),
        BodyShape("json", {"email": USERNAME, "password": PASSWORD}, source),
        BodyShape("form", {"username": USERNAME, "password": PASSWORD}, source),
        BodyShape("form", {"email": USERNAME, "password": PASSWORD}, source),
    ]


def for_username(shapes: list[BodyShape], username: str) -> list[BodyShape]:
    """Guessed shapes ordered for the account: an e-mail address tries ``email`` first."""
    if "@" not in username:
        return shapes
    return sorted(shapes, key=lambda s: 0 if (s.user_field or "").lower() in ("email", "user.email") else 1)


# ---------------------------------------------------------------------------------- HTML forms


@dataclass(frozen=True)
class HtmlForm:
    action: str
    method: str
    enctype: str
    inputs: tuple[tuple[str, str, str], ...]  # (name, type, value)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": (a.get("method") or "get").upper(),
                             "enctype": a.get("enctype", ""), "inputs": []}
        elif tag in ("input", "button", "textarea", "select") and self._current is not None and a.get("name"):
            self._current["inputs"].append((a["name"], (a.get("type") or "text").lower(), a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._current is not None:
            c = self._current
            self.forms.append(HtmlForm(c["action"], c["method"], c["enctype"], tuple(c["inputs"])))
            self._current = None


def login_forms(html: str) -> list[HtmlForm]:
    """The forms of a page that post a password field (bounded input)."""
    parser = _FormParser()
    try:
        parser.feed(html[:200_000])
        parser.close()
    except (AssertionError, ValueError):  # pragma: no cover - html.parser is lenient
        pass
    return [f for f in parser.forms if f.method == "POST"
            and any(t == "password" for _, t, _ in f.inputs)
            and sum(1 for _, t, _ in f.inputs if t == "password") == 1]


def shape_from_form(form: HtmlForm, source: str) -> BodyShape:
    """The form's own fields: the password input, the user-name input (by name, else the first
    text/email input), hidden inputs with their values (a CSRF token rides along)."""
    template: dict[str, Any] = {}
    texts = [n for n, t, _ in form.inputs if t in ("text", "email", "tel", "")]
    user = _pick(texts, USER_FIELDS, {}) or (texts[0] if texts else None)
    for name, kind, value in form.inputs:
        if kind == "password":
            template[name] = PASSWORD
        elif name == user:
            template[name] = USERNAME
        elif kind == "hidden":
            template[name] = value
    enc = "multipart" if "multipart" in form.enctype.lower() else "form"
    return BodyShape(enc, template, source)
