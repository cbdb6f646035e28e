"""The secret scan's judge (suite-private): the Python rules, run on the candidate lines a finder
reported, decide what is a credential and quote it safely.

Determinism is the contract with the finders: what the judge reports for a line depends only on
the file's text and that line, so every finder that reports a superset of the lines where a rule
matches (RE2, Python re, ripgrep) yields the same hits. A match belongs to the line where it
starts; it may run ``rule.extent`` characters past that line's end (private keys, GCP
service-account files, ``KEY:\\n  value`` in YAML).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from prodaudit.checks.config._scan_rules import (
    ENTROPY_RULE,
    RULE_INDEX,
    RULES,
    URL_PLACEHOLDER_PW,
    Rule,
    credential_name,
    password_name,
    random_value,
)
from prodaudit.errors import InputError
from prodaudit.loaders import load_json
from prodaudit.product.secretvalues import documented_example, example_payload, placeholder_reason
from prodaudit.redact import quote_window

_NAME_TAIL_RE = re.compile(r"[A-Za-z0-9_]*$")
_FORMAT_RULES = tuple(r for r in RULES if r.id != ENTROPY_RULE)
_ENTROPY = next(r for r in RULES if r.id == ENTROPY_RULE)


class Finder(Protocol):
    def finditer(self, data: bytes) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    rule: str
    title: str
    secret: str
    excerpt: str
    start: int = 0  # offset of the secret in the file's decoded text

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.secret)

    def to_cache(self) -> dict[str, Any]:
        """What the cache keeps: position, rule and the safe excerpt, never the value."""
        return {"line": self.line, "rule": self.rule, "title": self.title, "start": self.start,
                "length": len(self.secret), "excerpt": self.excerpt, "fp": self.fingerprint}


def fingerprint(rule: str, secret: str) -> str:
    return hashlib.sha256(f"{rule}:{secret}".encode()).hexdigest()[:16]


def candidate_lines(data: bytes, finder: Finder) -> list[int]:
    """Every line (1-based) that a finder match touches, from its first to its last character."""
    lines: set[int] = set()
    pos, line = 0, 1
    for m in finder.finditer(data):
        s, e = m.span()
        line += data.count(b"\n", pos, s)
        pos = s
        last = line + data.count(b"\n", s, max(s, e - 1))
        lines.update(range(line, last + 1))
    return sorted(lines)


def _line_spans(text: str, lines: list[int]) -> Iterator[tuple[int, int, int]]:
    """(line number, start offset, end offset) of each requested line, in order."""
    pos, cur = 0, 1
    for ln in lines:
        while cur < ln:
            nl = text.find("\n", pos)
            if nl < 0:
                return
            pos, cur = nl + 1, cur + 1
        end = text.find("\n", pos)
        yield ln, pos, len(text) if end < 0 else end


def _excerpt(text: str, rule: Rule, start: int, end: int) -> str:
    """The bounded, masked window of the line where the secret starts."""
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", start)
    le = len(text) if le < 0 else le
    secret = text[start:end]
    keep = 0
    if rule.keep:
        km = re.match(rule.keep, secret)
        keep = km.end() if km else 0
    return quote_window(text[ls:le], start - ls, min(end, le) - ls, keep=keep)


def _entropy_name(text: str, m: re.Match[str]) -> str:
    tail = _NAME_TAIL_RE.search(text, max(0, m.start() - 80), m.start())
    head = text[m.start():m.end()].split("=")[0].split(":")[0].strip("\"' \t")
    return (tail.group(0) if tail else "") + head


#: what follows the access key id in a SigV4 credential scope (``AKIA…/20220405/eu-central-1/
#: s3/aws4_request``, as in presigned URLs and POST policies)
_SIGV4_SCOPE_RE = re.compile(r"(/|%2F)\d{8}(/|%2F)[a-z0-9-]+(/|%2F)[a-z0-9-]+(/|%2F)aws4_request",
                             re.I)
_QUOTES = "\"'`"
_PLAIN_CONFIG_SUFFIXES = (".txt", ".yml", ".yaml", ".ini", ".cfg", ".conf", ".cnf", ".toml",
                          ".properties")
_UNQUOTED_MIN = 24


def plain_config(rel: str) -> bool:
    """A configuration or text file where values are written without quotes (not code, not an
    env file — CFG-042 judges those — and not an example or template)."""
    name = rel.rsplit("/", 1)[-1].lower()
    return name.endswith(_PLAIN_CONFIG_SUFFIXES) and not re.search(
        r"example|sample|template|dist\.|\.env", name)


def expired_jwt(token: str, now: float | None = None) -> bool:
    """A JSON Web Token whose ``exp`` claim has passed: an example response in documentation or a
    fixture, no longer a credential (a token without ``exp`` or with an unreadable payload is
    still one)."""
    parts = token.split(".")
    if len(parts) < 3:
        return False
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = load_json(base64.urlsafe_b64decode(payload), "JWT payload", max_bytes=65536)
    except (InputError, ValueError):
        return False
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return isinstance(exp, int | float) and not isinstance(exp, bool) \
        and exp < (time.time() if now is None else now)


def _quoted(rel: str, text: str, m: re.Match[str]) -> bool | None:
    """Whether the entropy match's value is quoted (True), a whole unquoted value worth judging
    (False: plain configuration files only, 24+ characters up to the end of the line or a
    comment), or neither (None: a quoted value cut at a space, an unquoted value in code)."""
    s, e = m.span(1)
    before = text[s - 1] if s else ""
    after = text[e] if e < len(text) else ""
    if before and before in _QUOTES:
        return True if after == before else None
    if (after and after in _QUOTES) or e - s < _UNQUOTED_MIN or not plain_config(rel):
        return None
    eol = text.find("\n", e)
    rest = text[e:len(text) if eol < 0 else eol].strip()
    return None if rest and not rest.startswith("#") else False


class _Judgement:
    def __init__(self, rel: str, text: str, allow: str) -> None:
        self.rel, self.text, self.allow = rel, text, allow
        self.hits: list[Hit] = []
        self.allowed = 0

    def add(self, ln: int, rule: Rule, title: str, m: re.Match[str], allowed: bool) -> None:
        if allowed:
            self.allowed += 1
            return
        s, e = m.span(rule.group)
        self.hits.append(Hit(self.rel, ln, rule.id, title, m.group(rule.group),
                             _excerpt(self.text, rule, s, e), s))

    def line(self, ln: int, start: int, end: int) -> None:
        text = self.text
        allowed = bool(self.allow) and self.allow in text[start:end]
        found = False
        for rule in _FORMAT_RULES:
            for m in rule.compiled.finditer(text, start, min(len(text), end + rule.extent)):
                if m.start() > end:
                    break
                if rule.id == "aws-access-key" and _SIGV4_SCOPE_RE.match(text, m.end()):
                    found = True  # a signed request's credential scope: the id, never the key
                    continue
                if rule.id == "jwt" and expired_jwt(m.group(rule.group)):
                    found = True  # a known format, excused: no entropy guess on it either
                    continue
                if rule.id == "url-password":
                    pw = m.group(1)
                    if (URL_PLACEHOLDER_PW.match(pw) or placeholder_reason(pw)
                            or documented_example(self.rel, pw)):
                        continue
                found = found or not allowed
                self.add(ln, rule, rule.title, m, allowed)
        if found:
            return  # a known format on this line: no entropy guess next to it
        for m in _ENTROPY.compiled.finditer(text, start, end):
            quoted = _quoted(self.rel, text, m)
            if quoted is None:
                continue
            name = _entropy_name(text, m)
            chosen = password_name(name) and quoted
            if chosen and (documented_example(self.rel, m.group(1))
                           or example_payload(self.rel, text, ln, m.group(1))):
                continue
            if credential_name(name) and random_value(m.group(1), chosen) is None:
                self.add(ln, _ENTROPY, f"high-entropy value assigned to {name}", m, allowed)


def judge(rel: str, text: str, lines: list[int], allow: str) -> tuple[list[Hit], int]:
    """The hits on ``lines`` of ``text`` and how many the allow comment accepted."""
    j = _Judgement(rel, text, allow)
    for ln, start, end in _line_spans(text, lines):
        j.line(ln, start, end)
    j.hits.sort(key=lambda h: (h.line, h.start, RULE_INDEX[h.rule]))
    return j.hits, j.allowed


def scan_text(rel: str, text: str, allow_comment: str, finder: Finder | None = None
              ) -> tuple[list[Hit], int]:
    """Hits in one file's text, and how many were accepted by the allow comment."""
    from prodaudit.checks.config._scan_engine import default_finder

    data = text.encode("utf-8", errors="surrogateescape")
    lines = candidate_lines(data, finder or default_finder())
    if not lines:
        return [], 0
    return judge(rel, text, lines, allow_comment)
