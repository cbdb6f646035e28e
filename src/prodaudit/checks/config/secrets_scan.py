"""CFG-040–049: credentials in tracked files and in the built frontend, committed env files.

Pure-Python regexes over the shared file index (``.gitignore`` respected in git repositories;
built assets under ``dist/``, ``build/``, ``static/``, ``public/`` always included). A line with
the allow comment (``secrets.allow_comment``, default ``prodaudit: allow``) is accepted; so is a
finding listed in the baseline file (``secrets.baseline``, JSON, see docs/config.md).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    warned,
)
from prodaudit.product.envfiles import env_files
from prodaudit.product.secretvalues import (
    is_secret_var,
    placeholder_reason,
    shannon_bits_per_char,
)
from prodaudit.redact import MASK

log = logging.getLogger("prodaudit.config.secrets")

RULES: tuple[tuple[str, str, str], ...] = (
    ("openai-key", "OpenAI API key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ"
     r"[A-Za-z0-9_-]{20,}|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|\bsk-[A-Za-z0-9]{48}\b"),
    ("anthropic-key", "Anthropic API key", r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}"),
    ("google-api-key", "Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("gcp-service-account", "GCP service-account private key",
     r"\"type\"\s*:\s*\"service_account\"[\s\S]{0,2000}?\"private_key\"\s*:\s*\"-----BEGIN"),
    ("azure-openai-key", "Azure OpenAI / Cognitive Services key",
     r"(?i)(?:azure|openai|cognitive)[A-Za-z0-9_]*(?:key|secret)[\"']?\s*[:=]\s*[\"']?[a-f0-9]{32}\b"),
    ("cohere-key", "Cohere API key", r"(?i)cohere[A-Za-z0-9_]*(?:key|token)[\"']?\s*[:=]\s*[\"']?"
     r"[A-Za-z0-9]{40}\b"),
    ("mistral-key", "Mistral API key", r"(?i)mistral[A-Za-z0-9_]*(?:key|token)[\"']?\s*[:=]\s*"
     r"[\"']?[A-Za-z0-9]{32}\b"),
    ("huggingface-token", "Hugging Face token", r"\bhf_[A-Za-z0-9]{34,}\b"),
    ("groq-key", "Groq API key", r"\bgsk_[A-Za-z0-9]{48,}\b"),
    ("replicate-token", "Replicate token", r"\br8_[A-Za-z0-9]{37}\b"),
    ("aws-access-key", "AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    ("aws-secret-key", "AWS secret access key",
     r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}\b"),
    ("github-token", "GitHub token",
     r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{70,})"),
    ("gitlab-token", "GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("slack-token", "Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("slack-webhook", "Slack webhook URL",
     r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}"),
    ("stripe-key", "Stripe secret key", r"\b[rs]k_live_[A-Za-z0-9]{20,}"),
    ("sendgrid-key", "SendGrid API key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("private-key", "private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE "
     r"KEY(?: BLOCK)?-----(?:\s|\\n|\\r)*[A-Za-z0-9+/=]{40,}"),
    ("jwt", "JSON Web Token",
     r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"),
    ("url-password", "password in a URL",
     r"://[A-Za-z0-9._%~-]{1,64}:([^@\s/:\"'`<>{}$]{3,128})@[A-Za-z0-9.-]+"),
)
# Literal anchors per rule: a rule's regex only runs on a file that contains one of them
# (lower-cased anchors are matched against the lower-cased text).
ANCHORS: dict[str, tuple[str, ...]] = {
    "openai-key": ("sk-",), "anthropic-key": ("sk-ant-",), "google-api-key": ("AIza",),
    "gcp-service-account": ("service_account",), "azure-openai-key": ("azure", "openai",
                                                                      "cognitive"),
    "cohere-key": ("cohere",), "mistral-key": ("mistral",), "huggingface-token": ("hf_",),
    "groq-key": ("gsk_",), "replicate-token": ("r8_",), "aws-access-key": ("AKIA", "ASIA"),
    "aws-secret-key": ("aws",), "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                                                 "github_pat_"),
    "gitlab-token": ("glpat-",), "slack-token": ("xox",), "slack-webhook": ("hooks.slack.com",),
    "stripe-key": ("_live_",), "sendgrid-key": ("SG.",), "private-key": ("PRIVATE KEY",),
    "jwt": ("eyJ",), "url-password": ("://",),
}
_LOWER_ANCHORS = frozenset({"azure-openai-key", "cohere-key", "mistral-key", "aws-secret-key"})
_ASSIGN_RE = re.compile(
    r"(?i)(?:secret|passw(?:or)?d|token|api_?key|access_?key|private_?key|auth_?key|signing_?key)"
    r"[A-Za-z0-9_]*[\"']?[ \t]*(?::[ \t]*[A-Za-z_][\w\[\]|, ]*)?[ \t]*(?:=|:|=>)[ \t]*[\"'`]"
    r"([^\"'`\s]{16,200})[\"'`]"
)
_NAME_TAIL_RE = re.compile(r"[A-Za-z0-9_]*$")
_COMPILED = tuple((rule, title, re.compile(rx)) for rule, title, rx in RULES)
_PREFILTER = re.compile(r"sk-|AIza|service_account|hf_|gsk_|r8_|AKIA|ASIA|gh[pousr]_|github_pat|"
                        r"glpat-|xox|hooks\.slack|_live_|SG\.|PRIVATE KEY|eyJ|://|(?i:secret|passw|"
                        r"token|key)")
BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".woff", ".woff2", ".ttf",
                   ".otf", ".eot", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".whl", ".pyc",
                   ".so", ".dll", ".exe", ".mp4", ".mp3", ".wasm", ".db", ".sqlite", ".lock")
BUILD_DIR_NAMES = frozenset({"dist", "build", "static", "public", ".next", "out"})
ASSET_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".html", ".htm", ".map", ".json", ".txt",
                  ".svg", ".xml", ".webmanifest")
URL_PLACEHOLDER_PW = re.compile(r"^(password|pass|pwd|secret|changeme|user|username|xxx+|\*+|"
                                r"<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\([a-z_]+\)s|\{[a-z_]*\})$",
                                re.I)


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    rule: str
    title: str
    secret: str
    excerpt: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.rule}:{self.secret}".encode()).hexdigest()[:16]


@dataclass
class ScanResult:
    hits: list[Hit]
    scanned: int
    skipped_binary: int
    skipped_large: int
    unreadable: int
    allowed: int
    baselined: int
    seconds: float


def _is_built_asset(rel: str) -> bool:
    parts = rel.split("/")
    return bool(set(parts[:-1]) & BUILD_DIR_NAMES) and rel.lower().endswith(ASSET_SUFFIXES)


def _mask_line(line: str, secret: str) -> str:
    line = line.strip()
    if secret and secret in line:
        keep = secret[:4] if len(secret) > 12 else ""
        line = line.replace(secret, keep + MASK)
    return line[:200]


def scan_text(rel: str, text: str, allow_comment: str) -> tuple[list[Hit], int]:
    """Hits in one file, and how many were accepted by the allow comment."""
    hits: list[Hit] = []
    allowed = 0
    if not _PREFILTER.search(text):
        return hits, 0
    lines = text.splitlines()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def add(pos: int, rule: str, title: str, secret: str) -> None:
        nonlocal allowed
        ln = line_of(pos)
        src = lines[ln - 1] if ln - 1 < len(lines) else ""
        if allow_comment and allow_comment in src:
            allowed += 1
            return
        hits.append(Hit(rel, ln, rule, title, secret, _mask_line(src, secret)))

    lower = text.lower()
    for rule, title, rx in _COMPILED:
        hay = lower if rule in _LOWER_ANCHORS else text
        if not any(a in hay for a in ANCHORS[rule]):
            continue
        for m in rx.finditer(text):
            secret = m.group(0)
            if rule == "url-password":
                secret = m.group(1)
                if URL_PLACEHOLDER_PW.match(secret) or placeholder_reason(secret):
                    continue
            add(m.start(), rule, title, secret)
    seen_lines = {h.line for h in hits}
    for m in _ASSIGN_RE.finditer(text):
        tail = _NAME_TAIL_RE.search(text, max(0, m.start() - 80), m.start())
        name = (tail.group(0) if tail else "") + text[m.start():m.end()].split("=")[0].split(
            ":")[0].strip("\"' \t")
        value = m.group(1)
        if not is_secret_var(name.upper()) or placeholder_reason(value):
            continue
        if re.search(r"[${}()<>%]|\.\w+\(|^https?://", value) or value.count(".") > 2:
            continue  # references, templates, calls, URLs, dotted names
        if not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
            continue
        if shannon_bits_per_char(value) < 3.5 or line_of(m.start()) in seen_lines:
            continue
        add(m.start(1), "high-entropy-assignment", f"high-entropy value assigned to {name}", value)
    return hits, allowed


def _baseline(ctx: Context) -> set[tuple[str, str]]:
    path = ctx.cfg.secrets.baseline
    if path is None:
        return set()
    p = path if path.is_absolute() else ctx.repo / path
    data = json.loads(p.read_text(encoding="utf-8"))
    items = data.get("findings", data) if isinstance(data, dict) else data
    return {(str(i.get("path", "")), str(i.get("fingerprint", ""))) for i in items}


def scan(ctx: Context) -> ScanResult:
    """Scan every indexed file once per audit (both CFG-040 and CFG-041 use it)."""

    def build() -> ScanResult:
        t0 = time.monotonic()
        cap = ctx.cfg.secrets.max_file_bytes
        allow = ctx.cfg.secrets.allow_comment
        baseline = _baseline(ctx)
        res = ScanResult([], 0, 0, 0, 0, 0, 0, 0.0)
        total = len(ctx.files.files)
        for n, rel in enumerate(ctx.files.files, 1):
            if n % 5000 == 0:
                log.info("secret scan: %d/%d files", n, total)
            if rel.lower().endswith(BINARY_SUFFIXES):
                res.skipped_binary += 1
                continue
            full = ctx.repo / rel
            try:
                size = os.stat(full).st_size
                if size > cap:
                    res.skipped_large += 1
                    continue
                with open(full, "rb") as fh:
                    raw = fh.read()
            except OSError:
                res.unreadable += 1
                continue
            if b"\0" in raw[:8192]:
                res.skipped_binary += 1
                continue
            res.scanned += 1
            text = raw.decode("utf-8", errors="replace")
            hits, allowed = scan_text(rel, text, allow)
            res.allowed += allowed
            for h in hits:
                if (h.path, h.fingerprint) in baseline:
                    res.baselined += 1
                else:
                    res.hits.append(h)
        res.seconds = time.monotonic() - t0
        for h in res.hits:
            ctx.redact.register(h.secret)
        return res

    return ctx.memo("cfg:secret_scan", build)


def _summary(res: ScanResult, what: str) -> str:
    return (f"{res.scanned} files scanned in {res.seconds:.2f} s ({what}); skipped: "
            f"{res.skipped_binary} binary, {res.skipped_large} over the size cap, "
            f"{res.unreadable} unreadable; {res.allowed} allowed inline, {res.baselined} in the "
            "baseline")


def _hit_finding(h: Hit, severity: Severity | None = None) -> Finding:
    return failed(f"{h.title} in {h.path}", location=f"{h.path}:{h.line}", evidence=h.excerpt,
                  rule=h.rule, severity=severity)


@check("CFG-040", "No credentials in tracked files", severity=Severity.CRITICAL, needs=("repo",),
       checklist=("2.1.2", "8.2.1", "10.1.2"), references=("CWE-798", "CWE-540"), evidence=Evidence.PARSED)
def secrets_in_code(ctx: Context) -> list[Finding]:
    """No tracked file (``.gitignore`` respected; every file outside git) contains a credential:
    LLM provider keys (OpenAI, Anthropic, Google, Azure, Cohere, Mistral, Hugging Face, Groq,
    Replicate), AWS keys, GCP service-account keys, GitHub/GitLab/Slack/Stripe/SendGrid tokens,
    private keys, JWTs, passwords in URLs, and high-entropy values assigned to secret-named
    variables. Binaries and files over ``secrets.max_file_bytes`` are skipped and counted.

    A secret in the repository is in every clone, fork, CI cache and backup forever; bots harvest
    public repositories for provider keys within minutes.

    Remediation: revoke and rotate the credential first, then remove it from the code and the
    history (git filter-repo), and read it from the environment. Accepted test fixtures: add the
    allow comment on the line or list the finding's fingerprint in the baseline file.
    """
    try:
        res = scan(ctx)
    except (OSError, ValueError) as exc:
        return [errored(f"secrets.baseline unreadable: {exc}")]
    code_hits = [h for h in res.hits if not _is_built_asset(h.path)]
    out: list[Finding] = [_hit_finding(h) for h in code_hits]
    if res.unreadable:
        out.append(errored(f"{res.unreadable} file(s) could not be read: not scanned"))
    if not res.scanned:
        raise Skip("no readable text file in the repository")
    if not code_hits:
        out.insert(0, passed("no credential found: " + _summary(res, "git-tracked" if
                                                               ctx.files.git else "tree walk")))
    else:
        out.append(warned(_summary(res, "fingerprints for the baseline: " + ", ".join(
            f"{h.path}:{h.fingerprint}" for h in code_hits[:20]))))
    return out


@check("CFG-041", "No credentials in the built frontend", severity=Severity.CRITICAL,
       needs=("repo",), checklist=("2.1.2", "8.2.1"), references=("CWE-200", "CWE-798"),
       evidence=Evidence.PARSED)
def secrets_in_frontend_build(ctx: Context) -> list[Finding]:
    """Built frontend assets (``dist/``, ``build/``, ``static/``, ``public/``, ``.next/``; scanned
    even when git-ignored, because they ship) contain no credential — above all no LLM provider
    key baked in through ``VITE_*``/``REACT_APP_*`` variables — and no source maps with secrets.

    Everything in a JavaScript bundle is public: a provider key in it is found with "view source"
    and billed to you.

    Remediation: never put secrets in ``VITE_``/``REACT_APP_``/``NEXT_PUBLIC_`` variables; call
    the provider from the backend; rotate the exposed key.
    """
    res = scan(ctx)
    assets = [f for f in ctx.files.files if _is_built_asset(f)]
    if not assets:
        raise Skip("no built frontend assets (dist/, build/, static/, public/) in the repository")
    hits = [h for h in res.hits if _is_built_asset(h.path)]
    out: list[Finding] = [_hit_finding(h) for h in hits]
    maps = [a for a in assets if a.endswith(".map")]
    if maps:
        out.append(warned(f"{len(maps)} source map(s) ship with the build (they expose the source)",
                          location=maps[0]))
    if not hits:
        out.insert(0, passed(f"{len(assets)} built asset(s) contain no credential"))
    return out


def _gitignore_patterns(ctx: Context) -> list[str]:
    text = ctx.read(".gitignore") if ".gitignore" in ctx.files.files or (
        ctx.repo / ".gitignore").is_file() else None
    if text is None:
        try:
            text = (ctx.repo / ".gitignore").read_text(errors="replace")
        except OSError:
            return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def gitignored(rel: str, patterns: list[str]) -> bool:
    """A small ``.gitignore`` matcher (root file only): globs on the name or the path, ``!``."""
    ignored = False
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.rstrip("/")
        anchored = p.startswith("/")
        p = p.lstrip("/")
        hit = fnmatch.fnmatch(rel, p) or (
            not anchored and "/" not in p and fnmatch.fnmatch(name, p))
        if hit:
            ignored = not neg
    return ignored


@check("CFG-042", "No env files with real values are committed", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.2", "2.1.3"), references=("CWE-538", "CWE-798"),
       evidence=Evidence.PARSED)
def committed_env_files(ctx: Context) -> list[Finding]:
    """Env files other than examples (``.env``, ``.env.production``, ``prod.env`` ...) are not in
    the repository with real secret values. In a git repository "in the repository" means tracked
    or not ignored; elsewhere, present and not matched by the root ``.gitignore``.

    ``.env`` files are where real credentials live; committed, they leak with every clone.

    Remediation: ``git rm --cached .env``, add ``.env`` and ``.env.*`` (with ``!.env.example``)
    to ``.gitignore``, rotate the values.
    """
    patterns = [] if ctx.files.git else _gitignore_patterns(ctx)
    out: list[Finding] = []
    looked = 0
    for ef in env_files(ctx):
        if ef.kind == "example":
            continue
        looked += 1
        if not ctx.files.git and gitignored(ef.path, patterns):
            continue
        real = [e for e in ef.entries if is_secret_var(e.name) and e.value
                and placeholder_reason(e.value) is None]
        if real:
            for e in real:
                ctx.redact.register(e.value)
            names = ", ".join(e.name for e in real[:10])
            out.append(failed(f"{ef.path} is {'tracked' if ctx.files.git else 'not git-ignored'} "
                              f"and holds {len(real)} real secret value(s): {names}",
                              location=f"{ef.path}:{real[0].line}"))
    if not out:
        out.append(passed(f"{looked} non-example env file(s) found; none is committed with real "
                          "secret values" + ("" if ctx.files.git else " (tree walk, .gitignore "
                                             "applied)")))
    return out

