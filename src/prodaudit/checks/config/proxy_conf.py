"""CFG-081: nginx configurations of the repository hide the server version."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed

_NGINX_BLOCK = re.compile(r"^[ \t]*(http|server)\s*\{", re.M)
_NGINX_DIRECTIVE = re.compile(r"^[ \t]*(listen|proxy_pass|location|root|upstream|worker_processes|"
                              r"server_name|uwsgi_pass|fastcgi_pass|worker_connections|sendfile|"
                              r"events)\b", re.M)
_TOKENS_OFF = re.compile(r"^[ \t]*server_tokens\s+(off|build|\"\")\s*;", re.M)
_TOKENS_ON = re.compile(r"^[ \t]*server_tokens\s+on\s*;", re.M)
_NOT_OURS = ("node_modules/", "vendor/", "site-packages/", ".venv/")


def _nginx_files(ctx: Context) -> dict[str, str]:
    out: dict[str, str] = {}
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1]
        if any(p in rel for p in _NOT_OURS):
            continue
        if not (name.endswith((".conf", ".conf.template", ".conf.tpl")) or "nginx" in rel.lower()
                or name == "default"):
            continue
        text = ctx.read(rel)
        if text and _NGINX_BLOCK.search(text) and _NGINX_DIRECTIVE.search(text):
            out[rel] = text
    return out


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


@check("CFG-081", "nginx configurations hide the server version (server_tokens off)",
       severity=Severity.LOW, needs=("repo",), checklist=("3.1.3",),
       references=("CWE-200", "OWASP A05:2021"), evidence=Evidence.PARSED)
def nginx_server_tokens(ctx: Context) -> list[Finding]:
    """Every nginx configuration in the repository (a file with an ``http {`` or ``server {``
    block and nginx directives) runs with ``server_tokens off`` — set in it or in another nginx
    file of the repository (the ``http`` level covers the ``conf.d`` includes). nginx's default
    is ``on``: the ``Server`` header and the error pages name the exact version. A file that
    sets ``server_tokens on`` FAILs at that line. One finding per file, at its ``http`` block
    (else its first ``server`` block).

    The version tells an attacker which published vulnerabilities apply, for free.

    Remediation: ``server_tokens off;`` in the ``http`` block (or every ``server`` block), and
    no ``Server``/``X-Powered-By`` headers from the application behind it.
    """
    files = _nginx_files(ctx)
    if not files:
        raise Skip("no nginx configuration in the repository")
    findings: list[Finding] = []
    covered = any(_TOKENS_OFF.search(t) for t in files.values())
    for rel, text in sorted(files.items()):
        on = _TOKENS_ON.search(text)
        if on:
            findings.append(failed("server_tokens on: responses name the nginx version",
                                   location=f"{rel}:{_line(text, on.start())}"))
        elif not covered:
            blocks = list(_NGINX_BLOCK.finditer(text))
            http = next((b for b in blocks if b.group(1) == "http"), blocks[0])
            findings.append(failed("no server_tokens off: the Server header and error pages "
                                   "name the nginx version", location=f"{rel}:{_line(text, http.start())}"))
    if not findings:
        findings.append(passed(f"server_tokens off covers {len(files)} nginx file(s): "
                               f"{', '.join(sorted(files)[:5])}"))
    return findings
