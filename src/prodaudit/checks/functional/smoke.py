"""FUN-011–013: every operation of the OpenAPI document, called without and with credentials,
and (with ``allow_mutations``) write operations with schema-valid payloads."""

from __future__ import annotations

import time
from typing import Any

from prodaudit.auth import AuthSession
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
    errored,
    passed,
    skipped,
)
from prodaudit.checks.functional._operations import (
    OpRow,
    OpTable,
    build_request,
    collect_ids,
    is_auth_op,
    is_llm_op,
    json_payload,
    op_table,
)
from prodaudit.checks.functional._sweep import (
    WRITE_METHODS,
    admin_like,
    deadline_reached,
    delete_created,
    json_body,
    judge_anonymous,
    max_operations,
    ordered,
    response_findings,
    send_op,
    sweep_deadline,
    track_created,
)

UNSENT = {  # why the HTTP layer refused a request -> what the finding says
    "mutation": "unsafe methods need --allow-mutations",
    "budget": "the probe budget was spent",
}


@check(
    "FUN-011",
    "Protected operations refuse requests without credentials (401/403)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "4.2.1"),
    references=("OWASP API2:2023", "OWASP API5:2023", "CWE-306"),
    evidence=Evidence.OBSERVED,
)
async def protected_without_credentials(ctx: Context) -> list[Finding]:
    """Every operation that declares a security requirement in the OpenAPI document, and every
    administrative operation (``auth.admin_paths`` or a path segment such as ``/admin/``) even
    when the document declares none, answers 401 or 403 when called without credentials — never
    2xx (missing authentication, CRITICAL) and never 5xx. Path and query parameters are filled
    from the schema. Read-only by default: unsafe methods (POST, PUT, PATCH, DELETE) are sent,
    without a body, only with ``allow_mutations``; operations not called are not verified (SKIP).

    An operation documented as protected that answers without credentials exposes data or actions
    to anyone; a 5xx means the authentication layer crashes on anonymous input.

    Remediation: put the authentication dependency on the router (or a global dependency) so no
    route can be added without it, and add a test per protected route asserting 401 without a
    token.
    """
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = [op for op in ordered(doc.operations) if doc.is_protected(op) or admin_like(ctx, op)]
    if not ops:
        raise Skip("no operation of the OpenAPI document declares a security requirement")
    findings: list[Finding] = []
    ok: list[str] = []
    unsent: dict[str, list[str]] = {}  # why -> operations not called: not verified
    excluded: list[str] = []  # named by the owner in [probes] exclude
    deadline = sweep_deadline(ctx)
    seen: dict[str, list[Any]] = {}
    for n, op in enumerate(ops):
        row = table.row(op)
        if deadline_reached(n, ctx, deadline):
            row.skip("FUN-011", "not called without credentials: operation/time budget used up")
            unsent.setdefault("the operation/time budget was used up", []).append(op.key)
            continue
        req = build_request(doc, op, seen)
        if req is None:
            row.skip("FUN-011", "a required parameter could not be filled from the schema")
            continue
        ex, refused = await send_op(ctx, op, row, "FUN-011", req[0], params=req[1] or None)
        if ex is None:
            if refused[0] == "excluded":
                excluded.append(op.key)
            else:
                unsent.setdefault(UNSENT.get(refused[0], refused[1]), []).append(op.key)
            continue
        if ex.status is None:
            loc = f"{op.method} {ex.url}"
            row.act("FUN-011", "without credentials", None, "error", ex.error)
            findings.append(errored(f"{loc}: {ex.error}", location=loc))
            if len(findings) >= 3 and all(f.status.value == "error" for f in findings):
                break
            continue
        if ex.status in (401, 403):
            row.act("FUN-011", "without credentials", ex.status, "ok", elapsed_s=ex.elapsed_s)
            ok.append(op.key)
        else:
            findings.append(judge_anonymous(doc, op, ex, row))
    table.export(ctx)
    return findings + _anonymous_summary(ok, unsent, excluded)


def _anonymous_summary(ok: list[str], unsent: dict[str, list[str]], excluded: list[str]) -> list[Finding]:
    """FUN-011's closing findings: the operations not called (SKIP, by cause) and the refusals."""
    out = [
        skipped(
            f"{len(keys)} protected operation(s) not called without credentials "
            f"({', '.join(keys[:6])}{' …' if len(keys) > 6 else ''}): {why}"
        )
        for why, keys in unsent.items()
    ]
    if ok:
        note = f"; {len(excluded)} excluded by [probes] exclude" if excluded else ""
        out.append(
            passed(
                f"{len(ok)} protected operation(s) answered 401/403 without "
                f"credentials: {', '.join(ok[:12])}{' …' if len(ok) > 12 else ''}{note}"
            )
        )
    return out


def _safe_ops(ctx: Context, doc: OpenAPIDoc, table: OpTable) -> list[Operation]:
    """The operations FUN-012 calls (safe, not authentication); the others are marked skipped."""
    ops: list[Operation] = []
    for op in ordered(doc.operations):
        if op.method not in ("GET", "HEAD"):
            if op.method not in WRITE_METHODS + ("DELETE",) or not ctx.cfg.allow_mutations:
                table.row(op).skip(
                    "FUN-012",
                    f"{op.method} is not a safe method (read-only audit; "
                    "allow_mutations enables FUN-013)",
                )
            continue
        if is_auth_op(op):
            table.row(op).skip("FUN-012", "authentication endpoint (see FUN-020–024)")
            continue
        ops.append(op)
    return ops


@check(
    "FUN-012",
    "Safe operations answer documented statuses with schema-valid bodies",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("4.2.1", "1.1.2", "1.1.5"),
    references=("OWASP API8:2023",),
    evidence=Evidence.OBSERVED,
)
async def safe_operations(ctx: Context) -> list[Finding]:
    """Every safe operation (GET, HEAD) of the OpenAPI document, called with the audit account
    where it is protected, answers a status the document declares, with the declared content
    type and a body that validates against the declared response schema; none answers 5xx.
    Parameters come from the schema (examples, enums, formats) or from ids seen in earlier
    responses. Authentication endpoints are left to FUN-020–024.

    A response that does not match its contract breaks generated clients and the frontend; a 5xx on
    a plain read is a crash waiting for users.

    Remediation: declare every status an operation can return (``responses=``), use response
    models, and fix the handlers that crash; regenerate the document after changes.
    """
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = _safe_ops(ctx, doc, table)
    if not ops:
        raise Skip("the OpenAPI document declares no safe operation besides authentication")
    session = None
    auth_reason = ""
    if any(doc.is_protected(op) for op in ops):
        try:
            session = await ctx.auth()
        except Skip as exc:
            auth_reason = exc.reason
    sweep = _SafeSweep(ctx, doc, table, session)
    for n, op in enumerate(ops):
        row = table.row(op)
        if deadline_reached(n, ctx, sweep.deadline):
            row.skip("FUN-012", "not called: operation/time budget used up")
            sweep.budget_left.append(op.key)
            continue
        if doc.is_protected(op) and sweep.session is None:
            row.skip("FUN-012", f"protected and no audit session: {auth_reason}")
            continue
        ex = await sweep.call(op, row)
        errors = len([f for f in sweep.findings if f.status.value == "error"])
        if ex is not None and ex.status is None and errors >= 3:
            break
    table.export(ctx)
    return sweep.findings + _safe_summary(sweep, auth_reason)


class _SafeSweep:
    """FUN-012's calls: the audit session (logged in again once when a token expired), the ids
    seen in answers (they fill path parameters), the findings and what conformed."""

    def __init__(self, ctx: Context, doc: OpenAPIDoc, table: OpTable, session: AuthSession | None) -> None:
        self.ctx, self.doc, self.table, self.session = ctx, doc, table, session
        self.findings: list[Finding] = []
        self.ok: list[str] = []
        self.budget_left: list[str] = []
        self.seen: dict[str, list[Any]] = {}
        self.relogged = False
        self.deadline = sweep_deadline(ctx)

    async def call(self, op: Operation, row: OpRow) -> Exchange | None:
        """Call one safe operation and judge its answer; None when it was not sent."""
        ctx, doc = self.ctx, self.doc
        req = build_request(doc, op, self.seen)
        if req is None:
            row.skip("FUN-012", "a required parameter could not be filled (no example, no id seen)")
            return None
        path, query, notes = req
        protected = doc.is_protected(op)
        if protected and self.session is not None and self.session.stale:
            self.session = await ctx.auth()
        headers = self.session.headers() if protected and self.session is not None else None
        ex, refused = await send_op(ctx, op, row, "FUN-012", path, params=query or None, headers=headers)
        if ex is not None and ex.status == 401 and protected and self.session is not None \
                and not self.relogged:
            self.relogged = True  # an expired token: log in again and retry, once per check
            self.session = await ctx.auth(fresh=True)
            ex, refused = await send_op(ctx, op, row, "FUN-012", path, params=query or None,
                                        headers=self.session.headers())
        if ex is None:
            if refused[0] != "excluded":  # the probe budget is spent
                self.budget_left.append(op.key)
            return None
        what = ("with the audit account" if protected else "anonymously") + (
            f" ({', '.join(notes)})" if notes else ""
        )
        part, good = response_findings(doc, op, ex, self.table, "FUN-012", what)
        self.findings += part
        if good:
            self.ok.append(op.key)
            collect_ids(json_body(ex), self.seen)
        return ex


def _safe_summary(sweep: _SafeSweep, auth_reason: str) -> list[Finding]:
    """FUN-012's closing findings: what was not exercised (SKIP) and what conformed."""
    out: list[Finding] = []
    if auth_reason:
        out.append(skipped(f"protected safe operations not exercised: {auth_reason}"))
    if sweep.budget_left:
        out.append(
            skipped(
                f"{len(sweep.budget_left)} safe operation(s) not called: the operation/time budget "
                f"was used up ({', '.join(sweep.budget_left[:6])})"
            )
        )
    if sweep.ok:
        out.append(
            passed(
                f"{len(sweep.ok)} safe operation(s) answered a documented status with the "
                f"declared content type and schema: {', '.join(sweep.ok[:12])}"
                f"{' …' if len(sweep.ok) > 12 else ''}"
            )
        )
    return out


@check(
    "FUN-013",
    "Write operations accept schema-valid payloads (allow_mutations)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("4.2.1", "4.2.2", "1.3.3"),
    evidence=Evidence.OBSERVED,
)
async def write_operations(ctx: Context) -> list[Finding]:
    """With ``allow_mutations``, every POST/PUT/PATCH operation with a JSON body (except login,
    registration and LLM endpoints, covered by FUN-02x/03x) receives a payload generated from its
    request schema by hypothesis-jsonschema and answers a documented 2xx/4xx status with a valid
    body, never 5xx; objects created are deleted afterwards through the matching
    ``DELETE {path}/{id}`` operation, which must succeed.

    Write paths are where validation and database errors surface; a valid payload that crashes the
    handler is a production incident.

    Remediation: validate input with request models, handle integrity errors (409), and document
    every status the operation returns.
    """
    if not ctx.cfg.allow_mutations:
        raise Skip("write operations are only called with allow_mutations (--allow-mutations)")
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = [op for op in ordered(doc.operations) if op.method in WRITE_METHODS]
    session = None
    findings: list[Finding] = []
    ok: list[str] = []
    created: list[tuple[Operation, str]] = []  # (delete op, path)
    seen: dict[str, list[Any]] = {}
    deadline = sweep_deadline(ctx)
    for op in ops[: max_operations(ctx)]:
        row = table.row(op)
        if is_auth_op(op) or is_llm_op(op, doc):
            row.skip("FUN-013", "authentication or LLM endpoint (see FUN-020–024, FUN-030–034)")
            continue
        if time.monotonic() > deadline:
            row.skip("FUN-013", "time budget used up")
            continue
        ok_payload, payload, source = (
            json_payload(doc, op) if op.request_body else (True, None, "no request body")
        )
        if not ok_payload:
            row.skip("FUN-013", source)
            findings += _payload_unverified(op, source)
            continue
        req = build_request(doc, op, seen)
        if req is None:
            row.skip("FUN-013", "a required parameter could not be filled")
            continue
        path, query, _ = req
        headers = None
        if doc.is_protected(op) and ctx.http.refusal(op.method, ctx.url(path)) is None:
            session = session if session is not None and not session.stale else await ctx.auth()
            headers = session.headers()
        ex, refused = await send_op(ctx, op, row, "FUN-013", path, params=query or None,
                                    json=payload, headers=headers)
        if ex is None:
            if refused[0] != "excluded":  # the probe budget is spent: not verified
                findings.append(skipped(f"{op.key}: {refused[1]}", location=f"{op.method} {op.path}"))
            continue
        part, good = response_findings(doc, op, ex, table, "FUN-013", f"payload {source}")
        findings += part
        if not good:
            continue
        ok.append(op.key)
        body = json_body(ex)
        collect_ids(body, seen)
        if op.method == "POST" and ex.status in (200, 201) and isinstance(body, dict):
            findings += track_created(doc, op, ex, body, created)
    part, deleted = await delete_created(ctx, doc, table, created, session)
    findings += part
    ok += deleted
    table.export(ctx)
    if ok:
        findings.append(passed(f"{len(ok)} write call(s) conformed: {', '.join(ok[:12])}"))
    if not findings:
        raise Skip("no write operation with a JSON body besides authentication and LLM endpoints")
    return findings


def _payload_unverified(op: Operation, source: str) -> list[Finding]:
    """A JSON body that could not be generated: the operation is not verified."""
    if source.startswith("no payload generated"):
        return [errored(f"{op.key}: {source}", location=f"{op.method} {op.path}")]
    if source.startswith("hypothesis-jsonschema is not installed"):
        return [skipped(f"{op.key}: {source}", location=f"{op.method} {op.path}")]
    return []
