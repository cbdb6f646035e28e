"""RDY-027: the frontend keeps credentials out of script-readable web storage."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._scan import frontend_sources, is_test_path, line_of

_WRITE = re.compile(
    r"(?<![\w.])(?:window\.)?(?P<store>localStorage|sessionStorage)\s*"
    r"(?:\.setItem\s*\(\s*(?P<args>[^;\n]{0,200})|\.(?P<prop>\w+)\s*=(?!=)|"
    r"\[\s*(?P<key>['\"`][^'\"`]+['\"`])\s*\]\s*=(?!=))"
)
_CREDENTIAL = re.compile(r"token|jwt|bearer|access|refresh|auth|session|password|secret|"
                         r"credential|api_?key", re.I)
_COMMENT = re.compile(r"^\s*(//|\*|/\*)")


@check("RDY-027", "The frontend keeps tokens out of localStorage and sessionStorage",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("8.1.1", "1.3.5"),
       references=("CWE-922", "OWASP ASVS 3.2.3"), evidence=Evidence.PARSED)
def tokens_in_web_storage(ctx: Context) -> list[Finding]:
    """No frontend source writes a credential — a key or value naming a token, JWT, access or
    refresh token, session, password or API key — into ``localStorage`` or ``sessionStorage``
    (``setItem``, property or index assignment). One finding per file, at its first write;
    comments, tests and copied third-party files are not judged.

    Web storage is readable by every script on the origin: one XSS (or a compromised
    dependency) copies the bearer token and replays it from anywhere until it expires.

    Remediation: let the backend set the session or refresh token as an ``HttpOnly; Secure;
    SameSite`` cookie and keep a short-lived access token in memory only.
    """
    src = frontend_sources(ctx)
    files = {rel: text for rel, text in src.files.items() if not is_test_path(rel)}
    if not files:
        raise Skip("no frontend sources (.js/.jsx/.ts/.tsx/.vue/.svelte outside build output)")
    findings: list[Finding] = []
    for rel, text in sorted(files.items()):
        lines = text.splitlines()
        hits: list[tuple[int, str]] = []
        for mt in _WRITE.finditer(text):
            n = line_of(text, mt.start())
            line = lines[n - 1] if n <= len(lines) else ""
            what = mt.group("args") or mt.group("prop") or mt.group("key") or ""
            literal_key = re.match(r"\s*(['\"`])([^'\"`]*)\1", what)
            if literal_key:  # setItem('name', value): the key says what is stored
                what = literal_key.group(2)
            if _COMMENT.match(line) or not _CREDENTIAL.search(what):
                continue
            hits.append((n, line.strip()))
        if hits:
            more = f" (and {len(hits) - 1} more write(s) in this file)" if len(hits) > 1 else ""
            findings.append(failed(f"a credential is written to web storage{more}",
                                   location=f"{rel}:{hits[0][0]}", evidence=hits[0][1][:200]))
    if not findings:
        findings.append(passed(f"{len(files)} frontend file(s): no token written to "
                               "localStorage/sessionStorage"))
    return findings
