"""SEC-087: no cookie the target sets carries a serialised object (pickle, Java, PHP, YAML tags)
that the server would deserialise when the client sends it back."""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    failed,
    passed,
)
from prodaudit.checks.security._common import live_location

MAX_VALUE = 16_384  # longer cookie values are not decoded
_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
# protocol-0/1 pickles: a mark, dict/list/tuple/instance opcodes or a global, ending in STOP
_PICKLE0_RE = re.compile(rb"^(?:\((?:dp|lp|tp|i|d|l|t)|c[\w.]+\n[\w.]+\n|ccopy_reg\n)")
_PHP_RE = re.compile(r'^(?:a:\d+:\{|O:\d+:"[\w\\]+":\d+:\{|C:\d+:"[\w\\]+":\d+:\{|'
                     r's:\d+:"[^"]*";$|i:-?\d+;$|b:[01];$|d:-?[\d.]+;$)')
_YAML_TAG_RE = re.compile(r"!!python/|!!ruby/|!ruby/object|!!javax?\.|tag:yaml\.org,2002:python")


def serialised_format(raw: bytes) -> str | None:
    """The serialisation format ``raw`` is in (pickle, Java, PHP, YAML with language tags), or
    None for anything else (JSON, plain text, signed tokens, random ids)."""
    if len(raw) >= 3 and raw[0] == 0x80 and 2 <= raw[1] <= 5 and raw.endswith(b"."):
        return f"a Python pickle (protocol {raw[1]})"
    if len(raw) >= 3 and _PICKLE0_RE.match(raw) and raw.endswith(b"."):
        return "a Python pickle (protocol 0/1)"
    if raw.startswith(b"\xac\xed\x00\x05"):
        return "a Java serialized object (0xACED stream)"
    text = raw.decode("utf-8", "replace")
    if _PHP_RE.match(text) and text.rstrip().endswith((";", "}")):
        return "a PHP serialize() value"
    if _YAML_TAG_RE.search(text):
        return "YAML with language object tags (!!python/… or !ruby/…)"
    return None


def _decodings(value: str) -> list[tuple[str, bytes]]:
    """The byte strings a cookie value may stand for: as sent, URL-unquoted, base64,
    base64url and hex of either."""
    texts = [value.strip('"')]
    if "%" in texts[0]:
        texts.append(unquote(texts[0]))
    out: list[tuple[str, bytes]] = []
    for text in texts:
        quoted = " (URL-quoted)" if text is not texts[0] else ""
        out.append(("as sent" + quoted, text.encode("utf-8", "replace")))
        if _HEX_RE.match(text):
            out.append(("hex" + quoted, bytes.fromhex(text)))
        if _B64_RE.match(text):
            padded = text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)
            for name, alt in (("base64", b"+/"), ("base64url", b"-_")):
                try:
                    out.append((name + quoted, base64.b64decode(padded, altchars=alt,
                                                                validate=True)))
                except (binascii.Error, ValueError):
                    continue
    return out


def cookie_format(value: str) -> tuple[str, str] | None:
    """(format, encoding) of a serialised object in a cookie value, or None."""
    if not value or len(value) > MAX_VALUE:
        return None
    for encoding, raw in _decodings(value):
        fmt = serialised_format(raw)
        if fmt:
            return fmt, encoding
    return None


@dataclass(frozen=True)
class _Seen:
    name: str
    attrs: str  # the Set-Cookie attributes (never the value)
    exchange: Exchange


def _set_cookies(ex: Exchange) -> list[tuple[str, str, str]]:
    """(name, value, attributes) of every cookie an answer sets."""
    out = []
    for raw in ex.header_all("set-cookie"):
        pair, _, attrs = raw.partition(";")
        name, _, value = pair.partition("=")
        out.append((name.strip(), value.strip(), attrs.strip()))
    return out


async def _own_pages(ctx: Context, notes: list[str]) -> list[Exchange]:
    """Anonymous GETs of the login page and the base URL: cookies any visitor gets (a cookie
    both set is reported at the login page, the page every user opens)."""
    out = []
    for path in dict.fromkeys([ctx.cfg.auth.login_url or "/", "/"]):
        try:
            out.append(await ctx.http.get(ctx.url(path)))
        except NotSent as exc:
            notes.append(f"GET {path} not sent ({exc.reason})")
    return out


@check(
    "SEC-087",
    "No cookie carries a serialised object (pickle, Java, PHP, YAML)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.3",),
    references=("CWE-502", "OWASP A08:2021"),
    evidence=Evidence.OBSERVED,
)
async def serialised_cookies(ctx: Context) -> list[Finding]:
    """Every cookie the target sets — on an anonymous GET of the login page and of the base URL,
    on the audit account's login, and in every answer captured earlier in the audit — is decoded
    (as sent, URL-unquoted, base64, base64url, hex) and recognised when it is a Python pickle
    (protocol header ``0x80 0x02``–``0x05`` or protocol-0 shapes, ending in the STOP opcode), a
    Java serialized object (``0xACED 0005``), a PHP ``serialize()`` value, or YAML with language
    object tags (``!!python/…``). Such a cookie comes back from the client on every request: a
    server that deserialises it (``pickle.loads(b64decode(request.cookies[...]))``) runs whatever
    object the client crafted — remote code execution. The finding names the cookie and the format,
    never the value. Read-only: nothing is sent back to the target. Flask's and Django's signed
    sessions (JSON inside) and JWTs are not serialised objects and pass.

    Remediation: keep client-side state in JSON (``json.dumps``) signed with a server key
    (``itsdangerous``, Flask's session) or on the server, and never unpickle data a client sent.
    """
    notes: list[str] = []
    own = await _own_pages(ctx, notes)
    login_note = ""
    try:
        sess = await ctx.auth()
    except Skip as exc:
        login_note = f"; no login ({exc.reason})"
        login: list[Exchange] = []
    else:
        login = [sess.login_exchange] if sess.login_exchange is not None else []
    answers = own + login + [ex for ex in list(ctx.http.exchanges) if ex not in own + login]
    seen: dict[str, _Seen] = {}
    found: dict[str, tuple[_Seen, str, str]] = {}
    for ex in answers:
        for name, value, attrs in _set_cookies(ex):
            if not value:
                continue
            seen.setdefault(name, _Seen(name, attrs, ex))
            fmt = cookie_format(value)
            if fmt and name not in found:
                found[name] = (_Seen(name, attrs, ex), *fmt)
    out = [_finding(s, fmt, enc) for s, fmt, enc in found.values()]
    if out:
        return out
    if not own and not login:
        raise Skip(f"no page could be fetched: {'; '.join(notes) or 'no answer'}")
    if not seen:
        if not login:
            raise Skip(f"no cookie seen in {len(answers)} answer(s){login_note}: cookies set "
                       "after a login were not seen")
        return [passed(f"no cookie set in {len(answers)} answer(s), the login included")]
    return [passed(f"{len(seen)} cookie(s) ({', '.join(sorted(seen)[:8])}) decode to no "
                   f"serialised object ({len(answers)} answers looked at{login_note})")]


def _finding(seen: _Seen, fmt: str, encoding: str) -> Finding:
    ex = seen.exchange
    return failed(
        f"cookie {seen.name} set by {ex.method} {urlsplit(ex.url).path or '/'} holds {fmt} "
        f"({encoding}): the client sends it back on every request, and a server that "
        "deserialises it runs any object a client crafts (remote code execution)",
        location=live_location(ex),
        # no curl of the exchange: its Cookie header or login body would show values
        evidence=f"< Set-Cookie: {seen.name}=…" + (f"; {seen.attrs}" if seen.attrs else "")
        + (f"\n$ curl -sS -i {shlex.quote(ex.url)}" if ex.method == "GET" else ""),
        severity=Severity.HIGH,
    )
