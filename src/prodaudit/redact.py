"""The one place secret values are masked (DESIGN rule 5: no secret value in any output).

Two layers: exact values registered at run time (env file secrets, the audit account's
password, tokens obtained during the run) and patterns for credentials we did not register
(provider keys, JWT signatures, passwords in URLs, Authorization headers).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MIN_SECRET_LEN = 6
MASK = "[REDACTED]"

SECRET_NAME_RE = re.compile(
    r"(SECRET|PASSWORD|PASSWD|PASS$|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|DSN|_KEY$|^KEY$)", re.I
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JWT: keep header and payload (not secret, useful evidence), mask the signature
    (
        re.compile(r"\b(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{8,})"),
        r"\1." + MASK,
    ),
    (re.compile(r"\b(sk-(?:proj-|ant-|live-)?)[A-Za-z0-9_-]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1" + MASK),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{30,}"), r"\1" + MASK),
    (re.compile(r"\b(glpat-)[A-Za-z0-9_-]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(xox[abprs]-)[A-Za-z0-9-]{10,}"), r"\1" + MASK),
    (re.compile(r"\b([rs]k_live_)[A-Za-z0-9]{16,}"), r"\1" + MASK),
    (re.compile(r"\b(AIza)[0-9A-Za-z_-]{35}"), r"\1" + MASK),
    (re.compile(r"\b(hf_)[A-Za-z0-9]{30,}"), r"\1" + MASK),
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s/]+)(@)", re.I), r"\1" + MASK + r"\3"),
    # Authorization / cookie headers
    (re.compile(r"(?im)^(\s*(?:authorization|proxy-authorization)\s*:\s*\w+\s+)(\S+)"), r"\1" + MASK),
    (re.compile(r"(?im)^(\s*(?:set-)?cookie\s*:\s*[^=;\s]+=)([^;\s]+)"), r"\1" + MASK),
    (
        re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----"),
        "-----BEGIN PRIVATE KEY-----" + MASK + "-----END PRIVATE KEY-----",
    ),
)


class Redactor:
    """Masks registered secret values and known credential patterns. Thread-safe."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._compiled: re.Pattern[str] | None = None

    def register(self, *values: str | None) -> None:
        """Remember secret values to mask wherever they appear."""
        with self._lock:
            for value in values:
                if value and len(value.strip()) >= MIN_SECRET_LEN:
                    self._values.add(value.strip())
            self._compiled = None

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

    def _pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._compiled is None and self._values:
                alts = sorted(self._values, key=len, reverse=True)
                self._compiled = re.compile("|".join(re.escape(v) for v in alts))
            return self._compiled

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if not text:
            return text
        pat = self._pattern()
        if pat is not None:
            text = pat.sub(MASK, text)
        for regex, repl in _PATTERNS:
            text = regex.sub(repl, text)
        return text

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like structure."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj


def is_secret_name(name: str) -> bool:
    """Whether a variable name denotes a secret (``JWT_SECRET``, ``DB_PASSWORD``, ``LLM_API_KEY``...)."""
    return bool(SECRET_NAME_RE.search(name))


def mask_value(value: str) -> str:
    """A display form of a secret: its length and nothing else."""
    return f"{MASK} ({len(value)} chars)" if value else "(empty)"
