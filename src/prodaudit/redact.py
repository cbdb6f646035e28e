"""The one place secret values are masked (DESIGN rule 5: no secret value in any output).

Two layers: exact values registered at run time (env file secrets, the audit account's
password, tokens obtained during the run, credentials the secret scan found) and patterns for
credentials we did not register (provider keys, JWT signatures, passwords in URLs,
Authorization headers, private keys).

Registered values are masked as whole tokens, never inside words: a value is replaced where it
is delimited by characters that cannot be part of it (``[A-Za-z0-9_-]``). A value that reads
like a word (``secret``, ``changeme``, ``my-secret-key``, a weak JWT secret cracked from a word
list) is masked only in value positions (quoted, after ``=``/``:``, after ``Bearer``/``Basic``,
or the whole text), so the prose around it ("the JWT signing secret") stays readable.

Each text is redacted once per set of registered values: results are memoised, so the runner's
pass and the final pass over the run (governance) do not repeat the work unless a value was
registered in between.

:func:`quote_window` is how checks quote a source line: a bounded window around the match with
the match and every other credential-shaped or high-entropy token masked.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MIN_SECRET_LEN = 6
MASK = "[REDACTED]"
TOKEN_CHARS = "A-Za-z0-9_-"
_MEMO_LIMIT = 50_000

SECRET_NAME_RE = re.compile(
    r"(SECRET|PASSWORD|PASSWD|PASS$|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|DSN|_KEY$|^KEY$)", re.I
)
_PEM_BEGIN = r"-----BEGIN ([A-Z ]*)PRIVATE KEY(?: BLOCK)?-----"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JWT: keep header and payload (not secret, useful evidence), mask the signature
    (
        re.compile(r"\b(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{8,})"),
        r"\1." + MASK,
    ),
    (re.compile(r"\b(sk-(?:proj-|ant-|live-)?)[A-Za-z0-9_-]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1" + MASK),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{30,}"), r"\1" + MASK),
    (re.compile(r"\b(github_pat_)[A-Za-z0-9_]{30,}"), r"\1" + MASK),
    (re.compile(r"\b(glpat-)[A-Za-z0-9_-]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(xox[abposr]-)[A-Za-z0-9-]{10,}"), r"\1" + MASK),
    (re.compile(r"\b([rs]k_live_)[A-Za-z0-9]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(AIza)[0-9A-Za-z_-]{35}"), r"\1" + MASK),
    (re.compile(r"\b(hf_)[A-Za-z0-9]{30,}"), r"\1" + MASK),
    (re.compile(r"\b(gsk_)[A-Za-z0-9]{30,}"), r"\1" + MASK),
    (re.compile(r"\b(SG\.)[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), r"\1" + MASK),
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s/]+)(@)", re.I), r"\1" + MASK + r"\3"),
    # Authorization / cookie headers
    (re.compile(r"(?im)^(\s*(?:authorization|proxy-authorization)\s*:\s*\w+\s+)(\S+)"), r"\1" + MASK),
    (re.compile(r"(?im)^(\s*(?:set-)?cookie\s*:\s*[^=;\s]+=)([^;\s]+)"), r"\1" + MASK),
    # a whole private key, then a key whose END line is missing (a truncated quote): the body,
    # on the marker's line and on every following line, is masked
    (
        re.compile(_PEM_BEGIN + r"[\s\S]*?-----END \1PRIVATE KEY(?: BLOCK)?-----"),
        "-----BEGIN PRIVATE KEY-----" + MASK + "-----END PRIVATE KEY-----",
    ),
    (
        re.compile(r"(" + _PEM_BEGIN + r")(?:(?:\s|\\[nr])*[A-Za-z0-9+/=]{8,})+"),
        r"\1" + MASK,
    ),
)
# per pattern, lower-case literals one of which its match contains: a pattern runs only on a
# text that holds one (``in`` is far cheaper than a regex pass over a large text)
_HINTS: tuple[tuple[str, ...], ...] = (
    ("eyj",), ("sk-",), ("akia", "asia"), ("gh",), ("github_pat_",), ("glpat-",), ("xox",),
    ("_live_",), ("aiza",), ("hf_",), ("gsk_",), ("sg.",), ("://",), ("authorization",),
    ("cookie",), ("private key",), ("private key",),
)
# one cheap test before the patterns: most texts contain none of these
_PATTERN_HINT = re.compile(
    r"eyJ|sk-|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox|_live_|AIza|hf_|gsk_|SG\.|://|"
    r"PRIVATE KEY|(?i:authorization|cookie)"
)
_TOKEN_RUN = re.compile(f"[{TOKEN_CHARS}]+")
_TOKEN_SPLIT = re.compile(f"([{TOKEN_CHARS}]+)")
_ONLY_TOKEN = re.compile(f"[{TOKEN_CHARS}]+")
# a word or a few (dictionary-sized parts, a short number at most): ``secret``, ``changeme``,
# ``my-secret-key``, ``password123``; not ``topsecretvalue`` or anything random
_WORDLIKE = re.compile(r"[A-Za-z]{1,12}(?:[-_ ][A-Za-z]{1,12}){0,3}\d{0,3}")
_VALUE_BEFORE = re.compile(r"(?:[=:][ \t]*[\"'`]?|[\"'`]|(?i:bearer|basic|token)[ \t]+)$")


@dataclass(frozen=True)
class _Matcher:
    """The registered values, compiled once per change."""

    version: int
    tokens: frozenset[str]  # values made of token characters only: masked as whole tokens
    words: frozenset[str]  # word-like values: masked only in value positions
    other: re.Pattern[str] | None  # values with other characters: one regex, longest first


def _compile(values: Iterable[str], version: int) -> _Matcher:
    tokens, words, other = set(), set(), []
    for v in values:
        if not _ONLY_TOKEN.fullmatch(v):
            other.append(v)
        elif _WORDLIKE.fullmatch(v):
            words.add(v)
        else:
            tokens.add(v)
    rx = None
    if other:
        alts = "|".join(re.escape(v) for v in sorted(other, key=len, reverse=True))
        rx = re.compile(f"(?<![{TOKEN_CHARS}])(?:{alts})(?![{TOKEN_CHARS}])")
    return _Matcher(version, frozenset(tokens), frozenset(words), rx)


def _value_position(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands where a value stands: quoted, after ``=``/``:``, after
    an auth scheme, or alone."""
    if start == 0 and end == len(text.rstrip()):
        return True
    before = text[max(0, start - 12):start]
    if _VALUE_BEFORE.search(before):
        return True
    return end < len(text) and text[end] == "@" and before.endswith(":")  # URL password


class Redactor:
    """Masks registered secret values and known credential patterns. Thread-safe."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._version = 0
        self._matcher: _Matcher | None = None
        self._memo: dict[str, tuple[int, str]] = {}  # text -> (version, redacted text)

    def register(self, *values: str | None) -> None:
        """Remember secret values to mask wherever they appear as whole tokens."""
        with self._lock:
            for value in values:
                v = value.strip() if value else ""
                if len(v) >= MIN_SECRET_LEN and v not in self._values:
                    self._values.add(v)
                    self._version += 1

    def register_env(self, env: dict[str, str] | Iterable[tuple[str, str]]) -> None:
        """Register the values of secret-named variables (``JWT_SECRET``, ``*_PASSWORD`` ...)."""
        items = env.items() if isinstance(env, dict) else env
        for name, value in items:
            if is_secret_name(name):
                self.register(value)
            for match in re.finditer(r"://[^:/@\s]+:([^@\s/]+)@", value or ""):
                self.register(match.group(1))

    @property
    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def _current(self) -> _Matcher:
        with self._lock:
            if self._matcher is None or self._matcher.version != self._version:
                self._matcher = _compile(self._values, self._version)
            return self._matcher

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if not text:
            return text
        matcher = self._current()
        known = self._memo.get(text)
        if known is not None and known[0] == matcher.version:
            return known[1]
        out = _mask_patterns(_mask_values(text, matcher))
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        self._memo[text] = (matcher.version, out)
        self._memo[out] = (matcher.version, out)  # a redacted text is its own redaction
        return out

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like structure (tuples become lists). A dict or list
        in which nothing changes is returned itself, not copied: the facts of a large product
        (an env graph of 100,000 variables) are not held twice.

        Most strings of a large structure hold nothing to mask: a string that contains no
        pattern's hint and none of the registered values as a whole token (nor a value with
        other characters) is kept as it is without going through :meth:`redact` (whose memo
        would only churn); every other one is redacted by it."""
        return _Walk(self, self._current()).value(obj)


#: a list of dicts at least this long is tested this many flat dicts at a time (see
#: ``_Walk._clean_together``)
FLAT_BLOCK = 64


@functools.lru_cache(maxsize=1)
def _hint_re2() -> Any:
    """``_PATTERN_HINT`` compiled by RE2 (one pass over a long text, where ``re`` tries the
    alternation at every position); None without RE2."""
    try:
        import re2
    except ImportError:
        return None
    return re2.compile(_PATTERN_HINT.pattern)


class _Walk:
    """One :meth:`Redactor.redact_obj` pass: the matcher of its start, the structure walked with
    the plain JSON types (str, dict, list, numbers) tested by exact type."""

    def __init__(self, redactor: Redactor, matcher: _Matcher) -> None:
        self._redact = redactor.redact
        self._tokens = matcher.tokens | matcher.words  # masked only where a whole token
        self._shortest = min(map(len, self._tokens), default=0)
        self._other = matcher.other

    def clean(self, s: str) -> bool:
        """Nothing in ``s`` can be masked: no pattern's hint, no registered value as a token."""
        hint = _hint_re2() if s.isascii() else None  # RE2 and re agree on ASCII text
        return ((hint or _PATTERN_HINT).search(s) is None
                and (not self._tokens or len(s) < self._shortest
                     or self._tokens.isdisjoint(_TOKEN_RUN.findall(s)))
                and (self._other is None or self._other.search(s) is None))

    def text(self, s: str) -> str:
        """``s`` redacted: ``s`` itself when nothing in it can be masked."""
        if self.clean(s):
            return s
        out = self._redact(s)
        return s if out == s else out

    @staticmethod
    def _flat(obj: dict[Any, Any], parts: list[str]) -> bool:
        """Every value of ``obj`` is a scalar or a list of strings (its strings appended to
        ``parts``)."""
        for v in obj.values():
            tv = type(v)
            if tv is str:
                parts.append(v)
            elif tv is list:
                for x in v:
                    if type(x) is not str:
                        return False
                parts.extend(v)
            elif not (tv is int or tv is bool or tv is float or v is None):
                return False
        return True

    def _clean_together(self, parts: list[str]) -> bool:
        """None of ``parts`` holds anything to mask. One test of their text joined by newlines
        answers for all of them (an env graph has a dozen strings per variable, 113,000
        variables in a large product): a newline is no token character and in no hint, so the
        joined text holds exactly their hints, their tokens and a registered value where one
        of them does (a value that spans a newline can only make the test fail, and each string
        is then tested alone)."""
        return self.clean("\n".join(parts))
    def value(self, obj: Any) -> Any:
        t = type(obj)
        if t is str:
            return self.text(obj) if obj else obj
        if t is dict:
            return self._dict(obj)
        if t is list:
            return self._list(obj)
        if t is int or t is float or t is bool or obj is None:
            return obj
        # subclasses, tuples, other objects: as the general rule has it
        if isinstance(obj, str):
            return self._redact(obj)
        if isinstance(obj, dict):
            changed: dict[Any, Any] | None = None
            for k, v in obj.items():
                r = self.value(v)
                if not _same(r, v):
                    if changed is None:
                        changed = dict(obj)
                    changed[k] = r
            return obj if changed is None else changed
        if isinstance(obj, list | tuple):
            items = [self.value(v) for v in obj]
            if isinstance(obj, list) and all(_same(a, b) for a, b in zip(items, obj, strict=True)):
                return obj
            return items
        return obj

    def _item(self, v: Any) -> Any:
        """``v`` redacted, or ``v`` itself when nothing in it changed."""
        tv = type(v)
        if tv is str:
            return self.text(v) if v else v
        if tv is dict:
            return self._dict(v) if v else v
        if tv is list:
            return self._list(v) if v else v
        if tv is int or tv is bool or tv is float or v is None:
            return v
        r = self.value(v)
        return v if _same(r, v) else r

    def _dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        parts: list[str] = []
        if self._flat(obj, parts) and self._clean_together(parts):
            return obj
        out: dict[Any, Any] | None = None
        for k, v in obj.items():
            tv = type(v)
            if tv is int or tv is bool or tv is float or v is None:
                continue
            r = (self.text(v) if v else v) if tv is str else self._item(v)
            if r is not v:
                if out is None:
                    out = dict(obj)
                out[k] = r
        return obj if out is None else out

    def _items(self, obj: list[Any], start: int, stop: int, out: list[Any] | None
               ) -> list[Any] | None:
        """``obj[start:stop]`` redacted onto ``out``: None while nothing has changed, a copy of
        ``obj`` up to the first change from then on."""
        for i in range(start, stop):
            v = obj[i]
            tv = type(v)
            r = v if tv is int or tv is bool or tv is float or v is None else (
                (self.text(v) if v else v) if tv is str else self._item(v))
            if out is not None:
                out.append(r)
            elif r is not v:
                out = obj[:i]
                out.append(r)
        return out

    def _table(self, obj: list[Any]) -> list[Any]:
        """A list of dicts (the env graph's variables): tested a block of flat dicts at a time,
        each dict of a block that fails the test on its own."""
        out: list[Any] | None = None
        for start in range(0, len(obj), FLAT_BLOCK):
            stop = min(start + FLAT_BLOCK, len(obj))
            parts: list[str] = []
            if all(type(v) is dict and self._flat(v, parts) for v in obj[start:stop]) and \
                    self._clean_together(parts):
                if out is not None:
                    out.extend(obj[start:stop])
            else:
                out = self._items(obj, start, stop, out)
        return obj if out is None else out

    def _list(self, obj: list[Any]) -> list[Any]:
        if len(obj) >= FLAT_BLOCK and type(obj[0]) is dict:
            return self._table(obj)
        out = self._items(obj, 0, len(obj), None)
        return obj if out is None else out


def _same(new: Any, old: Any) -> bool:
    """``redact_obj`` left ``old`` as it was (an equal text may be another string object)."""
    return new is old or (type(new) is str and type(old) is str and new == old)


def _mask_values(text: str, m: _Matcher) -> str:
    if m.tokens or m.words:
        found = set(_TOKEN_RUN.findall(text))
        if not found.isdisjoint(m.tokens):
            strong = found & m.tokens
            text = "".join(MASK if p in strong else p for p in _TOKEN_SPLIT.split(text))
        if not found.isdisjoint(m.words):
            weak = _alternation(frozenset(found & m.words))

            def repl(t: re.Match[str]) -> str:
                return MASK if _value_position(t.string, t.start(), t.end()) else t.group(0)

            text = weak.sub(repl, text)
    if m.other is not None:
        text = m.other.sub(MASK, text)
    return text


@functools.lru_cache(maxsize=256)
def _alternation(values: frozenset[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(f"(?<![{TOKEN_CHARS}])(?:{alts})(?![{TOKEN_CHARS}])")


def _mask_patterns(text: str) -> str:
    if not _PATTERN_HINT.search(text):
        return text
    low = text.lower()
    for (regex, repl), hints in zip(_PATTERNS, _HINTS, strict=True):
        if any(h in low for h in hints):
            text = regex.sub(repl, text)
    return text


def is_secret_name(name: str) -> bool:
    """Whether a variable name denotes a secret (``JWT_SECRET``, ``DB_PASSWORD``, ``LLM_API_KEY``...)."""
    return bool(SECRET_NAME_RE.search(name))


def mask_value(value: str) -> str:
    """A display form of a secret: its length and nothing else."""
    return f"{MASK} ({len(value)} chars)" if value else "(empty)"


# ---- quoting a source line ------------------------------------------------------------------
QUOTE_WIDTH = 60  # characters shown on each side of a match
_SECRETISH_NAME = (r"[A-Za-z0-9_.-]*(?:pass(?:word|wd|phrase)?|pwd|pw|secret|token|api_?key|apikey|"
                   r"auth|credential|private_?key|access_?key|signing_?key|client_?key|dsn)"
                   r"[A-Za-z0-9_.-]*")
_ASSIGNED = re.compile(
    r"(?i)(\b" + _SECRETISH_NAME + r"[\"']?[ \t]*(?:=>|:=|=|:)[ \t]*)([\"'`]?)([^\"'`\s,;)}\]]+)"
)
_CODE_VALUE = re.compile(r"(?i)^(?:os\.|process\.env|env\b|getenv|settings\.|config\.|\$|\{|"
                         r"None$|null$|undefined$|true$|false$|bearer$|basic$|token$|\d{1,6}$|"
                         + re.escape(MASK) + ")")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~%]{12,}")
_EDGE = re.compile(r"[A-Za-z0-9+/=_\-.~%]+")


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_WORDISH = re.compile(r"[a-z]{2,}\d{0,4}|[A-Z][a-z]+\d{0,4}|[A-Z]{2,}\d{0,4}|\d{1,5}")


def _random_looking(tok: str) -> bool:
    core = tok.strip("=.-_~")
    if len(core) < 12 or core.startswith("[REDACTED"):
        return False
    if all(_WORDISH.fullmatch(p) for p in re.split(r"[-_./~%+=]", core) if p):
        return False  # words and numbers: a path, a slug, a version
    classes = sum(bool(re.search(p, core)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[+/=_\-.~%]"))
    return classes >= 2 and bool(re.search(r"\d", core)) and _entropy(core) >= 3.0


def mask_tokens(text: str, *, entropy: bool = True) -> str:
    """Mask every credential-shaped token of ``text``: provider keys and other patterns, values
    assigned to secret-named keys (``pw="..."``, ``"token": "..."``), private-key bodies and
    (with ``entropy``) high-entropy tokens (12+ characters mixing digits with letters, entropy
    >= 3 bits/char)."""
    text = _mask_patterns(text)

    def assigned(m: re.Match[str]) -> str:
        value = m.group(3)
        if _CODE_VALUE.match(value):
            return m.group(0)
        return m.group(1) + m.group(2) + MASK

    text = _ASSIGNED.sub(assigned, text)
    if not entropy:
        return text
    return _LONG_TOKEN.sub(lambda m: MASK if _random_looking(m.group(0)) else m.group(0), text)


def mask_evidence(evidence: str) -> str:
    """An exchange's evidence (``Exchange.evidence``) safe to print when the answer may carry
    secrets the run never registered (a debug page, a traceback, a record, a form's hidden
    fields): every line but the request line goes through :func:`mask_tokens` (credential
    patterns and values of secret-named keys; not the entropy rule, which would mask what the
    evidence is about, such as ``sqlite3.OperationalError``); the request line stays readable."""
    first, _, rest = evidence.partition("\n")
    return first + ("\n" + mask_tokens(rest, entropy=False) if rest else "")


def quote_window(line: str, start: int, end: int, *, width: int = QUOTE_WIDTH, keep: int = 0,
                 mask_match: bool = True) -> str:
    """A bounded excerpt of ``line`` around ``line[start:end]``, safe to print.

    With ``mask_match`` (a credential was found there) the match shows only its first ``keep``
    characters (a public prefix such as ``sk-proj-``); without it (a dev-server command, a
    setting) the match is shown, masked like the rest. Every other credential-shaped or
    high-entropy token in the window is masked, and the window never cuts a token in two (a
    token at an edge is included whole, or left out when longer than ``width``). ``…`` marks
    what was left out."""
    end = max(start, min(end, len(line)))
    lo = min(start, _snap(line, max(0, start - width), lo_side=True, limit=width))
    hi = max(end, _snap(line, min(len(line), end + width), lo_side=False, limit=width))
    if mask_match:
        body = mask_tokens(line[lo:start]) + line[start:start + keep] + MASK + mask_tokens(
            line[end:hi])
    else:
        body = mask_tokens(line[lo:hi])
    return (("…" if lo > 0 else "") + body + ("…" if hi < len(line) else "")).strip()


def quote_line(line: str, start: int = 0, end: int = 0, *, width: int = QUOTE_WIDTH) -> str:
    """A line quoted as evidence of something that is not a secret (``start:end``, default the
    line's start): bounded to ``width`` characters around it, every credential masked."""
    return quote_window(line.strip() if not (start or end) else line, start, end or start,
                        width=width, mask_match=False)


def _snap(line: str, pos: int, *, lo_side: bool, limit: int) -> int:
    """Move a window edge off the middle of a token: outwards to the token's end when that is
    within ``limit`` characters, else inwards past the whole token."""
    if pos <= 0 or pos >= len(line):
        return pos
    left, right = line[pos - 1], line[pos]
    if not (_EDGE.fullmatch(left) and _EDGE.fullmatch(right)):
        return pos
    m_left = re.search(r"[A-Za-z0-9+/=_\-.~%]+$", line[:pos])
    m_right = _EDGE.match(line, pos)
    tok_start = m_left.start() if m_left else pos
    tok_end = m_right.end() if m_right else pos
    if lo_side:
        return tok_start if pos - tok_start <= limit else tok_end
    return tok_end if tok_end - pos <= limit else tok_start
