"""SEC-045: password-reset requests are rate limited (a bounded burst for made-up addresses, with
--allow-mutations only)."""

from __future__ import annotations

from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    OpenAPIDoc,
    Operation,
    Severity,
    Skip,
    check,
)
from prodaudit.checks.security._bursts import (
    burst,
    burst_budget,
    exercised,
    no_429_verdict,
    probe_user,
    throttled,
)
from prodaudit.llmdetect import words_of
from prodaudit.openapi_fill import param_value

RESET_WORDS = frozenset({"reset", "forgot", "forgotten", "recover", "recovery", "lost"})
CONFIRM_FIELDS = frozenset({"token", "code", "otp", "key", "uid", "new_password", "password",
                            "new_password1", "password1"})
USER_FIELDS = ("email", "e_mail", "mail", "username", "user_name", "login", "user")


def _schema(doc: OpenAPIDoc, op: Operation) -> dict[str, Any]:
    content = (op.request_body or {}).get("content") or {}
    media = next((m for k, m in content.items() if "json" in k.lower()), None)
    schema = doc.resolve((media or {}).get("schema") or {}) if isinstance(media, dict) else {}
    return schema if isinstance(schema, dict) else {}


def reset_operation(doc: OpenAPIDoc) -> Operation | None:
    """The operation that starts a password reset: a POST whose path, id or summary says
    reset/forgot/recover, without path parameters, whose JSON body asks for the account (an
    e-mail address or user name) and not for a reset token or a new password (the second step)."""
    found = []
    for op in doc.operations:
        if op.method != "POST" or op.path_params:
            continue
        if not words_of(op.path, op.operation_id, op.summary) & RESET_WORDS:
            continue
        props = _schema(doc, op).get("properties") or {}
        if not isinstance(props, dict) or not any(f in props for f in USER_FIELDS):
            continue
        if set(_schema(doc, op).get("required") or []) & CONFIRM_FIELDS:
            continue
        found.append(op)
    return min(found, key=lambda o: len(o.path)) if found else None


def reset_body(doc: OpenAPIDoc, op: Operation, address: str) -> dict[str, Any]:
    """The account field set to a made-up address (``example.invalid``: never delivered), the
    other required fields from the schema."""
    schema = _schema(doc, op)
    props = schema.get("properties") or {}
    body: dict[str, Any] = {}
    for name in [f for f in USER_FIELDS if f in props][:1]:
        body[name] = address
    for name in schema.get("required") or []:
        if name not in body and isinstance(props.get(name), dict):
            value, _ = param_value(doc, {"name": name, "schema": props[name]}, {})
            body[name] = value
    return body


@check(
    "SEC-045",
    "Password-reset requests are rate limited",
    severity=Severity.MEDIUM,
    needs=("live",),
    exclusive=True,
    checklist=("1.3.7", "8.2.2"),
    references=("CWE-770", "CWE-799", "OWASP API4:2023"),
    evidence=Evidence.OBSERVED,
)
async def reset_rate_limit(ctx: Context) -> list[Finding]:
    """The operation that starts a password reset (OpenAPI: a POST named reset/forgot/recover
    whose body asks for an e-mail address or user name, not yet for the reset token) meets a 429
    within ``rate_limit.reset_limit`` + margin requests (``rate_limit.max_requests`` when unset).
    Only with ``--allow-mutations``: each request names a different made-up address at
    ``example.invalid`` (no mail can be delivered, no real account is involved), but an
    application may still record it. Judged like the login bursts: without a configured limit,
    at least 20 requests handled within a minute and no limit announced is a WARN; a short
    burst, malformed-request answers or server errors prove nothing (SKIP).

    Every reset request sends an e-mail: without a limit anyone can flood a user's mailbox, burn
    the mail provider's quota and get the sending domain blocklisted.

    Remediation: limit reset requests per client and per account (e.g. 5 per hour), answer 429
    with ``Retry-After``; keep answering the same way for known and unknown addresses.
    """
    doc = await ctx.openapi()
    op = reset_operation(doc)
    if op is None:
        raise Skip("no password-reset operation in the OpenAPI document (a POST named "
                   "reset/forgot/recover whose body asks for an e-mail address or user name)")
    if not ctx.cfg.allow_mutations:
        raise Skip(f"{op.key} starts a password reset: its rate limit is probed only with "
                   "--allow-mutations (each request may be recorded or sent)")
    url = ctx.url(op.path)
    configured = ctx.cfg.rate_limit.reset_limit

    async def send(i: int) -> Exchange:
        return await ctx.http.request("POST", url,
                                      json=reset_body(doc, op, probe_user("reset", i)))

    b = await burst(ctx, burst_budget(ctx, configured), send, exercised)
    if b.first_429 is not None:
        return throttled(b, f"{op.key}: 429 after {b.at} reset requests ({b.summary()})")
    return no_429_verdict(b, f"{op.key}", f"POST {url}", configured,
                          ctx.cfg.rate_limit.margin, "rate_limit.reset_limit")
