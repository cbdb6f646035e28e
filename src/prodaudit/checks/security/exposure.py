"""SEC-070–071: error responses without internals, public API docs (the Host header: host_header.py)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Operation,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._common import live_location
from prodaudit.checks.security._signatures import describe, matches
from prodaudit.redact import mask_evidence, mask_tokens

LEAK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Python traceback",
        re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    ),
    ("stack frame", re.compile(r"\bat [\w$.]+\([\w.]+:\d+\)|\.(?:java|js|ts|rb|php|go):\d+")),
    (
        "file path",
        re.compile(
            r"(?:/(?:home|usr|opt|srv|app|var|root|tmp|work)/[\w.\-/]+\.py)|"
            r"[A-Z]:\\[\w\\ .-]+\.\w+|site-packages"
        ),
    ),
    (
        "SQL text",
        re.compile(
            r"\b(?:SELECT\s+[\w*,. ]+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET)\b|"
            r"sqlalchemy|psycopg|sqlite3\.|OperationalError|IntegrityError",
            re.I,
        ),
    ),
    (
        "framework internals",
        re.compile(
            r"starlette[./]|fastapi[./]|werkzeug|django\.|"
            r"flask[./]|uvicorn[./]|pydantic_core",
            re.I,
        ),
    ),
)
OVERSIZED_BYTES = 2_200_000
DOCS_PAGES = (
    "/docs",
    "/redoc",
    "/swagger",
    "/swagger-ui",
    "/api/docs",
    "/swagger-ui.html",
    "/docs/oauth2-redirect",
)
SCHEMA_PATHS = ("/openapi.json", "/swagger.json", "/api/openapi.json")


def leaks(text: str) -> list[str]:
    """The leak patterns and signatures (SQL errors, debug pages, stack traces) ``text`` shows."""
    found = [name for name, rx in LEAK_PATTERNS if rx.search(text)]
    return list(dict.fromkeys(found + [sig.name for sig, _ in matches(text)]))


def excerpts(text: str) -> str:
    """One short excerpt around the first match of every leak pattern and signature."""
    out = [describe(matches(text), text)] if matches(text) else []
    for name, rx in LEAK_PATTERNS:
        m = rx.search(text)
        if m:
            snippet = text[max(0, m.start() - 60) : m.end() + 60].replace("\n", "\\n")
            out.append(f"{name}: …{mask_tokens(snippet, entropy=False)}…")
    return "\n".join(out)


def _json_post(ops: list[Operation]) -> Operation | None:
    cands = [
        op
        for op in ops
        if op.method in ("POST", "PUT", "PATCH")
        and op.request_body
        and "application/json" in (op.request_body.get("content") or {})
        and not op.path_params
    ]
    return sorted(cands, key=lambda o: (not _required(o), len(o.path)))[0] if cands else None


def _required(op: Operation) -> bool:
    content = (op.request_body or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema") or {}
    return bool(schema.get("required"))


def wrong_types(op: Operation) -> dict[str, Any]:
    schema = ((op.request_body or {}).get("content") or {}).get("application/json", {}).get(
        "schema"
    ) or {}
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name, prop in list(props.items())[:10]:
        t = prop.get("type") if isinstance(prop, dict) else None
        out[name] = {"prodaudit": [1, 2]} if t == "string" else "not-a-number-or-list"
    return out or {"prodaudit": {"unexpected": [1, 2, 3]}}


@check(
    "SEC-070",
    "Error responses reveal no stack traces, paths, SQL or internals",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.1.2", "1.3.3"),
    references=("CWE-209", "OWASP API8:2023"),
    evidence=Evidence.OBSERVED,
)
async def error_leakage(ctx: Context) -> list[Finding]:
    """Malformed JSON, wrongly typed fields, an oversized body (2.2 MB) and an unknown route get a
    4xx answer whose body has no traceback, file path, SQL text, framework internals, SQL error or
    debug page. Without a JSON operation that may be called, malformed JSON and an empty form go
    to the configured login endpoint (``auth.login_url``) as two failed login attempts.

    Error pages that show internals hand an attacker the code layout, library versions and query
    shapes; a 5xx on bad input is also a robustness bug.

    Remediation: turn debug mode off in production, install a catch-all exception handler that
    returns ``{"detail": "Internal server error"}``, and keep validation errors to field, message
    and type.
    """
    op, headers = await _body_target(ctx)
    not_sent = ctx.http.refusal(op.method, ctx.url(op.path)) if op is not None else None
    probes = await _send_probes(ctx, None if not_sent else op, headers)
    if op is None or not_sent:  # the login endpoint takes bad bodies too, as failed logins
        probes += await _login_probes(ctx)
    out = [f for label, ex in probes if (f := _judge_error_answer(label, ex)) is not None]
    if not_sent:  # the body probes are the heart of the check: not verified without them
        out.append(skipped(f"malformed, wrongly typed and oversized bodies: {not_sent}"))
    if not out:
        where = f"{op.method} {op.path}" if op else "(no JSON operation found)"
        out.append(
            passed(
                f"{len(probes)} bad requests ({', '.join(lbl for lbl, _ in probes)}; "
                f"body probes on {where}) got 4xx without internals: "
                + ", ".join(str(ex.status) for _, ex in probes)
            )
        )
    return out


async def _login_probes(ctx: Context) -> list[tuple[str, Exchange]]:
    """Malformed JSON and an empty form to the configured login endpoint (``auth.login_url``):
    two failed login attempts, which a read-only audit sends like any login."""
    if not ctx.cfg.auth.login_url:
        return []
    url = ctx.url(ctx.cfg.auth.login_url)
    out: list[tuple[str, Exchange]] = []
    for label, ctype, body in (
        ("malformed JSON to the login endpoint", "application/json", b'{"prodaudit": '),
        ("an empty form to the login endpoint", "application/x-www-form-urlencoded", b""),
    ):
        try:
            out.append((label, await ctx.http.request("POST", url, content=body, login=True,
                                                      headers={"Content-Type": ctype})))
        except NotSent:
            break  # excluded by the owner
    return out


async def _body_target(ctx: Context) -> tuple[Operation | None, dict[str, str]]:
    """The JSON operation the bad bodies go to (an unprotected one first; a protected one with
    the audit account's headers), or None."""
    try:
        doc = await ctx.openapi()
    except Skip:
        return None, {}
    op = _json_post([o for o in doc.operations if not doc.is_protected(o)]) or _json_post(
        doc.operations
    )
    if op is None or not doc.is_protected(op):
        return op, {}
    try:
        return op, (await ctx.auth()).headers()
    except Skip:
        return None, {}


async def _send_probes(
    ctx: Context, op: Operation | None, headers: dict[str, str]
) -> list[tuple[str, Exchange]]:
    """The bad requests: malformed JSON, wrong types and an oversized body to ``op`` (when
    given), and an unknown route."""
    probes: list[tuple[str, Exchange]] = []
    if op is not None:
        url = ctx.url(op.path)
        jh = {**headers, "Content-Type": "application/json"}
        probes.append(
            (
                "malformed JSON",
                await ctx.http.request(op.method, url, headers=jh, content=b'{"prodaudit": '),
            )
        )
        probes.append(
            (
                "wrong types",
                await ctx.http.request(op.method, url, headers=headers, json=wrong_types(op)),
            )
        )
        big = b'{"prodaudit": "' + b"A" * OVERSIZED_BYTES + b'"}'
        probes.append(
            (
                f"oversized body ({len(big) // 1000} kB)",
                await ctx.http.request(op.method, url, headers=jh, content=big),
            )
        )
    probes.append(
        ("unknown route", await ctx.http.get(ctx.url(f"/prodaudit-{secrets.token_hex(4)}")))
    )
    return probes


def _judge_error_answer(label: str, ex: Exchange) -> Finding | None:
    """The answer to one bad request: internals revealed (FAIL), a 5xx (FAIL, LOW), not a 4xx or
    no answer (WARN); None for a clean 4xx."""
    if ex.status is None:
        if "oversized" in label:
            return warned(
                f"{label}: connection dropped without an answer ({ex.error})",
                location=live_location(ex),
            )
        return warned(f"{label}: no answer: {ex.error}", location=live_location(ex))
    found = leaks(ex.text)
    if found:
        return failed(
            f"{label}: HTTP {ex.status} reveals {', '.join(found)}",
            location=live_location(ex),
            evidence=excerpts(ex.text) + "\n" + mask_evidence(ex.evidence(body_chars=800)),
        )
    if ex.status >= 500:
        return failed(
            f"{label}: HTTP {ex.status} (expected 4xx)",
            location=live_location(ex),
            evidence=mask_evidence(ex.evidence()),
            severity=Severity.LOW,
        )
    # a login form may redirect or re-render on a failed login: only leaks and 5xx count there
    if not 400 <= ex.status < 500 and "login endpoint" not in label:
        return warned(
            f"{label}: HTTP {ex.status} (expected 4xx)",
            location=live_location(ex),
            evidence=mask_evidence(ex.evidence()),
        )
    return None


@check(
    "SEC-071",
    "Interactive API docs are not public in production",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("1.3.1",),
    references=("OWASP API9:2023",),
    evidence=Evidence.OBSERVED,
)
async def docs_exposure(ctx: Context) -> list[Finding]:
    """In the production profile, ``/docs``, ``/redoc`` and other Swagger UI pages do not answer
    200. ``exposure.docs_in_production`` (``warn`` default, ``fail``, ``allow``) sets the outcome.
    The raw schema (``/openapi.json``) is reported in the message but not graded: the audit itself
    may need it.

    Public interactive docs map the whole attack surface and offer a ready-made request builder.

    Remediation: disable the docs in production (FastAPI: ``docs_url=None, redoc_url=None``) or
    put them behind authentication.
    """
    if ctx.cfg.profile != "production":
        raise Skip(f"profile {ctx.cfg.profile}: public docs are acceptable outside production")
    policy = ctx.cfg.exposure.docs_in_production
    found: list[Exchange] = []
    unclear: list[str] = []  # answers that say neither "here" nor "not here"
    for path in DOCS_PAGES:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent:
            continue  # excluded by the owner
        if ex.status == 200 and "html" in (ex.header("content-type") or "").lower():
            found.append(ex)
        elif not (ex.usable or (ex.status is not None and 400 <= ex.status < 500)):
            unclear.append(f"{path} -> {ex.status or ex.error}")
    schemas = []
    for path in SCHEMA_PATHS:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent:
            continue
        if ex.status == 200 and ex.usable:
            schemas.append(path)
    note = f"; the schema {', '.join(schemas)} is public (not graded)" if schemas else ""
    if not found and unclear:
        raise Skip(
            f"docs pages answered neither a page nor a 4xx ({'; '.join(unclear[:4])}): "
            "whether the interactive docs are public was not verified"
        )
    if not found:
        return [passed(f"none of {', '.join(DOCS_PAGES)} serves an HTML page (4xx or another "
                       f"content type){note}")]
    paths = ", ".join(ex.url for ex in found)
    msg = f"interactive API docs are public in production: {paths}{note}"
    if policy == "allow":
        return [passed(msg + " (allowed by exposure.docs_in_production)")]
    if policy == "fail":
        return [failed(msg, location=live_location(found[0]), evidence=found[0].evidence(300))]
    return [warned(msg, location=live_location(found[0]), evidence=found[0].evidence(300))]
