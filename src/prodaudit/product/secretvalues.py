"""How secret a name is and how weak a value is: placeholders, length, entropy.

Not a check module."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from urllib.parse import urlsplit

from prodaudit.redact import SECRET_NAME_RE, is_secret_name

_NOT_SECRET_RE = re.compile(
    r"(EXPIRE|TTL|MINUTES|SECONDS|DAYS|HOURS|LIFETIME|ALGORITHM|_ALG$|ROUNDS|LENGTH|_LEN$|_FILE$|"
    r"_PATH$|_ENABLED$|_HEADER$|_NAME$|_FIELD$|ISSUER|AUDIENCE|_ENV$|_URL$|_URI$|_HOST$|_PORT$|"
    r"_MODEL$|_TYPE$|_ID$|_COOKIE$|_PREFIX$|_SCHEME$|_LOCATION$|_MAX_|_MIN_|_ROTATION|_ERROR$|"
    r"_MESSAGE$|_MSG$|_TEXT$|_LABEL$|_TITLE$|_DETAIL$|_HELP$|_DESCRIPTION$|_PATTERN$|_REGEX$)",
    re.I,
)
SIGNING_RE = re.compile(
    r"(JWT|HMAC|SIGNING|SESSION|COOKIE_SECRET|CSRF|^SECRET_KEY$|^SECRET$|APP_SECRET|APP_KEY|"
    r"TOKEN_SECRET|AUTH_SECRET|NEXTAUTH_SECRET|ENCRYPT(ION)?_KEY|FERNET)", re.I
)
PLACEHOLDER_RE = re.compile(
    r"^(change[-_ ]?(me|this|it)\b.*|changethis.*|changeme.*|secret|secrets?[-_]?key|password|"
    r"passw0rd|pass|admin|root|test|testing|default|example|sample|dummy|fake|foo|bar|foobar|"
    r"x+|\*+|\.+|todo|fixme|tbd|none|null|undefined|placeholder|replace[-_ ]?me.*|"
    r"insert[-_ ].*|your[-_ ].*|<[^>]*>|\[[^\]]*\]|\{\{[^}]*\}\}|123+4*5*6*.*|qwerty.*|letmein|"
    r"s3cr3t|supersecret.*|super[-_]secret.*|my[-_]?secret.*|secret\d+|password\d+|"
    r"development|dev|local|xxx.*|sk-\.\.\.|sk-x+|sk-your.*|\$\{[^}]*\}|postgres|mysql|mariadb|"
    r"redis|mongo|guest|user|hunter2|minioadmin|rabbitmq|keycloak)$",
    re.I,
)
PLACEHOLDER_WORDS = ("changeme", "changethis", "change_me", "change-me", "your-", "your_",
                     "-here", "_here", "replace-me", "replace_me", "placeholder", "example.com")


#: the two name patterns case-sensitive, for an upper-cased ASCII name: the same answer as
#: ``re.I`` on the name (their letters are ASCII capitals), in half the time
_SECRET_NAME_UPPER = re.compile(SECRET_NAME_RE.pattern)
_NOT_SECRET_UPPER = re.compile(_NOT_SECRET_RE.pattern)


@lru_cache(maxsize=1 << 16)  # a pure function of the name, asked for every variable many times
def is_secret_var(name: str) -> bool:
    """A variable that holds a secret (``JWT_SECRET``, ``DB_PASSWORD``, ``LLM_API_KEY`` ...), not
    merely a setting about one (``ACCESS_TOKEN_EXPIRE_MINUTES``, ``JWT_ALGORITHM``)."""
    if name.isascii():
        upper = name.upper()
        return _SECRET_NAME_UPPER.search(upper) is not None and \
            _NOT_SECRET_UPPER.search(upper) is None
    return is_secret_name(name) and not _NOT_SECRET_RE.search(name)


def is_signing_var(name: str) -> bool:
    """A JWT/HMAC/session signing secret, where length and randomness matter most."""
    return is_secret_var(name) and bool(SIGNING_RE.search(name))


def url_password(value: str) -> str | None:
    """The password of a ``scheme://user:password@host`` value, if any."""
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value.strip()).password
    except ValueError:
        return None


#: a value made only of the words that name a credential (``token``, ``open_api_key``,
#: ``jwt_secret``, ``apikey``): it says what belongs there, it is not one
_SELF_NAMING_RE = re.compile(
    r"^(?:(?:open_?ai|open|api|keys?|tokens?|secrets?|jwt|access|auth|private|client|app|"
    r"signing|session|bearer|my|your|the|value|llm|gpt)[-_ ]?)+$", re.I)


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` is not a real secret (a placeholder or default), or None."""
    v = value.strip()
    if not v:
        return "empty"
    if PLACEHOLDER_RE.match(v):
        return "a placeholder or well-known default"
    if _SELF_NAMING_RE.match(v):
        return "a placeholder naming the credential it stands for"
    low = v.lower()
    for word in PLACEHOLDER_WORDS:
        if word in low:
            return f"a value with the placeholder marker {word!r}"
    return None


_MARKUP_DOC_SUFFIXES = (".md", ".markdown", ".mdx", ".rst", ".adoc", ".asciidoc")
_SELF_DESCRIBING_RE = re.compile(
    r"pass|pwd|secret|secure|test|example|sample|demo|dummy|staging|production", re.I)


def is_markup_doc(rel: str) -> bool:
    """A documentation page (Markdown, reStructuredText, AsciiDoc), not code or configuration."""
    return rel.lower().endswith(_MARKUP_DOC_SUFFIXES)


def documented_example(rel: str, value: str) -> str | None:
    """Why a password people choose, written in a documentation page, is an illustration rather
    than a credential: it spells out its own role (``SecurePassword123!``,
    ``complex_staging_password_123!``, ``test_pass``), or None. Code, configuration and env files
    are never excused this way, nor are generated tokens (they are random, not words)."""
    if not is_markup_doc(rel):
        return None
    m = _SELF_DESCRIBING_RE.search(value)
    return f"an example in documentation (the value says {m.group(0).lower()!r})" if m else None


#: the statement a literal belongs to says it is a sample payload of the API's documentation:
#: ``EXAMPLES = {...}``, ``USER_EXAMPLE = {...}``, an ``"example"``/``"examples"`` key,
#: ``example=``/``examples=``/``openapi_examples=`` keywords, pydantic ``json_schema_extra`` /
#: ``schema_extra``
_EXAMPLE_CONTEXT_RE = re.compile(
    r"^[A-Za-z_]*EXAMPLES?\w*\s*(:[^=\n]*)?=|[\"'](examples?|openapi_examples)[\"']\s*:|"
    r"\b(examples?|openapi_examples|json_schema_extra|schema_extra)\s*[=:]", re.I | re.M)


def example_payload(rel: str, text: str, line: int, value: str) -> str | None:
    """Why a password people choose, on ``line`` of a Python module, is a sample of the API's
    documentation rather than a credential: the value spells out its role (``strongpassword123``,
    ``test_pass``) and the top-level statement it belongs to is an example payload
    (``EXAMPLES = {"user_create": {"value": {"password": ...}}}``, ``Field(...,
    example="secretpass1")``, ``json_schema_extra={"example": {...}}``), or None."""
    if not rel.endswith(".py") or not _SELF_DESCRIBING_RE.search(value):
        return None
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    first = line - 1
    while first > 0 and not re.match(r"[A-Za-z_@]", lines[first]):
        first -= 1
    m = _EXAMPLE_CONTEXT_RE.search("\n".join(lines[first:line]))
    return f"a sample payload of the API documentation ({m.group(0).strip()[:30]})" if m else None


def shannon_bits_per_char(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def weakness(value: str, min_bytes: int = 32) -> str | None:
    """Why a signing secret is weak (too short, low entropy), or None."""
    raw = value.encode()
    if len(raw) < min_bytes:
        return f"{len(raw)} bytes, shorter than {min_bytes}"
    bits = shannon_bits_per_char(value)
    if len(set(value)) < 10 or bits < 3.0:
        return f"low entropy ({bits:.1f} bits/char, {len(set(value))} distinct characters)"
    if re.fullmatch(r"[a-z]+", value) or re.fullmatch(r"(\w+?)\1+", value):
        return "a word or a repeated pattern, not random"
    return None


_BOOL_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "none",
                         "null", "enabled", "disabled"})
_DOTTED_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_PATH_RE = re.compile(r"^(\.{0,2}/|~/|[A-Za-z]:\\)|\.(pem|key|crt|cer|der|p12|pfx|json|txt|pub)$",
                      re.I)


#: a setting that names where an identity is found — a payload key, a field, a header, a
#: claim (``JWT_AUTH_USERNAME_KEY``, ``USER_ID_CLAIM``, ``TOKEN_TYPE_CLAIM``,
#: ``AUTH_HEADER_KEY``), not a key that unlocks something
_FIELD_SETTING_RE = re.compile(
    r"(USERNAME|USER_?ID|EMAIL|LOGIN|IDENTITY|IDENTIFIER|LOOKUP|FIELD|COLUMN|ATTR|ATTRIBUTE|"
    r"CLAIM|HEADER|PARAM|PARAMETER|PAYLOAD|SCOPE|TYPE)_KEY$|_CLAIMS?$|_CLAIM_(KEY|NAME)$|"
    r"_(FIELD|HEADER|PARAM|COLUMN|ATTR|ATTRIBUTE|LOOKUP)_(KEY|NAME)$", re.I)
#: the value such a setting holds: a short identifier (``email``, ``user_id``, ``sub``,
#: ``X-User-Id``, ``preferred_username``), never a generated-looking token
_FIELD_VALUE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,39}")


def names_a_field(name: str, value: object) -> bool:
    """A setting named for a field, header or claim that holds a short identifier
    (``JWT_AUTH_USERNAME_KEY = "email"``): the name of a field, not a credential."""
    if not isinstance(value, str) or not _FIELD_SETTING_RE.search(name):
        return False
    v = value.strip()
    return bool(_FIELD_VALUE_RE.fullmatch(v)) and not looks_random(v, 16) \
        and not re.search(r"\d{3,}", v)


def not_a_credential(value: object, *names: str | None) -> str | None:
    """Why a value assigned to a secret-named setting is not itself a credential (a number, a
    duration, a boolean word, an import path, a file path, a URL without a password, a
    ``${VAR}`` reference, empty, or — given the setting's ``names`` — the name of a field,
    header or claim: :func:`names_a_field`), or None when it is one."""
    if not isinstance(value, str):
        return "not a string"
    v = value.strip()
    if not v:
        return "empty"
    if any(n and names_a_field(n, v) for n in names):
        return "the name of a field, header or claim"
    if v.lower() in _BOOL_WORDS:
        return "a boolean switch"
    if re.fullmatch(r"[-+]?\d+(\.\d+)?[smhdw]?", v):
        return "a number or a duration"
    if "${" in v or (v.startswith("{") and v.endswith("}")):
        return "a reference to another variable"
    if re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", v):
        return "a name (an environment variable or an identifier)"
    if _DOTTED_RE.match(v) and not re.search(r"\d{4,}", v):
        return "an import path"
    if _PATH_RE.search(v) and " " not in v:
        return "a file path"
    if "://" in v and url_password(v) is None:
        return "a URL without credentials"
    return None


def looks_random(value: str, min_len: int = 24) -> bool:
    """A long, high-entropy token without spaces (a generated key or client secret)."""
    if len(value) < min_len:  # stripping only shortens it: most strings end here
        return False
    v = value.strip()
    return (len(v) >= min_len and " " not in v and shannon_bits_per_char(v) >= 3.5
            and placeholder_reason(v) is None and not_a_credential(v) is None)
