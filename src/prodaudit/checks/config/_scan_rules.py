"""Secret-scan rules (suite-private): what a credential looks like.

Each rule is a Python regex run by the judge (``_scan_judge``) with ``re.ASCII``. The candidate
finders are derived from the same patterns, relaxed so that they match wherever the judge could
(word boundaries dropped, upper repetition bounds lifted): RE2 in process, ripgrep as an option.
Whitespace is spelled out (``WS``) because RE2 and Rust do not count ``\\v`` in ``\\s``.

``high-entropy-assignment`` is the one rule without a known format: a quoted value of 16+
characters assigned to a secret-named key, or (in plain configuration and text files only, where
values go unquoted) an unquoted one of 24+ characters. It reports only values that look random and are
assigned to a name that denotes a credential (:func:`credential_name`, :func:`random_value`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from prodaudit.product.secretvalues import (
    is_secret_var,
    placeholder_reason,
    shannon_bits_per_char,
)

WS = r"\t\n\v\f\r "
ENTROPY_RULE = "high-entropy-assignment"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    pattern: str
    ignore_case: bool = False
    group: int = 0  # the group that holds the secret
    extent: int = 0  # characters a match may run past the end of the line it starts on
    keep: str = ""  # regex for the public prefix shown in the excerpt (``sk-proj-``, ``AKIA``)

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compiled(self)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(rule: Rule) -> re.Pattern[str]:
    rx = _CACHE.get(rule.id)
    if rx is None:
        rx = re.compile(rule.pattern, re.ASCII | (re.IGNORECASE if rule.ignore_case else 0))
        _CACHE[rule.id] = rx
    return rx


RULES: tuple[Rule, ...] = (
    Rule("openai-key", "OpenAI API key",
         r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"
         r"|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|\bsk-[A-Za-z0-9]{48}\b",
         keep=r"sk-(?:proj-|svcacct-|admin-)?"),
    Rule("anthropic-key", "Anthropic API key", r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}",
         keep=r"sk-ant-(?:api|admin)\d{2}-"),
    Rule("google-api-key", "Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", keep="AIza"),
    Rule("gcp-service-account", "GCP service-account private key",
         rf"\"type\"[{WS}]*:[{WS}]*\"service_account\"[\s\S]{{0,2000}}?\"private_key\"[{WS}]*:"
         rf"[{WS}]*\"-----BEGIN", extent=2100, keep=rf"\"type\"[{WS}]*:[{WS}]*\"service_account\""),
    Rule("azure-openai-key", "Azure OpenAI / Cognitive Services key",
         rf"(?:azure|openai|cognitive)[A-Za-z0-9_]*(?:key|secret)[\"']?[{WS}]*[:=][{WS}]*[\"']?"
         r"([a-f0-9]{32})\b", ignore_case=True, group=1, extent=200),
    Rule("cohere-key", "Cohere API key",
         rf"cohere[A-Za-z0-9_]*(?:key|token)[\"']?[{WS}]*[:=][{WS}]*[\"']?([A-Za-z0-9]{{40}})\b",
         ignore_case=True, group=1, extent=200),
    Rule("mistral-key", "Mistral API key",
         rf"mistral[A-Za-z0-9_]*(?:key|token)[\"']?[{WS}]*[:=][{WS}]*[\"']?([A-Za-z0-9]{{32}})\b",
         ignore_case=True, group=1, extent=200),
    Rule("huggingface-token", "Hugging Face token", r"\bhf_[A-Za-z0-9]{34,}\b", keep="hf_"),
    Rule("groq-key", "Groq API key", r"\bgsk_[A-Za-z0-9]{48,}\b", keep="gsk_"),
    Rule("replicate-token", "Replicate token", r"\br8_[A-Za-z0-9]{37}\b", keep="r8_"),
    Rule("aws-access-key", "AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", keep="AKIA|ASIA"),
    Rule("aws-secret-key", "AWS secret access key",
         rf"aws_?secret_?access_?key[\"']?[{WS}]*[:=][{WS}]*[\"']?([A-Za-z0-9/+=]{{40}})\b",
         ignore_case=True, group=1, extent=200),
    Rule("github-token", "GitHub token",
         r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{70,})",
         keep=r"gh[pousr]_|github_pat_"),
    Rule("gitlab-token", "GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}", keep="glpat-"),
    Rule("slack-token", "Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", keep="xox[abposr]-"),
    Rule("slack-webhook", "Slack webhook URL",
         r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}",
         keep=r"https://hooks\.slack\.com/services/"),
    Rule("stripe-key", "Stripe secret key", r"\b[rs]k_live_[A-Za-z0-9]{20,}", keep="[rs]k_live_"),
    Rule("sendgrid-key", "SendGrid API key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
         keep=r"SG\."),
    Rule("private-key", "private key",
         r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
         rf"(?:[{WS}]|\\n|\\r)*[A-Za-z0-9+/=]{{40,}}", extent=400, keep=r"-----BEGIN [A-Z ]+-----"),
    Rule("jwt", "JSON Web Token",
         r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}", keep="eyJ"),
    Rule("url-password", "password in a URL",
         rf"://[A-Za-z0-9._%~-]{{1,64}}:([^@{WS}/:\"'`<>{{}}$]{{3,128}})@[A-Za-z0-9.-]+", group=1),
    Rule(ENTROPY_RULE, "high-entropy value assigned to a secret-named key",
         r"(?:secret|passw(?:or)?d|token|api_?key|access_?key|private_?key|auth_?key|signing_?key)"
         r"[A-Za-z0-9_]*[\"']?[ \t]*(?::[ \t]*[A-Za-z_][\w\[\]|, ]*)?[ \t]*(?:=|:|=>)[ \t]*"
         rf"[\"'`]?([^\"'`{WS}]{{16,200}})[\"'`]?", ignore_case=True, group=1),
)
RULE_INDEX = {r.id: i for i, r in enumerate(RULES)}
URL_PLACEHOLDER_PW = re.compile(r"^(password|pass|pwd|secret|changeme|user|username|xxx+|\*+|"
                                r"<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\([a-z_]+\)s|\{[a-z_]*\})$",
                                re.I)


# ---- the candidate finders' patterns ------------------------------------------------------------
def relaxed(pattern: str) -> str:
    """``pattern`` without word boundaries and upper repetition bounds: it matches wherever the
    original does, on any text, in Python re, RE2 and Rust regex syntax alike."""
    out = re.sub(r"\\\\|\\b", lambda m: m.group(0) if m.group(0) == "\\\\" else "", pattern)
    return re.sub(r"\{(\d+),\d+\}", r"{\1,}", out)


def finder_pattern() -> str:
    """One alternation of every rule, relaxed (each rule a non-capturing group)."""
    return "|".join(f"(?{'i' if r.ignore_case else ''}:{relaxed(r.pattern)})" for r in RULES)


def finder_patterns() -> list[str]:
    """The relaxed rules one by one in Rust syntax (ripgrep takes them as ``-e`` arguments;
    Rust rejects the needless escape of a double quote)."""
    return [("(?i)" if r.ignore_case else "") + relaxed(r.pattern).replace('\\"', '"')
            for r in RULES]


# ---- the entropy rule's judgement -----------------------------------------------------------------
_CREDENTIAL_HEADS = frozenset({
    "secret", "secrets", "password", "passwd", "passphrase", "pwd", "token", "tokens", "apikey",
    "credential", "credentials", "pat",
})  # fmt: skip
_PASSWORD_HEADS = frozenset({"password", "passwd", "passphrase", "pwd", "pass"})
_KEY_QUALIFIERS = frozenset({
    "api", "secret", "private", "access", "auth", "signing", "sign", "encryption", "enc", "crypt",
    "master", "client", "app", "service", "license", "account", "admin", "hmac", "jwt", "session",
    "webhook", "server", "shared", "root", "deploy", "write", "read", "consumer", "subscription",
})  # fmt: skip
_NEUTRAL_TAILS = re.compile(r"^(?:value|val|str|string|raw|b64|base64|hex|bytes|base|prod|"
                            r"production|live|staging|v\d+|\d+)$")
_NAME_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SLUG_PART = re.compile(r"[a-z]{2,}\d{0,4}|[A-Z][a-z]+\d{0,4}|[A-Z]{2,}\d{0,4}|\d{1,4}")
_HEX40 = re.compile(r"[0-9a-f]{40}|[0-9A-F]{40}")
_REFERENCE = re.compile(r"[${}()<>%]|\.\w+\(|^https?://")


def _head(name: str) -> list[str]:
    parts = [p.lower() for p in _NAME_PARTS.findall(name)]
    while len(parts) > 1 and _NEUTRAL_TAILS.match(parts[-1]):
        parts.pop()
    return parts


def password_name(name: str) -> bool:
    """A key for a password people choose (``DB_PASSWORD``, ``passphrase``), as opposed to a
    generated token or key."""
    parts = _head(name)
    return bool(parts) and parts[-1] in _PASSWORD_HEADS


def credential_name(name: str) -> bool:
    """Whether a key names a credential: its last word (after neutral tails such as ``_value``
    or ``_b64``) is ``secret``/``password``/``token``..., or ``key`` qualified as ``api``,
    ``secret``, ``private``, ``signing``... (``JWT_SECRET``, ``apiKey``, ``sessionToken``; not
    ``secretPayment``, ``cacheKey`` or ``token_url``)."""
    if not is_secret_var(name.upper()):
        return False
    parts = _head(name)
    if not parts:
        return False
    head = parts[-1]
    if head in _CREDENTIAL_HEADS:
        return True
    return head == "key" and len(parts) > 1 and parts[-2] in _KEY_QUALIFIERS


def random_value(value: str, chosen: bool = False) -> str | None:
    """Why ``value`` is not a credential, or None when it looks like one. Generated credentials
    (tokens, keys) are random: words and short numbers are an identifier. A password people
    choose (``chosen``) may well be words and numbers, so it is only refused for the other
    reasons."""
    if placeholder_reason(value):
        return "a placeholder"
    if _REFERENCE.search(value) or value.count(".") > 2:
        return "a reference, template, call, URL or dotted name"
    if not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
        return "not a mix of letters and digits"
    if not chosen and all(_SLUG_PART.fullmatch(p) for p in re.split(r"[-_.:/]", value) if p):
        return "words and short numbers (an identifier or slug)"
    if _HEX40.fullmatch(value):
        return "40 hex digits: a git object id or SHA-1 digest"
    if shannon_bits_per_char(value) < 3.5:
        return "low entropy"
    return None


# ---- version --------------------------------------------------------------------------------------
def rules_version() -> str:
    """Changes whenever a rule or the code that judges them changes: the cache key's second half."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in (here / "_scan_rules.py", here / "_scan_judge.py", here / "_scan_engine.py",
                 here.parents[1] / "product" / "secretvalues.py"):
        try:
            h.update(path.read_bytes())
        except OSError:  # an installed copy without sources: the rules themselves still count
            h.update(repr(RULES).encode())
    h.update((Path(__file__).resolve().parents[2] / "redact.py").read_bytes())
    return h.hexdigest()[:16]
