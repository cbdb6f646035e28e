"""SEC-020–021: no credential in any captured response, frontend bundle or OpenAPI document;
API-key protected endpoints reject missing, empty and wrong keys."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
)
from prodaudit.checks.security._common import (
    accepted,
    chat_body,
    failed_at,
    llm_path,
)
from prodaudit.redact import is_secret_name

REFS = ("CWE-200", "CWE-798", "OWASP API8:2023")
KEY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "OpenAI-style API key",
        re.compile(r"(?<![\w-])sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}"),
    ),
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("Stripe secret key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
)
MAX_ASSETS = 25
ASSET_RE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+\.(?:js|mjs|css|map|json))["']""")
JS_IMPORT_RE = re.compile(r"""["']((?:\.{0,2}/)?[\w./-]+\.(?:js|mjs|json))["']""")


def known_values(ctx: Context) -> dict[str, str]:
    """Secret values of the audited deployment (value -> variable name), at least 8 characters."""
    out: dict[str, str] = {}
    for env in (ctx.profile_env, ctx.target_env):
        for name, value in env.items():
            if (
                value
                and len(value) >= 8
                and is_secret_name(name)
                and not name.startswith("PRODAUDIT_")
            ):
                out.setdefault(value, name)
    return out


def scan_text(text: str, known: dict[str, str]) -> list[str]:
    """What credential-like content ``text`` holds (names only, never the value)."""
    found = [f"the value of {name}" for value, name in known.items() if value in text]
    found += [label for label, rx in KEY_PATTERNS if rx.search(text)]
    return found


async def _ensure_llm_call(ctx: Context) -> str:
    """Make one LLM call when none was recorded, so its response headers get scanned (only
    where the audit may call it: a billable POST needs --allow-mutations)."""
    path = await llm_path(ctx)
    if path is None:
        return ""
    url = ctx.url(path)
    if any(ex.url == url and ex.status and ex.status < 300 for ex in list(ctx.http.exchanges)):
        return ""
    refused = ctx.http.refusal("POST", url)
    if refused:
        return f"; no LLM call made for this scan ({refused})"
    try:
        sess = await ctx.auth()
    except Skip:
        return ""
    ex = await ctx.http.request(
        "POST", url, headers=sess.headers(), json=chat_body(), timeout=ctx.cfg.llm.timeout_seconds
    )
    return f"; one POST {path} made for this scan (HTTP {ex.status or ex.error})"


async def _frontend_assets(ctx: Context) -> list[Exchange]:
    if not ctx.cfg.frontend_url:
        return []
    root = ctx.cfg.frontend_url + "/"
    page = await ctx.http.get(root, record=False)
    out = [page] if page.ok else []
    queue = [urljoin(root, m) for m in ASSET_RE.findall(page.text)]
    seen = set(queue)
    while queue and len(out) < MAX_ASSETS:
        url = queue.pop(0)
        if not url.startswith(ctx.cfg.frontend_url):
            continue
        ex = await ctx.http.get(url, record=False)
        if not ex.ok or ex.status != 200:
            continue
        out.append(ex)
        if url.endswith((".js", ".mjs")):
            for m in JS_IMPORT_RE.findall(ex.text):
                nxt = urljoin(url, m)
                if nxt not in seen and nxt.startswith(ctx.cfg.frontend_url):
                    seen.add(nxt)
                    queue.append(nxt)
    return out


def _scan_exchanges(exchanges: list[Exchange], known: dict[str, str]) -> list[Finding]:
    """A CRITICAL failure per credential found in the headers or body of a captured answer
    (once per credential, place and URL)."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    scanned: set[int] = set()  # identical answers (a catch-all, a huge body) are scanned once
    for ex in exchanges:
        digest = hash((ex.body, tuple(sorted(ex.headers.items()))))
        if digest in scanned:
            continue
        scanned.add(digest)
        hits = [
            (what, f"header {k}") for k, v in ex.headers.items() for what in scan_text(v, known)
        ]
        hits += [(what, "the body") for what in scan_text(ex.text, known)]
        for what, where in hits:
            key = (what, where, ex.url.split("?", 1)[0])
            if key in seen:
                continue
            seen.add(key)
            out.append(
                failed_at(
                    ex,
                    f"{what} appears in {where} of {ex.method} {ex.url}",
                    400,
                    severity=Severity.CRITICAL,
                )
            )
    return out


@check(
    "SEC-020",
    "No credential appears in responses, the frontend bundle or the OpenAPI document",
    severity=Severity.HIGH,
    needs=("live",),
    exclusive=True,
    checklist=("8.2.1", "2.1.2", "P.3.2"),
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def credential_leaks(ctx: Context) -> list[Finding]:
    """Runs after the other checks and scans every response captured during the whole audit
    (headers and bodies), the frontend's HTML and its JavaScript/CSS assets (up to 25 files), and
    the OpenAPI document for (a) the value of any secret-named variable of the audited deployment
    (``--env-file``, or the started reference target) and (b) provider key formats (OpenAI-style
    ``sk-…``, AWS, GitHub, Slack, Google, Stripe, Hugging Face, private keys). When no LLM call was
    recorded, one is made so its response is scanned too.

    A provider key in a response or a JavaScript bundle is public: it will be found and billed.

    Remediation: keep provider keys on the server only, never echo them in headers or bodies (no
    debug headers in production), and rotate any key that was exposed.
    """
    known = known_values(ctx)
    llm_note = await _ensure_llm_call(ctx)
    exchanges = [ex for ex in list(ctx.http.exchanges) if ex.ok]
    out = _scan_exchanges(exchanges, known)
    assets = await _frontend_assets(ctx)
    for ex in assets:
        for what in scan_text(ex.text, known):
            out.append(
                failed(
                    f"{what} appears in the frontend asset {ex.url}",
                    location=f"GET {ex.url}",
                    evidence=f"$ {ex.curl()}",
                    severity=Severity.CRITICAL,
                )
            )
    spec_note = ""
    try:
        doc = await ctx.openapi()
        for what in scan_text(json.dumps(doc.spec), known):
            out.append(
                failed(
                    f"{what} appears in the OpenAPI document {doc.source}",
                    location=f"GET {doc.source}",
                )
            )
        spec_note = ", the OpenAPI document"
    except Skip:
        spec_note = " (no OpenAPI document)"
    for value in known:
        ctx.redact.register(value)
    if out:
        return out
    usable = [ex for ex in exchanges + assets if ex.usable and ex.body]
    if not usable:
        statuses = sorted({str(ex.status) for ex in exchanges + assets})
        raise Skip(
            f"no complete 2xx answer with a body was captured to scan ({len(exchanges)} "
            f"responses, statuses {', '.join(statuses) or 'none'}): leaks not verified"
        )
    return [
        passed(
            f"{len(exchanges)} captured responses ({len(usable)} complete 2xx answers), "
            f"{len(assets)} frontend files{spec_note} "
            f"hold none of {len(known)} deployment secret values and no provider key "
            f"format{llm_note}"
        )
    ]


@check(
    "SEC-021",
    "API-key protected operations reject missing, empty and wrong keys",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("8.2.1",),
    references=("CWE-306", "OWASP API2:2023"),
    evidence=Evidence.OBSERVED,
)
async def api_key_enforced(ctx: Context) -> list[Finding]:
    """For every ``apiKey`` security scheme in the OpenAPI document (header, query or cookie), the
    safe operations that require it answer 401/403 when the key is missing, empty or wrong. An
    operation whose authentication is optional (``security: [{}, {"ApiKey": []}]``) is open by
    design and not probed.

    Remediation: check the key on the server for every protected route, compare it in constant
    time, and reject empty values.
    """
    doc = await ctx.openapi()
    schemes = {
        name: s
        for name, s in doc.security_schemes.items()
        if isinstance(s, dict) and s.get("type") == "apiKey"
    }
    if not schemes:
        raise Skip("the OpenAPI document declares no apiKey security scheme")
    out: list[Finding] = []
    sent = 0
    unclear: list[str] = []
    optional: list[str] = []
    for op in doc.operations:
        reqs = op.security if op.security is not None else tuple(doc.spec.get("security") or ())
        names = [n for req in reqs for n in req if n in schemes]
        if not names or not op.safe or op.path_params or sent >= ctx.cfg.probes.max_requests:
            continue
        if not doc.is_protected(op):  # optional authentication (security: [{}, ...]): open
            optional.append(op.key)
            continue
        sch = schemes[names[0]]
        where, pname = sch.get("in", "header"), str(sch.get("name", "X-API-Key"))
        for label, value in (("missing", None), ("empty", ""), ("wrong", "prodaudit-wrong-key")):
            headers: dict[str, str] = {}
            params: dict[str, str] = {}
            if value is not None:
                if where == "query":
                    params[pname] = value
                elif where == "cookie":
                    headers["Cookie"] = f"{pname}={value}"
                else:
                    headers[pname] = value
            ex = await ctx.http.request(op.method, ctx.url(op.path), headers=headers, params=params)
            sent += 1
            if accepted(ex):
                out.append(
                    failed_at(
                        ex,
                        f"{op.method} {op.path} answered {ex.status} with a {label} {pname}",
                        400,
                        severity=Severity.HIGH,
                    )
                )
            elif ex.status not in (401, 403):
                unclear.append(f"{op.method} {op.path} with a {label} key: {ex.status or ex.error}")
    if not sent:
        note = (f" (optional authentication, open by design: {', '.join(optional[:4])})"
                if optional else "")
        raise Skip(f"no safe operation without path parameters requires the apiKey scheme{note}")
    if unclear:  # neither accepted nor refused: the key check was not exercised
        out.append(skipped(f"{len(unclear)} answer(s) neither 2xx nor 401/403: {'; '.join(unclear[:3])}"))
    return out or [passed(f"{sent} requests with missing, empty or wrong API keys were refused")]
